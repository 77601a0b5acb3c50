"""The `renderer preview` subcommand. Imports only argparse at module level (every `renderer`
invocation imports this module to register it); the server loads in `run`.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_PORT", "register", "run"]

DEFAULT_PORT = 8001
EXIT_OK, EXIT_INVALID = 0, 2

_EPILOG = """examples:
  renderer preview card.json                         # opens http://127.0.0.1:8001/
  renderer preview og.json --data posts/*.md         # a row picker for the posts
  renderer preview card.json --port 0 --no-open      # any free port; print the address only

The page re-renders within a moment of each save of the spec, an image or font file it names,
a data file, or a --font-dir font. Everything runs on this machine: the server listens on
127.0.0.1 only.

exit codes: 0 stopped with Ctrl-C, 2 invalid arguments (a file that cannot be read, a port in use).
"""


def register(subparsers: Any) -> None:
    from ..cli import add_font_options

    p = subparsers.add_parser(
        "preview",
        help="show a spec in the browser, redrawn on every save",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG,
        description="Serve a local page showing SPEC as the engine renders it, with an "
        "overlay of every component's box, the render report's warnings, every issue of an "
        "invalid spec with its JSON pointer, and format, scale and size switches.",
    )
    p.add_argument("spec", metavar="SPEC", help="the spec (or template) file")
    p.add_argument(
        "--data",
        nargs="+",
        action="extend",
        default=[],
        metavar="ROWS",
        help="data rows for a template (.csv, .json, .jsonl, .md files), one card per row",
    )
    p.add_argument(
        "--port",
        type=int,
        help=f"port on 127.0.0.1 (default {DEFAULT_PORT}, or any free one if that is taken; "
        "0 = any free)",
    )
    p.add_argument("--no-open", action="store_true", help="do not open a browser")
    add_font_options(p)


def run(args: argparse.Namespace) -> int:
    from ..cli import font_library

    for path in [args.spec, *args.data]:
        if not Path(path).is_file():
            print(f"renderer preview: cannot read {path}: no such file", file=sys.stderr)
            return EXIT_INVALID
    try:
        font_library(args)
    except ValueError as e:
        print(f"renderer preview: {e}", file=sys.stderr)
        return EXIT_INVALID
    try:
        sock = _bind(args.port)
    except OSError as e:
        print(f"renderer preview: cannot listen on port {args.port}: {e.strerror}", file=sys.stderr)
        return EXIT_INVALID
    return _serve(args, sock)


def _bind(port: int | None) -> socket.socket:
    """A listening loopback socket: `port`, or the default one, or any free one."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", DEFAULT_PORT if port is None else port))
    except OSError as e:
        if port is not None or e.errno != errno.EADDRINUSE:
            sock.close()
            raise
        sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


def _serve(args: argparse.Namespace, sock: socket.socket) -> int:
    import uvicorn

    from .app import create_preview_app
    from .session import Session

    port: int = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    session = Session(Path(args.spec), [Path(p) for p in args.data], tuple(args.font_dir or ()))
    config = uvicorn.Config(
        create_preview_app(session, port),
        log_level="warning",
        timeout_graceful_shutdown=1,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    print(f"renderer preview: {url} (watching {args.spec}; Ctrl-C to stop)", flush=True)
    if not args.no_open:
        threading.Thread(target=_open_when_up, args=(server, url), daemon=True).start()
    server.run(sockets=[sock])
    return EXIT_OK


def _open_when_up(server: Any, url: str) -> None:
    """Open `url` in a browser once the server answers, if this machine has a graphical one.

    Skipped on a Linux or BSD machine with no display: `webbrowser` would then pick a console
    browser (lynx, w3m) and run it in this terminal. Any failure is silent; the address is
    printed anyway.
    """
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    if not _has_display():
        return
    import webbrowser

    try:
        webbrowser.open(url)
    except Exception:  # webbrowser.Error, or an OSError from a broken browser entry
        return


def _has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
