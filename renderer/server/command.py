"""The `renderer serve` subcommand. Imports only argparse at module level: every `renderer`
invocation imports this module to register the subcommand, so Starlette and uvicorn load in `run`.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import sys
from typing import Any

__all__ = ["register", "run"]

_EPILOG = """examples:
  renderer serve                                   # open server on 127.0.0.1:8000
  RENDERER_API_KEYS=k1:free,k2:pro renderer serve --host 0.0.0.0 --workers 2
  renderer serve --api-keys-file keys.txt --config plans.json \\
      --rate-limit-store redis://127.0.0.1:6379/0  # several replicas share quotas
  renderer serve --jobs-dir /var/lib/renderer/jobs --storage cards=/srv/cards
                                                   # batch jobs kept across restarts
  RENDERER_URL_SECRET=... renderer serve --templates og/ --og-cache /var/cache/og
                                                   # GET /og/NAME.png?title=...&s=...

exit codes: 0 stopped normally (SIGINT or SIGTERM, after the requests in flight), 2 invalid
arguments or configuration, 3 the server could not start (e.g. the port is already in use).
"""


def _stopped(signum: int, frame: object) -> None:
    raise SystemExit(0)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run the HTTP API (a drop-in for Craftr's POST /api/v1/image)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG,
        description="Serve POST /api/v1/image with uvicorn. Keys come from RENDERER_API_KEYS "
        "(key:plan,...) or --api-keys-file; with none the server is open and binds "
        "only loopback unless --allow-unauthenticated.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 = any free)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn server processes (default 1)")
    p.add_argument("--api-keys-file", help="file of key:plan lines")
    p.add_argument("--config", help="JSON config file: plans and any setting below")
    p.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="serve without keys on a non-loopback address",
    )
    p.add_argument("--rate-limit-store", help="memory (default) or redis://host:port/db")
    p.add_argument(
        "--render-workers",
        type=int,
        help="render processes per server process (default: CPUs ÷ --workers)",
    )
    p.add_argument("--render-timeout", type=float, help="seconds per render (default 20)")
    p.add_argument("--queue-size", type=int, help="renders that may wait for a worker (default 16)")
    p.add_argument("--max-body-bytes", type=int, help="request body limit (default 5000000)")
    p.add_argument("--body-timeout", type=float, help="seconds to receive a body (default 10)")
    p.add_argument("--header-timeout", type=float, help="seconds to receive headers (default 10)")
    p.add_argument(
        "--keep-alive", type=float, default=5.0, help="idle keep-alive seconds (default 5)"
    )
    p.add_argument(
        "--worker-memory-mb",
        type=int,
        help="address-space cap per render worker, MiB (default 2048)",
    )
    p.add_argument(
        "--worker-recycle-mb",
        type=int,
        help="replace a render worker left holding more than this after a request, MiB "
        "resident (default 768); one that ran out of memory is always replaced",
    )
    p.add_argument(
        "--cors-origin",
        action="append",
        help="allow this browser origin (repeatable); off by default",
    )
    p.add_argument(
        "--allow-image-dir",
        action="append",
        help="folder image file paths may come from (repeatable); paths are refused otherwise",
    )
    p.add_argument(
        "--allow-svg-images",
        action="store_true",
        help="accept SVG image sources (drawn in a bounded subprocess); off by default",
    )
    p.add_argument(
        "--font-dir",
        action="append",
        metavar="DIR",
        help="register the fonts in this folder (or this font file) in every render worker, "
        "under their own family names (repeatable)",
    )
    p.add_argument(
        "--allow-spec-fonts",
        action="store_true",
        help="accept a card's own fonts (its `fonts` list), each passed through the OpenType "
        "Sanitizer in a bounded subprocess; off by default",
    )
    p.add_argument(
        "--allow-image-host",
        action="append",
        metavar="HOST",
        help="image host to trust even on a private address (repeatable; *.example.com)",
    )
    p.add_argument(
        "--allow-image-network",
        action="append",
        metavar="CIDR",
        help="network whose addresses image URLs and callbacks may reach even when private or "
        "loopback (repeatable; 10.0.0.0/8)",
    )
    p.add_argument(
        "--max-batch-items", type=int, help="specs or rows per POST /api/v1/batch (default 100)"
    )
    p.add_argument(
        "--jobs-dir",
        help="folder for batch job state, kept across restarts "
        "(default: renderer-jobs-<pid> under the temp folder, new for each start)",
    )
    p.add_argument(
        "--job-retention-hours",
        type=float,
        help="how long a finished batch job and its images are kept (default 168: a week)",
    )
    p.add_argument(
        "--storage",
        action="append",
        metavar="NAME=DIR",
        help="a folder batch jobs may write into, addressed as storage://NAME/path/ (repeatable)",
    )
    p.add_argument(
        "--callback-retries", type=int, help="retries of a failed job callback (default 3)"
    )
    p.add_argument(
        "--callback-backoff",
        type=float,
        help="seconds before the first callback retry, doubling after (default 1)",
    )
    p.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    _register_og(p)


def _register_og(p: argparse.ArgumentParser) -> None:
    """Flags of GET /og/{name}.{ext} (renderer.server.og)."""
    g = p.add_argument_group("signed template URLs (GET /og/NAME.EXT?var=...&s=SIGNATURE)")
    g.add_argument(
        "--templates",
        metavar="DIR",
        help="serve every DIR/NAME.json as /og/NAME.png (and .jpg, .webp, .svg, ...); "
        "URLs are signed with RENDERER_URL_SECRET (see renderer sign)",
    )
    g.add_argument(
        "--og-allow-unsigned",
        action="append",
        metavar="NAME",
        help="a template that answers without a signature (repeatable; * for all)",
    )
    g.add_argument(
        "--og-cache",
        metavar="memory|off|DIR",
        help="keep rendered cards in memory (default), not at all, or in a folder",
    )
    g.add_argument("--og-cache-max-mb", type=float, help="bound of that cache (default 64)")
    g.add_argument(
        "--og-cache-control",
        help='Cache-Control of a card (default "public, max-age=86400"; a URL with v= '
        "is immutable)",
    )
    g.add_argument(
        "--og-plan", help="plan whose quota GET /og/ counts, per template (default open)"
    )


def _og_overrides(args: argparse.Namespace) -> dict[str, Any]:
    cache = args.og_cache
    if cache is not None and cache not in ("memory", "off"):
        cache = os.path.abspath(cache)
    return {
        "templates_dir": os.path.abspath(args.templates) if args.templates else None,
        "og_unsigned": tuple(args.og_allow_unsigned) if args.og_allow_unsigned else None,
        "og_cache": "" if cache == "off" else cache,
        "og_cache_max_bytes": int(args.og_cache_max_mb * 1_000_000)
        if args.og_cache_max_mb
        else None,
        "og_cache_control": args.og_cache_control,
        "og_plan": args.og_plan,
    }


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _storage(values: list[str] | None) -> dict[str, str] | None:
    """`NAME=DIR` flags as a mapping; the folder is made absolute against the working folder."""
    from .config import ConfigError

    if not values:
        return None
    out: dict[str, str] = {}
    for value in values:
        name, sep, folder = value.partition("=")
        if not sep or not name or not folder:
            msg = f"--storage expects NAME=DIR. Received: {value!r}"
            raise ConfigError(msg)
        out[name] = os.path.abspath(folder)
    return out


def run(args: argparse.Namespace) -> int:
    from .config import ENV_CONFIG, ConfigError, load_config

    overrides = {
        "rate_limit_store": args.rate_limit_store,
        "render_workers": args.render_workers,
        "render_timeout": args.render_timeout,
        "queue_size": args.queue_size,
        "max_body_bytes": args.max_body_bytes,
        "body_timeout": args.body_timeout,
        "header_timeout": args.header_timeout,
        "worker_memory_mb": args.worker_memory_mb,
        "worker_recycle_mb": args.worker_recycle_mb,
        "cors_origins": tuple(args.cors_origin) if args.cors_origin else None,
        "allow_image_dirs": tuple(args.allow_image_dir) if args.allow_image_dir else None,
        "allow_svg_images": True if args.allow_svg_images else None,
        "font_dirs": tuple(args.font_dir) if args.font_dir else None,
        "allow_spec_fonts": True if args.allow_spec_fonts else None,
        "allow_image_hosts": tuple(args.allow_image_host) if args.allow_image_host else None,
        "allow_image_networks": (
            tuple(args.allow_image_network) if args.allow_image_network else None
        ),
        "max_batch_items": args.max_batch_items,
        "jobs_dir": os.path.abspath(args.jobs_dir) if args.jobs_dir else None,
        "job_retention_hours": args.job_retention_hours,
        "callback_retries": args.callback_retries,
        "callback_backoff": args.callback_backoff,
        **_og_overrides(args),
    }
    try:
        overrides["storage"] = _storage(args.storage)
        config = load_config(args.config, args.api_keys_file, overrides)
    except ConfigError as e:
        print(f"renderer serve: {e}", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("renderer serve: --workers must be at least 1", file=sys.stderr)
        return 2
    if config.font_dirs:  # the operator's own fonts: refused at start-up, not per request
        from renderer.errors import FontLoadError
        from renderer.fonts import as_library

        try:
            as_library(config.font_dirs)
        except FontLoadError as e:
            print(f"renderer serve: --font-dir: {e}", file=sys.stderr)
            return 2
    if not config.api_keys and not _is_loopback(args.host) and not args.allow_unauthenticated:
        print(
            f"renderer serve: refusing to serve {args.host} without API keys; set "
            "RENDERER_API_KEYS or --api-keys-file, or pass --allow-unauthenticated",
            file=sys.stderr,
        )
        return 2
    if config.rate_limit_store == "memory" and args.workers > 1 and config.api_keys:
        print(
            "renderer serve: note: quotas are counted per process; with --workers > 1 use "
            "--rate-limit-store redis://... to share them",
            file=sys.stderr,
        )
    from dataclasses import replace

    if not config.render_workers:
        config = replace(config, render_workers=max(1, (os.cpu_count() or 1) // args.workers))
    if not config.jobs_dir:  # this process's pid: every uvicorn worker below shares the folder
        config = replace(config, jobs_dir=str(config.jobs_folder()))
    try:
        import starlette  # noqa: F401
        import uvicorn

        from .protocol import http_protocol
    except ModuleNotFoundError as e:
        print(
            f"renderer serve: {e.name}, one of renderer's dependencies, is not installed; "
            "reinstall renderer (pip install renderer)",
            file=sys.stderr,
        )
        return 2
    os.environ[ENV_CONFIG] = config.to_json()
    # uvicorn stops gracefully on SIGTERM (as on SIGINT), then raises the signal again with the
    # handler it found: the default one would end the process by the signal (exit -15 / 143)
    # after a normal stop. This one makes it the 0 the exit codes promise, as SIGINT's is.
    signal.signal(signal.SIGTERM, _stopped)

    uvicorn.run(
        "renderer.server:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        http=http_protocol(),
        timeout_keep_alive=int(args.keep_alive),
        log_level=args.log_level,
        server_header=False,
        proxy_headers=False,
    )
    return 0
