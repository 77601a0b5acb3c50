"""Stacks against Chromium's CSS flexbox (issue 13): the same cards written as HTML with the same
font files, every box within 1 px of `getBoundingClientRect`, every text's lines identical.

The HTML says what the engine's documentation says a stack is: `display: flex` with the stack's
`direction`, `gap`, `padding`, `border` (border-box sizing), `align-items`, `justify-content`
and `flex-wrap`; children with `flex-grow`, `flex-shrink` and `align-self`; text as a block whose
lines wrap where the stack gives it room (`white-space: pre-wrap`, `overflow-wrap: anywhere`, as
the engine cuts a word wider than its frame); tags as unwrapped labels with their padding;
dividers and images as boxes of their size. Cards are placed at their top-left corner.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import _css_family, font_face_css
from pages import chromium
from playwright.sync_api import Browser

import renderer
from renderer.layout import TagBox, TextBox, boxes

_ALIGN = {"start": "flex-start", "end": "flex-end", "center": "center", "stretch": "stretch"}
_JUSTIFY = {"start": "flex-start", "end": "flex-end"}


def _px(value: Any) -> str:
    return value if isinstance(value, str) else f"{value}px"


def _font(c: dict[str, Any]) -> dict[str, str]:
    return {
        "font-family": _css_family(c.get("fontFamily", "Inter")),
        "font-size": f"{c.get('fontSize', 16)}px",
        "font-weight": str(c.get("fontWeight", 400)),
        "font-style": c.get("fontStyle", "normal"),
        "font-synthesis": "style",
        "font-kerning": "normal",
        "line-height": str(c.get("lineHeight", 1.2)),
        "letter-spacing": f"{c.get('letterSpacing', 0)}px",
        "color": c.get("color", "#000000"),
    }


def _item(c: dict[str, Any]) -> dict[str, str]:
    style = {"flex-grow": str(c.get("grow", 0)), "flex-shrink": str(c.get("shrink", 1))}
    if c.get("alignSelf", "auto") != "auto":
        style["align-self"] = _ALIGN[c["alignSelf"]]
    if c.get("absolute"):
        style |= {"position": "absolute", "left": _px(c.get("x", 0)), "top": _px(c.get("y", 0))}
    return style


def _stack_css(c: dict[str, Any]) -> dict[str, str]:
    pad = c.get("padding", 0)
    pads = pad if isinstance(pad, list) else [pad]
    style = {
        "display": "flex",
        "box-sizing": "border-box",
        "position": "relative",
        "flex-direction": c.get("direction", "column"),
        "flex-wrap": "wrap" if c.get("wrap") else "nowrap",
        "gap": _px(c.get("gap", 0)),
        "padding": " ".join(_px(p) for p in pads),
        "align-items": _ALIGN[c.get("align", "stretch")],
        "justify-content": _JUSTIFY.get(c.get("justify", "start"), c.get("justify", "start")),
        "border": f"{c.get('borderWidth', 0)}px solid transparent",
    }
    for side in ("width", "height"):
        if side in c:
            style[side] = _px(c[side])
    return style


def _leaf_css(c: dict[str, Any], in_stack: bool) -> dict[str, str]:
    kind = c["type"]
    if kind == "text":
        style = _font(c) | {"white-space": "pre-wrap", "overflow-wrap": "anywhere"}
        frame = c.get("frameWidth", "fit")
        if frame != "fit":
            style["width"] = _px(frame)
        elif not in_stack:
            style |= {"width": "max-content", "white-space": "pre"}
        return style
    if kind == "tag":
        size = c.get("fontSize", 16)
        px, py = c.get("paddingX", 0.6 * size), c.get("paddingY", 0.3 * size)
        height = f"{c.get('lineHeight', 1.2) * size + 2 * py}px"  # a label is never stretched
        style = {"white-space": "pre", "padding": f"{py}px {px}px", "height": height}
        return _font(c) | style | {"width": "max-content", "min-width": "max-content"}
    if kind == "image":
        return {"width": _px(c["width"]), "height": _px(c["height"])}
    length = c.get("length", "100%")
    thickness = {"thin": 1, "medium": 3, "thick": 5}.get(c.get("width", "medium"), c.get("width"))
    if c.get("direction") == "vertical":
        return {"width": f"{thickness}px", "height": _px(length)}
    return {"width": _px(length), "height": f"{thickness}px"}


def _element(c: dict[str, Any], pointer: str, in_stack: bool) -> str:
    style = _stack_css(c) if c["type"] == "stack" else _leaf_css(c, in_stack)
    if in_stack:
        style |= _item(c)
    else:
        style |= {"position": "absolute", "left": _px(c.get("x", 0)), "top": _px(c.get("y", 0))}
    css = html.escape("; ".join(f"{k}: {v}" for k, v in style.items()))
    inner = ""
    if c["type"] == "stack":
        inner = "".join(
            _element(child, f"{pointer}/children/{i}", True)
            for i, child in enumerate(c["children"])
        )
    elif c["type"] in ("text", "tag"):
        inner = html.escape(c["text"])
    kind = c["type"]
    return f'<div class="{kind}" data-pointer="{pointer}" dir="auto" style="{css}">{inner}</div>'


_SCRIPT = """
async function main() {
  for (let i = 0; i < 4; i++) {
    await document.fonts.ready;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const out = [];
  for (const card of document.querySelectorAll(".card")) {
    const origin = card.getBoundingClientRect();
    const found = {};
    for (const el of card.querySelectorAll("[data-pointer]")) {
      const r = el.getBoundingClientRect();
      const entry = {box: [r.left - origin.left, r.top - origin.top, r.width, r.height]};
      if (el.classList.contains("text")) entry.lines = lines(el);
      found[el.dataset.pointer] = entry;
    }
    out.push(found);
  }
  return out;
}
function lines(el) {  // the text of each line box, by where each character's rectangle falls
  const style = getComputedStyle(el);
  const top = el.getBoundingClientRect().top + parseFloat(style.paddingTop);
  const lineHeight = parseFloat(style.lineHeight);
  const node = el.firstChild;
  const result = [];
  if (!node) return result;
  const s = node.data;
  for (let i = 0; i < s.length; ) {
    const n = s.codePointAt(i) > 0xffff ? 2 : 1;
    const range = document.createRange();
    range.setStart(node, i);
    range.setEnd(node, i + n);
    const rects = range.getClientRects();
    if (rects.length) {
      const k = Math.floor(((rects[0].top + rects[0].bottom) / 2 - top) / lineHeight);
      while (result.length <= k) result.push("");
      result[k] += s.slice(i, i + n);
    }
    i += n;
  }
  return result.map((line) => line.replace(/\\s+$/, ""));
}
"""


def _page(cards: list[dict[str, Any]]) -> str:
    body = []
    for spec in cards:
        inner = "".join(
            _element(c, f"/components/{i}", False) for i, c in enumerate(spec["components"])
        )
        style = f"position: relative; width: {spec['width']}px; height: {spec['height']}px;"
        body.append(f'<div class="card" style="{style} margin: 0 0 20px 0">{inner}</div>')
    return (
        "<!doctype html><html><head><meta charset='utf-8'><style>"
        f"{font_face_css()} body {{ margin: 0 }} div {{ box-sizing: border-box }}"
        "</style></head><body>" + "".join(body) + "</body></html>"
    )


def _text(text: str, **props: Any) -> dict[str, Any]:
    return {"type": "text", "text": text, "fontSize": 18, **props}


def _bar(length: Any = 40, width: int = 12, **props: Any) -> dict[str, Any]:
    return {"type": "divider", "length": length, "width": width, "color": "#000000", **props}


def _tag(text: str, **props: Any) -> dict[str, Any]:
    return {"type": "tag", "text": text, "fontSize": 14, **props}


def _stack(*children: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "stack", "children": list(children), **props}


LONG = "Single-origin Ethiopian Yirgacheffe, a light roast with notes of jasmine and bergamot"

CASES: dict[str, dict[str, Any]] = {
    "column-wraps-text": _stack(_text(LONG), _text("by Ada"), width=260, gap=8, padding=12),
    "row-grow": _stack(_bar(40), _bar(40, grow=1), _bar(40, grow=2), direction="row", width=300),
    "row-shrink": _stack(
        _bar(140, shrink=0), _bar(140), _bar(140, shrink=3), direction="row", width=300, gap=6
    ),
    "row-text-shares": _stack(
        _text("A title that takes the room it can", grow=1), _tag("$18"), direction="row", width=260
    ),
    "align-center": _stack(_bar(60), _text("centred"), _tag("tag"), width=240, align="center"),
    "align-end-self": _stack(
        _bar(60), _bar(60, alignSelf="center"), _text("end"), width=200, align="end"
    ),
    "justify-between": _stack(
        _tag("one"), _tag("two"), _tag("three"), direction="row", width=320, justify="space-between"
    ),
    "justify-evenly-column": _stack(
        _bar(50), _bar(50), width=100, height=200, justify="space-evenly", align="start"
    ),
    "wrap-tags": _stack(
        *[_tag(t) for t in ["design", "typography", "layout", "flexbox", "Taffy", "cards", "wrap"]],
        direction="row",
        wrap=True,
        width=260,
        gap=6,
    ),
    "nested-profile": _stack(
        _stack(
            {
                "type": "image",
                "src": "data:,",
                "width": 40,
                "height": 40,
                "onImageError": "placeholder",
            },
            _stack(_text("Ada Lovelace", fontWeight="700"), _text("Analyst", fontSize=13)),
            _tag("Follow"),
            direction="row",
            gap=10,
            align="center",
        ),
        _bar("100%", 1),
        _stack(_text("42 posts"), _text("1.8k"), direction="row", justify="space-between"),
        width=320,
        padding=[10, 14],
        gap=10,
        borderWidth=2,
    ),
    "percent-sizes": _stack(
        _bar("50%"), _text("half", frameWidth="60%"), width="80%", padding="5%", gap="4%"
    ),
    "pushes-siblings": _stack(
        _text(LONG, fontSize=24, fontWeight="700", lineHeight=1.15),
        _stack(_text("Ada"), _text("$24"), direction="row", justify="space-between"),
        width=300,
        gap=14,
    ),
    "absolute-badge": _stack(
        _text("Card title", fontSize=20),
        _text(LONG, fontSize=13),
        _tag("NEW", absolute=True, x=0, y=0),
        width=260,
        padding=16,
        gap=6,
    ),
}


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    specs = [{"width": 400, "height": 320, "components": [c]} for c in CASES.values()]
    page_file = Path(tmp_path_factory.mktemp("stacks")) / "page.html"
    page_file.write_text(_page(specs), encoding="utf-8")
    browser: Browser
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 420, "height": 800})
        page.goto(page_file.as_uri())
        page.add_script_tag(content=_SCRIPT)
        result: list[dict[str, Any]] = page.evaluate("main()")
        page.close()
    return result


def _engine(spec: dict[str, Any]) -> Iterator[tuple[str, tuple[float, ...], list[str] | None]]:
    policy = renderer.ImagePolicy(allow_paths=())
    for b in boxes(renderer.lay_out_spec(spec, image_policy=policy)):
        lines = [line.text for line in b.text.lines] if isinstance(b, TextBox) else None
        if isinstance(b, TagBox):
            lines = None
        box = (b.box.x, b.box.y, b.box.width, b.box.height)
        yield b.component.pointer, box, lines


@pytest.mark.parametrize("name", list(CASES))
def test_stack_boxes_and_lines_match_chromium(name: str, measured: list[dict[str, Any]]) -> None:
    spec = {"width": 400, "height": 320, "components": [CASES[name]]}
    theirs = measured[list(CASES).index(name)]
    ours = list(_engine(spec))
    assert {p for p, _, _ in ours} == set(theirs)
    for pointer, box, lines in ours:
        got = theirs[pointer]
        assert box == pytest.approx(got["box"], abs=1), (pointer, box, got["box"])
        if lines is not None:
            assert lines == got["lines"], (pointer, json.dumps(got["lines"]))
