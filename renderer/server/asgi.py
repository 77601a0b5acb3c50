"""The Starlette application: Craftr's `POST /api/v1/image` plus health, metrics and docs.

A request to the image endpoint passes these gates in order, and the first that fails answers:
authentication (401/403) → quota (429) → `Content-Encoding` and `Content-Type` (415) → query
parameters (400) → `Accept` (406) → declared length (413) → the body, read in chunks against the
size limit (413) and a deadline (408) → strict JSON (400) → the plan's component limit and the
image-source policy (400) → `If-None-Match` (304, once a render worker has run the spec stage on
the body: a body the engine refuses is a 400, never a 304) → a render worker (503 when busy or
past the deadline; 400 for a spec the engine refuses) → 200. Everything before the body needs
only headers, so an unauthenticated or over-quota client never gets to upload 5 MB.

`POST /api/v1/batch` authenticates and refuses an exhausted quota (429) without counting, passes
the same gates up to the body, then: the batch itself (400, see `batch`), the callback URL's
address (400), the plan's limits for each item (that item's error), the quota for every item at
once (429, taking nothing), and answers 202 with the job's id; `jobs.JobRunner` draws the items in
the background, filling template rows in the render workers. The server process only parses the
body (at most `max_body_bytes`, one large body at a time, `Limits.max_json_items`), fills output
names and image sources within fixed bounds, and keeps each card pickled (`worker.Packed`) while
its job waits.
`GET /api/v1/jobs/{id}` authenticates without counting and answers the job as stored (404 for an
unknown id or another key's job).

Every error is `{"error": "...", "details": {"issues": [{"pointer", "message"}, ...], ...}}`:
`issues` is always there, so a client reads one shape. `pointer` is a JSON pointer into the body
("" for the request as a whole); an issue about a query parameter or a header names it in
`parameter` or `header`. Other keys of `details` (`limit`, `plan`, `deadlineSeconds`, …) stay.

Every response goes through `_Hygiene`, which adds `X-Request-Id`, `X-Content-Type-Options` and
the strict `Content-Security-Policy`, counts the response for `/metrics`, and turns an unexpected
exception into a 500 in Craftr's shape that names the request id but never the traceback.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import hashlib
import hmac
import logging
import math
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from renderer import __version__
from renderer.encode import FORMAT_NAMES, Format
from renderer.errors import TIMEOUT_ERRORS, SpecError
from renderer.limits import DEFAULT_LIMITS
from renderer.net import FetchError, check_destination
from renderer.policy import ImagePolicy
from renderer.preflight import preflight
from renderer.spec import load_document, schema

from .auth import AuthFailure, Caller, Keyring
from .batch import BatchInvalid, BatchRequest, PlannedItem, gate_view, parse_batch
from .config import Plan, ServerConfig
from .docpage import DOC_CSP, doc_page, static_response
from .jobs import Job, JobRunner, JobStore, iso_now, new_job_id
from .metrics import Metrics
from .negotiate import JSON_TYPE, PRODUCED, NotAcceptable, negotiate
from .og import OgRoute
from .openapi import build_openapi
from .pool import RenderPool
from .ratelimit import Charge, Quota, RateLimiter, StoreUnavailable, make_store
from .refusal import Refusal as _Refusal
from .refusal import (
    check_on_pool,
    error_body,
    render_on_pool,
    request_id,
    too_many_components,
)
from .refusal import issue as _issue
from .refusal import rate_limited as _rate_limited
from .storage import Storage
from .worker import Packed

__all__ = ["STRICT_CSP", "create_app"]

log = logging.getLogger("renderer.server")

STRICT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
IMAGE_CACHE = "public, max-age=31536000"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_ROUTES = {"/", "/api/v1/image", "/api/v1/batch", "/healthz", "/metrics", "/openapi.json"}
_JOBS = "/api/v1/jobs/"
_STATIC = "/static/"  # the playground's script and style sheet
_FORMATS = frozenset(FORMAT_NAMES)


class _Hygiene:
    """Outermost ASGI middleware: request id, security headers, metrics, last-resort 500."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        text = given.decode("latin-1")
        given_id = text if _REQUEST_ID.fullmatch(text) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = given_id
        started = False
        path = scope["path"]
        route = path if path in _ROUTES else "other"
        if path.startswith(_JOBS):
            route = _JOBS + "{id}"
        elif path.startswith(_STATIC):
            route = _STATIC + "{name}"
        elif path.startswith("/og/"):
            route = "/og/{file}"

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers.append((b"x-request-id", given_id.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", STRICT_CSP.encode()))
                message = {**message, "headers": headers}
                self.metrics.requests[(route, scope["method"][:16], message["status"])] += 1
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            log.exception("unhandled error in request %s", given_id)
            if started:
                raise
            message = "An unexpected error; the server's log has it under this request id."
            body = error_body("Internal server error", message, requestId=given_id)
            response = JSONResponse(body, 500)
            await response(scope, receive, send_wrapper)


class _Service:
    """The state one server process shares between requests."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.keys = Keyring(config)
        self.metrics = Metrics()
        self.limiter: RateLimiter | None = None
        self.pool: RenderPool | None = None
        self.openapi = build_openapi(
            schema(),
            auth_required=not self.keys.open,
            max_batch_items=config.max_batch_items,
            templates=bool(config.templates_dir),
        )
        self.allowed_dirs = [Path(d).resolve() for d in config.allow_image_dirs]
        # Images in a service: files only from named folders, SVG only when enabled, URLs
        # under the network policy (no private or metadata addresses unless a host is named).
        self.image_policy = ImagePolicy.server(
            allow_paths=tuple(self.allowed_dirs),
            allow_svg=config.allow_svg_images,
            allow_spec_fonts=config.allow_spec_fonts,
            allow_hosts=config.allow_image_hosts,
            allow_networks=config.allow_image_networks,
        )
        self.storage = Storage(config.storage)
        self.jobs = JobStore(config.jobs_folder(), config.job_retention_hours * 3600)
        self.runner: JobRunner | None = None
        self._start_lock = asyncio.Lock()
        self.og = (  # GET /og/{name}.{ext}, with --templates
            OgRoute(config, self.metrics, self.image_policy, self.ensure_started)
            if config.templates_dir
            else None
        )
        self._big_parse = asyncio.Semaphore(1)
        self._big_bodies = asyncio.Semaphore(_BIG_BODIES)

    async def ensure_started(self) -> tuple[RateLimiter, RenderPool]:
        """Start the store and the pool once (lifespan, or the first request without one)."""
        async with self._start_lock:
            if self.limiter is None:
                self.limiter = RateLimiter(make_store(self.config.rate_limit_store))
            if self.pool is None:
                pool = RenderPool(
                    self.config.render_workers or os.cpu_count() or 1,
                    self.config.render_timeout,
                    self.config.queue_size,
                    self.config.worker_memory_mb,
                    self.config.worker_recycle_mb,
                    self.config.font_dirs,
                )
                await pool.start()
                self.pool = pool
            if self.runner is None:
                await asyncio.to_thread(self.jobs.open)
                self.runner = JobRunner(
                    self.jobs,
                    self._pool,
                    self.image_policy,
                    slots=self.pool.size,
                    callback_retries=self.config.callback_retries,
                    callback_backoff=self.config.callback_backoff,
                    callback_timeout=self.config.callback_timeout,
                    callback_secret=self.config.callback_secret,
                )
        return self.limiter, self.pool

    async def _pool(self) -> RenderPool:
        _, pool = await self.ensure_started()
        return pool

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.close()
        self.jobs.close()
        if self.pool is not None:
            await self.pool.close()
        if self.limiter is not None:
            await self.limiter.store.close()

    # --- gates before the body ------------------------------------------------------------

    async def identify(self, request: Request, headers: dict[str, str]) -> Caller:
        """The caller of `request`, or a 401/403 refusal. Failed attempts are counted per client
        address (`auth_failures_per_minute`): the refusal carries that quota's RateLimit-*
        headers, and guessing keys past it gets 429."""
        _single(request, "Authorization")
        caller = self.keys.authenticate(request.headers.get("authorization"))
        if not isinstance(caller, AuthFailure):
            return caller
        extra = {"WWW-Authenticate": 'Bearer realm="renderer"'} if caller.status == 401 else {}
        message = (
            "Send the header Authorization: Bearer <key>."
            if caller.status == 401
            else "This key is not one this server knows."
        )
        per_minute = self.config.auth_failures_per_minute
        if per_minute:
            limiter, _ = await self.ensure_started()
            plan = Plan("auth-failures", per_minute, 60)
            client = request.client.host if request.client else "unknown"
            bucket = "ip:" + hashlib.sha256(client.encode()).hexdigest()
            try:
                quota = await limiter.check(plan, bucket)
            except StoreUnavailable:
                quota = None  # the refusal stands on its own
            if quota is not None:
                now = time.time()
                headers.update(quota.headers(now))
                if quota.exceeded:
                    raise _rate_limited(quota, plan, now)
        details = _issue("", message, header="Authorization")
        raise _Refusal(caller.status, caller.error, details, headers=extra)

    async def admit(
        self, request: Request, headers: dict[str, str], *, count: bool = True
    ) -> tuple[Caller, Quota | None]:
        """Authenticate and count the request; fills `headers` with the RateLimit-* fields.
        With `count=False` (a batch, counted once its items are known: `charge`) only refuse a
        key whose quota is used up."""
        limiter, _ = await self.ensure_started()
        caller = await self.identify(request, headers)
        try:
            if count:
                quota = await limiter.check(caller.plan, caller.bucket)
            else:
                quota = await limiter.peek(caller.plan, caller.bucket)
        except StoreUnavailable:
            raise _store_down() from None
        if quota is not None:
            now = time.time()
            headers.update(quota.headers(now))
            if quota.exceeded:
                raise _rate_limited(quota, caller.plan, now)
        return caller, quota

    async def charge(self, caller: Caller, items: int, headers: dict[str, str]) -> Charge | None:
        """Count a batch's items, all at once or none (one atomic step in the store). 429,
        counting nothing, when fewer are left."""
        limiter, _ = await self.ensure_started()
        try:
            taken = await limiter.take(caller.plan, caller.bucket, items)
        except StoreUnavailable:
            raise _store_down() from None
        if taken is None:
            return None
        quota, charge = taken
        now = time.time()
        headers.update(quota.headers(now))
        if charge is None:
            wanted = {"requested": items, "remaining": quota.remaining}  # as RateLimit-Remaining
            raise _rate_limited(quota, caller.plan, now, wanted)
        return charge

    async def give_back(self, charge: Charge | None) -> None:
        """Return a batch's charge when the batch is refused after all (never raises)."""
        if charge is None or self.limiter is None:
            return
        try:
            await self.limiter.give_back(charge)
        except StoreUnavailable:
            log.warning("rate-limit store unavailable: a refused batch's charge was kept")

    @staticmethod
    def check_body_headers(request: Request) -> None:
        _single(request, "Content-Encoding")
        _single(request, "Content-Type")
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise _Refusal(
                415,
                "Unsupported Content-Encoding",
                {
                    **_issue(
                        "",
                        "Requests are never inflated: send the body as it is (identity). "
                        f"Received: {encoding[:64]!r}.",
                        header="Content-Encoding",
                    ),
                    "contentEncoding": encoding[:64],
                    "supported": ["identity"],
                },
            )
        ctype = request.headers.get("content-type", "")
        media, *params = (p.strip().lower() for p in ctype.split(";"))
        charset_ok = all(
            p.partition("=")[2].strip('"') in ("utf-8", "utf8")
            for p in params
            if p.startswith("charset=")
        )
        if media != "application/json" or not charset_ok:
            raise _Refusal(
                415,
                "Unsupported Media Type",
                {
                    **_issue(
                        "",
                        f"Send Content-Type: application/json (UTF-8). Received: {ctype[:100]!r}.",
                        header="Content-Type",
                    ),
                    "contentType": ctype[:100],
                    "supported": ["application/json"],
                },
            )

    def declared_length(self, request: Request) -> None:
        raw = request.headers.get("content-length")
        if raw is None:
            return
        if not raw.strip().isdigit():
            raise _Refusal(
                400,
                "Invalid Content-Length",
                _issue("", "Expected a number of bytes.", header="Content-Length"),
            )
        if int(raw) > self.config.max_body_bytes:
            raise _too_large(self.config.max_body_bytes)

    @contextlib.asynccontextmanager
    async def large_body_slot(self, request: Request) -> AsyncIterator[None]:
        """Hold one of `_BIG_BODIES` slots while a large body (or one of unknown length) is in
        this process: read, parsed, and waiting for its worker. Ten 5 MB bodies at once took the
        server process to 290 MB, mostly bodies waiting for two workers; a request that cannot
        get a slot within the render deadline is a 503, before its body is read."""
        length = request.headers.get("content-length", "")
        if length.strip().isdigit() and int(length) <= _BIG_BODY:
            yield
            return
        try:
            await asyncio.wait_for(self._big_bodies.acquire(), self.config.render_timeout)
        except TIMEOUT_ERRORS:
            raise _Refusal(
                503, "Server busy: too many large requests at once", headers={"Retry-After": "1"}
            ) from None
        try:
            yield
        finally:
            self._big_bodies.release()

    async def read_body(self, request: Request) -> bytes:
        """The body; refused as soon as it passes `max_body_bytes`, or at the deadline."""
        limit = self.config.max_body_bytes

        async def read() -> bytes:
            chunks: list[bytes] = []
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                chunks.append(chunk)
            return b"".join(chunks)

        try:
            return await asyncio.wait_for(read(), self.config.body_timeout)
        except TIMEOUT_ERRORS:
            raise _Refusal(
                408,
                "Request body not received in time",
                {"deadlineSeconds": self.config.body_timeout},
                headers={"Connection": "close"},
                message=f"The whole body must arrive within {self.config.body_timeout:g} s.",
            ) from None

    async def parse(self, body: bytes, parse: Callable[[bytes], _T]) -> _T:
        """`parse(body)` in a thread, bodies over `_BIG_BODY` bytes one at a time. Parsed JSON
        can take 15 times its text and more (`Limits.max_json_items` caps how much more: the
        strict reader refuses a document of over 100,000 keys and values before parsing it),
        so ten 5 MB bodies parsed at once once took this process past 1 GB."""
        if len(body) <= _SMALL_BODY:  # a card's body parses in ~0.1 ms: no thread hop
            return parse(body)
        if len(body) <= _BIG_BODY:
            return await asyncio.to_thread(parse, body)
        async with self._big_parse:
            return await asyncio.to_thread(parse, body)

    # --- gates on the document --------------------------------------------------------------

    def check_document(self, doc: Any, plan: Plan, scale: float) -> str | None:
        """Plan component limit and image-source policy, checked before a worker is used.
        Returns the base folder for image paths."""
        if not isinstance(doc, dict) or not isinstance(doc.get("components"), list):
            return None  # the engine's schema check reports it properly
        asked = preflight(doc)
        if plan.max_components is not None and asked.nodes > plan.max_components:
            raise too_many_components(plan, asked.nodes)
        for image in asked.images:
            if image.kind == "path":
                self._check_path(image.src, image.pointer)
        for font in asked.fonts:
            if not self.config.allow_spec_fonts:
                raise _Refusal(
                    400,
                    "Invalid parameters",
                    _issue(
                        font.pointer,
                        "Fonts in the spec are not accepted by this server (its operator can "
                        "allow them with --allow-spec-fonts); the families it serves are the "
                        "bundled ones and its --font-dir fonts.",
                    ),
                )
            if font.kind == "path":
                self._check_path(font.src, font.pointer)
        return str(self.allowed_dirs[0]) if self.allowed_dirs else None

    def _check_path(self, src: str, pointer: str) -> None:
        if not self.allowed_dirs:
            raise _Refusal(
                400,
                "Invalid parameters",
                _issue(
                    pointer,
                    "File paths are not accepted by this server (its operator can allow folders "
                    "with --allow-image-dir). Allowed: an http(s) URL, a data: URI or raw base64.",
                ),
            )
        try:
            resolved = (self.allowed_dirs[0] / src).resolve()
        except (OSError, ValueError):
            resolved = None
        if resolved is None or not any(resolved.is_relative_to(d) for d in self.allowed_dirs):
            raise _Refusal(
                400,
                "Invalid parameters",
                _issue(pointer, "The path is outside the folders this server allows images from."),
            )


_T = TypeVar("_T")
_BIG_BODY = 256 * 1024  # bytes: bodies larger than this are parsed one at a time
_SMALL_BODY = 16 * 1024  # bytes: bodies up to this are parsed on the event loop
_BIG_BODIES = 3  # large bodies held in the server process at once (`large_body_slot`)


def _too_large(limit: int) -> _Refusal:
    return _Refusal(
        413,
        "Request body too large",
        {"limitBytes": limit},
        headers={"Connection": "close"},
        message=f"The body may be at most {limit} bytes.",
    )


def _store_down() -> _Refusal:
    log.warning("rate-limit store unavailable")
    return _Refusal(
        503,
        "Rate-limit store unavailable",
        headers={"Retry-After": "5"},
        message="Quotas cannot be checked just now; try again shortly.",
    )


def _single(request: Request, header: str) -> None:
    """Refuse a header given twice: Authorization, Content-Type and Content-Encoding hold one
    value (RFC 9110), and taking the first of two silently could mean another key, or another
    body type, than the client meant."""
    if len(request.headers.getlist(header)) > 1:
        message = f"The {header} header is given more than once; send it once."
        raise _Refusal(400, f"Repeated {header} header", _issue("", message, header=header))


_QUERY = frozenset({"format", "scale", "quality", "report"})


def _query(request: Request) -> tuple[str | None, float, int | None]:
    """`format`, `scale` and `quality` from the query string, or a 400 naming the bad one.
    Anything else is refused too: a misspelt `qualty=50` must not be silently ignored."""
    q = request.query_params
    unknown = sorted(set(q.keys()) - _QUERY)
    if unknown:
        message = f"Unknown query parameter. Allowed: {', '.join(sorted(_QUERY))}."
        raise _query_refusal(message, parameter=unknown[0][:100], allowed=sorted(_QUERY))
    repeated = sorted(k for k in _QUERY if len(q.getlist(k)) > 1)
    if repeated:  # which one was meant? (/og/ refuses a repeated variable alike)
        message = f"{repeated[0]!r} is given more than once."
        raise _query_refusal(message, parameter=repeated[0])
    fmt = q.get("format")
    if fmt is not None:
        fmt = fmt.strip().lower()
        if fmt not in _FORMATS | {"json"}:
            allowed = sorted(_FORMATS | {"json"})
            message = f"Allowed: {', '.join(allowed)}. Received: {fmt[:20]!r}."
            raise _query_refusal(message, parameter="format", allowed=allowed)
    scale = 1.0
    if "scale" in q:
        try:
            scale = float(q["scale"])
        except ValueError:
            scale = math.nan
        if not (math.isfinite(scale) and 0 < scale <= DEFAULT_LIMITS.max_scale):
            message = f"Expected a number, 0 < scale ≤ {DEFAULT_LIMITS.max_scale:g}."
            raise _query_refusal(message, parameter="scale")
    quality = None
    if "quality" in q:
        raw = q["quality"]
        # ASCII digits only: str.isdigit() also accepts "³", which int() refuses (a 500 found
        # by schemathesis).
        if not (re.fullmatch(r"[0-9]{1,3}", raw) and 1 <= int(raw) <= 100):
            raise _query_refusal(message="Expected an integer 1-100.", parameter="quality")
        quality = int(raw)
    return fmt, scale, quality


def _wants_report(request: Request) -> bool:
    """`?report=1`: answer JSON with the render report beside the image (the playground's
    overlay, or any client's check of what fitted); `0` or absent: the image as usual."""
    raw = request.query_params.get("report")
    if raw is None or raw == "0":
        return False
    if raw == "1":
        return True
    raise _query_refusal(message="Expected 0 or 1.", parameter="report", allowed=["0", "1"])


def _query_refusal(message: str, *, parameter: str, **details: Any) -> _Refusal:
    """A 400 for one query parameter; `details.parameter` is kept from the earlier shape."""
    issue = _issue("", message, parameter=parameter)
    return _Refusal(400, "Invalid parameters", {**issue, "parameter": parameter, **details})


def _choose(accept: str | None, fmt: str | None) -> tuple[str, bool]:
    """(image format, wrap in JSON?) from `Accept` and `?format=`."""
    try:
        chosen = negotiate(accept)
    except NotAcceptable:
        if fmt is None:
            raise _Refusal(
                406,
                "Not Acceptable",
                {
                    **_issue(
                        "",
                        f"Nothing in Accept can be produced. Supported: {', '.join(PRODUCED)}.",
                        header="Accept",
                    ),
                    "accept": (accept or "")[:200],
                    "supported": list(PRODUCED),
                },
            ) from None
        chosen = ""
    if fmt == "json":
        return "png", True
    if chosen == JSON_TYPE:
        return (fmt or "png"), True
    if fmt is not None:
        return fmt, False
    return Format.parse(chosen).value, False


def _etag(
    body: bytes, fmt: str, scale: float, quality: int | None, as_json: bool, report: bool = False
) -> str:
    """Derived from the input: renders are deterministic, so a match skips rendering."""
    h = hashlib.sha256()
    h.update(f"renderer/{__version__}\0{fmt}\0{scale!r}\0{quality}\0{as_json}\0".encode())
    if report:
        h.update(b"report\0")
    h.update(body)
    return h.hexdigest()[:32]


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    for tag in if_none_match.split(","):
        tag = tag.strip().removeprefix("W/")
        if tag == "*" or tag == f'"{etag}"':
            return True
    return False


def create_app(config: ServerConfig | None = None) -> ASGIApp:
    """The ASGI app for `config` (default: from the environment, see `config_from_env`)."""
    if config is None:
        from .config import config_from_env

        config = config_from_env()
    service = _Service(config)

    def endpoint(
        handler: Callable[[_Service, Request, dict[str, str]], Awaitable[Response]],
        base: Mapping[str, str] | None = None,
    ) -> Callable[[Request], Awaitable[Response]]:
        """One request's refusals become Craftr-shaped errors, with the headers gathered so far
        (RateLimit-*, Cache-Control); a client that went away mid-body gets a plain 400."""

        async def run(request: Request) -> Response:
            headers = dict(base or {})
            try:
                return await handler(service, request, headers)
            except _Refusal as refusal:
                return refusal.response(headers, request_id(request))
            except ClientDisconnect:
                return Response(status_code=400)

        return run

    image = endpoint(_render_request)
    batch = endpoint(_batch_request)
    job = endpoint(_job_request, {"Cache-Control": "no-store"})

    async def health(request: Request) -> Response:
        pool = service.pool
        return JSONResponse(
            {
                "status": "ok",
                "version": __version__,
                "workers": pool.alive if pool else 0,
                "busy": pool.busy if pool else 0,
                "queued": pool.waiting if pool else 0,
            },
            headers={"Cache-Control": "no-store"},
        )

    async def openapi(request: Request) -> Response:
        return JSONResponse(service.openapi)

    async def metrics(request: Request) -> Response:
        pool = service.pool
        stats = pool.stats if pool else None
        gauges = {
            "renderer_workers": ("Render worker processes alive.", pool.alive if pool else 0),
            "renderer_workers_busy": ("Render workers rendering now.", pool.busy if pool else 0),
            "renderer_queue_waiting": (
                "Renders waiting for a worker.",
                pool.waiting if pool else 0,
            ),
            "renderer_render_timeouts_total": (
                "Renders killed at the deadline.",
                stats.timeouts if stats else 0,
            ),
            "renderer_worker_crashes_total": (
                "Workers that died mid-render.",
                stats.crashes if stats else 0,
            ),
            "renderer_worker_restarts_total": ("Workers replaced.", stats.restarts if stats else 0),
            "renderer_workers_recycled_total": (
                "Workers retired after a request: out of memory, near their cap, over "
                "--worker-recycle-mb, or a failure on our side (timeouts and crashes are counted "
                "apart).",
                stats.recycled if stats else 0,
            ),
            "renderer_queue_rejections_total": (
                "Renders refused with 503: queue full.",
                stats.busy_rejections if stats else 0,
            ),
            "renderer_jobs_running": (
                "Batch jobs queued or running in this process.",
                service.runner.active if service.runner else 0,
            ),
            **(service.og.gauges() if service.og else {}),
        }
        return PlainTextResponse(
            service.metrics.render({k: (h, float(v)) for k, (h, v) in gauges.items()}),
            media_type="text/plain; version=0.0.4",
        )

    async def index(request: Request) -> Response:
        return HTMLResponse(
            doc_page(auth_required=not service.keys.open),
            headers={"Content-Security-Policy": DOC_CSP},
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = {404: "No such endpoint.", 405: "This endpoint does not take that method."}
        body = error_body(exc.detail, message.get(exc.status_code, exc.detail))
        return JSONResponse(body, exc.status_code, headers=exc.headers)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.ensure_started()
        if service.og is not None:
            service.og.reload_on_sighup()
        try:
            yield
        finally:
            await service.close()

    middleware = []
    if config.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(config.cors_origins),
                allow_methods=["POST"],
                allow_headers=["Authorization", "Content-Type", "X-Request-Id"],
                expose_headers=[
                    "RateLimit-Limit",
                    "RateLimit-Remaining",
                    "RateLimit-Reset",
                    "Retry-After",
                    "X-Request-Id",
                    "ETag",
                ],
            )
        )
    starlette = Starlette(
        routes=[
            Route("/api/v1/image", image, methods=["POST"]),
            Route("/api/v1/batch", batch, methods=["POST"]),
            Route("/api/v1/jobs/{id}", job, methods=["GET"]),
            Route("/healthz", health, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/", index, methods=["GET"]),
            Route(_STATIC + "{name}", static_response, methods=["GET"]),
            *([Route("/og/{file}", service.og.answer, methods=["GET"])] if service.og else []),
        ],
        middleware=middleware,
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    return _Hygiene(starlette, service.metrics)


async def _render_request(service: _Service, request: Request, headers: dict[str, str]) -> Response:
    caller, _ = await service.admit(request, headers)
    service.check_body_headers(request)
    query = _query(request)
    report = _wants_report(request)
    image_format, as_json = _choose(request.headers.get("accept"), query[0])
    headers["Vary"] = "Accept"
    service.declared_length(request)
    wanted = _Wanted(_canonical(image_format), query[1], query[2], as_json or report, report)
    async with service.large_body_slot(request):
        return await _render_body(service, request, headers, caller.plan, wanted)


@dataclasses.dataclass(frozen=True, slots=True)
class _Wanted:
    """What a `POST /api/v1/image` asks for, read from its headers and query."""

    image_format: str
    scale: float
    quality: int | None
    as_json: bool
    report: bool


async def _render_body(
    service: _Service, request: Request, headers: dict[str, str], plan: Plan, wanted: _Wanted
) -> Response:
    """The rest of `POST /api/v1/image`, from reading the body, in a large-body slot."""
    image_format, scale, quality = wanted.image_format, wanted.scale, wanted.quality
    as_json, report = wanted.as_json, wanted.report
    body = await service.read_body(request)
    try:
        doc = await service.parse(body, lambda b: load_document(b, DEFAULT_LIMITS)[0])
    except SpecError as e:
        raise _Refusal(
            400, "Invalid parameters", {"issues": [i.as_dict() for i in e.issues]}
        ) from None
    base_dir = service.check_document(doc, plan, scale)
    size = _size(doc, scale) if as_json else (0, 0)
    del doc  # held only as its body from here: parsed, it may be 15 times bigger
    etag = _etag(body, image_format, scale, quality, as_json, report)
    cache = {"ETag": f'"{etag}"', "Cache-Control": IMAGE_CACHE}
    _, pool = await service.ensure_started()
    if _matches(request.headers.get("if-none-match"), etag):
        # Only a body the engine accepts has a representation to be current: `*` must not
        # turn an invalid spec into a 304 (issue 11), nor may a guessed ETag.
        await check_on_pool(pool, body, scale)
        return Response(status_code=304, headers={**headers, **cache})
    started = time.perf_counter()
    answer = await render_on_pool(
        pool, body, image_format, scale, quality, base_dir, service.image_policy, report=report
    )
    seconds = time.perf_counter() - started
    service.metrics.observe_render(image_format, seconds)
    content_type = Format.parse(image_format).content_type
    extra: dict[str, Any] = {}
    result: bytes
    if isinstance(answer, tuple):  # ?report=1
        result, extra["report"] = answer
        headers["Server-Timing"] = f"render;dur={seconds * 1000:.1f}"
    else:
        result = answer
    if as_json:
        return JSONResponse(
            {
                "image": {
                    "id": etag,
                    "width": size[0],
                    "height": size[1],
                    "content_type": content_type,
                    "base64_data": base64.b64encode(result).decode("ascii"),
                },
                **extra,
            },
            headers={**headers, **cache},
        )
    headers["Content-Disposition"] = "inline"
    return Response(result, media_type=content_type, headers={**headers, **cache})


def _size(doc: Any, scale: float) -> tuple[int, int]:
    """The image's size in device pixels, for the JSON answer; read before the engine has
    checked the card, so a card without a usable size gives (0, 0) here and a 400 there."""
    try:
        return round(int(doc["width"]) * scale), round(int(doc["height"]) * scale)
    except (KeyError, TypeError, ValueError, OverflowError):
        return 0, 0


def _canonical(fmt: str) -> str:
    return {"jpg": "jpeg", "tif": "tiff"}.get(fmt, fmt)


async def _batch_request(service: _Service, request: Request, headers: dict[str, str]) -> Response:
    caller, _ = await service.admit(request, headers, count=False)
    service.check_body_headers(request)
    service.declared_length(request)
    async with service.large_body_slot(request):
        return await _batch_body(service, request, headers, caller)


async def _batch_body(
    service: _Service, request: Request, headers: dict[str, str], caller: Caller
) -> Response:
    """The rest of `POST /api/v1/batch`, from reading the body, in a large-body slot."""
    body = await service.read_body(request)
    try:
        batch = await service.parse(body, lambda b: _plan(service, b, caller.plan))
    except BatchInvalid as e:
        raise _Refusal(400, "Invalid parameters", {"issues": e.issues}) from None
    if batch.callback_url is not None:
        policy = service.image_policy
        try:
            await asyncio.wait_for(
                asyncio.to_thread(check_destination, batch.callback_url, policy),
                policy.fetch_timeout,
            )
        except FetchError as e:
            raise _Refusal(
                400, "Invalid parameters", _issue("/callback_url", f"Refused: {e}.")
            ) from None
        except TIMEOUT_ERRORS:
            message = f"The host was not resolved within {policy.fetch_timeout:g} s."
            raise _Refusal(400, "Invalid parameters", _issue("/callback_url", message)) from None
    charge = await service.charge(caller, len(batch.items), headers)
    try:
        return await _submit(service, caller, batch, headers)
    except BaseException:
        await service.give_back(charge)
        raise


async def _submit(
    service: _Service, caller: Caller, batch: BatchRequest, headers: dict[str, str]
) -> Response:
    """Record the job and start it; 202 with its id."""
    items = batch.items
    fmt = batch.format
    job = Job(
        id=new_job_id(),
        bucket=caller.bucket,
        owner=service.jobs.token,
        created=iso_now(),
        format=fmt.extension,
        content_type=fmt.content_type,
        items=[
            i.error.as_dict(i.index) if i.error else {"index": i.index, "status": "pending"}
            for i in items
        ],
        output=batch.output.url if batch.output else None,
        callback=(
            {"url": batch.callback_url, "status": "pending", "attempts": []}
            if batch.callback_url
            else None
        ),
    )
    await service.ensure_started()
    assert service.runner is not None
    base_dir = str(service.allowed_dirs[0]) if service.allowed_dirs else None
    await service.runner.submit(job, batch, base_dir)
    link = f"/api/v1/jobs/{job.id}"
    return JSONResponse(
        {"id": job.id, "status": "queued", "items": len(items), "links": {"self": link}},
        202,
        headers={**headers, "Location": link, "Cache-Control": "no-store"},
    )


def _plan(service: _Service, body: bytes, plan: Plan) -> BatchRequest:
    """Runs in a thread: the batch planned, each item gated, and each card kept `Packed`, so
    the parsed body is dropped before the job waits for workers (a template shared by every
    row is packed once)."""
    batch = parse_batch(
        body,
        max_items=service.config.max_batch_items,
        max_body_bytes=service.config.max_body_bytes,
        max_scale=DEFAULT_LIMITS.max_scale,
        storage=service.storage,
    )
    packed: dict[int, Packed] = {}
    items = []
    for item in batch.items:
        item = _gate(service, item, plan, batch.scale)
        if item.spec is not None:
            if id(item.spec) not in packed:
                packed[id(item.spec)] = Packed.of(item.spec)
            item = dataclasses.replace(item, spec=packed[id(item.spec)])
        items.append(item)
    return dataclasses.replace(batch, items=tuple(items))


def _gate(service: _Service, item: PlannedItem, plan: Plan, scale: float) -> PlannedItem:
    """The image endpoint's document gates (plan limit, file paths, size) for one item."""
    view = gate_view(item) if item.spec is not None else None
    if view is None:
        return item
    try:
        service.check_document(view, plan, scale)
    except _Refusal as r:
        issues = (r.details or {}).get("issues") or [{"pointer": "", "message": r.error}]
        return dataclasses.replace(item, spec=None, error=item.failed(r.error, issues))
    return item


async def _job_request(service: _Service, request: Request, headers: dict[str, str]) -> Response:
    caller = await service.identify(request, headers)
    await service.ensure_started()
    job_id = str(request.path_params["id"])
    job = await asyncio.to_thread(service.jobs.load, job_id)
    # Another key's job answers exactly as an unknown one: ids cannot be probed.
    if job is None or not hmac.compare_digest(job.bucket, caller.bucket):
        raise _Refusal(
            404, "Job not found", {"id": job_id[:64]}, message="No job with this id for this key."
        )
    return JSONResponse(await asyncio.to_thread(service.jobs.view, job), headers=headers)
