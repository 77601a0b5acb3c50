"""Safe HTTP(S) fetching of image sources: a URL and an `ImagePolicy` in, at most N bytes out.

A user-supplied URL is a way into the machine that renders it (SSRF), so every hop is checked
before a connection is made:

- the URL: scheme in `policy.schemes`, ≤ `max_url_length` characters, no user-info, no control
  characters, a host that is a name or a canonical address (decimal, octal and hex forms such as
  `2130706433`, `0x7f.1` or `017700000001` are refused: resolvers disagree about them);
- every address the name resolves to: loopback, private, shared (CGNAT), link-local, multicast,
  reserved, unspecified, cloud-metadata (169.254.169.254, fd00:ec2::254, …), IPv4-mapped IPv6 and
  6to4/Teredo/NAT64 forms of a refused IPv4 are refused unless the operator allowed them; one bad
  answer refuses the URL (a DNS rebinding answer must not win by being second);
- the connection goes to the checked address itself: the request URL names the IP and carries the
  `Host` header (and TLS SNI / certificate check) for the name, so nothing resolves the name twice;
- redirects are followed by hand, at most `max_redirects`, each one re-checked from the top.

httpx runs with `trust_env=False` (no proxy variables, no `.netrc`), `Accept-Encoding: identity`
(a compressed body could inflate past the byte cap; any `Content-Encoding` is refused), and the
body is streamed raw with a running byte cap. `fetch_timeout` bounds the whole fetch, DNS and
redirects included: the fetch runs in a worker thread whose every network wait is bounded by the
time left, and the caller stops waiting at the deadline whatever the worker is doing.

An optional on-disk cache (`policy.cache_dir`) keeps bodies with their `Cache-Control` freshness
and `ETag`/`Last-Modified` validators; a stale entry is revalidated with a conditional request.
A cache folder belongs to one policy: its entries are trusted without re-resolving the host.

`post` sends a body the other way (the server's job callbacks) under the same address rules and
the same connect-to-the-checked-address discipline; it follows no redirects (a 3xx is an answer
like any other) and reads none of the response body, only its status.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import ipaddress
import json
import os
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from .files import write_atomic
from .policy import ImagePolicy

__all__ = ["FetchError", "check_address", "check_destination", "check_url", "fetch", "post"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CONTROL = re.compile(r"[\x00-\x20\x7f\\]")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_CANONICAL_QUAD = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
_HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$")
_OK_TYPES = ("application/octet-stream", "binary/octet-stream")
# A card's own fonts come the same way: `font/*` (RFC 8081) and the types servers sent before it.
_FONT_TYPES = ("application/font-woff", "application/x-font-ttf", "application/x-font-otf")
_CHUNK = 64 * 1024

# Cloud instance-metadata endpoints: refused even when private addresses are allowed.
_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192", "169.254.170.2")
)
_PRIVATE = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class FetchError(ValueError):
    """A URL source was refused or could not be fetched; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Target:
    """One checked hop: the URL as the user wrote it, split into what we connect to."""

    url: str
    scheme: str  # http | https
    host: str  # lower-case name or address, no brackets
    port: int
    target: str  # path and query, as sent in the request line


def _is_canonical_ipv4(host: str) -> bool:
    return _CANONICAL_QUAD.fullmatch(host) is not None


def check_url(url: str, policy: ImagePolicy) -> Target:
    """Parse and check one URL against the policy's syntax rules (no DNS yet)."""
    if len(url) > policy.max_url_length:
        msg = (
            f"the URL is {len(url)} characters; the limit is {policy.max_url_length} "
            "(ImagePolicy.max_url_length)"
        )
        raise FetchError(msg)
    if _CONTROL.search(url):
        msg = "the URL contains spaces, control characters or backslashes"
        raise FetchError(msg)
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as e:
        msg = f"malformed URL: {e}"
        raise FetchError(msg) from None
    scheme = parts.scheme.lower()
    if scheme not in policy.schemes:
        msg = (
            f"URL scheme {scheme!r} is not allowed. Allowed: {', '.join(policy.schemes)} "
            "(ImagePolicy.schemes)"
        )
        raise FetchError(msg)
    if "@" in parts.netloc:
        msg = "URLs with user-info (user:password@) are refused"
        raise FetchError(msg)
    host = _normalise_host(parts.hostname or "")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if port == 0:  # not "no port": `port or default` once called it port 80 (issue 11)
        msg = "the URL names port 0, which no server listens on"
        raise FetchError(msg)
    return Target(url, scheme, host, _default_port(scheme) if port is None else port, target)


def _normalise_host(raw: str) -> str:
    if not raw:
        msg = "the URL has no host"
        raise FetchError(msg)
    host = raw.lower().rstrip(".")
    if ":" in host:  # an IPv6 literal (urlsplit has removed the brackets)
        if "%" in host:
            msg = "IPv6 zone identifiers are refused"
            raise FetchError(msg)
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError:
            msg = f"malformed IPv6 address {raw!r}"
            raise FetchError(msg) from None
    if _NUMERIC_LABEL.match(host.rsplit(".", 1)[-1]) and not _is_canonical_ipv4(host):
        msg = (
            f"the host {raw!r} is a numeric address in a non-standard form (decimal, octal or "
            "hex); write it as a dotted quad such as 93.184.216.34"
        )
        raise FetchError(msg)
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        msg = f"the host name {raw!r} is not a valid internationalised domain name"
        raise FetchError(msg) from None
    if not _HOST_NAME.match(ascii_host) or len(ascii_host) > 253:
        msg = f"the host name {raw!r} is not valid"
        raise FetchError(msg)
    return ascii_host


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in n for n in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def check_address(ip: IPAddress, policy: ImagePolicy) -> str | None:
    """Why `ip` may not be contacted under `policy`, or None when it may."""
    if any(ip in n for n in policy.networks):
        return None
    # IPv6 forms that carry an IPv4 address first: Python 3.13 started answering is_loopback,
    # is_private and the rest for IPv4-mapped addresses from the IPv4 inside, which would let
    # ::ffff:127.0.0.1 through where allow_loopback is set, and only on some Pythons.
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        inner = _embedded_ipv4(ip)
        if inner is not None:
            reason = check_address(inner, policy)
            if reason:
                return f"an IPv6 address embedding {inner}, {reason}"
            return None
    if ip.is_loopback:
        return None if policy.allow_loopback else "a loopback address"
    if ip in _METADATA:
        return "a cloud metadata address"
    if any(ip in n for n in _PRIVATE):
        return None if policy.allow_private else "a private-network address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified or ip.is_reserved or not ip.is_global:
        return "a reserved or non-public address"
    return None


def _resolve(t: Target, policy: ImagePolicy) -> list[IPAddress]:
    """Every address `t.host` resolves to, each allowed by the policy, in resolver order."""
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(t.host)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(t.host, t.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as e:
            msg = f"cannot resolve host {t.host!r}: {e}"
            raise FetchError(msg) from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(i[4][0])) for i in infos))
    if policy.host_allowed(t.host):
        return addresses
    for ip in addresses:
        reason = check_address(ip, policy)
        if reason:
            msg = (
                f"the host {t.host!r} resolves to {ip}, {reason}; refused (to allow it: "
                "ImagePolicy(allow_hosts=(host, ...)) or ImagePolicy(allow_networks=(cidr, "
                "...)); on the command line, --allow-image-host HOST or --allow-image-network "
                "CIDR)"
            )
            raise FetchError(msg)
    return addresses


# --- the on-disk HTTP cache ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Cached:
    body: bytes
    fresh: bool
    etag: str | None
    last_modified: str | None


def _cache_paths(folder: Path, url: str) -> tuple[Path, Path]:
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()
    return folder / f"{key}.json", folder / f"{key}.body"


def _cache_read(folder: Path, url: str) -> _Cached | None:
    meta_path, body_path = _cache_paths(folder, url)
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
        if meta.get("url") != url:
            return None
        body = body_path.read_bytes()
    except (OSError, ValueError):
        return None
    if hashlib.sha256(body).hexdigest() != meta.get("sha256"):
        return None
    with contextlib.suppress(OSError):
        os.utime(body_path)  # recently used: the last to be pruned
    return _Cached(body, time.time() < float(meta["expires"]), meta["etag"], meta["last_modified"])


def _freshness(headers: httpx.Headers) -> float | None:
    """Seconds the response may be reused without asking, or None when it must not be stored."""
    directives = {
        d.strip().split("=", 1)[0].lower(): d.strip().partition("=")[2].strip('"')
        for d in headers.get("cache-control", "").split(",")
        if d.strip()
    }
    if "no-store" in directives:
        return None
    if "no-cache" in directives:
        return 0.0
    if "max-age" in directives:
        try:
            return max(0.0, float(int(directives["max-age"])))
        except ValueError:
            return 0.0
    if "expires" in headers:
        try:
            when = email.utils.parsedate_to_datetime(headers["expires"]).timestamp()
        except (TypeError, ValueError):
            return 0.0
        return max(0.0, when - time.time())
    return 0.0


def _cache_prune(folder: Path, max_bytes: int) -> None:
    """Remove the least recently used entries until the bodies fit in 90 % of `max_bytes`
    (so a full cache is not pruned again on every write). A body's mtime is its last use."""
    entries: list[tuple[float, Path, int]] = []
    for body_path in folder.glob("*.body"):
        with contextlib.suppress(OSError):
            st = body_path.stat()
            entries.append((st.st_mtime, body_path, st.st_size))
    total = sum(size for _, _, size in entries)
    if total <= max_bytes:
        return
    for _, body_path, size in sorted(entries):
        if total <= max_bytes * 0.9:
            break
        with contextlib.suppress(OSError):
            body_path.with_suffix(".json").unlink(missing_ok=True)  # a reader then misses
            body_path.unlink(missing_ok=True)
        total -= size


def _cache_write(
    folder: Path, url: str, headers: httpx.Headers, body: bytes, max_bytes: int
) -> None:
    ttl = _freshness(headers)
    etag, modified = headers.get("etag"), headers.get("last-modified")
    if ttl is None or (ttl == 0 and not etag and not modified):
        return  # not storable, or storable but useless without validators
    meta = {
        "url": url,
        "expires": time.time() + ttl,
        "etag": etag,
        "last_modified": modified,
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    if len(body) > max_bytes:
        return  # would evict everything else and still not fit
    meta_path, body_path = _cache_paths(folder, url)
    with contextlib.suppress(OSError):  # a cache that cannot be written is just not a cache
        folder.mkdir(parents=True, exist_ok=True)
        for path, data in ((body_path, body), (meta_path, json.dumps(meta).encode())):
            write_atomic(path, data, private=True)
        _cache_prune(folder, max_bytes)


# --- fetching ------------------------------------------------------------------------------------


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds
        self.seconds = seconds
        self.cancelled = False

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0 or self.cancelled:
            raise _TooSlow
        return left


class _TooSlow(Exception):
    pass


def _too_slow(policy: ImagePolicy) -> FetchError:
    return FetchError(
        f"the server did not deliver the image within {policy.fetch_timeout:g} s "
        "(ImagePolicy.fetch_timeout)"
    )


def _status_error(status: int, reason: str) -> FetchError:
    return FetchError(f"the server answered {status} {reason}".rstrip())


def _check_type(response: httpx.Response) -> None:
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        msg = f"the server sent a compressed body (Content-Encoding: {encoding}); refused"
        raise FetchError(msg)
    ctype = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype and not ctype.startswith(("image/", "font/")) and ctype not in _OK_TYPES + _FONT_TYPES:
        msg = f"the server sent Content-Type {ctype!r}, not an image (nor a font)"
        raise FetchError(msg)


def _read_body(response: httpx.Response, max_bytes: int, deadline: _Deadline) -> bytes:
    too_big = FetchError(f"the image is larger than {max_bytes} bytes (Limits.max_image_bytes)")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_raw(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise too_big
        chunks.append(chunk)
        deadline.left()
    return b"".join(chunks)


def _request(
    client: httpx.Client, t: Target, ip: IPAddress, deadline: _Deadline, cached: _Cached | None
) -> httpx.Request:
    headers = {"Host": _host_header(t)}
    if cached and cached.etag:
        headers["If-None-Match"] = cached.etag
    if cached and cached.last_modified:
        headers["If-Modified-Since"] = cached.last_modified
    url = httpx.URL(scheme=t.scheme, host=str(ip), port=t.port, raw_path=t.target.encode())
    return client.build_request(
        "GET",
        url,
        headers=headers,
        timeout=httpx.Timeout(deadline.left()),
        extensions={"sni_hostname": t.host} if t.scheme == "https" else {},
    )


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _host_header(t: Target) -> str:
    """`Host` as RFC 9110 wants it: the port only when it is not the scheme's default (so
    `https://h:80/` says `h:80`, which checking the port against 80 and 443 alone did not)."""
    if t.port == _default_port(t.scheme):
        return _bracket(t.host)
    return f"{_bracket(t.host)}:{t.port}"


def _connect(
    client: httpx.Client,
    t: Target,
    ips: list[IPAddress],
    deadline: _Deadline,
    cached: _Cached | None,
) -> httpx.Response:
    """Send the request to the first checked address that accepts a connection."""
    last: Exception | None = None
    for ip in ips:
        try:
            return client.send(_request(client, t, ip, deadline, cached), stream=True)
        except httpx.ConnectError as e:
            last = e
    msg = f"cannot connect to {t.host}:{t.port} ({_reason(last)})"
    raise FetchError(msg)


def _reason(e: Exception | None) -> str:
    text = str(e) if e else "no address"
    if "refused" in text.lower():
        return "connection refused"
    return text or type(e).__name__


def _fetch_hops(url: str, policy: ImagePolicy, max_bytes: int, deadline: _Deadline) -> bytes:
    with httpx.Client(
        trust_env=False,
        follow_redirects=False,
        headers={
            "Accept": "image/*",
            "Accept-Encoding": "identity",
            "User-Agent": policy.user_agent,
        },
    ) as client:
        for _hop in range(policy.max_redirects + 1):
            t = check_url(url, policy)
            cached = _cache_read(policy.cache_dir, url) if policy.cache_dir else None
            if cached and cached.fresh:
                return cached.body
            deadline.left()
            ips = _resolve(t, policy)
            response = _connect(client, t, ips, deadline, cached)
            try:
                if response.status_code in (301, 302, 303, 307, 308):
                    location = response.headers.get("location")
                    if not location:
                        raise _status_error(response.status_code, "without a Location")
                    url = urllib.parse.urljoin(url, location)
                    continue
                if response.status_code == 304 and cached:
                    if policy.cache_dir:
                        _cache_write(
                            policy.cache_dir,
                            url,
                            response.headers,
                            cached.body,
                            policy.cache_max_bytes,
                        )
                    return cached.body
                if response.status_code != 200:
                    raise _status_error(response.status_code, response.reason_phrase)
                _check_type(response)
                body = _read_body(response, max_bytes, deadline)
                if policy.cache_dir:
                    _cache_write(
                        policy.cache_dir, url, response.headers, body, policy.cache_max_bytes
                    )
                return body
            finally:
                response.close()
    msg = f"more than {policy.max_redirects} redirects (ImagePolicy.max_redirects)"
    raise FetchError(msg)


def _fetch_worker(
    url: str, policy: ImagePolicy, max_bytes: int, deadline: _Deadline, out: list[object]
) -> None:
    try:
        out.append(_fetch_hops(url, policy, max_bytes, deadline))
    except FetchError as e:
        out.append(e)
    except (_TooSlow, httpx.TimeoutException):
        out.append(_too_slow(policy))
    except httpx.RemoteProtocolError as e:
        out.append(FetchError(f"the response was cut short or malformed ({e})"))
    except httpx.HTTPError as e:
        out.append(FetchError(f"the request failed: {e or type(e).__name__}"))
    except Exception as e:  # a worker must report, never die silently
        out.append(FetchError(f"the request failed: {type(e).__name__}: {e}"))


def fetch(url: str, policy: ImagePolicy, max_bytes: int) -> bytes:
    """The body of `url` (≤ `max_bytes`), within `policy.fetch_timeout` seconds in total.

    Raises `FetchError` naming the cause: refused by policy, unreachable, an HTTP status, not an
    image content type, too big, truncated or too slow.
    """
    if not policy.allow_urls:
        msg = "image URLs are turned off (ImagePolicy.allow_urls)"
        raise FetchError(msg)
    check_url(url, policy)  # fail fast on syntax, in the caller's thread
    deadline = _Deadline(policy.fetch_timeout)
    out: list[object] = []
    worker = threading.Thread(
        target=_fetch_worker, args=(url, policy, max_bytes, deadline, out), daemon=True
    )
    worker.start()
    worker.join(policy.fetch_timeout)
    if worker.is_alive():
        deadline.cancelled = True  # the worker stops at its next network wait or chunk
        raise _too_slow(policy)
    result = out[0]
    if isinstance(result, FetchError):
        raise result
    assert isinstance(result, bytes)
    return result


# --- sending ------------------------------------------------------------------------------------


def check_destination(url: str, policy: ImagePolicy) -> None:
    """Raise `FetchError` unless `url` passes the policy's URL and address rules (resolves it)."""
    _resolve(check_url(url, policy), policy)


def post(
    url: str,
    body: bytes,
    policy: ImagePolicy,
    timeout: float,
    user_agent: str,
    extra_headers: Mapping[str, str] | None = None,
) -> int:
    """POST `body` (JSON) to `url` and return the response status; no redirect is followed.

    Every address is checked as for `fetch`, and the connection goes to the checked address.
    Raises `FetchError` when the URL is refused, unreachable or too slow (`timeout` s per phase).
    """
    t = check_url(url, policy)
    ips = _resolve(t, policy)
    host = _host_header(t)
    headers = {
        "Host": host,
        "Content-Type": "application/json",
        "Accept-Encoding": "identity",
        "User-Agent": user_agent,
        **(extra_headers or {}),
    }
    last: Exception | None = None
    with httpx.Client(trust_env=False, follow_redirects=False) as client:
        for ip in ips:
            target = httpx.URL(
                scheme=t.scheme, host=str(ip), port=t.port, raw_path=t.target.encode()
            )
            request = client.build_request(
                "POST",
                target,
                content=body,
                headers=headers,
                timeout=httpx.Timeout(timeout),
                extensions={"sni_hostname": t.host} if t.scheme == "https" else {},
            )
            try:
                response = client.send(request, stream=True)
            except httpx.ConnectError as e:
                last = e
                continue
            except httpx.TimeoutException:
                msg = f"no answer from {t.host}:{t.port} within {timeout:g} s"
                raise FetchError(msg) from None
            except httpx.HTTPError as e:
                msg = f"the request failed: {e or type(e).__name__}"
                raise FetchError(msg) from None
            response.close()
            return response.status_code
    msg = f"cannot connect to {t.host}:{t.port} ({_reason(last)})"
    raise FetchError(msg)
