"""What the MkDocs and Sphinx tests check in a built site: a page's meta tags, and its card's size
and pixels as the built-in template lays them out (`renderer/integrations/card.json`)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from PIL import Image

BACKGROUND = (0x0F, 0x17, 0x2A)  # the built-in template's default colours
ACCENT = (0x38, 0xBD, 0xF8)
TITLE = (0xF8, 0xFA, 0xFC)
MUTED = (0x94, 0xA3, 0xB8)


class _Meta(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        key = a.get("property") or a.get("name")
        if tag == "meta" and key and a.get("content") is not None:
            self.tags.append((key, a["content"] or ""))


def meta(page: Path) -> list[tuple[str, str]]:
    """Every `<meta property|name=... content=...>` of a page, in order."""
    parser = _Meta()
    parser.feed(page.read_text("utf-8"))
    return parser.tags


def card_tags(page: Path) -> dict[str, str]:
    """The image and Twitter tags of a page; fails if any of them appears twice."""
    found = [(k, v) for k, v in meta(page) if k.startswith(("og:image", "twitter:"))]
    keys = [k for k, _ in found]
    assert len(keys) == len(set(keys)), f"duplicate tags in {page}: {keys}"
    return dict(found)


def local(site: Path, url: str, page: Path) -> Path:
    """The file in `site` that a card URL (absolute, or relative to `page`) names."""
    parsed = urlparse(url)
    if parsed.scheme:
        return site / parsed.path.lstrip("/")
    return (page.parent / url).resolve()


def drawn(log: str) -> tuple[int, int]:
    """(cards drawn, cards kept) from the summary line both integrations log."""
    m = re.search(r"renderer: (\d+) social cards drawn, (\d+) unchanged", log)
    assert m, log
    return int(m[1]), int(m[2])


def cards(site: Path) -> dict[str, int]:
    """Every card in a built site, with its modification time (ns)."""
    return {p.relative_to(site).as_posix(): p.stat().st_mtime_ns for p in site.rglob("*.og.png")}


def _near(pixels: np.ndarray, colour: tuple[int, int, int], tolerance: int = 24) -> np.ndarray:
    return np.asarray((np.abs(pixels.astype(int) - colour) <= tolerance).all(axis=-1))


def rows_with(card: Path, colour: tuple[int, int, int], box: tuple[int, int, int, int]) -> int:
    """How many pixel rows of `box` (left, top, right, bottom) hold ink of `colour`."""
    pixels = np.asarray(Image.open(card).convert("RGB").crop(box))
    return int(_near(pixels, colour).any(axis=1).sum())


def check_default_card(card: Path, *, description: bool = True) -> int:
    """The built-in card: 1200×630, its background, the site name in the accent colour at the
    top left, the title in its box, the description (if any) below it, nothing elsewhere.
    Returns the number of rows the title's ink covers (longer titles wrap to more)."""
    im = Image.open(card)
    assert im.size == (1200, 630), card
    assert im.convert("RGB").getpixel((10, 300)) == BACKGROUND
    assert rows_with(card, ACCENT, (80, 72, 700, 110)) > 10  # the site name
    assert rows_with(card, TITLE, (0, 0, 1200, 160)) == 0  # no title above its box
    title_rows = rows_with(card, TITLE, (80, 168, 1120, 440))
    assert title_rows > 30, card
    described = rows_with(card, MUTED, (80, 488, 1120, 580))
    assert (described > 10) if description else (described == 0), card
    return title_rows
