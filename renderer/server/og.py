"""`GET /og/{name}.{ext}?title=...&s=SIGNATURE`: a template from `--templates DIR`, filled with the
query and rendered, for `<meta property="og:image">` tags that crawlers fetch.

A request passes these gates in order, and the first that fails answers: the name and extension
(404) → the query's length (414) → a parameter given twice (400) → the signature, or the
operator's allowance of unsigned URLs for that template, and `exp` (403; the failures count
against the client address's budget, `auth_failures_per_minute`, past which 429) → the template
exists (404) and reads as JSON (500: the operator's file, not the request, is wrong) → the
variables: none the template does not use, none it uses missing (400 naming them) → the plan's
component limit (400) → the plan's quota (429, or 503 when the store is down) →
`If-None-Match` (304) → the render cache → a render on the same worker pool, deadline and memory
cap as `POST /api/v1/image` (503 when busy or late; 400 when a value makes the card invalid,
e.g. a colour that is not one) → 200. So a refused request never gets a 304, and nothing is
drawn for a URL that is not signed.

Why the signature stands for authorisation, and no API key is in the URL: an og:image URL is
published in every page's HTML, so a key in it would be a key handed to everyone (and would
work as a `Bearer` key on the POST endpoint). The signature instead proves the operator's secret
minted that exact URL; it cannot be reused for other variables. Quotas still apply: requests are
counted against the plan `og_plan` (default: no quota), one bucket per template, so a template
can be bounded to so many requests a period like any key.

Caching: the `ETag` hashes the template's bytes, the variables, the format, the bytes of the
image files the card names, the engine version and the bundled fonts, so it changes exactly when
the picture may. Concurrent requests for one ETag share one render (single flight), and the
render cache (`rendercache`) answers later ones; a URL with `v=` is `immutable`, and a URL with
`exp=` is never cached past its expiry.

Templates are read again when their file changes (inode, size, mtime or ctime; checked with one
`stat` per request, cheaper than a watcher for a folder of a few files) and all of them on
`SIGHUP`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import signal
import stat
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from renderer import __version__
from renderer.batch.manifest import fonts_fingerprint
from renderer.batch.plan import image_digests
from renderer.encode import Format
from renderer.errors import SpecError
from renderer.limits import DEFAULT_LIMITS
from renderer.policy import ImagePolicy
from renderer.preflight import preflight
from renderer.signing import EXTENSIONS, RESERVED, TEMPLATE_NAME, Verdict, check_expiry, verify
from renderer.spec import load_document
from renderer.templates import fill, placeholders

from .config import Plan, ServerConfig
from .metrics import Metrics
from .pool import RenderPool
from .ratelimit import RateLimiter, StoreUnavailable
from .refusal import (
    Refusal,
    issue,
    rate_limited,
    render_on_pool,
    request_id,
    too_many_components,
)
from .rendercache import make_cache

__all__ = ["OgRoute", "Template", "TemplateFolder", "etag"]

IMMUTABLE = "public, max-age=31536000, immutable"
_FILE = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9_-]{0,63})\.(?P<ext>[a-z]{3,4})")
_MAX_AGE = re.compile(r"max-age=\d+")

Started = Callable[[], Awaitable[tuple[RateLimiter, RenderPool]]]


@dataclass(frozen=True, slots=True)
class Template:
    """One `NAME.json` of the folder as last read."""

    name: str
    stamp: tuple[int, int, int, int]  # (inode, size, mtime ns, ctime ns): any change re-reads
    digest: str  # SHA-256 of the file's bytes
    doc: Any  # the strict reader's document; None when it could not be read
    variables: frozenset[str]  # placeholder names it uses
    issues: tuple[dict[str, str], ...] = ()  # why it cannot be used


class TemplateFolder:
    """The templates of one folder, each read on first use and again when its file changes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self.loads = 0  # files read: first use, a change on disk, or after `reload`
        self._known: dict[str, Template] = {}

    def get(self, name: str) -> Template | None:
        path = self.folder / f"{name}.json"
        try:
            st = path.stat()
        except OSError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            self._known.pop(name, None)
            return None
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        known = self._known.get(name)
        if known is None or known.stamp != stamp:
            known = self._known[name] = self._read(name, path, stamp)
        return known

    def reload(self) -> None:
        """Forget every template (SIGHUP): each is read again on its next request."""
        self._known.clear()

    def _read(self, name: str, path: Path, stamp: tuple[int, int, int, int]) -> Template:
        self.loads += 1
        try:
            raw = path.read_bytes()
        except OSError as e:
            issue = {"pointer": "", "message": f"The template cannot be read: {e.strerror}."}
            return Template(name, stamp, "", None, frozenset(), (issue,))
        digest = hashlib.sha256(raw).hexdigest()
        try:
            doc, _ = load_document(raw, DEFAULT_LIMITS)
        except SpecError as e:
            issues = tuple(i.as_dict() for i in e.issues)
            return Template(name, stamp, digest, None, frozenset(), issues)
        used = frozenset(placeholders(doc))
        clash = sorted(used & RESERVED)
        bad = tuple(
            {"pointer": "", "message": f"{{{{ {n} }}}}: '{n}' is a reserved query name."}
            for n in clash
        )
        return Template(name, stamp, digest, None if bad else doc, used, bad)


def etag(
    template: Template, fmt: Format, variables: Mapping[str, str], images: Mapping[str, str]
) -> str:
    """Everything that can change the card's bytes; `v`, `exp` and `s` cannot."""
    payload = {
        "engine": __version__,
        "fonts": fonts_fingerprint(),
        "template": template.digest,
        "format": fmt.value,
        "variables": sorted(variables.items()),
        "images": sorted(images.items()),
    }
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _matches(if_none_match: str | None, tag: str) -> bool:
    """`If-None-Match` lists this strong tag (weak comparison, as RFC 9110 asks for GET)."""
    tags = (t.strip().removeprefix("W/") for t in (if_none_match or "").split(","))
    return any(t in ("*", f'"{tag}"') for t in tags)


@dataclass(slots=True)
class OgStats:
    renders: int = 0  # cards drawn
    cache_hits: int = 0  # answered from the render cache
    coalesced: int = 0  # requests that waited for another request's render of the same card


class OgRoute:
    """The route's state: the template folder, the render cache and the renders in flight."""

    def __init__(
        self, config: ServerConfig, metrics: Metrics, policy: ImagePolicy, started: Started
    ) -> None:
        self.config = config
        self.folder = TemplateFolder(Path(config.templates_dir))
        self.cache = make_cache(config.og_cache, config.og_cache_max_bytes)
        self.plan = config.plans[config.og_plan]
        # Templates are the operator's: their own image files (a logo beside them) may be used.
        self.policy = policy.with_changes(
            allow_paths=(self.folder.folder, *(policy.allow_paths or ()))
        )
        self.metrics = metrics
        self.stats = OgStats()
        self._started = started
        self._flights: dict[str, asyncio.Future[bytes]] = {}

    def gauges(self) -> dict[str, tuple[str, float]]:
        """For `/metrics`."""
        return {
            "renderer_og_renders_total": ("Cards drawn for GET /og/.", self.stats.renders),
            "renderer_og_cache_hits_total": (
                "GET /og/ answers from the render cache.",
                self.stats.cache_hits,
            ),
            "renderer_og_coalesced_total": (
                "GET /og/ requests that shared another request's render of the same card.",
                self.stats.coalesced,
            ),
            "renderer_og_template_loads_total": (
                "Template files read: first use, a change on disk, or after SIGHUP.",
                self.folder.loads,
            ),
        }

    def reload_on_sighup(self) -> None:
        """Read every template again after `kill -HUP` (from the lifespan, on the event loop).
        Where signals cannot be handled here (not the main thread, Windows), stat checks remain."""
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.folder.reload)

    async def answer(self, request: Request) -> Response:
        headers: dict[str, str] = {}
        try:
            return await self._answer(request, headers)
        except Refusal as refusal:
            return refusal.response(headers, request_id(request))

    async def _answer(self, request: Request, headers: dict[str, str]) -> Response:
        name, ext, fmt = _target(str(request.path_params["file"]))
        if len(request.scope.get("query_string", b"")) > self.config.og_max_query_bytes:
            raise Refusal(414, "URI Too Long", {"limitBytes": self.config.og_max_query_bytes})
        pairs = _pairs(request.query_params.multi_items())
        await self._authorise(request, f"/og/{name}.{ext}", name, pairs, headers)
        template = self._template(name)
        variables = _variables(template, pairs)
        doc = _filled(template, variables)
        self._check_plan(doc)
        await self._count(name, headers)
        tag = etag(template, fmt, variables, image_digests(doc, self.folder.folder, self.policy))
        cache = {"ETag": f'"{tag}"', "Cache-Control": _cache_control(self.config, pairs)}
        if _matches(request.headers.get("if-none-match"), tag):
            return Response(status_code=304, headers={**headers, **cache})
        data = await self._image(f"{tag}.{fmt.extension}", doc, fmt)
        headers.update(cache)
        headers["Content-Disposition"] = "inline"
        return Response(data, media_type=fmt.content_type, headers=headers)

    # --- gates ---------------------------------------------------------------------------------

    async def _authorise(
        self,
        request: Request,
        path: str,
        name: str,
        pairs: Sequence[tuple[str, str]],
        headers: dict[str, str],
    ) -> None:
        verdict = verify(self.config.url_secret, path, pairs)
        if verdict is Verdict.MISSING and self._unsigned(name):
            verdict = check_expiry(pairs)
        if verdict is Verdict.VALID:
            return
        if verdict is Verdict.BAD_EXPIRY:
            raise Refusal(
                400,
                "Invalid parameters",
                _about("exp", "exp must be a Unix time in whole seconds"),
            )
        await self._failed(request, headers)
        reasons = {
            Verdict.MISSING: ("Missing signature", "This URL must be signed (parameter s)."),
            Verdict.INVALID: (
                "Invalid signature",
                "The signature does not match this path and query.",
            ),
            Verdict.EXPIRED: ("URL expired", "The URL's exp time has passed."),
        }
        error, message = reasons[verdict]
        raise Refusal(403, error, issue("", message))

    def _unsigned(self, name: str) -> bool:
        allowed = self.config.og_unsigned
        return "*" in allowed or name in allowed

    async def _failed(self, request: Request, headers: dict[str, str]) -> None:
        """Count a refused signature against the client address's budget (shared with failed
        API keys): past it, 429."""
        per_minute = self.config.auth_failures_per_minute
        if not per_minute:
            return
        client = request.client.host if request.client else "unknown"
        bucket = "ip:" + hashlib.sha256(client.encode()).hexdigest()
        try:
            await self._charge(Plan("auth-failures", per_minute, 60), bucket, headers)
        except Refusal as refusal:
            if refusal.status == 429:
                raise
            # the store is down: the 403 stands on its own

    async def _count(self, name: str, headers: dict[str, str]) -> None:
        await self._charge(self.plan, "og:" + name, headers)

    async def _charge(self, plan: Plan, bucket: str, headers: dict[str, str]) -> None:
        if plan.requests is None:
            return
        limiter, _ = await self._started()
        try:
            quota = await limiter.check(plan, bucket)
        except StoreUnavailable:
            raise Refusal(
                503, "Rate-limit store unavailable", headers={"Retry-After": "5"}
            ) from None
        if quota is None:
            return
        now = time.time()
        headers.update(quota.headers(now))
        if quota.exceeded:
            raise rate_limited(quota, plan, now)

    def _template(self, name: str) -> Template:
        template = self.folder.get(name)
        if template is None:
            raise Refusal(404, "Template not found", {"template": name})
        if template.doc is None:
            raise Refusal(
                500, "Template is invalid", {"template": name, "issues": list(template.issues)}
            )
        return template

    def _check_plan(self, doc: Any) -> None:
        limit = self.plan.max_components
        nodes = preflight(doc).nodes
        if limit is not None and nodes > limit:
            raise too_many_components(self.plan, nodes)

    # --- drawing -------------------------------------------------------------------------------

    async def _image(self, key: str, doc: Any, fmt: Format) -> bytes:
        """From the cache, from a render already in flight for this key, or rendered now."""
        if self.cache is not None:
            hit = await self.cache.get(key)
            if hit is not None:
                self.stats.cache_hits += 1
                return hit
        flight = self._flights.get(key)
        if flight is not None:
            self.stats.coalesced += 1
            return await asyncio.shield(flight)
        task = asyncio.ensure_future(self._render(key, doc, fmt))
        self._flights[key] = task
        task.add_done_callback(lambda t: self._landed(key, t))
        # Shielded: a client that goes away does not cancel the render the others wait for.
        return await asyncio.shield(task)

    def _landed(self, key: str, task: asyncio.Future[bytes]) -> None:
        self._flights.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved, even when every waiter went away

    async def _render(self, key: str, doc: Any, fmt: Format) -> bytes:
        _, pool = await self._started()
        started = time.perf_counter()
        base = str(self.folder.folder)
        result = await render_on_pool(pool, doc, fmt.value, 1.0, None, base, self.policy)
        self.stats.renders += 1
        self.metrics.observe_render(fmt.value, time.perf_counter() - started)
        if self.cache is not None:
            await self.cache.put(key, result)  # before the flight lands: no gap for a re-render
        return result


def _target(file: str) -> tuple[str, str, Format]:
    """`NAME.EXT` → (name, ext as written, format); anything else is not a card here (404)."""
    m = _FILE.fullmatch(file)
    fmt = None
    if m and TEMPLATE_NAME.fullmatch(m["name"]) and m["ext"] in EXTENSIONS:  # as sign_url signs
        try:
            fmt = Format.parse(m["ext"])
        except ValueError:
            fmt = None
    if m is None or fmt is None:
        raise Refusal(404, "Template not found", {"path": f"/og/{file[:100]}"})
    return m["name"], m["ext"], fmt


def _about(parameter: str, message: str) -> dict[str, Any]:
    """`details` of a refusal about one query parameter: the issue names it, and so does
    `details.parameter`, which clients read before the issue carried it."""
    return {**issue("", message, parameter=parameter), "parameter": parameter}


def _pairs(items: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The query, refused (400) when a name comes twice: a variable has one value, and a second
    `s` or `exp` must not be able to stand beside the signed one."""
    seen: set[str] = set()
    for key, _ in items:
        if key in seen:
            raise Refusal(
                400,
                "Invalid parameters",
                _about(key[:100], f"{key[:100]!r} is given more than once"),
            )
        seen.add(key)
    return list(items)


def _variables(template: Template, pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The template variables of the query: every one the template uses, and no other."""
    given = {k: v for k, v in pairs if k not in RESERVED}
    unknown = sorted(set(given) - template.variables)
    if unknown:
        raise Refusal(
            400,
            "Invalid parameters",
            {
                **_about(
                    unknown[0][:100],
                    f"The template {template.name!r} has no variable {unknown[0][:100]!r}.",
                ),
                "variables": sorted(template.variables),
            },
        )
    missing = sorted(template.variables - set(given))
    if missing:
        raise Refusal(
            400,
            f"Missing template variable {missing[0]!r}",
            {
                "missing": missing,
                "issues": [
                    {"pointer": "", "message": f"Template variable {n!r} is missing."}
                    for n in missing
                ],
            },
        )
    return given


def _filled(template: Template, variables: Mapping[str, str]) -> Any:
    try:
        return fill(template.doc, variables)
    except SpecError as e:  # not reached with string values, but a refusal is the right answer
        raise Refusal(
            400, "Invalid parameters", {"issues": [i.as_dict() for i in e.issues]}
        ) from None


def _cache_control(config: ServerConfig, pairs: Sequence[tuple[str, str]]) -> str:
    """`immutable` for a versioned URL; never fresher than the URL's own `exp`."""
    query = dict(pairs)
    value = IMMUTABLE if "v" in query else config.og_cache_control
    if "exp" in query:
        left = max(0, int(query["exp"]) - int(time.time()))
        value = _MAX_AGE.sub(lambda m: f"max-age={min(left, int(m[0][8:]))}", value)
        value = value.replace(", immutable", "")
    return value
