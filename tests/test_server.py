"""`renderer serve` over real HTTP: the Craftr contract, keys and plans, quotas, HTTP hygiene and
staying up (issue 5). Each fixture starts the real server (uvicorn in a subprocess on a free
loopback port) and every test asserts what a client sees: status, headers, body shape, magic bytes.
"""

from __future__ import annotations

import base64
import concurrent.futures
import dataclasses
import gzip
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
from server_process import HEAVY, HEAVY_ENV, ROOT, ServerProcess, serve

# Craftr's documentation example, verbatim (../shared/craftr-api.md).
DOC_EXAMPLE = """{
  "width": 1200, "height": 630, "background": "#ffffff",
  "components": [
    {"type": "text", "text": "Hello World", "fontSize": 48, "fontWeight": "700",
     "fontFamily": "Inter", "color": "#000000", "x": 600, "y": 315, "frameWidth": "fit"},
    {"type": "divider", "length": 1200, "width": "medium", "direction": "horizontal",
     "color": "#0070f3", "x": 0, "y": 0}
  ]
}"""
SMALL: dict[str, Any] = {
    "width": 40,
    "height": 20,
    "components": [{"type": "text", "text": "Hi", "fontSize": 10}],
}
KEY = "test-key"  # plan "unlimited"
STRICT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
MAGIC = {
    "image/svg+xml": (b"<svg", b"<?xml"),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/webp": (b"RIFF",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
    "image/avif": (b"\x00\x00\x00",),
    "application/pdf": (b"%PDF-",),
}
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Keys on four plans, the default 5 MB body limit, 2 s body and header deadlines."""
    d = tmp_path_factory.mktemp("server")
    keys = d / "keys.txt"
    keys.write_text(
        "# key:plan\ntest-key:unlimited\nfree-key:free\nrl-key:tiny\ncomp-key:tiny\n"
        "etag-key:unlimited\n"
    )
    config = d / "config.json"
    config.write_text(
        json.dumps(
            {
                "plans": {
                    "unlimited": {"requests": None},
                    "tiny": {"requests": 3, "period": 3600, "max_components": 2},
                },
                "body_timeout": 2,
                "header_timeout": 2,
                # Many tests (and schemathesis) fail authentication on purpose from 127.0.0.1.
                "auth_failures_per_minute": 100_000,
            }
        )
    )
    argv = serve("--api-keys-file", str(keys), "--config", str(config), "--render-workers", "2")
    with ServerProcess(argv, d / "server.log") as s:
        yield s


@pytest.fixture(scope="session")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """No keys (open), one render worker, a 1 s deadline and a queue of one; started with plain
    `uvicorn renderer.server:app` and a config file, as under any other ASGI server."""
    d = tmp_path_factory.mktemp("open")
    images = d / "images"
    images.mkdir()
    (images / "avatar.png").write_bytes((ROOT / "examples" / "avatar.png").read_bytes())
    config = d / "config.json"
    config.write_text(
        json.dumps(
            {
                "render_workers": 1,
                "render_timeout": 1,
                "queue_size": 1,
                "cors_origins": ["https://app.example"],
                "allow_image_dirs": [str(images)],
            }
        )
    )
    argv = [sys.executable, "-m", "uvicorn", "renderer.server:app", "--port", "{port}"]
    env = {"RENDERER_CONFIG": str(config), **HEAVY_ENV}
    with ServerProcess(argv, d / "server.log", env=env) as s:
        yield s


def post(
    server: ServerProcess,
    body: bytes | str | dict[str, Any] = DOC_EXAMPLE,
    *,
    key: str | None = KEY,
    accept: str | None = None,
    params: dict[str, str] | list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    h = {"Content-Type": "application/json"}
    if key is not None:
        h["Authorization"] = f"Bearer {key}"
    if accept is not None:
        h["Accept"] = accept
    h.update(headers or {})
    content = json.dumps(body) if isinstance(body, dict) else body
    return httpx.post(
        server.url + "/api/v1/image",
        content=content,
        headers=h,
        params=tuple(params.items() if isinstance(params, dict) else params or ()),
        timeout=60,
    )


def assert_error(r: httpx.Response, status: int) -> dict[str, Any]:
    """Craftr's error shape, with the headers every response carries."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body: dict[str, Any] = r.json()
    assert isinstance(body["error"], str)
    assert body["error"]
    assert set(body) <= {"error", "details", "retryAfter"}
    assert_issues(body)
    assert "Traceback" not in r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-request-id"]
    if status >= 500:  # the server's fault or its load: the id its log lines carry
        assert body["details"]["requestId"] == r.headers["x-request-id"]
    return body


def assert_issues(body: dict[str, Any]) -> None:
    """The one documented error shape (issue 12): `details.issues`, each a pointer and a message,
    plus `parameter` or `header` when the issue is about one."""
    issues = body["details"]["issues"]
    assert isinstance(issues, list)
    assert issues
    for issue in issues:
        assert set(issue) - {"parameter", "header"} == {"pointer", "message"}, issue
        assert isinstance(issue["pointer"], str)
        assert issue["pointer"] == "" or issue["pointer"].startswith("/")
        assert isinstance(issue["message"], str)
        assert issue["message"]


# --- the Craftr contract ---------------------------------------------------------------------


def test_documentation_example_verbatim_is_svg(server: ServerProcess) -> None:
    r = post(server)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/svg+xml"
    assert r.headers["content-disposition"] == "inline"
    assert r.headers["cache-control"] == "public, max-age=31536000"
    assert r.headers["content-security-policy"] == STRICT_CSP
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.content.lstrip().startswith(MAGIC["image/svg+xml"])
    assert b'width="1200"' in r.content


@pytest.mark.parametrize("accept", [None, "*/*", "image/*", "image/svg+xml"])
def test_svg_when_accept_absent_or_wildcard(server: ServerProcess, accept: str | None) -> None:
    r = post(server, SMALL, accept=accept)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/svg+xml"


@pytest.mark.parametrize("content_type", list(MAGIC))
def test_each_accept_gives_its_magic_bytes(server: ServerProcess, content_type: str) -> None:
    r = post(server, SMALL, accept=content_type)
    assert r.status_code == 200
    assert r.headers["content-type"] == content_type
    assert r.content.lstrip().startswith(MAGIC[content_type])
    if content_type == "image/avif":
        assert r.content[4:12] == b"ftypavif"
    if content_type == "image/webp":
        assert r.content[8:12] == b"WEBP"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("image/png;q=0.5, image/webp", "image/webp"),
        ("image/jpeg;q=0.2, image/png;q=0.9", "image/png"),
        ("text/html, image/avif;q=0.1", "image/avif"),
        ("image/*;q=0.5, image/svg+xml;q=0, image/png;q=0.4", "image/jpeg"),
        ("image/webp, image/png", "image/webp"),
    ],
)
def test_accept_q_values(server: ServerProcess, accept: str, expected: str) -> None:
    r = post(server, SMALL, accept=accept)
    assert r.status_code == 200
    assert r.headers["content-type"] == expected
    assert r.content.lstrip().startswith(MAGIC[expected])


@pytest.mark.parametrize("accept", ["text/html", "image/png;q=0", "application/xml, text/*"])
def test_unproducible_accept_is_406(server: ServerProcess, accept: str) -> None:
    body = assert_error(post(server, SMALL, accept=accept), 406)
    assert "image/png" in body["details"]["supported"]


def test_format_query_overrides_accept(server: ServerProcess) -> None:
    r = post(server, SMALL, accept="image/svg+xml", params={"format": "png"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.content.startswith(MAGIC["image/png"][0])
    r = post(server, SMALL, accept="text/html", params={"format": "jpg"})
    assert r.headers["content-type"] == "image/jpeg"


@pytest.mark.parametrize(
    "params",
    [
        {"format": "gif"},
        {"scale": "0"},
        {"scale": "nan"},
        {"quality": "101"},
        {"quality": "³"},  # str.isdigit() says yes, int() says no: was a 500
        {"quality": "٣"},
        {"qualty": "50"},  # unknown parameters are refused, not ignored
    ],
)
def test_bad_query_parameter_is_400(server: ServerProcess, params: dict[str, str]) -> None:
    body = assert_error(post(server, SMALL, params=params), 400)
    assert body["details"]["parameter"] == next(iter(params))
    (issue,) = body["details"]["issues"]  # the one shape every error has (issue 12)
    assert issue["pointer"] == ""
    assert issue["parameter"] == next(iter(params))


def test_a_repeated_query_parameter_is_400(server: ServerProcess) -> None:
    """`?format=png&format=jpeg` took the last one; which was meant? (/og/ refuses alike)"""
    params = [("scale", "1"), ("format", "png"), ("format", "jpeg")]
    body = assert_error(post(server, SMALL, params=params), 400)
    assert body["details"]["parameter"] == "format"
    assert "more than once" in body["details"]["issues"][0]["message"]


@pytest.mark.parametrize(
    ("header", "values"),
    [
        ("Authorization", (f"Bearer {KEY}", "Bearer another-key")),
        ("Content-Type", ("application/json", "text/plain")),
    ],
)
def test_a_repeated_single_value_header_is_400(
    server: ServerProcess, header: str, values: tuple[str, str]
) -> None:
    """The first of two Authorization headers won silently (another key?), as did the first
    of two Content-Types; each is a 400 naming the header."""
    headers = [("Authorization", f"Bearer {KEY}"), ("Content-Type", "application/json")]
    headers = [h for h in headers if h[0] != header] + [(header, v) for v in values]
    content = json.dumps(SMALL)
    r = httpx.post(server.url + "/api/v1/image", content=content, headers=headers, timeout=30)
    body = assert_error(r, 400)
    assert body["details"]["issues"][0]["header"] == header


def test_json_response_mode(server: ServerProcess) -> None:
    r = post(server, DOC_EXAMPLE, accept="application/json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    image = r.json()["image"]
    assert set(image) == {"id", "width", "height", "content_type", "base64_data"}
    assert (image["width"], image["height"]) == (1200, 630)
    assert image["content_type"] == "image/png"
    data = base64.b64decode(image["base64_data"], validate=True)
    assert data.startswith(MAGIC["image/png"][0])
    assert not image["base64_data"].startswith("data:")

    r = post(server, SMALL, accept="application/json", params={"format": "webp", "scale": "2"})
    image = r.json()["image"]
    assert (image["width"], image["height"], image["content_type"]) == (80, 40, "image/webp")
    assert base64.b64decode(image["base64_data"])[8:12] == b"WEBP"
    # The size is read before the engine checks the card: a bad one is still a 400.
    bad = {**SMALL, "width": "wide"}
    issues = assert_error(post(server, bad, accept="application/json"), 400)["details"]["issues"]
    assert issues[0]["pointer"] == "/width"


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "", "Basic dGVzdDp0ZXN0", "Bearer", "Bearer a b"])
def test_missing_or_malformed_authorization_is_401(
    server: ServerProcess, authorization: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    r = httpx.post(server.url + "/api/v1/image", content=DOC_EXAMPLE, headers=headers)
    assert_error(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_unknown_key_is_403(server: ServerProcess) -> None:
    body = assert_error(post(server, key="not-a-key"), 403)
    assert "not-a-key" not in json.dumps(body)


def test_invalid_spec_is_400_with_pointers(server: ServerProcess) -> None:
    spec = {
        "width": 100,
        "height": 100,
        "components": [{"type": "text", "text": "x", "fontSize": -1, "color": "red"}],
    }
    body = assert_error(post(server, spec), 400)
    pointers = {i["pointer"] for i in body["details"]["issues"]}
    assert {"/components/0/fontSize", "/components/0/color"} <= pointers
    assert all(i["message"] for i in body["details"]["issues"])


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"null",
        b"[]",
        b"{",
        b'{"width": NaN, "height": 1, "components": []}',
        b'{"width": 1e400, "height": 1, "components": []}',
        b'{"width": 10, "width": 20, "height": 1, "components": []}',
        b"[" * 5000 + b"]" * 5000,
        b"\xff\xfe\x00",
        b'{"width": 100, "height": 100, "components": [{"type": "image", "src": "iVBORw0KGgoAAAA"'
        b', "width": 10, "height": 10}]}',
        b'{"width": 10, "height": 10, "components": [{"type": "image", "src": "data:image/png;'
        b'base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAf", "width": 5, "height": 5}]}',
        json.dumps({"width": 4097, "height": 1, "components": [SMALL["components"][0]]}).encode(),
    ],
)
def test_bad_input_is_400_never_500(server: ServerProcess, raw: bytes) -> None:
    body = assert_error(post(server, raw), 400)
    assert body["details"]["issues"]


def test_file_path_image_source_is_refused(server: ServerProcess) -> None:
    spec = {
        "width": 100,
        "height": 100,
        "components": [
            {"type": "text", "text": "x"},
            {"type": "image", "src": "examples/avatar.png", "width": 10, "height": 10},
        ],
    }
    body = assert_error(post(server, spec), 400)
    assert body["details"]["issues"][0]["pointer"] == "/components/1/src"


def test_allowed_image_dir(open_server: ServerProcess) -> None:
    spec = {
        "width": 50,
        "height": 50,
        "components": [{"type": "image", "src": "avatar.png", "width": 40, "height": 40}],
    }
    r = post(open_server, spec, key=None, accept="image/png")
    assert r.status_code == 200, r.text
    spec["components"][0]["src"] = "../../../../etc/passwd"  # type: ignore[index]
    body = assert_error(post(open_server, spec, key=None), 400)
    assert body["details"]["issues"][0]["pointer"] == "/components/0/src"
    assert "/etc" not in json.dumps(body)


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_non_json_body_is_415(server: ServerProcess, content_type: str | None) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    if content_type:
        headers["Content-Type"] = content_type
    r = httpx.post(server.url + "/api/v1/image", content=DOC_EXAMPLE, headers=headers)
    assert_error(r, 415)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_content_encoding_is_415_never_inflated(server: ServerProcess, encoding: str) -> None:
    r = post(server, gzip.compress(DOC_EXAMPLE.encode()), headers={"Content-Encoding": encoding})
    body = assert_error(r, 415)
    assert body["details"]["supported"] == ["identity"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_wrong_method_is_405_with_allow(server: ServerProcess, method: str) -> None:
    r = httpx.request(method, server.url + "/api/v1/image")
    assert_error(r, 405)
    assert r.headers["allow"] == "POST"


def test_unknown_path_is_404_json(server: ServerProcess) -> None:
    assert_error(httpx.get(server.url + "/api/v2/image"), 404)


# --- plans and quotas -------------------------------------------------------------------------


def test_free_plan_component_limit(server: ServerProcess) -> None:
    spec: dict[str, Any] = {
        "width": 100,
        "height": 100,
        "components": [SMALL["components"][0]] * 11,
    }
    body = assert_error(post(server, spec, key="free-key"), 400)
    assert "10" in body["error"]
    assert body["details"]["limit"] == 10
    assert body["details"]["plan"] == "free"
    assert body["details"]["issues"][0]["pointer"] == "/components"
    assert body["details"]["issues"][0]["message"].endswith("Received: 11.")
    spec["components"] = spec["components"][:10]
    assert post(server, spec, key="free-key").status_code == 200


def test_the_component_limit_refusal_reads_right_for_one() -> None:
    """The one refusal POST and /og/ share: "at most 1 component", with the plan named."""
    from renderer.server.config import BUILTIN_PLANS
    from renderer.server.refusal import too_many_components

    plan = dataclasses.replace(BUILTIN_PLANS["free"], name="solo", max_components=1)
    refusal = too_many_components(plan, 3)
    assert refusal.error == "The solo plan allows at most 1 component per image"
    assert refusal.details["plan"] == "solo"
    assert refusal.details["issues"][0]["message"].startswith("At most 1 component on the")


def test_configured_plan_component_limit(server: ServerProcess) -> None:
    spec = {"width": 100, "height": 100, "components": [SMALL["components"][0]] * 3}
    body = assert_error(post(server, spec, key="comp-key"), 400)
    assert body["details"] == body["details"] | {"limit": 2, "plan": "tiny"}


def test_rate_limit_headers_and_429(server: ServerProcess) -> None:
    seen = []
    for _ in range(3):
        r = post(server, SMALL, key="rl-key")
        assert r.status_code == 200
        assert r.headers["ratelimit-limit"] == "3"
        seen.append(int(r.headers["ratelimit-remaining"]))
        assert 0 < int(r.headers["ratelimit-reset"]) <= 3600
    assert seen == [2, 1, 0]
    asked = time.time()
    r = post(server, SMALL, key="rl-key")
    answered = time.time()
    body = assert_error(r, 429)
    assert body["error"] == "Rate limit exceeded"
    assert ISO_MS.fullmatch(body["retryAfter"])
    reset = datetime.strptime(body["retryAfter"], "%Y-%m-%dT%H:%M:%S.%fZ")
    reset = reset.replace(tzinfo=timezone.utc)
    assert reset.timestamp() % 3600 == 0  # the end of the hourly window
    assert 0 < int(r.headers["retry-after"]) <= 3600
    # Retry-After is the wait rounded up, from the server's clock somewhere in [asked, answered]
    wait = int(r.headers["retry-after"])
    assert reset.timestamp() - answered - 1 <= wait <= reset.timestamp() - asked + 1
    assert r.headers["ratelimit-remaining"] == "0"


def test_rate_limit_headers_on_errors_too(server: ServerProcess) -> None:
    r = post(server, b"{", key="free-key")
    assert_error(r, 400)
    assert r.headers["ratelimit-limit"] == "10"
    assert "ratelimit-remaining" in r.headers


def test_auth_and_quota_checked_before_body_is_read(server: ServerProcess) -> None:
    """A client that declares 4 MB and sends none of it still gets its 401 at once."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(
            b"POST /api/v1/image HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 4000000\r\n\r\n"
        )
        head = s.recv(65536)
    assert head.startswith(b"HTTP/1.1 401 ")


# --- caching and ids --------------------------------------------------------------------------


def test_etag_and_if_none_match_304(server: ServerProcess) -> None:
    r = post(server, SMALL, key="etag-key", accept="image/png")
    etag = r.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    again = post(server, SMALL, key="etag-key", accept="image/png", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = post(
        server, SMALL, key="etag-key", accept="image/webp", headers={"If-None-Match": etag}
    )
    assert other.status_code == 200
    assert other.headers["etag"] != etag


def test_request_id_echoed_or_generated(server: ServerProcess) -> None:
    r = post(server, SMALL, headers={"X-Request-Id": "client-abc.123"})
    assert r.headers["x-request-id"] == "client-abc.123"
    assert re.fullmatch(r"[0-9a-f]{32}", post(server, SMALL).headers["x-request-id"])
    bad = post(server, SMALL, headers={"X-Request-Id": "a b <script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", bad.headers["x-request-id"])
    assert httpx.get(server.url + "/healthz").headers["x-request-id"]
    assert assert_error(post(server, key=None), 401)


# --- the other endpoints ----------------------------------------------------------------------


def test_healthz(server: ServerProcess) -> None:
    r = httpx.get(server.url + "/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["workers"] == 2


def test_openapi_is_built_from_the_schema(server: ServerProcess) -> None:
    doc = httpx.get(server.url + "/openapi.json").json()
    schema = json.loads((ROOT / "schemas" / "card.schema.json").read_text())
    op = doc["paths"]["/api/v1/image"]["post"]
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    card = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert card["properties"].keys() == schema["properties"].keys()
    assert set(schema["$defs"]) <= set(doc["components"]["schemas"])
    assert "#/$defs/" not in json.dumps(doc)
    assert {"200", "400", "401", "403", "406", "413", "415", "429", "503"} <= set(op["responses"])
    assert op["security"] == [{"bearer": []}]
    # One error shape (issue 12): `details.issues` is required, each issue a pointer and a message.
    error = doc["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "details"]
    assert error["properties"]["details"]["required"] == ["issues"]
    issue = doc["components"]["schemas"]["Issue"]
    assert issue["required"] == ["pointer", "message"]
    assert {"parameter", "header"} <= set(issue["properties"])


def test_doc_page_is_the_playground(server: ServerProcess, open_server: ServerProcess) -> None:
    """The playground's browser tests are in test_playground.py; here, what any client sees."""
    r = httpx.get(server.url + "/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "/api/v1/image" in r.text
    assert '<textarea id="spec"' in r.text
    assert '<input id="key"' in r.text  # this server has keys
    assert "<script>" not in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "connect-src 'self'" in csp
    assert "unsafe-inline" not in csp
    script = httpx.get(server.url + "/static/app.js").text
    assert "fetch(" in script
    assert '<input id="key"' not in httpx.get(open_server.url + "/").text


def test_metrics_prometheus_text(server: ServerProcess) -> None:
    post(server, SMALL)
    r = httpx.get(server.url + "/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = r.text
    assert "# TYPE renderer_http_requests_total counter" in text
    assert re.search(
        r'renderer_http_requests_total\{route="/api/v1/image",method="POST",status="200"\} \d+',
        text,
    )
    assert re.search(r"^renderer_render_seconds_count [1-9]\d*$", text, re.M)
    assert re.search(r"^renderer_workers 2$", text, re.M)


def test_cors_off_by_default(server: ServerProcess) -> None:
    origin = {"Origin": "https://app.example"}
    r = post(server, SMALL, headers=origin)
    assert "access-control-allow-origin" not in r.headers
    pre = httpx.options(
        server.url + "/api/v1/image",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in pre.headers
    assert pre.status_code == 405


def test_cors_when_configured(open_server: ServerProcess) -> None:
    pre = httpx.options(
        open_server.url + "/api/v1/image",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == "https://app.example"
    r = post(open_server, SMALL, key=None, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers


# --- body limits and slow clients -------------------------------------------------------------


def _raw(port: int, request: bytes, body_chunks: Iterable[bytes] = ()) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        try:
            for chunk in body_chunks:
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: read what it said
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        return data


HEAD = (
    b"POST /api/v1/image HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-key\r\n"
    b"Content-Type: application/json\r\n"
)


def test_declared_body_over_limit_is_413_unread(server: ServerProcess) -> None:
    reply = _raw(server.port, HEAD + b"Content-Length: 5000001\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 413 ")
    assert b'"error"' in reply


def test_streamed_body_over_limit_is_413_before_it_ends(server: ServerProcess) -> None:
    """Chunked, no length: refused once 5 MB have arrived, though the body never finishes."""
    piece = b"a" * 65536
    chunk = b"%x\r\n%s\r\n" % (len(piece), piece)
    count = 5_000_000 // len(piece) + 2  # just over the limit, and no final 0-chunk
    reply = _raw(server.port, HEAD + b"Transfer-Encoding: chunked\r\n\r\n", iter([chunk] * count))
    assert reply.startswith(b"HTTP/1.1 413 ")


def test_body_just_under_limit_is_read(server: ServerProcess) -> None:
    padding = " " * (5_000_000 - len(DOC_EXAMPLE) - 10)
    r = post(server, DOC_EXAMPLE + padding)
    assert r.status_code == 200


def test_trickled_body_is_cut_off(server: ServerProcess) -> None:
    start = time.monotonic()
    reply = _raw(server.port, HEAD + b"Content-Length: 100\r\n\r\n{")
    assert reply.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - start < 6


def test_trickled_headers_are_cut_off(server: ServerProcess) -> None:
    start = time.monotonic()
    reply = _raw(server.port, b"POST /api/v1/image HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    assert reply == b""  # closed without a response
    assert time.monotonic() - start < 6


# --- staying up -------------------------------------------------------------------------------


def test_deadline_queue_and_health_while_rendering(open_server: ServerProcess) -> None:
    """One worker, a 1 s deadline, a queue of one: three slow renders at once give one 503
    for the full queue and 503s for the deadline; /healthz answers meanwhile; the killed worker
    is replaced and the next render succeeds."""
    with concurrent.futures.ThreadPoolExecutor(3) as ex:
        first = ex.submit(post, open_server, HEAVY, key=None, accept="image/png")
        time.sleep(0.3)
        second = ex.submit(post, open_server, HEAVY, key=None, accept="image/png")
        time.sleep(0.3)
        t = time.monotonic()
        health = httpx.get(open_server.url + "/healthz", timeout=5)
        health_seconds = time.monotonic() - t
        third = post(open_server, HEAVY, key=None, accept="image/png")
        results = [first.result(), second.result(), third]
    assert health.status_code == 200
    assert health_seconds < 0.5
    assert health.json()["busy"] == 1
    for r in results:
        assert_error(r, 503)
        assert int(r.headers["retry-after"]) >= 1
    assert results[2].json()["error"].startswith("Server busy")
    assert results[0].json()["error"] == "Render timed out"
    assert results[0].json()["details"]["deadlineSeconds"] == 1.0
    ok = post(open_server, SMALL, key=None, accept="image/png")
    assert ok.status_code == 200
    metrics = httpx.get(open_server.url + "/metrics").text
    assert re.search(r"^renderer_render_timeouts_total [1-9]", metrics, re.M)
    assert re.search(r"^renderer_queue_rejections_total [1-9]", metrics, re.M)


def test_open_server_needs_no_key(open_server: ServerProcess) -> None:
    r = post(open_server, SMALL, key=None)
    assert r.status_code == 200
    assert "ratelimit-limit" not in r.headers  # the open plan has no quota
    spec = httpx.get(open_server.url + "/openapi.json").json()
    assert "security" not in spec["paths"]["/api/v1/image"]["post"]


def test_failed_authentication_is_rate_limited_per_client(tmp_path: Path) -> None:
    """401 and 403 carry the RateLimit-* fields of the client's failed-attempt budget, and
    guessing keys past it gets 429 with Retry-After (a valid key still works)."""
    (tmp_path / "keys.txt").write_text("good-key:pro\n")
    (tmp_path / "config.json").write_text(json.dumps({"auth_failures_per_minute": 3}))
    argv = serve(
        "--api-keys-file",
        str(tmp_path / "keys.txt"),
        "--config",
        str(tmp_path / "config.json"),
        "--render-workers",
        "1",
    )
    with ServerProcess(argv, tmp_path / "server.log") as s:
        first = post(s, SMALL, key=None)
        assert first.status_code == 401
        assert first.headers["ratelimit-limit"] == "3"
        assert first.headers["ratelimit-remaining"] == "2"
        assert post(s, SMALL, key="guess-1").status_code == 403
        third = post(s, SMALL, key="guess-2")
        assert third.status_code == 403
        assert third.headers["ratelimit-remaining"] == "0"
        locked = post(s, SMALL, key="guess-3")
        body = assert_error(locked, 429)
        assert "retryAfter" in body
        assert int(locked.headers["retry-after"]) >= 1
        good = post(s, SMALL, key="good-key")
        assert good.status_code == 200
        assert "ratelimit-limit" in good.headers
        # polling a job with a guessed key is locked out too, as the API description says
        job = httpx.get(s.url + "/api/v1/jobs/0", headers={"Authorization": "Bearer guess-4"})
        assert_error(job, 429)
        doc = httpx.get(s.url + "/openapi.json").json()
        assert "429" in doc["paths"]["/api/v1/jobs/{id}"]["get"]["responses"]


# --- the command ------------------------------------------------------------------------------


def test_allow_image_network_lets_image_urls_reach_a_private_network(tmp_path: Path) -> None:
    """The switch the address rules' refusal names exists on serve too, as on render and
    batch: an image on a loopback host is refused, then fetched with --allow-image-network."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    png = (ROOT / "examples" / "avatar.png").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args: object) -> None:
            pass

    images = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=images.serve_forever, daemon=True).start()
    src = f"http://127.0.0.1:{images.server_address[1]}/avatar.png"
    spec = {**SMALL, "components": [{"type": "image", "src": src, "width": 40, "height": 40}]}
    base = [sys.executable, "-m", "renderer", "serve", "--port", "{port}", "--render-workers", "1"]
    try:
        with ServerProcess(base, tmp_path / "refused.log") as s:
            refused = post(s, spec, key=None, accept="image/png")
            assert refused.status_code != 200
            assert "--allow-image-network CIDR" in refused.text
        argv = [*base, "--allow-image-network", "127.0.0.0/8"]
        with ServerProcess(argv, tmp_path / "allowed.log") as s:
            allowed = post(s, spec, key=None, accept="image/png")
            assert allowed.status_code == 200, allowed.text
            assert allowed.content.startswith(b"\x89PNG")
    finally:
        images.shutdown()
        images.server_close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_the_server_with_exit_0(tmp_path: Path, sig: signal.Signals) -> None:
    """SIGTERM is how Docker and systemd stop a service: the server finishes and exits 0, as
    `serve --help` says (uvicorn re-raised the signal, so the process died of it: -15)."""
    argv = [sys.executable, "-m", "renderer", "serve", "--port", "{port}", "--render-workers", "1"]
    with ServerProcess(argv, tmp_path / "server.log") as s:
        assert post(s, SMALL, key=None).status_code == 200
        s.proc.send_signal(sig)
        assert s.proc.wait(30) == 0, s.log.read_text()


def test_refuses_non_loopback_bind_without_keys() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENDERER_")}
    p = subprocess.run(
        [sys.executable, "-m", "renderer", "serve", "--host", "0.0.0.0", "--port", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert p.returncode == 2
    assert "--allow-unauthenticated" in p.stderr


def test_importing_renderer_does_not_import_the_server() -> None:
    code = (
        "import sys, renderer, renderer.server.command; "
        "bad = [m for m in ('renderer.server.asgi', 'starlette', 'uvicorn') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --- schemathesis against /openapi.json -------------------------------------------------------


# RENDERER_FUZZ_EXAMPLES=500 explores new random requests each run (a deeper search for 500s);
# by default the examples are derandomized so CI is reproducible.
FUZZ_EXAMPLES = int(os.environ.get("RENDERER_FUZZ_EXAMPLES", "0"))


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_openapi_conformance(server: ServerProcess, mode: str) -> None:
    """Schemathesis-generated requests (valid ones, then invalid ones) for every operation in
    /openapi.json: no 5xx, and each response matches its documented status, type and schema.

    Excluded: `positive_data_acceptance`, because a schema-valid card may rightly get 400: JSON
    Schema cannot say "src must decode as an image", "no lone surrogates" or "a file path is
    refused by this server", and those 400s are tested above.
    """
    import schemathesis
    from schemathesis.checks import positive_data_acceptance
    from schemathesis.core.result import Err
    from schemathesis.generation import GenerationMode

    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    auth = {"Authorization": f"Bearer {KEY}"}
    for result in schema.get_all_operations():
        assert not isinstance(result, Err), result.err()  # the schema is valid
        operation = result.ok()
        if mode == "negative" and operation.method.upper() == "GET":
            continue  # /healthz takes no input; a job id is any string (unknown: 404)

        @hypothesis.given(operation.as_strategy(GenerationMode(mode)))
        @hypothesis.settings(
            max_examples=FUZZ_EXAMPLES or 15,
            derandomize=not FUZZ_EXAMPLES,  # CI sees the same requests every run
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            database=None,
        )
        def check(case: Any) -> None:
            if mode == "positive" and isinstance(case.body, dict):
                # A valid generated callback URL could name any host, which the server would
                # look up in DNS; callbacks are tested against a loopback receiver instead.
                # (An invalid body is refused before any look-up.)
                case.body.pop("callback_url", None)
            # The generated Authorization is a random string: replace it with a real key, but
            # keep it absent when leaving it out is the negative case being generated.
            keep_out = mode == "negative" and "Authorization" not in (case.headers or {})
            case.call_and_validate(
                headers={} if keep_out else auth,
                timeout=60,
                excluded_checks=[positive_data_acceptance],
            )

        check()


@pytest.mark.skipif(not Path("/proc/self/limits").exists(), reason="needs Linux /proc")
def test_render_workers_have_an_address_space_cap(server: ServerProcess) -> None:
    """The render workers (same process group as the server) run under RLIMIT_AS = 2 GiB."""
    caps = []
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or os.getpgid(int(proc.name)) != server.proc.pid:
                continue
            limits = (proc / "limits").read_text()
        except (OSError, ProcessLookupError):
            continue
        line = next(x for x in limits.splitlines() if x.startswith("Max address space"))
        caps.append(line.split()[3])
    assert caps.count(str(2048 * 1024 * 1024)) == 2  # --render-workers 2
    assert "unlimited" in caps  # the server itself is not capped
