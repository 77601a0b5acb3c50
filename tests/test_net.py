"""Remote image sources against a real HTTP server on a loopback port, started by this module.

Every test renders a card (or calls the fetcher) the way a user would and checks what a user
would: the image's pixels where the image belongs, or an `ImageLoadError` naming
`/components/N/src` and the cause. Loopback is only reachable because these tests pass
`ImagePolicy(allow_loopback=True)`; `test_redirect_to_loopback_is_refused_without_the_exception`
turns that off and proves a redirect to 127.0.0.1 is refused.
"""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image
from pngs import png_declaring as png_bomb

import renderer
from renderer.net import FetchError, check_address, check_url, fetch
from renderer.policy import DEFAULT_POLICY, ImagePolicy
from renderer.resources import cache_loads, clear_caches

RED = (220, 30, 40)
LOOPBACK = ImagePolicy(allow_loopback=True)


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # s before the body
    trickle: float = 0.0  # s between 1 KB chunks
    declared_length: int | None = None  # a Content-Length that may lie (truncation)


class Server:
    """A ThreadingHTTPServer on 127.0.0.1:<free port> serving `routes`, counting requests."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return None

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                server.hits[path] += 1
                server.requests.append({k.lower(): v for k, v in self.headers.items()})
                route = server.routes.get(path, Route(404, b"not found"))
                if route.delay:
                    time.sleep(route.delay)
                try:
                    self.send_response(route.status)
                    length = route.declared_length
                    if length != -1:  # -1: no length, the body ends when the connection does
                        shown = len(route.body) if length is None else length
                        self.send_header("Content-Length", str(shown))
                    for k, v in route.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    if route.trickle:
                        for i in range(0, len(route.body), 1024):
                            self.wfile.write(route.body[i : i + 1024])
                            self.wfile.flush()
                            time.sleep(route.trickle)
                    else:
                        self.wfile.write(route.body)
                    if length is not None and length != len(route.body):
                        self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Quiet(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                return None  # clients hanging up mid-body is what several tests do

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    clear_caches()


def encoded(fmt: str, size: tuple[int, int] = (40, 30), color: tuple[int, ...] = RED) -> bytes:
    mode = "RGB" if fmt in ("JPEG", "BMP") else "RGBA"
    im = Image.new(mode, size, color[: len(mode)] if mode == "RGB" else (*color[:3], 255))
    buf = io.BytesIO()
    im.save(buf, fmt, **({"sizes": [size]} if fmt == "ICO" else {}))
    return buf.getvalue()


def card(src: str, **extra: object) -> dict[str, object]:
    image = {"type": "image", "src": src, "width": 40, "height": 30, "x": 20, "y": 10, **extra}
    return {"width": 80, "height": 50, "background": "#ffffff", "components": [image]}


def render(spec: dict[str, object], policy: ImagePolicy = LOOPBACK) -> Image.Image:
    return Image.open(io.BytesIO(renderer.render(spec, "png", image_policy=policy))).convert("RGB")


def close_to(a: object, b: tuple[int, ...], tol: int = 12) -> bool:
    """`a` (a pixel as Pillow's getpixel gives it) within `tol` of `b` in every channel."""
    assert isinstance(a, tuple), a
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=False))


def load_error(
    spec: dict[str, object],
    policy: ImagePolicy = LOOPBACK,
    limits: renderer.Limits = renderer.DEFAULT_LIMITS,
) -> str:
    with pytest.raises(renderer.ImageLoadError) as info:
        renderer.render(spec, "png", image_policy=policy, limits=limits)
    (issue,) = info.value.issues
    assert issue.pointer == "/components/0/src"
    return issue.message


# --- each format, served and rendered -------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "AVIF", "TIFF", "BMP", "ICO"])
def test_each_format_is_fetched_and_drawn_in_its_box(server: Server, fmt: str) -> None:
    server.routes[f"/logo.{fmt.lower()}"] = Route(
        body=encoded(fmt), headers={"Content-Type": f"image/{fmt.lower()}"}
    )
    im = render(card(server.url(f"/logo.{fmt.lower()}")))
    assert close_to(im.getpixel((40, 25)), RED), "the image's centre shows the image"
    assert im.getpixel((5, 5)) == (255, 255, 255), "outside the box the background stays"
    assert im.getpixel((70, 45)) == (255, 255, 255)


def test_request_headers_ask_for_identity_and_images(server: Server) -> None:
    server.routes["/h.png"] = Route(body=encoded("PNG"), headers={"Content-Type": "image/png"})
    server.requests.clear()
    render(card(server.url("/h.png")))
    (headers,) = server.requests
    assert headers["accept-encoding"] == "identity"
    assert headers["host"] == f"127.0.0.1:{server.port}"
    assert "authorization" not in headers


# --- redirects ------------------------------------------------------------------------------------


def test_redirects_are_followed_up_to_three(server: Server) -> None:
    server.routes["/r.png"] = Route(body=encoded("PNG"), headers={"Content-Type": "image/png"})
    for i in range(1, 4):
        target = "/r.png" if i == 3 else f"/hop{i + 1}"
        server.routes[f"/hop{i}"] = Route(302, headers={"Location": target})
    im = render(card(server.url("/hop1")))
    assert close_to(im.getpixel((40, 25)), RED)


def test_a_fourth_redirect_is_refused(server: Server) -> None:
    for i in range(1, 6):
        server.routes[f"/loop{i}"] = Route(301, headers={"Location": f"/loop{i + 1}"})
    message = load_error(card(server.url("/loop1")))
    assert "more than 3 redirects" in message


def test_redirect_to_loopback_is_refused_without_the_exception(server: Server) -> None:
    """The operator trusts the name `localhost`; the redirect to 127.0.0.1 must still be checked."""
    server.routes["/ok.png"] = Route(body=encoded("PNG"), headers={"Content-Type": "image/png"})
    server.routes["/to-loopback"] = Route(302, headers={"Location": server.url("/ok.png")})
    strict = ImagePolicy(allow_loopback=False, allow_hosts=("localhost",))
    assert not strict.allow_loopback
    server.hits.clear()
    message = load_error(card(server.url("/to-loopback", host="localhost")), strict)
    assert "127.0.0.1" in message
    assert "loopback" in message
    assert server.hits["/to-loopback"] == 1, "the allowed host was asked"
    assert server.hits["/ok.png"] == 0, "the blocked address was never contacted"


def test_loopback_is_refused_by_default(server: Server) -> None:
    server.routes["/ok.png"] = Route(body=encoded("PNG"), headers={"Content-Type": "image/png"})
    server.hits.clear()
    message = load_error(card(server.url("/ok.png")), DEFAULT_POLICY)
    assert "loopback" in message
    assert server.hits["/ok.png"] == 0


# --- HTTP failures --------------------------------------------------------------------------------


def test_404_names_the_status(server: Server) -> None:
    assert "404 Not Found" in load_error(card(server.url("/missing.png")))


def test_wrong_content_type_is_refused(server: Server) -> None:
    server.routes["/page"] = Route(
        body=b"<!doctype html><title>hi</title>", headers={"Content-Type": "text/html"}
    )
    assert "Content-Type 'text/html', not an image" in load_error(card(server.url("/page")))


def test_html_served_as_an_image_is_not_an_image(server: Server) -> None:
    server.routes["/liar.png"] = Route(
        body=b"<html>nope</html>", headers={"Content-Type": "image/png"}
    )
    message = load_error(card(server.url("/liar.png")))
    assert "not an image in an allowed format" in message
    assert "HTML" in message


def test_truncated_body_is_refused(server: Server) -> None:
    body = encoded("PNG", (200, 200))
    server.routes["/cut.png"] = Route(
        body=body[: len(body) // 2],
        headers={"Content-Type": "image/png"},
        declared_length=len(body),
    )
    message = load_error(card(server.url("/cut.png")))
    assert "cut short" in message or "truncated" in message


def test_truncated_file_with_honest_length_is_refused(server: Server) -> None:
    body = encoded("JPEG", (300, 300))
    server.routes["/half.jpg"] = Route(
        body=body[: len(body) // 2], headers={"Content-Type": "image/jpeg"}
    )
    assert "truncated" in load_error(card(server.url("/half.jpg")))


def test_oversize_body_is_refused_by_declared_length(server: Server) -> None:
    server.routes["/big.bmp"] = Route(
        body=encoded("BMP", (100, 100)), headers={"Content-Type": "image/bmp"}
    )
    limits = renderer.Limits(max_image_bytes=1000)
    message = load_error(card(server.url("/big.bmp")), limits=limits)
    assert "larger than 1000 bytes (Limits.max_image_bytes)" in message


def test_oversize_body_is_refused_while_streaming(server: Server) -> None:
    """A body with no Content-Length is cut off by the running count, not read to the end."""
    server.routes["/nolength.bmp"] = Route(
        body=encoded("BMP", (100, 100)), headers={"Content-Type": "image/bmp"}, declared_length=-1
    )
    with pytest.raises(FetchError, match=r"larger than 1000 bytes"):
        fetch(server.url("/nolength.bmp"), LOOPBACK, 1000)


def test_slow_server_trips_the_total_deadline(server: Server) -> None:
    """A server trickling bytes never waits out a per-read timeout; the total deadline stops it."""
    assert DEFAULT_POLICY.fetch_timeout == 5.0
    server.routes["/slow.bmp"] = Route(
        body=encoded("BMP", (60, 60)), headers={"Content-Type": "image/bmp"}, trickle=0.1
    )
    quick = ImagePolicy(allow_loopback=True, fetch_timeout=0.5)
    started = time.monotonic()
    message = load_error(card(server.url("/slow.bmp")), quick)
    assert time.monotonic() - started < 1.5
    assert "within 0.5 s (ImagePolicy.fetch_timeout)" in message


def test_slow_headers_trip_the_deadline(server: Server) -> None:
    server.routes["/sleepy.png"] = Route(body=encoded("PNG"), delay=2.0)
    quick = ImagePolicy(allow_loopback=True, fetch_timeout=0.3)
    started = time.monotonic()
    assert "within 0.3 s" in load_error(card(server.url("/sleepy.png")), quick)
    assert time.monotonic() - started < 1.0


def test_unreachable_port_says_connection_refused() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    message = load_error(card(f"http://127.0.0.1:{port}/x.png"))
    assert "cannot connect to 127.0.0.1" in message
    assert "refused" in message


def test_compressed_body_is_refused(server: Server) -> None:
    server.routes["/gz.png"] = Route(
        body=b"\x1f\x8b" + b"\x00" * 20,
        headers={"Content-Type": "image/png", "Content-Encoding": "gzip"},
    )
    assert "Content-Encoding: gzip" in load_error(card(server.url("/gz.png")))


def test_decompression_bomb_is_refused_before_decoding(server: Server) -> None:
    server.routes["/bomb.png"] = Route(
        body=png_bomb(20_000, 20_000), headers={"Content-Type": "image/png"}
    )
    started = time.monotonic()
    message = load_error(card(server.url("/bomb.png")))
    assert time.monotonic() - started < 1.0
    assert "20000×20000" in message
    assert "Limits.max_image_pixels" in message


# --- caching --------------------------------------------------------------------------------------


def test_a_shared_logo_is_fetched_and_decoded_once(server: Server) -> None:
    server.routes["/shared.png"] = Route(body=encoded("PNG"), headers={"Content-Type": "image/png"})
    server.hits.clear()
    for i in range(20):
        spec = card(server.url("/shared.png"))
        spec["components"][0]["x"] = i  # type: ignore[index]
        renderer.render(spec, "svg", image_policy=LOOPBACK)
    assert server.hits["/shared.png"] == 1
    assert cache_loads() == 1


def test_disk_cache_honours_max_age_and_etag(server: Server, tmp_path: Path) -> None:
    body = encoded("PNG")
    server.routes["/fresh.png"] = Route(
        body=body, headers={"Content-Type": "image/png", "Cache-Control": "max-age=600"}
    )
    policy = ImagePolicy(allow_loopback=True, cache_dir=tmp_path)
    server.hits.clear()
    assert fetch(server.url("/fresh.png"), policy, 10**6) == body
    assert fetch(server.url("/fresh.png"), policy, 10**6) == body
    assert server.hits["/fresh.png"] == 1, "a fresh entry is served from disk"

    server.routes["/etag.png"] = Route(
        body=body,
        headers={"Content-Type": "image/png", "ETag": '"v1"', "Cache-Control": "no-cache"},
    )
    assert fetch(server.url("/etag.png"), policy, 10**6) == body
    server.routes["/etag.png"] = Route(304, headers={"ETag": '"v1"'})
    server.requests.clear()
    assert fetch(server.url("/etag.png"), policy, 10**6) == body, "a 304 reuses the stored body"
    assert server.requests[-1]["if-none-match"] == '"v1"'

    server.routes["/private.png"] = Route(
        body=body, headers={"Content-Type": "image/png", "Cache-Control": "no-store"}
    )
    fetch(server.url("/private.png"), policy, 10**6)
    fetch(server.url("/private.png"), policy, 10**6)
    assert server.hits["/private.png"] == 2, "no-store is never kept"


def test_disk_cache_is_bounded_least_recently_used_first(server: Server, tmp_path: Path) -> None:
    """Bodies beyond `cache_max_bytes` are pruned, oldest use first; a body over the whole bound
    is not stored at all."""
    body = encoded("PNG")
    policy = ImagePolicy(allow_loopback=True, cache_dir=tmp_path, cache_max_bytes=3 * len(body))
    for name in "abcde":
        server.routes[f"/{name}.png"] = Route(
            body=body, headers={"Content-Type": "image/png", "Cache-Control": "max-age=600"}
        )
    server.hits.clear()
    for name in "abc":
        fetch(server.url(f"/{name}.png"), policy, 10**6)
        time.sleep(0.05)  # file times are coarse on some kernels
    fetch(server.url("/a.png"), policy, 10**6)  # a hit: "a" is now the most recently used
    time.sleep(0.05)
    fetch(server.url("/d.png"), policy, 10**6)  # 4 bodies > 3: prune to 90 % (2 bodies)
    bodies = sorted(tmp_path.glob("*.body"))
    assert sum(p.stat().st_size for p in bodies) <= 3 * len(body)
    assert len(bodies) == len(list(tmp_path.glob("*.json"))) == 2
    server.hits.clear()
    for name in "ad":
        fetch(server.url(f"/{name}.png"), policy, 10**6)
    assert server.hits == Counter(), "the two most recently used stayed"
    fetch(server.url("/b.png"), policy, 10**6)
    assert server.hits["/b.png"] == 1, "the least recently used went"

    tiny = ImagePolicy(allow_loopback=True, cache_dir=tmp_path / "tiny", cache_max_bytes=10)
    fetch(server.url("/e.png"), tiny, 10**6)
    assert not list((tmp_path / "tiny").glob("*.body"))


# --- the address rules (no server needed) -------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",
        "http://0x7f.1/",
        "http://017700000001/",
        "http://127.1/",
        "http://0177.0.0.1/",
    ],
)
def test_numeric_host_forms_are_refused(url: str) -> None:
    with pytest.raises(FetchError, match="non-standard form"):
        check_url(url, DEFAULT_POLICY)


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.8", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),
        ("fd12::1", "private"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "reserved"),
        ("240.0.0.1", "reserved"),
        ("::ffff:127.0.0.1", "IPv4-mapped"),
        ("::ffff:8.8.8.8", "IPv4-mapped"),
        ("2002:7f00:1::", "embedding 127.0.0.1"),
        ("64:ff9b::a00:1", "embedding 10.0.0.1"),
    ],
)
def test_blocked_addresses(address: str, why: str) -> None:
    import ipaddress

    reason = check_address(ipaddress.ip_address(address), DEFAULT_POLICY)
    assert reason is not None
    assert why in reason


@pytest.mark.parametrize(
    "address", ["::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254"]
)
def test_ipv4_mapped_forms_stay_refused_when_loopback_and_private_are_allowed(address: str) -> None:
    """Python 3.13 answers is_loopback and is_private for an IPv4-mapped address from the IPv4
    inside; the rules must not change with the interpreter."""
    import ipaddress

    lenient = ImagePolicy(allow_loopback=True, allow_private=True)
    reason = check_address(ipaddress.ip_address(address), lenient)
    assert reason == "an IPv4-mapped IPv6 address"


def test_public_addresses_and_operator_exceptions_pass() -> None:
    import ipaddress

    assert check_address(ipaddress.ip_address("93.184.216.34"), DEFAULT_POLICY) is None
    assert check_address(ipaddress.ip_address("2606:4700::1111"), DEFAULT_POLICY) is None
    intranet = ImagePolicy(allow_networks=("10.1.0.0/16",))
    assert check_address(ipaddress.ip_address("10.1.2.3"), intranet) is None
    assert check_address(ipaddress.ip_address("10.2.0.1"), intranet) is not None
    private = ImagePolicy(allow_private=True)
    assert check_address(ipaddress.ip_address("192.168.0.2"), private) is None
    assert check_address(ipaddress.ip_address("169.254.169.254"), private) is not None


@pytest.mark.parametrize(
    ("url", "cause"),
    [
        ("http://user:pw@example.com/a.png", "user-info"),
        ("ftp://example.com/a.png", "scheme 'ftp' is not allowed"),
        ("http://example.com/" + "a" * 2100, "the limit is 2048"),
        ("http://exa mple.com/a.png", "spaces"),
        ("http://[fe80::1%25eth0]/a.png", "zone"),
    ],
)
def test_url_syntax_rules(url: str, cause: str) -> None:
    message = load_error(card(url), DEFAULT_POLICY)
    assert cause in message


def test_urls_can_be_turned_off() -> None:
    message = load_error(card("https://example.com/a.png"), ImagePolicy(allow_urls=False))
    assert "ImagePolicy.allow_urls" in message


def test_concurrent_renders_fetch_a_shared_logo_once(server: Server) -> None:
    """Eight threads asking for the same cold URL wait for one fetch instead of racing."""
    server.routes["/race.png"] = Route(
        body=encoded("PNG"), headers={"Content-Type": "image/png"}, delay=0.2
    )
    server.hits.clear()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            renderer.render(card(server.url("/race.png")), "svg", image_policy=LOOPBACK)
        except BaseException as e:  # collected and re-raised by the test thread
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert server.hits["/race.png"] == 1


def test_a_failed_fetch_is_remembered_briefly(server: Server) -> None:
    """A dead logo URL in a batch costs one failure, not one timeout per card."""
    server.hits.clear()
    for _ in range(5):
        load_error(card(server.url("/gone.png")))
    assert server.hits["/gone.png"] == 1


def test_policy_survives_pickling_for_worker_processes() -> None:
    import pickle

    policy = ImagePolicy(allow_networks=("10.0.0.0/8",), allow_hosts=("cdn.example",))
    copy = pickle.loads(pickle.dumps(policy))
    assert copy == policy
    assert copy.networks == policy.networks


def test_port_zero_is_named_and_the_host_header_carries_non_default_ports() -> None:
    """Issue 11 row 13: `:0` is not "no port" (it was reported as port 80)."""
    from renderer.net import FetchError, _host_header, check_url

    with pytest.raises(FetchError, match="port 0"):
        check_url("http://127.0.0.1:0/x.png", ImagePolicy())
    assert check_url("http://h/x", ImagePolicy()).port == 80
    assert check_url("https://h/x", ImagePolicy()).port == 443
    assert _host_header(check_url("https://h:80/x", ImagePolicy())) == "h:80"
    assert _host_header(check_url("http://h:80/x", ImagePolicy())) == "h"
    assert _host_header(check_url("http://[::1]:8080/x", ImagePolicy())) == "[::1]:8080"


# --- a card's own fonts, fetched under the same policy (issue 15) --------------------------------


@pytest.mark.parametrize(
    ("name", "ctype"), [("brand-web.woff2", "font/woff2"), ("brand-regular.ttf", "font/ttf")]
)
def test_a_card_font_url_is_fetched_under_the_image_policy(
    server: Server, name: str, ctype: str
) -> None:
    """Fonts are served as `font/*` (RFC 8081); the loopback exception is the image policy's."""
    from fontmaker import GOOD, ensure_fonts

    ensure_fonts()
    server.routes[f"/{name}"] = Route(
        body=(GOOD / name).read_bytes(), headers={"Content-Type": ctype}
    )
    text = {"type": "text", "text": "Brand", "x": 4, "y": 4, "fontFamily": "Own"}
    spec = {"width": 200, "height": 40, "components": [text]}
    spec["fonts"] = [{"family": "Own", "src": server.url(f"/{name}")}]
    _, report = renderer.render(spec, "png", image_policy=LOOPBACK, report=True)
    assert list(report.components[0].faces or ()) == ["Own 400"]
    with pytest.raises(renderer.FontLoadError) as e:
        renderer.render(spec, "png")  # loopback refused by default
    (issue,) = e.value.issues
    assert issue.pointer == "/fonts/0/src"
    assert "127.0.0.1" in issue.message or "loopback" in issue.message, issue.message
