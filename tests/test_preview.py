"""`renderer preview` (issue 17): a real `renderer preview` subprocess, driven by Chromium.

The page is checked the way a user looks at it: save the spec (or its image, or its data file)
on disk and the picture changes, and its Download gives exactly what `renderer.render` gives for
the new file; an invalid save lists each issue with its pointer beside the last good picture; the
overlay draws each component's box where the render report says it is; the row picker shows each
row's card and a failing row's error. The page loads with a strict CSP and asks for nothing but
its own server. `Session` (what the server answers) is also tested directly, without a browser.

Cost: two preview processes and one Chromium for the module, about 6 s in all on the 2-core CI
machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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
    screenshot_script,
    wait_frame,
)
from PIL import Image
from playwright.sync_api import Browser, Page
from server_process import ROOT, ServerProcess

import renderer
from renderer.cli import main
from renderer.encode import Format
from renderer.preview.page import PAGE_CSP
from renderer.preview.session import Session, View, image_files
from renderer.templates import fill

# --- fixtures -----------------------------------------------------------------------------------


def card(title: str, **text: Any) -> dict[str, Any]:
    return {
        "width": 400,
        "height": 200,
        "background": "#ffffff",
        "components": [
            {"type": "text", "text": title, "fontSize": 32, "x": 20, "y": 16, "frameWidth": 360}
            | text,
            {"type": "image", "src": "logo.png", "width": 64, "height": 64, "x": 20, "y": 110},
            {"type": "divider", "length": 200, "color": "#2563eb", "x": 180, "y": 140},
        ],
    }


TEMPLATE = {
    "width": 300,
    "height": 120,
    "background": "#ffffff",
    "components": [
        {"type": "text", "text": "{{ title }}", "fontSize": "{{ size }}", "x": 10, "y": 10},
    ],
}
ROWS = "title,size\nFirst,30\nSecond\nThird,20\n"


def save(path: Path, data: dict[str, Any] | str) -> None:
    """Write as editors do: a new file renamed over the old one."""
    text = data if isinstance(data, str) else json.dumps(data, indent=1)
    tmp = path.with_name(path.name + ".tmp~")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)


def logo(path: Path, colour: str) -> None:
    tmp = path.with_name("tmp-" + path.name)
    Image.new("RGB", (32, 32), colour).save(tmp, "PNG")
    os.replace(tmp, path)


def preview(spec: Path, log: Path, *extra: str) -> ServerProcess:
    argv = [sys.executable, "-m", "renderer", "preview", str(spec), "--port", "{port}"]
    return ServerProcess([*argv, "--no-open", *extra], log, ready_path="/")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("preview")
    logo(d / "logo.png", "#f59e0b")
    save(d / "card.json", card("Hello"))
    save(d / "template.json", TEMPLATE)
    (d / "rows.csv").write_text(ROWS, "utf-8")
    return d


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[ServerProcess]:
    with preview(folder / "card.json", folder / "preview.log") as s:
        yield s


@pytest.fixture(scope="module")
def rows_server(folder: Path) -> Iterator[ServerProcess]:
    spec, data = folder / "template.json", folder / "rows.csv"
    with preview(spec, folder / "rows.log", "--data", str(data)) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with new_page(browser, 1280, 900) as (p, errors):
        p.errors = errors  # type: ignore[attr-defined]
        yield p


def open_page(page: Page, server: ServerProcess) -> None:
    page.goto(server.url + "/")
    wait_frame(page, 0)


def shows(page: Page, expected: bytes, folder: Path, timeout: float = 15.0) -> None:
    """Wait until the page's Download gives `expected`; fail with what it gave instead."""
    deadline = time.monotonic() + timeout
    while True:
        seen = frames_shown(page)
        got = download(page, folder)
        if got == expected:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            status = page.inner_text("#status")
            pytest.fail(f"the page still shows another image ({len(got)} bytes; {status})")
        wait_frame(page, seen, left)


def render_file(path: Path, fmt: str = "png") -> bytes:
    return renderer.render(path, fmt)


# --- the browser tests --------------------------------------------------------------------------


def test_page_loads_with_a_strict_csp_and_asks_only_its_server(
    page: Page, server: ServerProcess, folder: Path
) -> None:
    elsewhere = only_from(page, server.url)
    response = page.goto(server.url + "/")
    assert response is not None
    assert response.status == 200
    assert response.headers["content-security-policy"] == PAGE_CSP
    script_src = re.search(r"script-src ([^;]*)", PAGE_CSP)
    assert script_src is not None
    assert script_src.group(1) == "'self'"
    assert "<script>" not in response.text()  # no inline script: the CSP would refuse it
    wait_frame(page, 0)
    assert page.inner_text("#status").startswith("PNG · 400×200 · rendered in ")
    assert elsewhere == []
    assert page.errors == []  # type: ignore[attr-defined]


def test_saving_the_spec_redraws_the_card(page: Page, server: ServerProcess, folder: Path) -> None:
    spec = folder / "card.json"
    save(spec, card("Before"))
    open_page(page, server)
    shows(page, render_file(spec), folder)
    save(spec, card("After the save"))
    shows(page, render_file(spec), folder)
    spec.write_text(json.dumps(card("Written in place")), "utf-8")  # no rename this time
    shows(page, render_file(spec), folder)
    assert page.errors == []  # type: ignore[attr-defined]


def test_saving_an_image_the_spec_names_redraws_the_card(
    page: Page, server: ServerProcess, folder: Path
) -> None:
    spec = folder / "card.json"
    save(spec, card("Logo"))
    open_page(page, server)
    before = render_file(spec)
    shows(page, before, folder)
    logo(folder / "logo.png", "#10b981")
    after = render_file(spec)
    assert after != before
    shows(page, after, folder)


def test_an_invalid_save_lists_each_issue_beside_the_last_good_card(
    page: Page, server: ServerProcess, folder: Path
) -> None:
    spec = folder / "card.json"
    save(spec, card("Good"))
    open_page(page, server)
    good = render_file(spec)
    shows(page, good, folder)
    bad = card("Bad", fontSize=-3)
    bad["components"][2]["colour"] = "#000000"
    seen = frames_shown(page)
    save(spec, bad)
    page.wait_for_selector("#issues li", timeout=15_000)
    wait_frame(page, seen)
    issues = page.locator("#issues li").all_inner_texts()
    assert any(t.startswith("/components/0/fontSize") for t in issues), issues
    assert any(t.startswith("/components/2/colour") and "'color'" in t for t in issues), issues
    assert page.is_visible("#stale")
    assert page.get_attribute("#image", "class") == "stale"
    assert download(page, folder) == good  # the last good render, still there
    assert "2 issues" in page.inner_text("#status")
    save(spec, "{ not json")
    page.wait_for_function(
        "() => document.getElementById('issues').textContent.includes('Invalid JSON')"
    )
    assert page.is_visible("#image")


@pytest.mark.parametrize("size", ["0.5", "fit"])
def test_the_overlay_draws_each_box_where_the_report_puts_it(
    page: Page, server: ServerProcess, folder: Path, size: str
) -> None:
    spec = folder / "card.json"
    save(spec, card("Boxes where the report says"))
    open_page(page, server)
    shows(page, render_file(spec), folder)
    page.select_option("#size", size)
    page.check("#overlay")
    _, report = renderer.render(spec, "png", report=True)
    assert_boxes_where_reported(page, report, 400)
    if size == "0.5":
        image = page.locator("#image").bounding_box()
        assert image is not None
        assert image["width"] == pytest.approx(200, abs=0.5)
    page.uncheck("#overlay")
    assert not page.is_visible("#boxes")


def test_the_overlay_marks_what_the_report_flags(
    page: Page, server: ServerProcess, folder: Path
) -> None:
    spec = folder / "card.json"
    doc = card("A title far too long to fit on the single line it is allowed", maxLines=1)
    doc["components"] += [
        {
            "type": "text",
            "text": "Shrunk to fit",
            "fontSize": "auto",
            "maxFontSize": 90,
            "frameWidth": 120,
            "frameHeight": 30,
            "x": 100,
            "y": 100,
        },
        {"type": "text", "text": "Amharic: ሰላም", "x": 100, "y": 170},
        {
            "type": "image",
            "src": "no-such-file.png",
            "onImageError": "placeholder",
            "width": 40,
            "height": 40,
            "x": 340,
            "y": 140,
        },
        {"type": "divider", "length": 50, "x": 900, "y": 10},
    ]
    save(spec, doc)
    open_page(page, server)
    shows(page, render_file(spec), folder)
    page.check("#overlay")

    def label(pointer: str) -> str:
        return page.inner_text(f'.box[data-pointer="{pointer}"] span')

    assert label("/components/0") == "/components/0 · clamped"
    assert label("/components/1") == "/components/1"
    assert label("/components/3") == "/components/3 · shrunk"
    assert label("/components/4") == "/components/4 · missing"
    assert label("/components/5") == "/components/5 · placeholder"
    assert label("/components/6") == "/components/6 · offCanvas"
    assert page.locator(".box.flagged").count() == 5
    notes = page.locator("#notes li").all_inner_texts()
    assert len(notes) == 5
    assert any(n.startswith("/components/3") and "at most 90" in n for n in notes), notes
    assert any(n.startswith("/components/4") and "ሰ" in n for n in notes), notes
    assert any(n.startswith("/components/5") and "no-such-file.png" in n for n in notes), notes


def test_format_and_scale_switches(page: Page, server: ServerProcess, folder: Path) -> None:
    spec = folder / "card.json"
    save(spec, card("Formats"))
    open_page(page, server)
    shows(page, render_file(spec), folder)
    seen = frames_shown(page)
    page.select_option("#format", "svg")
    wait_frame(page, seen)
    assert download(page, folder) == render_file(spec, "svg")
    assert page.get_attribute("#download", "download") == "card.svg"
    seen = frames_shown(page)
    page.select_option("#format", "png")
    page.select_option("#scale", "2")
    wait_frame(page, seen)
    shows(page, renderer.render(spec, "png", scale=2), folder)
    seen = frames_shown(page)
    page.select_option("#format", "tiff")  # Chromium cannot show TIFF: the page says so
    wait_frame(page, seen)
    page.wait_for_selector("#unshown:not([hidden])")
    assert download(page, folder) == renderer.render(spec, "tiff", scale=2)


def test_the_row_picker_shows_each_row_and_a_failing_rows_error(
    page: Page, rows_server: ServerProcess, folder: Path
) -> None:
    def row_card(title: str, size: int) -> bytes:
        return renderer.render(fill(TEMPLATE, {"title": title, "size": size}), "png")

    open_page(page, rows_server)
    options = page.locator("#row option").all_inner_texts()
    assert options == ["1. rows.csv row 1", "2. rows.csv row 2", "3. rows.csv row 3"]
    shows(page, row_card("First", 30), folder)
    assert page.is_disabled("#prev")
    seen = frames_shown(page)
    page.click("#next")
    wait_frame(page, seen)
    (issue,) = page.locator("#issues li").all_inner_texts()
    assert issue.startswith("/components/0/fontSize")
    assert "'size' is missing" in issue
    assert "(rows.csv row 2)" in issue
    seen = frames_shown(page)
    page.click("#next")
    wait_frame(page, seen)
    shows(page, row_card("Third", 20), folder)
    assert page.is_disabled("#next")
    assert page.locator("#issues li").count() == 0
    (folder / "rows.csv").write_text(ROWS.replace("Third", "Third edited"), "utf-8")
    shows(page, row_card("Third edited", 20), folder)
    seen = frames_shown(page)
    page.locator("#row").blur()  # the arrow keys step through rows when no control has focus
    page.keyboard.press("ArrowLeft")
    wait_frame(page, seen)
    assert page.input_value("#row") == "1"


def test_the_readme_screenshot_script_runs(
    page: Page, server: ServerProcess, tmp_path: Path
) -> None:
    """examples/screenshot.py takes the README's picture; here it runs on this module's page."""
    module = screenshot_script()
    out = tmp_path / "preview.png"
    module.capture(page, server.url + "/", out)
    with Image.open(out) as shot:
        assert shot.size == module.SIZE


# --- without a browser --------------------------------------------------------------------------


def test_session_keeps_the_last_good_frame_beside_the_issues(tmp_path: Path) -> None:
    spec = tmp_path / "card.json"
    logo(tmp_path / "logo.png", "#000000")
    save(spec, card("One"))
    session = Session(spec, [])
    good = session.frame(View())
    assert good["issues"] == []
    assert good["stale"] is False
    assert good["card"] == {"width": 400, "height": 200}
    assert good["report"] == renderer.render(spec, report=True)[1].to_dict()
    save(spec, card("Two", fontSize=0))
    bad = session.frame(View(), version=3)
    assert bad["issues"] == [
        {"pointer": "/components/0/fontSize", "message": "Must be > 0. Received: 0."}
    ]
    assert bad["stale"] is True
    assert bad["image"] == good["image"]
    assert bad["version"] == 3
    svg = session.frame(View(format=Format.SVG))  # no good SVG yet: the latest good frame
    assert svg["stale"] is True
    assert svg["image"]["content_type"] == "image/png"


def test_session_watches_the_images_it_drew_at_any_depth(tmp_path: Path) -> None:
    doc = {
        "components": [{"type": "image", "src": "a.png"}],
        "children": {
            "x": [
                {"type": "image", "src": "sub/b.png"},
                {"type": "image", "src": "https://example.com/c.png"},
            ]
        },
    }
    assert image_files(doc, tmp_path) == {tmp_path / "a.png", tmp_path / "sub" / "b.png"}
    spec = tmp_path / "card.json"
    save(spec, card("Watch"))
    session = Session(spec, [tmp_path / "rows.csv"])
    (tmp_path / "rows.csv").write_text("title\nx\n", "utf-8")
    session.frame(View())
    assert session.watched() == {spec, tmp_path / "rows.csv", tmp_path / "logo.png"}


def test_session_reports_bad_data_files_and_rows(tmp_path: Path) -> None:
    spec = tmp_path / "t.json"
    save(spec, TEMPLATE)
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"title": "A", "size": 20}\n[1]\n', "utf-8")
    session = Session(spec, [rows])
    first, second = session.frame(View(row=0)), session.frame(View(row=1))
    assert first["issues"] == []
    assert [r["label"] for r in first["rows"]] == [
        "rows.jsonl line 1",
        "rows.jsonl line 2",
    ]
    assert second["issues"] == [
        {"pointer": "", "message": "expected an object. Received: list (rows.jsonl line 2)"}
    ]
    rows.write_text("[broken", "utf-8")
    (issue,) = session.frame(View())["issues"]
    assert "rows.jsonl" in issue["message"]


def test_the_page_script_knows_the_schemas_default_max_font_size() -> None:
    script = (ROOT / "renderer" / "preview" / "static" / "app.js").read_text("utf-8")
    found = re.search(r"DEFAULT_MAX_FONT_SIZE = (\d+);", script)
    text = renderer.spec.schema()["$defs"]
    default = next(
        v["properties"]["maxFontSize"]["default"]
        for v in text.values()
        if "maxFontSize" in v.get("properties", {})
    )
    assert found is not None
    assert int(found.group(1)) == default


def test_preview_refuses_missing_files_and_a_taken_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["preview", str(tmp_path / "nope.json"), "--no-open"]) == 2
    assert "nope.json" in capsys.readouterr().err
    spec = tmp_path / "card.json"
    save(spec, card("x"))
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["preview", str(spec), "--port", str(port), "--no-open"]) == 2
    assert f"port {port}" in capsys.readouterr().err


def test_preview_answers_only_its_own_host(server: ServerProcess) -> None:
    assert httpx.get(server.url + "/").status_code == 200
    assert httpx.get(f"http://localhost:{server.port}/").status_code == 200
    rebound = httpx.get(server.url + "/", headers={"Host": f"attacker.example:{server.port}"})
    assert rebound.status_code == 403
    assert httpx.get(server.url + "/static/../page.py").status_code == 404
    assert httpx.get(server.url + "/static/page.html").status_code == 404
    script = httpx.get(server.url + "/static/app.js")
    assert script.headers["content-type"].startswith("text/javascript")


def test_the_watcher_sees_saves_renames_and_folders_made_later(tmp_path: Path) -> None:
    """The real watcher (inotify here): a rename-save, an unrelated file (ignored), and an image
    whose folder does not exist yet, then does."""
    from renderer.preview.watch import Watcher

    spec, image = tmp_path / "card.json", tmp_path / "img" / "logo.png"
    spec.write_text("{}", "utf-8")

    async def scenario() -> list[str]:
        seen: list[str] = []
        changed = asyncio.Event()

        def note() -> None:
            seen.append("change")
            changed.set()

        async def step(action: Any, expect: bool) -> None:
            changed.clear()
            action()
            try:
                await asyncio.wait_for(changed.wait(), 5 if expect else 1)
            except asyncio.TimeoutError:
                seen.append("nothing")

        watcher = Watcher(lambda: {spec, image}, note)
        stop = asyncio.Event()
        task = asyncio.ensure_future(watcher.run(stop))
        await asyncio.sleep(0.3)  # the watch is up
        await step(lambda: save(spec, {"width": 1}), True)
        await step(lambda: (tmp_path / "notes.txt").write_text("x"), False)
        await step(lambda: image.parent.mkdir(), True)  # the watch moves into img/
        await asyncio.sleep(0.3)
        await step(lambda: logo(image, "#000000"), True)
        stop.set()
        await asyncio.wait_for(task, 5)
        return seen

    # In a thread of its own: Playwright's sync API keeps an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        seen = pool.submit(asyncio.run, scenario()).result()
    assert seen == ["change", "nothing", "change", "change"]
