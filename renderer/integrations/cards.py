"""One social card per documentation page: filled from a template, drawn in process, cached
across builds, copied into the built site, and announced by `og:image` and `twitter:` tags.

Shared by the MkDocs plugin (`renderer.integrations.mkdocs`) and the Sphinx extension
(`renderer.sphinx`); neither site generator is imported here. A page's card is
`<page's output file without .html>.og.<ext>` beside the page (`guide/install/index.html` →
`guide/install/index.og.png`), so a page moved is a card moved.

Caching is the batch command's manifest (`renderer.batch.manifest`) kept in a cache folder
outside the built site: the key hashes the template as read, the variables the template uses
(front matter it does not use cannot re-render a card), the format, the image files the card
names, the bundled fonts and the engine version. A fresh card is not drawn again; it is copied
into the site with its metadata (`shutil.copy2`), so it keeps its modification time and a
deploy tool that compares times uploads nothing. Each drawn card is appended to the journal
with one `write`, so builds that write pages from several processes (`sphinx-build -j`) share
it safely, and `finish` counts what the journal gained.

The built-in template (`card.json` beside this module) is 1200×630: the site name in the accent
colour, the title fitted between 48 and 88 px on up to four lines (clamped with an ellipsis
beyond), and the description on up to two lines. Its colours are variables with defaults
(`background`, `accent`, `color`, `muted`), so a site changes them without its own template.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import os
import posixpath
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urljoin

from ..api import render
from ..batch.manifest import MANIFEST_NAME, Entry, Manifest, item_key
from ..batch.plan import image_digests
from ..batch.work import write_atomic
from ..encode import Format
from ..limits import DEFAULT_LIMITS
from ..policy import DEFAULT_POLICY
from ..spec import load_document
from ..templates import as_text, fill, placeholders

__all__ = [
    "DEFAULT_STYLE",
    "DEFAULT_TEMPLATE",
    "Card",
    "CardMaker",
    "card_path",
    "has_tag",
    "insert_tags",
    "meta_tags",
    "plain_text",
    "strip_tags",
]

DEFAULT_TEMPLATE = Path(__file__).with_name("card.json")
DEFAULT_STYLE: dict[str, object] = {
    "background": "#0f172a",
    "accent": "#38bdf8",
    "color": "#f8fafc",
    "muted": "#94a3b8",
}
IMAGE_TAGS = ("og:image", "og:image:type", "og:image:width", "og:image:height")
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True, slots=True)
class Card:
    """A page's card as published: where, how large, and whether this build drew it."""

    path: str  # relative to the site root, "/" separators
    width: int  # px
    height: int  # px
    content_type: str
    drawn: bool


def card_path(page_output: str, fmt: Format) -> str:
    """`guide/index.html` → `guide/index.og.png`: the card's place beside its page."""
    stem, _ = posixpath.splitext(page_output.replace(os.sep, "/"))
    return f"{stem}.og.{fmt.extension}"


def plain_text(text: str, limit: int | None = None) -> str:
    """Markup-free, entity-decoded, whitespace-collapsed text, clipped at a word to `limit`."""
    flat = " ".join(html.unescape(_TAG.sub("", text)).split())
    if limit is None or len(flat) <= limit:
        return flat
    cut = flat[: limit + 1].rsplit(" ", 1)[0] if " " in flat[:limit] else flat[:limit]
    return cut.rstrip(" ,;:.") + "…"


def _value(value: object) -> str | None:
    """A front-matter value as template text, or None for values a card cannot show."""
    if isinstance(value, str | int | float):  # bool is an int
        return as_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(as_text(v) for v in value)
    return None


class CardMaker:
    """Draws (or reuses) the cards of one build. `finish()` once at the end."""

    def __init__(
        self,
        cache_dir: Path,
        template: Path | None = None,
        *,
        format: str = "png",
        variables: Mapping[str, object] | None = None,
    ) -> None:
        self.template = (template or DEFAULT_TEMPLATE).resolve()
        self.doc, self.base = load_document(self.template, DEFAULT_LIMITS)  # SpecError: caller's
        self.uses = frozenset(placeholders(self.doc))
        self.format = Format.parse(format)
        self.defaults = {**DEFAULT_STYLE, **(variables or {})}
        self.cache_dir = cache_dir
        self.manifest = Manifest(cache_dir / MANIFEST_NAME)
        self.kept = 0
        self._journal_start = _size(self.manifest.path)

    def make(self, rel: str, values: Mapping[str, object], source: str) -> Card:
        """The card at `rel` for a page with these values; raises `RenderError` (a variable the
        template uses is missing, or a value the card refuses) for that page only."""
        given = {**self.defaults, **values}
        variables: dict[str, object] = {
            k: text for k in self.uses if (text := _value(given.get(k))) is not None
        }
        filled = fill(self.doc, variables, row=source)
        images = image_digests(filled, self.base, DEFAULT_POLICY)
        options = {"format": self.format.value, "output": rel}
        key = item_key(self.doc, variables, options, images)
        drawn = not self.manifest.is_fresh(rel, key, self.cache_dir)
        if drawn:
            data = render(filled, self.format, base_dir=self.base)
            self.manifest.forget(rel)
            write_atomic(self.cache_dir / rel, data)
            sha = hashlib.sha256(data).hexdigest()
            self.manifest.record(Entry(rel, key, sha, len(data), source, None))
        else:
            self.kept += 1
        width, height = int(filled["width"]), int(filled["height"])
        return Card(rel, width, height, self.format.content_type, drawn)

    def publish(self, card: Card, site_dir: Path) -> None:
        """Copy the cached card into the site with its metadata, unless it is there already."""
        src, dest = self.cache_dir / card.path, site_dir / card.path
        s = src.stat()
        with contextlib.suppress(OSError):
            d = dest.stat()
            if (d.st_size, d.st_mtime_ns) == (s.st_size, s.st_mtime_ns):
                return
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.renderer-tmp")
        shutil.copy2(src, tmp)
        os.replace(tmp, dest)

    def finish(self) -> int:
        """Compact the journal; returns how many cards this build drew, in every process."""
        self.manifest.close()
        drawn = 0
        with contextlib.suppress(OSError), self.manifest.path.open("rb") as f:
            f.seek(self._journal_start)
            drawn = sum(1 for line in f if b'"output"' in line)
        Manifest(self.manifest.path).compact(self.cache_dir)  # read again: other processes wrote
        return drawn


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def meta_tags(card: Card, page_output: str, site_url: str | None, alt: str) -> list[str]:
    """The `<meta>` tags of a page's card: absolute URLs when the site's URL is known, else
    relative to the page (which most crawlers resolve, though Open Graph asks for absolute)."""
    if site_url:
        url = urljoin(site_url.rstrip("/") + "/", card.path)
    else:
        url = posixpath.relpath(card.path, posixpath.dirname(page_output.replace(os.sep, "/")))
    pairs = [
        ("property", "og:image", url),
        ("property", "og:image:type", card.content_type),
        ("property", "og:image:width", str(card.width)),
        ("property", "og:image:height", str(card.height)),
        ("property", "og:image:alt", alt),
        ("name", "twitter:card", "summary_large_image"),
        ("name", "twitter:image", url),
    ]
    return [
        f'<meta {attr}="{name}" content="{html.escape(content, quote=True)}" />'
        for attr, name, content in pairs
    ]


def has_tag(head: str, name: str) -> bool:
    """Whether `head` already has a `<meta>` for `name` (as property= or name=)."""
    pattern = rf"<meta\b[^>]*\b(?:property|name)\s*=\s*[\"']{re.escape(name)}[\"']"
    return re.search(pattern, head, re.I) is not None


def insert_tags(page: str, tags: list[str]) -> str:
    """`page` with `tags` before `</head>` (unchanged when it has no head)."""
    m = re.search(r"</head\s*>", page, re.I)
    if m is None:
        return page
    block = "".join(f"  {t}\n" for t in tags)
    return page[: m.start()] + block + page[m.start() :]


def strip_tags(head: str, names: tuple[str, ...]) -> str:
    """`head` without the `<meta>` tags for `names`: another extension's image, replaced."""
    alternatives = "|".join(re.escape(n) for n in names)
    pattern = rf"<meta\b[^>]*\b(?:property|name)\s*=\s*[\"'](?:{alternatives})[\"'][^>]*>\n?"
    return re.sub(pattern, "", head, flags=re.I)
