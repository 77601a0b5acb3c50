"""`renderer serve`: a local drop-in for Craftr.art's `POST /api/v1/image`, as an ASGI app.

    renderer serve --host 127.0.0.1 --port 8000 --workers 2
    uvicorn renderer.server:app            # or gunicorn -k uvicorn.workers.UvicornWorker, hypercorn
    from renderer.server import create_app, ServerConfig

`app` is built on first access from the environment (`RENDERER_API_KEYS`, `RENDERER_CONFIG`, or
what `renderer serve` passed), so importing this package stays cheap: `renderer.server.command`
is imported by every `renderer` invocation and must not pull in Starlette.

Modules: `config` (settings, plans), `auth` (keys), `ratelimit` (quota stores), `negotiate`
(Accept), `pool` + `worker` (render processes), `asgi` (routes and gates), `batch` (batch request
bodies), `jobs` (batch jobs on disk, their runner and callbacks), `storage` (operator-named output
folders), `openapi`, `metrics`, `docpage`, `protocol` (uvicorn header deadline), `command`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from .config import ServerConfig

__all__ = ["ServerConfig", "app", "create_app"]

_app: ASGIApp | None = None


def create_app(config: ServerConfig | None = None) -> ASGIApp:
    """A new ASGI app for `config` (default: read from the environment)."""
    from .asgi import create_app as _create

    return _create(config)


def __getattr__(name: str) -> Any:
    global _app
    if name == "app":
        if _app is None:
            _app = create_app()
        return _app
    if name == "ServerConfig":
        from .config import ServerConfig

        return ServerConfig
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
