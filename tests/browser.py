"""Headless Chromium as a reference for text layout (used by `test_browser.py`).

Every case is a card with one text component. All cases go into ONE HTML page, one row per case,
which Chromium loads twice: once for a screenshot (`--screenshot`) and once for the lines
(`--dump-dom`; a script in the page writes them into the DOM). No browser-driver package.

The page uses the SAME font files as the engine: one `@font-face` rule per face of
`fonts/manifest.json` with its `unicode-range`, as Fontsource's CSS declares them, so the browser
picks slices as the engine does; the `font-family` list is the engine's fallback chain.

Lines are found in the page by measuring each character with a `Range` and sorting it into the
line box (`lineHeight × fontSize` tall) its rectangle's middle falls in. So that each line's ink
can be measured on its own (glyphs often overflow their line box: a descender of one line reaches
into the next), the script then adds one copy of the card per line, to the right of the original,
in which only that line's characters are visible (the others are `color: transparent`, which does
not change layout; the script checks that the copy breaks into the same lines).
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from renderer.data import data_dir
from renderer.fonts import FALLBACK_FAMILIES

__all__ = [
    "BrowserResult",
    "break_opportunities",
    "find_chromium",
    "font_face_css",
    "ink_box",
    "ink_mask",
    "page_html",
    "run_chromium",
    "stray_ink",
]

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",  # containers often have a small /dev/shm
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--font-render-hinting=none",  # the engine draws unhinted outlines too
    "--virtual-time-budget=10000",  # virtual time runs on until fonts are loaded and scripts done
)
_READY = (255, 0, 255)  # the stripe the page shows below the cards once it is measured
_READY_HEIGHT = 4  # px
_INK = 64  # a pixel is ink when a channel differs from the background by more than this


def find_chromium() -> str | None:
    """Debian's `chromium` (what CI installs), or None."""
    found = shutil.which("chromium")
    if found is None and Path("/usr/bin/chromium").is_file():
        found = "/usr/bin/chromium"
    return found


def _unicode_range(ranges: Sequence[Sequence[int]]) -> str:
    return ", ".join(f"U+{a:X}" if a == b else f"U+{a:X}-{b:X}" for a, b in ranges)


def font_face_css() -> str:
    """`@font-face` rules for every bundled face, in Fontsource's order.

    Where the ranges of one family's rules overlap, the rule declared LAST is tried first (CSS
    Fonts 4 §4.5); Fontsource declares `latin-ext` and then `latin` last, and the engine settles
    overlaps the same way (latin, then latin-ext, then the rest), so the rules are emitted in the
    reverse of the engine's order.
    """
    root = data_dir("fonts")
    manifest: dict[str, Any] = json.loads((root / "manifest.json").read_text("utf-8"))
    rules = []
    for family, entry in manifest["families"].items():
        faces = sorted(
            entry["faces"], key=lambda f: (f["subset"] != "latin", f["subset"] != "latin-ext")
        )
        for face in reversed(faces):
            if not face["file"].endswith((".ttf", ".otf")):
                continue
            lo, hi = face["weight"]
            url = (root / face["file"]).resolve().as_uri()
            rules.append(
                "@font-face {\n"
                f"  font-family: {json.dumps(family)};\n"
                f"  font-style: {face['style']};\n"
                f"  font-weight: {lo if lo == hi else f'{lo} {hi}'};\n"
                "  font-display: block;\n"
                f"  src: url({json.dumps(url)}) format('truetype');\n"
                f"  unicode-range: {_unicode_range(face['ranges'])};\n"
                "}"
            )
    return "\n".join(rules)


def _css_family(family: str) -> str:
    """The engine's fallback chain as a CSS list; no generic family: no system font may be used."""
    chain = (family, *(f for f in FALLBACK_FAMILIES if f != family))
    return ", ".join(json.dumps(f) for f in chain)


def text_css(c: dict[str, Any]) -> dict[str, str]:
    """The CSS of a text component's box, relative to its card."""
    frame = c.get("frameWidth", "fit")
    style = {
        "position": "absolute",
        "left": f"{c.get('x', 0)}px",
        "top": f"{c.get('y', 0)}px",
        "margin": "0",
        "padding": "0",
        "font-family": _css_family(c.get("fontFamily", "Inter")),
        "font-size": f"{c.get('fontSize', 16)}px",
        "font-weight": str(c.get("fontWeight", 400)),
        "font-style": c.get("fontStyle", "normal"),
        "font-synthesis": "style",  # a synthesized oblique where the family has no italic; no bold
        "font-kerning": "normal",
        "line-height": str(c.get("lineHeight", 1.2)),
        "letter-spacing": f"{c.get('letterSpacing', 0)}px",
        # No textAlign: the paragraph's direction decides (with dir="auto" on the element).
        "text-align": c.get("textAlign", "start"),
        "color": c.get("color", "#000000"),
        "overflow-wrap": "anywhere",  # the engine cuts a word wider than the frame
    }
    if frame == "fit":
        style |= {"width": "max-content", "white-space": "pre"}
    else:
        style |= {"width": f"{frame}px", "white-space": "pre-wrap"}
    return style


_SCRIPT = """
function measure(el) {  // the line (index) of each UTF-16 unit of el's text, and the lines
  const top = el.getBoundingClientRect().top;
  const lineHeight = parseFloat(getComputedStyle(el).lineHeight);
  const text = el.textContent;
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const index = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const s = node.data;
    for (let i = 0; i < s.length; ) {
      const n = s.codePointAt(i) > 0xffff ? 2 : 1;
      let k = index.length ? index[index.length - 1] : 0;
      if (s[i] === "\\n") {
        k += 1;  // a forced break: what follows is on the next line (even if it is empty)
      } else {
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + n);
        // the last box: after a soft hyphen's break, the next character also has one at the
        // end of the line before (where the hyphen is drawn)
        const rects = range.getClientRects();
        if (rects.length) {
          const last = rects[rects.length - 1];
          const middle = (last.top + last.bottom) / 2;
          k = Math.floor((middle - top) / lineHeight);
        }
      }
      for (let j = 0; j < n; j++) index.push(k);
      i += n;
    }
  }
  const count = Math.round(el.getBoundingClientRect().height / lineHeight);
  const lines = Array.from({length: Math.max(count, 1)}, () => "");
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "\\n") lines[index[i]] = (lines[index[i]] || "") + text[i];
  }
  return {index: index, lines: lines};
}
function isolate(card, el, index, k, left) {  // a copy of card showing only line k
  const copy = card.cloneNode(true);
  copy.style.left = left + "px";
  copy.classList.replace("card", "copy");
  const target = copy.querySelector(".text");
  const text = el.textContent;
  target.textContent = "";
  for (let i = 0; i < text.length; ) {
    let j = i;
    while (j < text.length && (index[j] === k) === (index[i] === k)) j++;
    const span = document.createElement("span");
    if (index[i] !== k) span.style.color = "transparent";
    span.textContent = text.slice(i, j);
    target.appendChild(span);
    i = j;
  }
  card.parentNode.appendChild(copy);
  return measure(target).lines;
}
async function main() {
  for (let i = 0; i < 4; i++) {
    await document.fonts.ready;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const cards = [];
  for (const card of document.querySelectorAll(".card")) {
    const el = card.querySelector(".text");
    const {index, lines} = measure(el);
    const width = card.getBoundingClientRect().width;
    const copies = lines.map((_, k) => isolate(card, el, index, k, (k + 1) * width));
    const probe = card.querySelector(".probe");
    const top = probe.getBoundingClientRect().top;
    const baseline = probe.firstChild.getBoundingClientRect().top - top;
    cards.push({lines: lines, copies: copies, baseline: baseline});
  }
  await document.fonts.ready;
  const faces = Array.from(document.fonts, (f) => f.status);
  document.getElementById("result").textContent = JSON.stringify({cards: cards, faces: faces});
  document.getElementById("ready").style.display = "block";
}
main().catch((e) => {
  document.getElementById("result").textContent = JSON.stringify({error: String(e)});
});
"""


def page_html(cards: Sequence[dict[str, Any]], slots: Sequence[int]) -> tuple[str, int, int]:
    """The page (one row per card, `slots[i]` card widths wide) and its width and height."""
    parts, y = [], 0
    for card in cards:
        bg = card.get("background", "#ffffff")
        (c,) = (c for c in card["components"] if c["type"] == "text")
        css = "; ".join(f"{k}: {v}" for k, v in text_css(c).items())
        probe = "; ".join(
            f"{k}: {v}"
            for k, v in (text_css(c) | {"visibility": "hidden", "width": "max-content"}).items()
        )
        parts.append(
            f'<div class="card" style="position: absolute; left: 0; top: {y}px; '
            f"width: {card['width']}px; height: {card['height']}px; background: {bg}; "
            f'overflow: hidden"><div class="text" dir="auto" style="{html.escape(css)}">'
            f"{html.escape(c['text'])}</div>"
            # An empty line of the same style: where its zero-size inline-block sits is the
            # first line's baseline as Chromium lays it out (before any pixel snapping).
            f'<div class="probe" style="{html.escape(probe)}"><span style="display: '
            'inline-block; width: 0; height: 0"></span></div></div>'
        )
        y += card["height"]
    width = max(card["width"] * n for card, n in zip(cards, slots, strict=True))
    ready = "#{:02x}{:02x}{:02x}".format(*_READY)
    page = (
        "<!doctype html>\n<html><head><meta charset='utf-8'><style>\n"
        f"{font_face_css()}\n"
        "html, body { margin: 0; padding: 0; background: #ffffff; }\n"
        "</style></head><body>\n"
        + "\n".join(parts)
        + f'\n<div id="ready" style="display: none; position: absolute; left: 0; top: {y}px; '
        f'width: {width}px; height: {_READY_HEIGHT}px; background: {ready}"></div>'
        '\n<pre id="result" style="display: none"></pre>'
        f"\n<script>{_SCRIPT}</script>\n</body></html>\n"
    )
    return page, width, y + _READY_HEIGHT


@dataclass(frozen=True)
class BrowserResult:
    screenshot: NDArray[np.uint8]  # the whole page, H × W × 3
    tops: list[int]  # each card's row in the page
    widths: list[int]  # each card's width
    heights: list[int]  # each card's height
    lines: list[list[str]]  # each card's lines, as Chromium broke them
    copy_lines: list[list[list[str]]]  # each card's one-line copies' lines (must equal `lines`)
    baselines: list[float]  # each card's first baseline, px below the top of its text box

    def line_pixels(self, card: int, line: int) -> NDArray[np.uint8]:
        """The copy of `card` in which only `line` is visible."""
        top, w, h = self.tops[card], self.widths[card], self.heights[card]
        left = (line + 1) * w
        return self.screenshot[top : top + h, left : left + w]

    def card_pixels(self, card: int) -> NDArray[np.uint8]:
        top, w, h = self.tops[card], self.widths[card], self.heights[card]
        return self.screenshot[top : top + h, :w]


def _run(chromium: str, args: Sequence[str]) -> str:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        cmd = [chromium, *FLAGS, f"--user-data-dir={profile}", *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        msg = f"{' '.join(cmd)} exited with {done.returncode}:\n{done.stderr[-4000:]}"
        raise RuntimeError(msg)
    return done.stdout


def run_chromium(
    chromium: str, cards: Sequence[dict[str, Any]], slots: Sequence[int], work: Path
) -> BrowserResult:
    """Lay out and draw `cards` in Chromium, with room for `slots[i] - 1` one-line copies of
    card i; the page and the screenshot are left in `work`."""
    page, width, height = page_html(cards, slots)
    page_path = work / "page.html"
    page_path.write_text(page, "utf-8")
    url = page_path.resolve().as_uri()
    shot = work / "chromium.png"
    size = f"--window-size={width},{height}"
    _run(chromium, [f"--screenshot={shot}", size, url])
    dom = _run(chromium, ["--dump-dom", size, url])
    start = dom.index(">", dom.index('<pre id="result"')) + 1
    data = json.loads(html.unescape(dom[start : dom.index("</pre>", start)]))
    if "error" in data:
        msg = f"the page's script failed: {data['error']}"
        raise RuntimeError(msg)
    if any(status == "error" for status in data["faces"]):
        msg = f"some font faces failed to load in Chromium: {data['faces']}"
        raise RuntimeError(msg)
    with Image.open(shot) as im:
        pixels = np.asarray(im.convert("RGB"))
    if pixels.shape[:2] != (height, width):
        msg = f"the screenshot is {pixels.shape[1]}×{pixels.shape[0]}, the page {width}×{height}"
        raise RuntimeError(msg)
    if not (pixels[height - _READY_HEIGHT :] == np.array(_READY, np.uint8)).all():
        msg = "Chromium took the screenshot before the page had loaded its fonts and measured"
        raise RuntimeError(msg)
    tops = [0]
    for card in cards[:-1]:
        tops.append(tops[-1] + card["height"])
    return BrowserResult(
        pixels,
        tops,
        [card["width"] for card in cards],
        [card["height"] for card in cards],
        [card["lines"] for card in data["cards"]],
        [card["copies"] for card in data["cards"]],
        [card["baseline"] for card in data["cards"]],
    )


def ink_mask(pixels: NDArray[np.uint8], background: tuple[int, int, int]) -> NDArray[np.bool_]:
    """The pixels that differ from `background` by more than a quarter in some channel."""
    far = np.abs(pixels.astype(np.int16) - np.array(background, np.int16)) > _INK
    return np.asarray(far.any(axis=2), dtype=np.bool_)


def stray_ink(a: NDArray[np.bool_], b: NDArray[np.bool_]) -> float:
    """The share of `a`'s ink pixels farther than 1 px (in x or y) from any ink pixel of `b`."""
    if not a.any():
        return 0.0
    near = np.zeros_like(b)
    h, w = b.shape
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            near[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] |= b[
                max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
            ]
    return float((a & ~near).sum() / a.sum())


def ink_box(
    pixels: NDArray[np.uint8], background: tuple[int, int, int]
) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom), right and bottom exclusive, of the pixels that differ from
    `background` by more than a quarter in some channel; None when there are none."""
    rows, cols = np.nonzero(ink_mask(pixels, background))
    if rows.size == 0:
        return None
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


_BREAKS_SCRIPT = """
const out = [];
for (const el of document.querySelectorAll(".t")) {  // where each text's lines begin
  const node = el.firstChild;
  const tops = [];
  for (let i = 0; i < node.data.length; i++) {
    const range = document.createRange();
    range.setStart(node, i);
    range.setEnd(node, i + 1);
    tops.push(range.getClientRects()[0].top);
  }
  out.push(tops.flatMap((top, i) => (i && top > tops[i - 1] ? [i] : [])));
}
document.getElementById("result").textContent = JSON.stringify(out);
"""


def break_opportunities(chromium: str, texts: Sequence[str], work: Path) -> list[list[int]]:
    """Where Chromium may break each of `texts` (UTF-16 offsets, BMP text: code points), read
    back by laying each out in a box of no width, which breaks it at every opportunity."""
    style = (
        "width: 0; font: 16px monospace; white-space: pre-wrap; overflow-wrap: normal; "
        "line-break: strict"  # the engine's kinsoku (UAX #14 defaults)
    )
    rows = "".join(f'<div class="t" style="{style}">{html.escape(t)}</div>' for t in texts)
    page = work / "breaks.html"
    page.write_text(
        "<!doctype html>\n<html><head><meta charset='utf-8'></head><body>"
        f'{rows}<pre id="result"></pre><script>{_BREAKS_SCRIPT}</script></body></html>\n',
        "utf-8",
    )
    dom = _run(chromium, ["--dump-dom", "--window-size=800,600", page.resolve().as_uri()])
    start = dom.index(">", dom.index('<pre id="result"')) + 1
    found: list[list[int]] = json.loads(html.unescape(dom[start : dom.index("</pre>", start)]))
    if len(found) != len(texts):
        msg = f"the page measured {len(found)} texts of {len(texts)}"
        raise RuntimeError(msg)
    return found
