"""The Sphinx extension `renderer.sphinx` (issue 18): real `sphinx-build` runs of a small project
in a temporary folder, alone and beside `sphinxext-opengraph`. Checks the meta tags of each
page (one `og:image`, never two), the card files (size, pixels where the built-in template puts
the title), and that later builds draw nothing and keep each card's modification time.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from site_cards import card_tags, cards, check_default_card, drawn, local, meta

pytest.importorskip("sphinx", reason="the sphinx extra is not installed")

INSTALL = "Installing the engine on every platform you can think of, and a few more"


def make_project(root: Path, conf: str = "") -> Path:
    src = root / "src"
    (src / "guide").mkdir(parents=True)
    (src / "conf.py").write_text(
        'project = "Example Project"\n'
        'extensions = ["renderer.sphinx"]\n'
        'renderer_site_url = "https://docs.example.com/"\n' + conf
    )
    (src / "index.rst").write_text(
        "Welcome\n=======\n\nThe first paragraph: what this project is.\n\n"
        ".. toctree::\n\n   guide/install\n   plain\n"
    )
    (src / "guide" / "install.rst").write_text(
        f":description: How to install it.\n\n{INSTALL}\n{'=' * len(INSTALL)}\n\nSteps.\n"
    )
    (src / "plain.rst").write_text("Plain\n=====\n\n.. note:: Only a note.\n")
    return src


def build(src: Path, out: Path, doctrees: Path) -> str:
    r = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-d", str(doctrees), str(src), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout + r.stderr


def test_a_build_adds_cards_and_tags_and_later_builds_draw_nothing(tmp_path: Path) -> None:
    src, out, doctrees = make_project(tmp_path), tmp_path / "html", tmp_path / "doctrees"
    assert drawn(build(src, out, doctrees)) == (3, 0)
    page = out / "guide" / "install.html"
    tags = card_tags(page)
    assert tags["og:image"] == "https://docs.example.com/guide/install.og.png"
    assert tags["twitter:image"] == tags["og:image"]
    assert tags["twitter:card"] == "summary_large_image"
    assert (tags["og:image:width"], tags["og:image:height"]) == ("1200", "630")
    assert tags["og:image:alt"] == INSTALL
    install = local(out, tags["og:image"], page)
    assert install == out / "guide" / "install.og.png"
    long_rows = check_default_card(install)  # :description: field
    home = local(out, card_tags(out / "index.html")["og:image"], out / "index.html")
    assert check_default_card(home) * 2 < long_rows  # first paragraph as the description
    plain = local(out, card_tags(out / "plain.html")["og:image"], out / "plain.html")
    check_default_card(plain, description=False)  # a note is not a description
    assert not (out / "genindex.og.png").exists()  # generated pages have no document
    first = cards(out)

    time.sleep(0.05)
    assert drawn(build(src, out, doctrees)) == (0, 0)  # Sphinx wrote no page
    assert cards(out) == first
    # A body edit: Sphinx writes the page (and its neighbours) again, the cards are kept.
    (src / "plain.rst").write_text("Plain\n=====\n\n.. note:: Only a longer note.\n")
    none, kept = drawn(build(src, out, doctrees))
    assert none == 0
    assert kept >= 1
    assert cards(out) == first
    # A fresh output folder (cache kept with the doctrees): every card copied, none drawn.
    shutil.rmtree(out)
    assert drawn(build(src, out, doctrees)) == (0, 3)
    assert cards(out) == first
    # A new title draws that one card.
    (src / "plain.rst").write_text("Plainer\n=======\n\n.. note:: Only a note.\n")
    assert drawn(build(src, out, doctrees))[0] == 1
    assert cards(out)["plain.og.png"] > first["plain.og.png"]


def test_beside_sphinxext_opengraph_each_page_has_one_image(tmp_path: Path) -> None:
    pytest.importorskip("sphinxext.opengraph", reason="sphinxext-opengraph is not installed")
    conf = (
        'extensions = ["sphinxext.opengraph", "renderer.sphinx"]\n'
        'ogp_site_url = "https://docs.example.com/"\n'
        'ogp_image = "_static/site.png"\n'  # would be every page's image without us
        "renderer_site_url = None\n"  # ogp_site_url is used
    )
    src = make_project(tmp_path, conf)
    (src / "own.rst").write_text(
        ":og:image: https://img.example.com/own.png\n\nOwn\n===\n\nIts own picture.\n"
    )
    index = src / "index.rst"
    index.write_text(index.read_text() + "   own\n")
    out = tmp_path / "html"
    assert drawn(build(src, out, tmp_path / "doctrees")) == (3, 0)
    page = out / "guide" / "install.html"
    tags = card_tags(page)  # fails on any duplicate
    assert tags["og:image"] == "https://docs.example.com/guide/install.og.png"
    assert tags["og:image:alt"] == INSTALL
    keys = [k for k, _ in meta(page)]
    assert keys.index("og:image") < keys.index("og:image:alt")  # alt follows its image
    others = dict(meta(page))
    assert others["og:title"] == INSTALL  # sphinxext-opengraph's own tags stay
    assert others["og:url"] == "https://docs.example.com/guide/install.html"
    assert others["og:description"] == "Steps."  # its own choice: the first paragraph
    check_default_card(local(out, tags["og:image"], page))
    own = card_tags(out / "own.html")
    assert own["og:image"] == "https://img.example.com/own.png"  # the page's choice stands
    assert "twitter:image" not in own
    assert not (out / "own.og.png").exists()
