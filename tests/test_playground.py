"""The playground at `GET /` of `renderer serve` (issue 17), and `POST /api/v1/image?report=1`.

A real `renderer serve` with a key, driven by Chromium: the page asks for the key before it
sends anything, then renders after each pause in typing through the public endpoint, and its
Download is byte for byte what `renderer.render` gives; an invalid edit shows the pointer (and
the editor jumps to it); the overlay boxes sit where the report puts them; a share link restores
the spec from its fragment alone; every format comes back. The endpoint option is checked over
plain HTTP: the report is the engine's, and the request is authenticated and counted like any.

Cost: one server (one render worker) and one Chromium for the module, about 8 s on the 2-core CI
machine.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pages import (
    assert_boxes_where_reported,
    chromium,
    download,
    frames_shown,
    new_page,
    only_from,
    wait_frame,
)
from playwright.sync_api import Browser, Page, Request
from server_process import ServerProcess, serve

import renderer
from renderer.preview.page import PAGE_CSP
from renderer.server.docpage import EXAMPLE

KEY = "play-key"
SPEC: dict[str, Any] = {
    "width": 320,
    "height": 160,
    "background": "#f8fafc",
    "components": [
        {"type": "text", "text": "Typed", "fontSize": 40, "x": 160, "y": 60, "anchor": "center"},
        {"type": "divider", "length": 200, "color": "#6366f1", "x": 60, "y": 120},
    ],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    d = tmp_path_factory.mktemp("playground")
    config = d / "config.json"
    config.write_text(json.dumps({"plans": {"play": {"requests": 10_000, "period": 3600}}}))
    argv = serve("--config", str(config), "--render-workers", "1")
    with ServerProcess(argv, d / "server.log", env={"RENDERER_API_KEYS": f"{KEY}:play"}) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with new_page(browser, 1400, 900) as (p, errors):
        p.errors = errors  # type: ignore[attr-defined]
        yield p


def renders(page: Page) -> list[Request]:
    """Every request the page makes to the image endpoint, from now on."""
    seen: list[Request] = []
    page.on("request", lambda r: seen.append(r) if "/api/v1/image" in r.url else None)
    return seen


def with_key(page: Page) -> None:
    seen = frames_shown(page)
    page.fill("#key", KEY)
    wait_frame(page, seen)


def edit(page: Page, spec: dict[str, Any] | str) -> None:
    """Replace the editor's text (an input event, as typing gives) and wait for the render."""
    seen = frames_shown(page)
    page.fill("#spec", spec if isinstance(spec, str) else json.dumps(spec, indent=2))
    wait_frame(page, seen)


def test_the_page_has_a_strict_csp_and_asks_for_the_key_first(
    page: Page, server: ServerProcess, tmp_path: Path
) -> None:
    elsewhere = only_from(page, server.url)
    sent = renders(page)
    response = page.goto(server.url + "/")
    assert response is not None
    assert response.headers["content-security-policy"] == PAGE_CSP
    wait_frame(page, 0)
    assert sent == []  # nothing is sent without the key: it could only be refused
    assert "needs an API key" in page.inner_text("#issues")
    with_key(page)
    assert len(sent) == 1
    assert sent[0].headers["authorization"] == f"Bearer {KEY}"
    # The default example is centred and drawn exactly as the engine draws it.
    assert download(page, tmp_path) == renderer.render(EXAMPLE, "png")
    _, report = renderer.render(EXAMPLE, "png", report=True)
    for entry in report.components:
        middle = entry.box.x + entry.box.width / 2
        assert middle == pytest.approx(600, abs=0.01), entry.pointer
    assert page.errors == []  # type: ignore[attr-defined]
    assert elsewhere == []  # nothing asked of any origin but the server


def test_typing_renders_after_a_pause_byte_for_byte(
    page: Page, server: ServerProcess, tmp_path: Path
) -> None:
    page.goto(server.url + "/")
    with_key(page)
    edit(page, SPEC)
    sent = renders(page)
    seen = frames_shown(page)
    text = page.input_value("#spec")
    at = text.index("Typed") + len("Typed")
    page.eval_on_selector("#spec", "(e, at) => e.setSelectionRange(at, at)", at)
    page.focus("#spec")
    page.keyboard.type(" on a keyboard")  # 14 key presses, one pause
    wait_frame(page, seen)
    typed = json.loads(page.input_value("#spec"))
    assert typed["components"][0]["text"] == "Typed on a keyboard"
    assert download(page, tmp_path) == renderer.render(typed, "png")
    assert 1 <= len(sent) < 14


def test_an_invalid_edit_shows_the_pointer_and_the_editor_finds_it(
    page: Page, server: ServerProcess, tmp_path: Path
) -> None:
    page.goto(server.url + "/")
    with_key(page)
    edit(page, SPEC)
    good = download(page, tmp_path)
    bad = json.loads(json.dumps(SPEC))
    bad["components"][1]["length"] = 0
    edit(page, bad)
    (issue,) = page.locator("#issues li").all_inner_texts()
    assert issue.startswith("/components/1/length")
    assert page.get_attribute("#image", "class") == "stale"
    assert download(page, tmp_path) == good
    line = page.input_value("#spec").split("\n").index('      "length": 0,') + 1
    assert [t.strip() for t in page.locator("#gutter .bad").all_inner_texts()] == [str(line)]
    page.click("#issues li")
    selected = page.eval_on_selector(
        "#spec", "e => e.value.slice(e.selectionStart, e.selectionEnd)"
    )
    assert selected == '"length": 0'
    edit(page, '{"width": 10,')
    assert "Invalid JSON" in page.inner_text("#issues")


def test_the_overlay_boxes_sit_where_the_report_puts_them(
    page: Page, server: ServerProcess
) -> None:
    page.goto(server.url + "/")
    with_key(page)
    page.check("#overlay")
    _, report = renderer.render(EXAMPLE, "png", report=True)
    assert_boxes_where_reported(page, report, float(EXAMPLE["width"]))  # type: ignore[arg-type]


def test_a_share_link_restores_the_spec(
    page: Page, browser: Browser, server: ServerProcess, tmp_path: Path
) -> None:
    page.goto(server.url + "/")
    with_key(page)
    shared = json.loads(json.dumps(SPEC))
    shared["components"][0]["text"] = "Shared ✓ — über"
    edit(page, shared)
    page.click("#share")
    page.wait_for_function("() => document.getElementById('share-link').value")
    link = page.input_value("#share-link")
    assert page.evaluate("location.href") == link
    assert re.fullmatch(re.escape(server.url) + r"/#spec=z[A-Za-z0-9_-]+", link)
    other = browser.new_context(accept_downloads=True).new_page()
    other.goto(link)
    with_key(other)
    assert json.loads(other.input_value("#spec")) == shared
    assert download(other, tmp_path) == renderer.render(shared, "png")
    other.context.close()


def test_every_format(page: Page, server: ServerProcess, tmp_path: Path) -> None:
    page.goto(server.url + "/")
    with_key(page)
    edit(page, SPEC)
    options = page.locator("#format option").evaluate_all("os => os.map(o => o.value)")
    assert sorted(options) == sorted(f.value for f in renderer.Format)
    for fmt in options:
        seen = frames_shown(page)
        page.select_option("#format", fmt)
        if fmt != "png":
            wait_frame(page, seen)
        assert download(page, tmp_path) == renderer.render(SPEC, fmt), fmt


# --- the endpoint option, over plain HTTP -------------------------------------------------------


def image(server: ServerProcess, query: str, key: str | None = KEY, **kw: Any) -> httpx.Response:
    headers = {
        "Content-Type": "application/json",
        **({"Authorization": f"Bearer {key}"} if key else {}),
    }
    return httpx.post(
        f"{server.url}/api/v1/image?{query}", content=json.dumps(SPEC), headers=headers, **kw
    )


def test_report_option_returns_the_engines_report_and_counts_as_a_render(
    server: ServerProcess,
) -> None:
    first = image(server, "report=1&format=webp&scale=2")
    assert first.status_code == 200
    body = first.json()
    data, report = renderer.render(SPEC, "webp", scale=2, report=True)
    assert base64.b64decode(body["image"]["base64_data"]) == data
    assert body["image"]["content_type"] == "image/webp"
    assert body["report"] == json.loads(json.dumps(report.to_dict()))
    assert re.fullmatch(r"render;dur=\d+\.\d", first.headers["server-timing"])
    second = image(server, "report=1&format=webp&scale=2")
    remaining = int(first.headers["ratelimit-remaining"])
    assert int(second.headers["ratelimit-remaining"]) == remaining - 1
    plain = image(server, "format=json")
    assert "report" not in plain.json()
    assert plain.headers["etag"] != image(server, "format=json&report=1").headers["etag"]
    assert image(server, "report=0&format=png").content == renderer.render(SPEC, "png")


def test_report_option_needs_the_key_and_a_valid_value(server: ServerProcess) -> None:
    assert image(server, "report=1", key=None).status_code == 401
    assert image(server, "report=1", key="wrong").status_code == 403
    refused = image(server, "report=yes")
    assert refused.status_code == 400
    assert refused.json()["details"]["parameter"] == "report"


def test_openapi_documents_the_report_option(server: ServerProcess) -> None:
    doc = httpx.get(server.url + "/openapi.json").json()
    op = doc["paths"]["/api/v1/image"]["post"]
    (param,) = [p for p in op["parameters"] if p["name"] == "report"]
    assert param["schema"] == {"enum": ["0", "1"]}
    assert "report" in doc["components"]["schemas"]["ImageJSON"]["properties"]


def test_static_files_are_only_the_page_assets(server: ServerProcess) -> None:
    script = httpx.get(server.url + "/static/app.js")
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "/api/v1/image?" in script.text
    assert httpx.get(server.url + "/static/page.html").status_code == 404
    assert httpx.get(server.url + "/static/..%2Fdocpage.py").status_code == 404
    page = httpx.get(server.url + "/").text
    assert '<script src="/static/app.js" defer></script>' in page
    assert "<script>" not in page
