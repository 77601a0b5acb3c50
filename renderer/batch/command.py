"""`renderer batch`: the command-line face of batch rendering (argparse only; see `runner`).

Imported by `renderer --help`, so it must stay cheap: everything heavy is imported in `run`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "run"]

_EPILOG = """examples:
  renderer batch cards/ -o out/                       every cards/**/*.json, paths mirrored
  renderer batch cards/ -o out/ --format webp --jobs 4
  renderer batch card.json --data products.csv -o out/ --name "{{ sku }}.png"
  renderer batch og.json --data posts/*.md -o public/og --name "{{ slug }}.png"
  renderer batch og.json --var title="Hello" --var author=Ada -o out/
  renderer batch cards/ -o /shared/out --executor dask --scheduler tcp://10.0.0.5:8786
  renderer batch cards/ -o out/ --allow-image-dir shared-logos/ --allow-image-host cdn.intranet

Each spec reads image files from its own folder (a template: the template's folder); absolute
paths and '..' out of it need an --allow-image-dir that contains them.

A spec may name its own output: "output": {"format": "webp", "quality": 80, "path": "a/b.webp"}.
Placeholders {{ name }} in string values are filled from each row (--data) or --var;
{{ name | default: "text" }} gives a default, {{ "{{" }} writes literal braces.
OUT_DIR/.renderer-manifest.jsonl records what was drawn from what: unchanged items are skipped.

exit codes: 0 all rendered or skipped, 1 some item failed, 2 invalid arguments or data file,
130 interrupted (whole files and a matching manifest are left).
"""


def register(subparsers: Any) -> None:
    from ..cli import add_font_options, add_image_source_options

    p = subparsers.add_parser(
        "batch",
        help="render a folder of specs, or a template per data row, to a folder",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG,
        description="Render many cards on every core (or a Dask cluster), incrementally.",
    )
    p.add_argument("sources", nargs="+", metavar="SRC", help="spec/template files or folders")
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="output folder")
    p.add_argument("-f", "--format", help="svg, png, jpeg, webp, tiff, avif or pdf (default png)")
    p.add_argument("--quality", type=int, help="1-100 for jpeg, webp, avif")
    p.add_argument("--scale", type=float, default=1.0, help="device-pixel ratio (default 1)")
    p.add_argument(
        "--data",
        nargs="+",
        action="extend",
        default=None,
        metavar="FILE",
        help="rows of variables: .csv, .json (array), .jsonl, or .md files (front matter)",
    )
    p.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a template variable for every item (a row's own value wins)",
    )
    p.add_argument("--name", help='output path template, e.g. "{{ slug }}.png"')
    p.add_argument("-j", "--jobs", type=int, help="worker processes (default: usable cores)")
    p.add_argument(
        "--force",
        action="store_true",
        help="re-render items the manifest has, and replace files in OUT_DIR it has no record of",
    )
    p.add_argument("--fail-fast", action="store_true", help="stop at the first failure")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("--executor", choices=("local", "dask"), default="local")
    p.add_argument(
        "--scheduler", help="Dask scheduler address (default: a LocalCluster for this run)"
    )
    p.add_argument(
        "--write-on-workers",
        action="store_true",
        help="workers write OUT_DIR themselves (it must be a path every worker shares)",
    )
    p.add_argument(
        "--progress-interval",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="seconds between progress lines when stderr is not a terminal (default 10)",
    )
    add_image_source_options(p)
    add_font_options(p)


def run(args: argparse.Namespace) -> int:
    from ..cli import font_library, image_policy
    from ..encode import Format
    from .executors import usable_cores
    from .manifest import ManifestError
    from .plan import Options
    from .rows import DataError, parse_vars, read_rows
    from .runner import EXIT_INTERRUPTED, Settings, Summary, print_summary, run_batch

    try:
        if args.format:
            Format.parse(args.format)
        if args.quality is not None and not 1 <= args.quality <= 100:
            _fail("--quality must be from 1 to 100")
        if args.jobs is not None and args.jobs < 1:
            _fail("--jobs must be at least 1")
        if args.scheduler and args.executor != "dask":
            _fail("--scheduler needs --executor dask")
        policy = image_policy(args)
        font_library(args)  # every --font-dir font readable, before any card is planned
        variables = parse_vars(args.var)
        data_paths = [Path(p) for p in args.data or []]
        rows = read_rows(data_paths) if args.data else None
        missing = [s for s in args.sources if not Path(s).exists()]
        if missing:
            _fail(f"no such file or folder: {', '.join(missing)}")
        _check_output_folder(Path(args.output), [Path(s) for s in args.sources])
    except (ValueError, DataError) as e:
        print(f"renderer batch: {e}", file=sys.stderr)
        return 2
    options = Options(
        format=args.format,
        quality=args.quality,
        scale=args.scale,
        name=args.name,
        variables=variables if (args.var or rows is not None) else None,
        rows=rows,
        image_policy=policy,
        font_dirs=tuple(args.font_dir or ()),
    )
    settings = Settings(
        sources=[Path(s) for s in args.sources],
        out_dir=Path(args.output),
        options=options,
        jobs=args.jobs or usable_cores(),
        data_paths=data_paths,
        force=args.force,
        fail_fast=args.fail_fast,
        executor=args.executor,
        scheduler=args.scheduler,
        write_on_workers=args.write_on_workers,
        progress_interval=args.progress_interval,
    )
    summary = Summary()
    try:
        run_batch(settings, summary)
    except KeyboardInterrupt:
        summary.interrupted = True
        print_summary(summary, args.json)
        return EXIT_INTERRUPTED
    except ImportError as e:
        print(
            f"renderer batch: {e.name} is not installed ({e}); for --executor dask: "
            "pip install 'renderer[dask]'",
            file=sys.stderr,
        )
        return 2
    except ManifestError as e:
        print(f"renderer batch: {e}", file=sys.stderr)
        return 2
    print_summary(summary, args.json)
    return summary.exit_code


def _fail(message: str) -> None:
    raise ValueError(message)


def _check_output_folder(out: Path, sources: list[Path]) -> None:
    """OUT_DIR is a folder (made here if missing) that holds no SRC folder: every folder
    searched leaves OUT_DIR out, so a SRC inside it would render nothing, and say nothing."""
    if out.exists() and not out.is_dir():
        _fail(f"-o {out} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        _fail(f"cannot make the output folder {out}: {e.strerror or e}")
    resolved = out.resolve()
    for src in sources:
        if src.is_dir() and (src.resolve() == resolved or resolved in src.resolve().parents):
            _fail(
                f"{src} is inside the output folder {out}, whose files a batch never reads as "
                "specs; write the images elsewhere (-o) or into a folder within it"
            )
