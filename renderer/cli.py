"""The `renderer` command: render, validate, and list formats and fonts.

Exit codes: 0 success; 1 a render failed for another reason (an image could not be loaded, an
output could not be written; for `validate --resources`, a source could not be read); 2 an
invalid spec or invalid arguments; 3 `--strict` found missing glyphs or text that did not fit.
Heavy modules are imported inside the commands, so `renderer --help` and `renderer validate`
start quickly.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .files import write_atomic

if TYPE_CHECKING:
    from .encode import Format
    from .errors import Issue, RenderError
    from .fonts import FontLibrary
    from .model import Card
    from .policy import ImagePolicy

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_STRICT = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports a process its SIGINT ended

# Commands that live with their subsystem. Each module is light to import (argparse only) and has
# `register(subparsers) -> None` and `run(args) -> int`; heavy imports happen inside `run`.
_PLUGIN_COMMANDS = {
    "serve": "renderer.server.command",
    "batch": "renderer.batch.command",
    "preview": "renderer.preview.command",
    "diff": "renderer.diff",
}

_EPILOG_RENDER = """Image files are read from the spec file's folder; a spec on standard input reads
files only from --allow-image-dir folders. Absolute paths and '..' out of the spec's folder need
an --allow-image-dir that contains them. Missing folders of -o and --report are created.

examples:
  renderer render card.json -o card.png
  renderer render card.json -o out/card@2x.webp --scale 2 --quality 85
  renderer render card.json -o card.png --report card.report.json --strict
  renderer render card.json -o card.png --report -        # the report on standard output
  cat card.json | renderer render - --format svg > card.svg
  renderer render card.json -o card.png --allow-image-host assets.intranet.example
  renderer render card.json -o card.png --allow-image-dir /srv/shared-logos

exit codes: 0 written, 1 an image could not be loaded or the output written, 2 an invalid spec
or arguments, 3 --strict found missing glyphs or text that did not fit (the image is written).
"""
_EPILOG_VALIDATE = """Plain validate checks each spec as render would before laying it out: JSON
syntax, the schema (every property, type and range), the Limits judged on the card (canvas,
components, text length, characters shaped) and the rules the schema cannot state.
It reads no image. --resources also loads every image source (file, URL, data URI, base64) and
the card's own fonts under the same policy as render, with the same --allow-image-* switches,
reports each one that cannot be used at its /components/N/src (sources that onImageError:
"placeholder" would replace included), and lays the card out, so the Limits judged on the
layout (glyphs, emoji, image and painted area, blur) are checked too.

examples:
  renderer validate cards/*.json
  renderer validate card.json --json
  renderer validate cards/*.json --resources --allow-image-host cdn.intranet.example

exit codes: 0 every spec valid (with --resources: and every source readable), 1 (--resources)
some source cannot be read, 2 some spec is invalid or the arguments are (2 wins over 1).
"""
_EPILOG_MAIN = """exit codes: 0 ok, 1 render failed (e.g. an image could not be loaded),
2 invalid spec or arguments, 3 --strict found missing glyphs or text that did not fit;
each command's --help lists its own.

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
    r.add_argument("-f", "--format", help="svg, png, jpeg, webp, tiff, avif or pdf")
    r.add_argument("--scale", type=float, default=1.0, help="device-pixel ratio (default 1)")
    r.add_argument(
        "--quality", type=int, help="1-100 for jpeg, webp, avif (an error for other formats)"
    )
    r.add_argument(
        "--compression",
        choices=("fast", "small"),
        default="fast",
        help="PNG only: fast (default) or small (smallest file, slower)",
    )
    r.add_argument(
        "--report",
        metavar="REPORT.json",
        help="write what was laid out where (lines, font sizes, faces, missing characters) as "
        "JSON; - for standard output",
    )
    r.add_argument(
        "--strict",
        action="store_true",
        help="exit 3 when a character has no font or text was cut or overflows "
        "(the image is still written)",
    )
    r.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="stop a render still running after this long (exit 1, nothing written)",
    )
    add_image_source_options(r)
    add_font_options(r)

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
    v.add_argument(
        "--resources",
        action="store_true",
        help="also load every image source, as render would; exit 1 if one cannot be read",
    )
    add_image_source_options(v)
    add_font_options(v)

    _register_sign(sub)
    sub.add_parser("formats", help="list output formats")
    f = sub.add_parser(
        "fonts",
        help="list the font families a spec may name, with their files",
        description="List the bundled families and, with --font-dir, the registered ones: "
        "weights, styles and the files that serve them.",
    )
    add_font_options(f)
    for module in _plugins().values():
        module.register(sub)
    return p


# --- image sources: the switches the errors point to (render, validate, batch) -----------------


def add_image_source_options(parser: argparse.ArgumentParser) -> None:
    """`--allow-image-dir`, `--allow-image-host` and `--allow-image-network`, as `serve` names
    them: `ImagePolicy.allow_paths`, `allow_hosts` and `allow_networks` on the command line."""
    g = parser.add_argument_group("image sources")
    g.add_argument(
        "--allow-image-dir",
        action="append",
        metavar="DIR",
        help="also read image files from inside this folder (repeatable): absolute paths, '..' "
        "and a spec on standard input need one",
    )
    g.add_argument(
        "--allow-image-host",
        action="append",
        metavar="HOST",
        help="image host to fetch from even on a loopback or private address "
        "(repeatable; *.example.com for its subdomains)",
    )
    g.add_argument(
        "--allow-image-network",
        action="append",
        metavar="CIDR",
        help="network image URLs may reach, e.g. 10.1.0.0/16 or 127.0.0.1/32 (repeatable)",
    )


def add_font_options(parser: argparse.ArgumentParser) -> None:
    """`--font-dir`: fonts of the operator's own (render, validate, fonts, batch, serve,
    preview), registered over the bundled families."""
    g = parser.add_argument_group("fonts")
    g.add_argument(
        "--font-dir",
        action="append",
        metavar="DIR",
        help="register the fonts (TTF, OTF, TTC, WOFF, WOFF2) in this folder, or this one font "
        "file, under their own family names (repeatable); the bundled families stay",
    )


def font_library(args: argparse.Namespace) -> FontLibrary | None:
    """The library `--font-dir` describes (None without it); ValueError says which font or
    folder cannot be used."""
    from .errors import FontLoadError
    from .fonts import as_library

    dirs = getattr(args, "font_dir", None) or []
    if not dirs:
        return None
    try:
        return as_library(tuple(dirs))
    except FontLoadError as e:
        msg = "--font-dir: " + "; ".join(i.message for i in e.issues)
        raise ValueError(msg) from None


def image_policy(args: argparse.Namespace) -> ImagePolicy:
    """The policy the switches describe; ValueError names the switch that is wrong."""
    from .policy import ImagePolicy

    folders = args.allow_image_dir or []
    for folder in folders:
        if not Path(folder).is_dir():
            msg = f"--allow-image-dir {folder}: no such folder"
            raise ValueError(msg)
    hosts, networks = tuple(args.allow_image_host or ()), tuple(args.allow_image_network or ())
    try:
        return ImagePolicy(allow_paths=tuple(folders), allow_hosts=hosts, allow_networks=networks)
    except ValueError as e:  # the folders exist and hosts are any text: a network is malformed
        msg = f"--allow-image-network: {e}"
        raise ValueError(msg) from None


_EPILOG_SIGN = """examples:
  export RENDERER_URL_SECRET=...           # the same secret as the server's
  renderer sign blog title="Hello, world" author=Ada --base-url https://cards.example.com
  renderer sign blog title=Hi --format webp --expires 86400 --version 3

The URL is /og/NAME.EXT?variables...&s=SIGNATURE, for renderer serve --templates DIR.
exit codes: 0 printed, 2 invalid arguments or no secret.
"""


def _register_sign(sub: Any) -> None:
    s = sub.add_parser(
        "sign",
        help="print a signed /og/ URL for a template of renderer serve --templates",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG_SIGN,
        description="Sign a template URL with RENDERER_URL_SECRET (HMAC-SHA256 over the path "
        "and the sorted query).",
    )
    s.add_argument("name", help="the template's name (its file is NAME.json)")
    s.add_argument("variables", nargs="*", metavar="KEY=VALUE", help="template variables")
    s.add_argument("--base-url", default="", help="scheme and host to put in front")
    s.add_argument("-f", "--format", default="png", help="png (default), jpg, webp, svg, ...")
    s.add_argument(
        "--expires", metavar="SECONDS|ISO", help="valid for SECONDS from now, or until a time"
    )
    s.add_argument("--version", dest="url_version", help="v=: the answer is cached as immutable")


def _cmd_sign(args: argparse.Namespace) -> int:
    from datetime import datetime, timedelta

    from .signing import sign_url

    try:
        variables: dict[str, object] = {}
        for item in args.variables:
            key, sep, value = item.partition("=")
            if not sep or not key:
                msg = f"expected KEY=VALUE. Received: {item!r}"
                raise ValueError(msg)
            if key in variables:  # the server refuses a parameter given twice
                msg = f"{key!r} is given more than once"
                raise ValueError(msg)
            variables[key] = value
        expires: datetime | timedelta | None = None
        if args.expires:
            raw = args.expires.strip()
            try:
                expires = (
                    timedelta(seconds=int(raw))
                    if raw.isdigit()
                    else datetime.fromisoformat(raw.replace("Z", "+00:00"))
                )
            except ValueError:
                msg = (
                    "--expires takes whole seconds from now (3600) or an ISO 8601 time "
                    f"(2027-01-31T00:00:00Z). Received: {raw!r}"
                )
                raise ValueError(msg) from None
        if not os.environ.get("RENDERER_URL_SECRET"):
            msg = "no secret to sign with: set RENDERER_URL_SECRET to the server's secret"
            raise ValueError(msg)
        print(
            sign_url(
                args.name,
                variables,
                base_url=args.base_url,
                format=args.format,
                expires=expires,
                version=args.url_version,
            )
        )
    except ValueError as e:
        print(f"renderer sign: {e}", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK


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
    from . import render  # through the package: imported with the collector held off
    from .errors import RenderError, SpecError

    try:
        fmt = _output_format(args)
        policy = image_policy(args)
        fonts = font_library(args)
    except ValueError as e:
        print(f"renderer: {e}", file=sys.stderr)
        return EXIT_INVALID
    name = "<stdin>" if args.spec == "-" else args.spec
    try:
        data, report = render(
            _read_spec(args.spec),
            fmt,
            scale=args.scale,
            quality=args.quality,
            compression=args.compression,
            report=True,
            image_policy=policy,
            timeout=args.timeout,
            fonts=fonts,
        )
    except SpecError as e:
        _report(name, e)
        return EXIT_INVALID
    except RenderError as e:
        _report(name, e)
        return EXIT_FAILED
    except ValueError as e:  # bad --quality or --timeout
        print(f"renderer: {e}", file=sys.stderr)
        return EXIT_INVALID
    text = json.dumps(report.to_dict(), ensure_ascii=False, indent=1) + "\n"
    for target, content in ((args.output, data), (args.report, text.encode("utf-8"))):
        if target is not None and not _write_output(target, content):
            return EXIT_FAILED
    if args.strict and report.problems:
        for problem in report.problems:
            print(f"{name}: {problem}", file=sys.stderr)
        return EXIT_STRICT
    return EXIT_OK


def _output_format(args: argparse.Namespace) -> Format:
    """The format `render` writes, after the checks on where it goes; ValueError says why not."""
    from .encode import DEFAULT_QUALITY, Format

    if args.format:
        fmt, named = Format.parse(args.format), f"--format {args.format}"
    elif args.output != "-" and Path(args.output).suffix:
        fmt, named = Format.parse(Path(args.output).suffix), f"-o {args.output}"
    else:
        fmt, named = Format.PNG, "the default"
    if args.quality is not None and fmt not in DEFAULT_QUALITY:
        lossy = ", ".join(f.value for f in DEFAULT_QUALITY)
        msg = (
            f"--quality applies to {lossy} only; the output is {fmt.value} ({named}). "
            "Drop --quality or choose a lossy --format."
        )
        raise ValueError(msg)
    if args.output == "-" and args.report == "-":
        msg = (
            "-o - and --report - would both write to standard output; send the image or the "
            "report to a file"
        )
        raise ValueError(msg)
    if args.output == "-" and fmt is not Format.SVG and sys.stdout.isatty():
        msg = "refusing to write binary image data to a terminal; use -o FILE"
        raise ValueError(msg)
    for flag, target in (("-o", args.output), ("--report", args.report)):
        if _same_file(target, args.spec):
            msg = f"{flag} {target} is the spec being rendered: writing it would destroy the spec"
            raise ValueError(msg)
    return fmt


def _same_file(target: str | None, spec: str) -> bool:
    if target in (None, "-") or spec == "-":
        return False
    try:
        return os.path.samefile(str(target), spec)
    except OSError:  # either is missing (the output is new) or unreadable: not the same
        return False


def _write_output(target: str, data: bytes) -> bool:
    """`target` written whole (missing folders made, temporary name then rename) or standard
    output for `-`; False after saying why it could not be."""
    if target == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return True
    try:
        write_atomic(Path(target), data, parents=True)
    except OSError as e:
        print(f"renderer: cannot write {target}: {e.strerror or e}", file=sys.stderr)
        return False
    return True


def _cmd_validate(args: argparse.Namespace) -> int:
    from .budget import check_card
    from .errors import SpecError
    from .limits import DEFAULT_LIMITS
    from .spec import parse_card

    try:
        policy = image_policy(args)
        fonts = font_library(args)
    except ValueError as e:
        print(f"renderer: {e}", file=sys.stderr)
        return EXIT_INVALID
    from .fonts import as_library

    names = as_library(fonts).names()
    status = EXIT_OK
    for arg in args.specs:
        name = "<stdin>" if arg == "-" else arg
        unreadable: list[Issue] = []
        try:
            card = parse_card(_read_spec(arg), families=names)
            check_card(card, DEFAULT_LIMITS, 1.0)  # the limits judged on the card itself
            issues: list[Issue] = []
            if args.resources:  # laid out too: the limits judged on the layout
                unreadable = _unreadable_sources(card, policy, fonts)
        except SpecError as e:
            issues = list(e.issues)
        if issues:
            status = EXIT_INVALID
        elif unreadable and status == EXIT_OK:
            status = EXIT_FAILED
        _print_validation(name, issues, unreadable if args.resources else None, args.json)
    return status


def _unreadable_sources(card: Card, policy: ImagePolicy, fonts: FontLibrary | None) -> list[Issue]:
    """Every source of `card` the resources stage cannot use, as render would load it (the
    same stage, caches and policy). Each image is loaded as if it had a placeholder, so the
    stage records every failure, in component order, instead of stopping at the first."""
    import dataclasses

    from .api import prepare
    from .errors import Issue
    from .model import Component, ImageComponent, StackComponent

    def tolerant(c: Component) -> Component:
        if isinstance(c, ImageComponent):
            return dataclasses.replace(c, on_error="placeholder")
        if isinstance(c, StackComponent):
            return dataclasses.replace(c, children=tuple(map(tolerant, c.children)))
        return c

    from .errors import FontLoadError, LimitError, SpecError

    components = tuple(map(tolerant, card.components))
    try:
        loaded = prepare(
            dataclasses.replace(card, components=components), image_policy=policy, fonts=fonts
        )
    except LimitError:  # over a bound of the layout: the spec's fault, the caller's to report
        raise
    except (FontLoadError, SpecError) as e:  # the card's own fonts, or a family none has
        return list(e.issues)
    return [Issue(pointer, message) for pointer, message in loaded.resources.errors.items()]


def _print_validation(
    name: str, issues: list[Issue], unreadable: list[Issue] | None, as_json: bool
) -> None:
    if as_json:
        out: dict[str, Any] = {
            "spec": name,
            "valid": not issues,
            "issues": [i.as_dict() for i in issues],
        }
        if unreadable is not None:
            out["resources"] = {
                "ok": not issues and not unreadable,
                "issues": [i.as_dict() for i in unreadable],
            }
        print(json.dumps(out, ensure_ascii=False))
        return
    for issue in issues or unreadable or []:
        print(f"{name}: {issue}")
    if not issues and not unreadable:
        print(f"{name}: ok" + (" (every source readable)" if unreadable is not None else ""))


def _cmd_formats() -> int:
    from .encode import DEFAULT_QUALITY, Format

    for f in Format:
        q = DEFAULT_QUALITY.get(f)
        note = (
            f"lossy, default quality {q}"
            if q
            else "vector, text as outlines"
            if f in (Format.SVG, Format.PDF)
            else "lossless"
        )
        print(f"{f.value:<5} {f.content_type:<15} .{f.extension:<4} {note}")
    return EXIT_OK


def _cmd_fonts(args: argparse.Namespace) -> int:
    from .fonts import FALLBACK_FAMILIES, as_library

    try:
        lib = as_library(font_library(args))
    except ValueError as e:
        print(f"renderer: {e}", file=sys.stderr)
        return EXIT_INVALID
    for family, faces in lib.families.items():
        lo = min(f.weight[0] for f in faces)
        hi = max(f.weight[1] for f in faces)
        styles = "normal, italic" if any(f.italic for f in faces) else "normal (italic synthesized)"
        if family in lib.registered:
            print(
                f"{family:<18} weights {lo}-{hi}  {styles:<28} {len(faces):>3} faces   (registered)"
            )
            for f in faces:
                style = "italic" if f.italic else "normal"
                axes = ", variable" if f.variable else ""
                index = f" #{f.index}" if f.index else ""
                weights = (
                    f"{f.weight[0]}-{f.weight[1]}"
                    if f.weight[0] != f.weight[1]
                    else f"{f.weight[0]}"
                )
                print(f"    {f.origin or f.path}{index}  {weights} {style}{axes}")
            continue
        role = "fallback" if family in FALLBACK_FAMILIES[3:] else "family"
        print(f"{family:<18} weights {lo}-{hi}  {styles:<28} {len(faces):>3} slices  ({role})")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "render":
        return _cmd_render(args)
    if args.command == "validate":
        return _cmd_validate(args)
    if args.command == "sign":
        return _cmd_sign(args)
    if args.command == "formats":
        return _cmd_formats()
    if args.command == "fonts":
        return _cmd_fonts(args)
    result: int = _plugins()[args.command].run(args)
    return result


# One-shot commands whose process ends when they return: nothing of theirs runs at exit.
_QUICK_EXIT = frozenset({"render", "validate", "sign", "formats", "fonts"})


def run() -> None:
    """The `renderer` command's entry point (`main` is the one to call from Python).

    After a one-shot command the process ends with `os._exit` once standard output and error
    are flushed, skipping the interpreter's tear-down: the collector's final passes over every
    object the import made, each module's teardown, freeing font and image memory that the
    process is about to give back whole. That was 50 ms of a 340 ms `renderer render` here.
    Outputs are already closed by then (`write_atomic` renames a finished file)."""
    argv = sys.argv[1:]
    try:
        code = main(argv)
    except KeyboardInterrupt:  # Ctrl-C: nothing half-written is left (`write_atomic`); no
        print("renderer: interrupted", file=sys.stderr)  # traceback, the shell's usual 130
        code = EXIT_INTERRUPTED
    if not argv or argv[0] not in _QUICK_EXIT:
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away: exit as Python would, without a traceback
        code = code or EXIT_FAILED
    os._exit(code)


if __name__ == "__main__":
    run()
