"""The MkDocs plugin (issue 18): real `mkdocs build` and `mkdocs serve` runs of a small site in a
temporary folder. Checks what a site owner would: the meta tags in each page, the card files
they name (size and pixels where the built-in template puts the title), and that a second build
draws nothing and leaves every card's modification time as it was.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
import numpy as np
import pytest
from PIL import Image
from server_process import free_port
from site_cards import BACKGROUND, card_tags, cards, check_default_card, drawn, local

pytest.importorskip("mkdocs", reason="the mkdocs extra is not installed")

LONG_TITLE = "Installing the engine on every platform you can think of, and a few more"


def make_site(root: Path, extra: str = "") -> Path:
    docs = root / "docs"
    (docs / "guide").mkdir(parents=True)
    (docs / "index.md").write_text("---\ndescription: Start here.\n---\n# Welcome\n\nHello.\n")
    (docs / "guide" / "install.md").write_text(f"# {LONG_TITLE}\n\nSteps.\n")
    (docs / "about.md").write_text("---\nauthor: Ada\n---\n# About & contact\n\nUs.\n")
    (root / "mkdocs.yml").write_text(
        "site_name: Example Docs\n"
        "site_url: https://docs.example.com/\n"
        "site_description: The example site.\n"
        "plugins:\n  - renderer" + extra + "\n"
    )
    return root


def build(root: Path, *args: str) -> str:
    """`mkdocs build` in `root`; its log (stderr)."""
    r = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    return r.stderr


def test_a_build_adds_cards_and_tags_and_a_rebuild_draws_nothing(tmp_path: Path) -> None:
    root = make_site(tmp_path)
    assert drawn(build(root)) == (3, 0)
    site = root / "site"
    page = site / "guide" / "install" / "index.html"
    tags = card_tags(page)
    assert tags["og:image"] == "https://docs.example.com/guide/install/index.og.png"
    assert tags["twitter:image"] == tags["og:image"]
    assert tags["twitter:card"] == "summary_large_image"
    assert (tags["og:image:width"], tags["og:image:height"]) == ("1200", "630")
    assert tags["og:image:type"] == "image/png"
    assert tags["og:image:alt"] == LONG_TITLE
    card = local(site, tags["og:image"], page)
    assert card == site / "guide" / "install" / "index.og.png"
    long_rows = check_default_card(card)  # site_description stands in for the description
    home = local(site, card_tags(site / "index.html")["og:image"], site / "index.html")
    short_rows = check_default_card(home)
    assert long_rows > 2 * short_rows  # the long title wraps onto more lines
    about = card_tags(site / "about" / "index.html")
    assert about["og:image:alt"] == "About & contact"  # entities decoded, then escaped once

    # Built again: nothing drawn, every card as it was, modification time included.
    first = cards(site)
    assert len(first) == 3
    time.sleep(0.05)
    assert drawn(build(root)) == (0, 3)  # the site folder was cleaned and refilled
    assert cards(site) == first
    # A body edit changes no card input: still nothing drawn.
    install = root / "docs" / "guide" / "install.md"
    install.write_text(install.read_text() + "\nMore steps.\n")
    assert drawn(build(root)) == (0, 3)
    # A new title draws that page's card alone.
    install.write_text("# Install\n\nSteps.\n")
    assert drawn(build(root)) == (1, 2)
    after = cards(site)
    assert after["guide/install/index.og.png"] > first["guide/install/index.og.png"]
    assert {k: v for k, v in after.items() if "install" not in k} == {
        k: v for k, v in first.items() if "install" not in k
    }


def test_variables_and_a_template_of_ones_own(tmp_path: Path) -> None:
    root = make_site(
        tmp_path,
        ":\n      template: card.json\n      format: webp\n"
        '      variables: {background: "#ff0000", accent: "#00ff00"}',
    )
    (root / "card.json").write_text(
        '{"width": 600, "height": 300, "background": "{{ background }}", "components": ['
        '{"type": "text", "text": "{{ title }} by {{ author }}", "fontSize": 30,'
        ' "color": "{{ accent }}", "x": 20, "y": 20}]}'
    )
    log = build(root)
    site = root / "site"
    assert drawn(log) == (1, 0)  # only about.md has an author
    assert re.search(r"WARNING.*index\.md: no social card.*'author' is missing", log), log
    assert "og:image" not in card_tags(site / "index.html")
    tags = card_tags(site / "about" / "index.html")
    assert tags["og:image:type"] == "image/webp"
    assert (tags["og:image:width"], tags["og:image:height"]) == ("600", "300")
    im = Image.open(local(site, tags["og:image"], site / "about" / "index.html")).convert("RGB")
    assert im.size == (600, 300)
    pixel = im.getpixel((590, 290))
    assert isinstance(pixel, tuple)
    r, g, b = pixel
    assert r > 240
    assert g < 15
    assert b < 15
    # The title in the accent colour where the template puts it (WEBP is lossy: green-ish).
    title = np.asarray(im.crop((20, 20, 300, 60)), dtype=int)
    green = (title[..., 1] > 150) & (title[..., 0] < 150)
    assert green.any(axis=1).sum() > 10
    strict = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=root, capture_output=True
    )
    assert strict.returncode != 0  # a page without its card fails a strict build


def test_without_site_url_the_tags_are_relative_to_the_page(tmp_path: Path) -> None:
    root = make_site(tmp_path)
    yml = root / "mkdocs.yml"
    yml.write_text(yml.read_text().replace("site_url: https://docs.example.com/\n", ""))
    build(root)
    page = root / "site" / "guide" / "install" / "index.html"
    tags = card_tags(page)
    assert tags["og:image"] == "index.og.png"
    assert local(root / "site", tags["og:image"], page).is_file()


def test_mkdocs_serve_serves_the_cards(tmp_path: Path) -> None:
    root = make_site(tmp_path)
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{port}", "--no-livereload"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        page = None
        while time.monotonic() < deadline:
            try:
                page = httpx.get(base + "/guide/install/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert page is not None, "mkdocs serve did not answer"
        url = re.search(r'property="og:image" content="([^"]+)"', page.text)
        assert url, page.text[:2000]
        card = httpx.get(base + urlparse(url[1]).path, timeout=10)  # serve rewrites site_url
        assert card.status_code == 200
        assert card.headers["content-type"] == "image/png"
        im = Image.open(io.BytesIO(card.content)).convert("RGB")
        assert im.getpixel((10, 300)) == BACKGROUND
    finally:
        proc.terminate()
        proc.wait(10)
