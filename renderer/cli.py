"""The `renderer` command: render, validate, and list formats and fonts.

Exit codes: 0 success; 1 a render failed for another reason (an image could not be loaded, an
output could not be written); 2 an invalid spec or invalid arguments; 3 `--strict` found missing
glyphs or text that did not fit. Heavy modules are imported
inside the commands, so `renderer --help` and `renderer validate` start quickly.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .files import write_atomic

if TYPE_CHECKING:
    from .errors import RenderError

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_STRICT = 0, 1, 2, 3

# Commands that live with their subsystem. Each module is light to import (argparse only) and has
# `register(subparsers) -> None` and `run(args) -> int`; heavy imports happen inside `run`.
_PLUGIN_COMMANDS = {"serve": "renderer.server.command", "batch": "renderer.batch.command"}

_EPILOG_RENDER = """examples:
  renderer render card.json -o card.png
  renderer render card.json -o card@2x.webp --scale 2 --quality 85
  renderer render card.json -o card.png --report card.report.json --strict
  cat card.json | renderer render - --format svg > card.svg
"""
_EPILOG_VALIDATE = """examples:
  renderer validate cards/*.json
  renderer validate card.json --json
"""
_EPILOG_MAIN = """exit codes: 0 ok, 1 render failed (e.g. an image could not be loaded),
2 invalid spec or arguments, 3 --strict found missing glyphs or text that did not fit.

examples:
  renderer render examples/blog.json -o blog.png
  renderer validate examples/*.json
  renderer formats
  renderer fonts
"""


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    fmt = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(
        prog="renderer",
        formatter_class=fmt,
        epilog=_EPILOG_MAIN,
        description="Render Craftr-compatible JSON card specs to images, offline.",
    )
    p.add_argument("--version", action="version", version=f"renderer {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser(
        "render",
        help="render one spec to an image",
        formatter_class=fmt,
        epilog=_EPILOG_RENDER,
        description="Render one spec. The format comes "
        "from --format, else from the output's extension, else PNG.",
    )
    r.add_argument("spec", help="spec file, or - to read JSON from standard input")
    r.add_argument(
        "-o", "--output", default="-", help="output file, or - (the default) for standard output"
    )
    r.add_argument("-f", "--format", help="svg, png, jpeg, webp, tiff or avif")
    r.add_argument("--scale", type=float, default=1.0, help="device-pixel ratio (default 1)")
    r.add_argument("--quality", type=int, help="1-100 for jpeg, webp, avif")
    r.add_argument(
        "--compression",
        choices=("fast", "small"),
        default="fast",
        help="PNG only: fast (default) or small (smallest file, slower)",
    )
    r.add_argument(
        "--report",
        metavar="REPORT.json",
        help="write what was laid out where (lines, font sizes, faces, missing characters) as JSON",
    )
    r.add_argument(
        "--strict",
        action="store_true",
        help="exit 3 when a character has no font or text was cut or overflows "
        "(the image is still written)",
    )

    v = sub.add_parser(
        "validate",
        help="check specs without rendering",
        formatter_class=fmt,
        epilog=_EPILOG_VALIDATE,
        description="Print every problem of each spec "
        "with its JSON pointer; exit 2 if any spec is invalid.",
    )
    v.add_argument("specs", nargs="+", help="spec files (- for standard input)")
    v.add_argument("--json", action="store_true", help="print one JSON object per spec")

    sub.add_parser("formats", help="list output formats")
    sub.add_parser("fonts", help="list bundled font families")
    for module in _plugins().values():
        module.register(sub)
    return p


def _plugins() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, module in _PLUGIN_COMMANDS.items():
        try:
            found[name] = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name is None or not module.startswith(e.name):
                raise
    return found


def _read_spec(arg: str) -> bytes | Path:
    return sys.stdin.buffer.read() if arg == "-" else Path(arg)


def _report(name: str, error: RenderError) -> None:
    lines = [str(i) for i in error.issues] or [str(error)]
    for line in lines:
        print(f"{name}: {line}", file=sys.stderr)


def _cmd_render(args: argparse.Namespace) -> int:
    from .api import render
    from .encode import Format
    from .errors import RenderError, SpecError

    try:
        if args.format:
            fmt = Format.parse(args.format)
        elif args.output != "-" and Path(args.output).suffix:
            fmt = Format.parse(Path(args.output).suffix)
        else:
            fmt = Format.PNG
    except ValueError as e:
        print(f"renderer: {e}", file=sys.stderr)
        return EXIT_INVALID
    if args.output == "-" and fmt is not Format.SVG and sys.stdout.isatty():
        print(
            "renderer: refusing to write binary image data to a terminal; use -o FILE",
            file=sys.stderr,
        )
        return EXIT_INVALID
    name = "<stdin>" if args.spec == "-" else args.spec
    try:
        data, report = render(
            _read_spec(args.spec), fmt, scale=args.scale, quality=args.quality, report=True
        )
    except SpecError as e:
        _report(name, e)
        return EXIT_INVALID
    except RenderError as e:
        _report(name, e)
        return EXIT_FAILED
    except ValueError as e:  # bad --quality
        print(f"renderer: {e}", file=sys.stderr)
        return EXIT_INVALID
    if args.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        try:
            write_atomic(Path(args.output), data)
        except OSError as e:
            print(f"renderer: cannot write {args.output}: {e.strerror}", file=sys.stderr)
            return EXIT_FAILED
    if args.report:
        text = json.dumps(report.to_dict(), ensure_ascii=False, indent=1) + "\n"
        try:
            write_atomic(Path(args.report), text.encode("utf-8"))
        except OSError as e:
            print(f"renderer: cannot write {args.report}: {e.strerror}", file=sys.stderr)
            return EXIT_FAILED
    if args.strict and report.problems:
        for problem in report.problems:
            print(f"{name}: {problem}", file=sys.stderr)
        return EXIT_STRICT
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from .errors import SpecError
    from .spec import parse_card

    status = EXIT_OK
    for arg in args.specs:
        name = "<stdin>" if arg == "-" else arg
        try:
            parse_card(_read_spec(arg))
            issues: list[dict[str, str]] = []
        except SpecError as e:
            issues = [i.as_dict() for i in e.issues]
            status = EXIT_INVALID
        if args.json:
            print(
                json.dumps(
                    {"spec": name, "valid": not issues, "issues": issues}, ensure_ascii=False
                )
            )
        elif issues:
            for i in issues:
                print(f"{name}: {i['pointer'] or '/'}: {i['message']}")
        else:
            print(f"{name}: ok")
    return status


def _cmd_formats() -> int:
    from .encode import DEFAULT_QUALITY, Format

    for f in Format:
        q = DEFAULT_QUALITY.get(f)
        note = (
            f"lossy, default quality {q}"
            if q
            else "lossless"
            if f is not Format.SVG
            else "vector, text as outlines"
        )
        print(f"{f.value:<5} {f.content_type:<14} .{f.extension:<4} {note}")
    return EXIT_OK


def _cmd_fonts() -> int:
    from .fonts import FALLBACK_FAMILIES, library

    lib = library()
    for family, faces in lib.families.items():
        lo = min(f.weight[0] for f in faces)
        hi = max(f.weight[1] for f in faces)
        styles = "normal, italic" if any(f.italic for f in faces) else "normal (italic synthesized)"
        role = "fallback" if family in FALLBACK_FAMILIES[3:] else "family"
        print(f"{family:<18} weights {lo}-{hi}  {styles:<28} {len(faces):>3} slices  ({role})")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "render":
        return _cmd_render(args)
    if args.command == "validate":
        return _cmd_validate(args)
    if args.command == "formats":
        return _cmd_formats()
    if args.command == "fonts":
        return _cmd_fonts()
    result: int = _plugins()[args.command].run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
