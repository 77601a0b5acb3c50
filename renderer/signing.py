"""Signed template URLs: `/og/{name}.{ext}?title=...&s=SIGNATURE`, as `renderer serve --templates`
answers them.

Why signed: an `og:image` URL is fetched by crawlers, which send no headers, so the URL itself has
to carry the authorisation. The signature is the HMAC-SHA256, keyed with the server's secret
(`RENDERER_URL_SECRET`), of the canonical form of the path and the query:

    /og/blog.png?exp=1767225600&title=Hello%20world&v=3

that is, the path, `?`, and every query parameter except `s`, sorted by name, each name and
value percent-encoded (RFC 3986 unreserved characters left as they are, a space as `%20`) and
joined with `&`. The signature is that MAC in unpadded URL-safe base64 (43 characters), sent as
`s`. The canonical form is rebuilt from the decoded query, so a proxy or CDN that re-encodes the
URL (`+` for a space, `%7E` for `~`) does not break it; the path is the route's own
(`/og/NAME.EXT`), so a server behind a path prefix verifies the same URLs.

Two parameters besides `s` mean something to the server and are signed like the rest: `exp`, a
Unix time after which the URL is refused (`403`), and `v`, a version the caller bumps when the
card's inputs change, which lets the answer be cached as `immutable`. Every other parameter is a
template variable. Nothing here needs the server: `sign_url` runs wherever pages are built.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import os
import re
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from .templates import as_text

__all__ = [
    "ENV_SECRET",
    "EXTENSIONS",
    "RESERVED",
    "TEMPLATE_NAME",
    "Verdict",
    "canonical",
    "check_expiry",
    "sign_url",
    "signature",
    "verify",
]

ENV_SECRET = "RENDERER_URL_SECRET"
RESERVED = frozenset({"s", "exp", "v"})  # query names that are not template variables
TEMPLATE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
EXTENSIONS = ("png", "jpg", "jpeg", "webp", "avif", "tiff", "tif", "svg", "pdf")  # of /og/ URLs
_SAFE = "-._~"  # RFC 3986 unreserved, besides letters and digits


class Verdict(enum.Enum):
    """What `verify` found; only `VALID` may be served."""

    VALID = "valid"
    MISSING = "missing"  # no `s` parameter
    INVALID = "invalid"  # `s` does not match: tampered, or another secret
    EXPIRED = "expired"  # `exp` is in the past
    BAD_EXPIRY = "bad-expiry"  # `exp` signed but not a whole number of seconds


def canonical(path: str, query: Iterable[tuple[str, str]]) -> str:
    """The signed text: `path?` and the query without `s`, sorted and percent-encoded."""
    pairs = sorted((quote(k, safe=_SAFE), quote(v, safe=_SAFE)) for k, v in query if k != "s")
    return path + "?" + "&".join(f"{k}={v}" for k, v in pairs)


def signature(secret: str | bytes, path: str, query: Iterable[tuple[str, str]]) -> str:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    mac = hmac.new(key, canonical(path, query).encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def verify(
    secret: str | bytes,
    path: str,
    query: Iterable[tuple[str, str]],
    now: float | None = None,
) -> Verdict:
    """Check `s` against the rest of the query (compared in constant time), then `exp`."""
    pairs = list(query)
    given = [v for k, v in pairs if k == "s"]
    if not given:
        return Verdict.MISSING
    if not secret or not hmac.compare_digest(
        given[-1].encode("utf-8", "surrogateescape"), signature(secret, path, pairs).encode()
    ):
        return Verdict.INVALID
    return check_expiry(pairs, now)


def check_expiry(query: Iterable[tuple[str, str]], now: float | None = None) -> Verdict:
    """`EXPIRED` past the `exp` parameter (Unix seconds), `VALID` without one."""
    stamps = [v for k, v in query if k == "exp"]
    if not stamps:
        return Verdict.VALID
    if not re.fullmatch(r"[0-9]{1,12}", stamps[-1]):
        return Verdict.BAD_EXPIRY
    when = time.time() if now is None else now
    return Verdict.EXPIRED if int(stamps[-1]) < when else Verdict.VALID


def sign_url(
    template: str,
    variables: Mapping[str, object] | None = None,
    *,
    secret: str | bytes | None = None,
    base_url: str = "",
    format: str = "png",
    expires: datetime | timedelta | float | None = None,
    version: str | int | None = None,
) -> str:
    """The signed URL of `template` with `variables`, e.g.
    `sign_url("blog", {"title": "Hello"}, base_url="https://cards.example.com")`.

    `secret` defaults to `RENDERER_URL_SECRET`. `expires` is a `datetime`, a `timedelta` from
    now, or Unix seconds; `version` marks the card's inputs (the server answers such a URL with
    `Cache-Control: ... immutable`). Values are sent as text: `True` as `true`, numbers as JSON
    writes them, as the batch command fills templates."""
    key = os.environ.get(ENV_SECRET, "") if secret is None else secret
    if not key:
        msg = f"No secret to sign with: pass secret= or set {ENV_SECRET}."
        raise ValueError(msg)
    ext = format.lower().removeprefix(".")
    if not TEMPLATE_NAME.fullmatch(template):
        msg = f"Template names are letters, digits, '_' and '-'. Received: {template!r}."
        raise ValueError(msg)
    if ext not in EXTENSIONS:
        msg = f"Unknown format {format!r}. Allowed: {', '.join(EXTENSIONS)}."
        raise ValueError(msg)
    query = _query(variables or {}, expires, version)
    path = f"/og/{template}.{ext}"
    query.append(("s", signature(key, path, query)))
    encoded = "&".join(f"{quote(k, safe=_SAFE)}={quote(v, safe=_SAFE)}" for k, v in query)
    return f"{base_url.rstrip('/')}{path}?{encoded}"


def _query(
    variables: Mapping[str, object],
    expires: datetime | timedelta | float | None,
    version: str | int | None,
) -> list[tuple[str, str]]:
    clash = sorted(RESERVED & set(variables))
    if clash:
        msg = f"{', '.join(clash)}: reserved query names (s, exp, v), not template variables."
        raise ValueError(msg)
    pairs = sorted((str(k), _text(k, v)) for k, v in variables.items())
    if expires is not None:
        pairs.append(("exp", str(_unix(expires))))
    if version is not None:
        pairs.append(("v", str(version)))
    return pairs


def _text(name: str, value: object) -> str:
    if not isinstance(value, str | int | float):  # bool is an int
        msg = (
            f"Variable {name!r} must be a string, number or boolean. "
            f"Received: {type(value).__name__}."
        )
        raise ValueError(msg)
    return as_text(value)


def _unix(expires: datetime | timedelta | float) -> int:
    if isinstance(expires, timedelta):
        return int(time.time() + expires.total_seconds())
    if isinstance(expires, datetime):
        aware = expires if expires.tzinfo else expires.replace(tzinfo=timezone.utc)
        return int(aware.timestamp())
    return int(expires)
