"""Playwright for Python driving Debian's Chromium, for the tests of the preview and playground
pages (`test_preview.py`, `test_playground.py`).

Playwright cannot download its own browsers here, so it launches `/usr/bin/chromium` through
`executable_path`, with the flags `examples/screenshot.py` uses. Without Chromium the tests
skip, or fail when `RENDERER_REQUIRE_CHROMIUM` is set (as `.ci/run` sets it). One browser per
test module; a fresh context and page per test.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
from browser import find_chromium
from playwright.sync_api import Browser, Page, Route, sync_playwright

from renderer.report import Report

__all__ = [
    "assert_boxes_where_reported",
    "chromium",
    "download",
    "frames_shown",
    "new_page",
    "only_from",
    "screenshot_script",
    "wait_frame",
]

ROOT = Path(__file__).resolve().parent.parent


@cache
def screenshot_script() -> ModuleType:
    """`examples/screenshot.py`, which takes the README's picture (and holds the flags)."""
    spec = importlib.util.spec_from_file_location("screenshot", ROOT / "examples" / "screenshot.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def chromium() -> Iterator[Browser]:
    path = find_chromium()
    if path is None and os.environ.get("RENDERER_REQUIRE_CHROMIUM"):
        pytest.fail("RENDERER_REQUIRE_CHROMIUM is set but no `chromium` binary was found")
    if path is None:
        pytest.skip("no Chromium: install Debian's `chromium` to test the preview page")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=screenshot_script().FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def new_page(browser: Browser, width: int, height: int) -> Iterator[tuple[Page, list[str]]]:
    """A page in a fresh context, and the console errors and uncaught exceptions it logs."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield page, errors
    finally:
        context.close()


def only_from(page: Page, origin: str) -> list[str]:
    """Refuse every request `page` makes beyond `origin` (and its own blob: and data: URLs);
    the list of refused URLs, which a page that works offline leaves empty."""
    elsewhere: list[str] = []

    def route(r: Route) -> None:
        url = r.request.url
        if url.startswith((origin + "/", "blob:", "data:")):
            r.continue_()
        else:
            elsewhere.append(url)
            r.abort()

    page.route("**/*", route)
    return elsewhere


def frames_shown(page: Page) -> int:
    """How many frames the page has shown (`body[data-rendered]`, counted by app.js)."""
    return int(page.evaluate("Number(document.body.dataset.rendered || 0)"))


def wait_frame(page: Page, after: int, timeout: float = 15.0) -> None:
    """Wait until the page shows a frame after the `after`-th."""
    page.wait_for_function(
        "n => Number(document.body.dataset.rendered || 0) > n", arg=after, timeout=timeout * 1000
    )


def download(page: Page, folder: Path) -> bytes:
    """The bytes the page's Download link gives: the image it shows, as the user gets it."""
    with page.expect_download() as info:
        page.click("#download")
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    return target.read_bytes()


def assert_boxes_where_reported(page: Page, report: Report, card_width: float) -> None:
    """Each overlay box sits on the card image where the render report puts it (±1 px)."""
    # The boxes are laid over the picture: until it has loaded they have no size.
    page.wait_for_function("() => document.getElementById('image').naturalWidth > 0")
    image = page.locator("#image").bounding_box()
    assert image is not None
    k = image["width"] / card_width  # screen px per card px
    for entry in report.components:
        drawn = page.locator(f'.box[data-pointer="{entry.pointer}"]').bounding_box()
        assert drawn is not None, entry.pointer
        b = entry.box
        assert drawn["x"] == pytest.approx(image["x"] + b.x * k, abs=1), entry.pointer
        assert drawn["y"] == pytest.approx(image["y"] + b.y * k, abs=1), entry.pointer
        assert drawn["width"] == pytest.approx(max(b.width * k, 1), abs=1), entry.pointer
        assert drawn["height"] == pytest.approx(max(b.height * k, 1), abs=1), entry.pointer
    assert page.locator(".box").count() == len(report.components)
