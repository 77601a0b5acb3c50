"""The preview server: the page, its two static files, frames, and change events, on loopback.

Routes: `GET /` (the page), `GET /static/{name}`, `GET /api/frame?row=&format=&scale=` (one
render as JSON, see `session`), `GET /api/events` (server-sent events: `data: {"version": N}`
each time a watched file changes, and a comment every 15 s to keep the connection open).

The server binds 127.0.0.1 only, and answers only requests whose `Host` names it, so a web page
elsewhere cannot read the card through a DNS name that resolves to 127.0.0.1 (DNS rebinding).
Frames are drawn one at a time in a worker thread, so the event loop keeps sending events.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import math
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from renderer.encode import Format
from renderer.limits import DEFAULT_LIMITS

from .page import PAGE_CSP, page_html, static_response
from .session import Session, View
from .watch import Watcher

__all__ = ["Changes", "create_preview_app"]

_KEEP_ALIVE = 15.0  # s between comments on an idle event stream


class Changes:
    """A counter of changes that coroutines can wait on (lives in the event loop)."""

    def __init__(self) -> None:
        self.version = 0
        self._event = asyncio.Event()

    def bump(self) -> None:
        self.version += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seen: int, timeout: float) -> int:
        """The version once it differs from `seen`, or the same after `timeout` seconds."""
        if self.version == seen:
            with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout)
        return self.version


class _LocalOnly:
    """Refuses requests whose Host header is not this server's loopback address."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str]) -> None:
        self.app, self.hosts = app, hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()
            if host not in self.hosts:
                response = PlainTextResponse("Unknown host", 403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _view(request: Request) -> View:
    q = request.query_params
    try:
        row = int(q.get("row", "0"))
        fmt = Format.parse(q.get("format", "png"))
        scale = float(q.get("scale", "1"))
    except ValueError:
        return View()
    if not (math.isfinite(scale) and 0 < scale <= DEFAULT_LIMITS.max_scale):
        scale = 1.0
    return View(row, fmt, scale)


def create_preview_app(session: Session, port: int) -> ASGIApp:
    """The app for one session, answering as http://127.0.0.1:`port` (or localhost)."""
    changes = Changes()
    lock = asyncio.Lock()
    watcher = Watcher(session.watched, changes.bump)

    async def page(request: Request) -> Response:
        body = page_html(
            "preview",
            title=f"{session.spec.name} · renderer preview",
            heading=f"<code>{html.escape(session.spec.name)}</code> &middot; renderer preview",
            extra={"SOURCE": session.name},
        )
        return HTMLResponse(body, headers=_page_headers())

    async def frame(request: Request) -> Response:
        view = _view(request)
        async with lock:
            version = changes.version
            out = await asyncio.to_thread(session.frame, view, version)
        watcher.refresh()  # the render may name other images now
        return JSONResponse(out, headers={"Cache-Control": "no-store"})

    async def events(request: Request) -> Response:
        return StreamingResponse(
            _stream(changes),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.ensure_future(watcher.run(stop))
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)

    app = Starlette(
        routes=[
            Route("/", page, methods=["GET"]),
            Route("/static/{name}", static_response, methods=["GET"]),
            Route("/api/frame", frame, methods=["GET"]),
            Route("/api/events", events, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    hosts = frozenset({f"127.0.0.1:{port}", f"localhost:{port}"})
    return _LocalOnly(app, hosts)


async def _stream(changes: Changes) -> AsyncIterator[str]:
    seen = changes.version
    yield f"data: {json.dumps({'version': seen})}\n\n"
    while True:
        version = await changes.wait(seen, _KEEP_ALIVE)
        if version == seen:
            yield ": keep-alive\n\n"
            continue
        seen = version
        yield f"data: {json.dumps({'version': seen})}\n\n"


def _page_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": PAGE_CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
    }
