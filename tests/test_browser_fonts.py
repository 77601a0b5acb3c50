"""Fonts of one's own, spans and text-wrap against Chromium (issue 15), with the same font files.

Each case is a card with one text component. Chromium gets it as HTML: the bundled faces and the
test fonts (`tests/fontmaker.py`) as `@font-face` rules, the text as a block whose spans are
`<span>`s with the spans' CSS (colour, weight, style, family, size, letter spacing,
`text-decoration-line`, background), `text-wrap` as the component says. Per case:

* the line breaks are identical: every character Chromium draws falls in the engine's line box
  of the same line (the engine's lines are the reference; a different break moves characters to
  another band);
* each line's ink box (the pixels that differ from the background inside the engine's line box,
  in both pictures) is within `TOLERANCE` px of Chromium's on every side.

`test_baseline_sweep` checks the first baseline of 7,770 probes (7 families × 2 weights × sizes
8–100 px in 0.5 px steps × line heights 1, 1.2, 1.5) against Chromium's, exactly: the ascent and
descent rounding (half up, as Skia) the issue found 24 probes off by one pixel.

Playwright drives Debian's Chromium (`pages.chromium`); skipped without it, failed when
`RENDERER_REQUIRE_CHROMIUM` is set (as CI sets it). Pictures of a failing case are left in
`tests/output/browser-fonts/`.
"""

from __future__ import annotations

import html
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser import font_face_css, ink_box
from fontmaker import ensure_fonts
from golden import CASES_DIR
from numpy.typing import NDArray
from pages import chromium
from PIL import Image
from playwright.sync_api import Browser

import renderer
from renderer.fonts import FontLibrary, fallback_chain, han_preference, library
from renderer.layout import TextBox
from renderer.spec import schema
from renderer.text.block import round_half_up

TOLERANCE = 1  # px, each side of each line's ink box
OUTPUT = Path(__file__).parent / "output" / "browser-fonts"
BACKGROUND = (255, 255, 255)
WIDTH = 560


@dataclass(frozen=True)
class Case:
    name: str
    component: dict[str, Any]
    height: int = 150
    fonts: tuple[dict[str, Any], ...] = ()  # the card's own `fonts`

    @property
    def spec(self) -> dict[str, Any]:
        spec = {
            "width": WIDTH,
            "height": self.height,
            "background": "#ffffff",
            "components": [{"type": "text", "x": 20, "y": 16, **self.component}],
        }
        if self.fonts:
            spec["fonts"] = list(self.fonts)
        return spec


def _spans(*parts: str | dict[str, Any], **component: Any) -> dict[str, Any]:
    spans = [{"text": p} if isinstance(p, str) else p for p in parts]
    return {"spans": spans, **component}


def _font(src: str, **extra: Any) -> dict[str, Any]:
    return {"src": f"assets/fonts/{src}", **extra}


HEADLINE = "Balanced headlines keep their lines about as long as each other, always"
PRETTY = "Greedy filling leaves the final word of this sentence alone"

CASES = [
    Case(
        "spans_colour_weight",
        _spans(
            "Spans keep their style ",
            {"text": "across a line break", "fontWeight": 800, "color": "#dc2626"},
            " and the rest of the paragraph goes on in the component's own style.",
            fontSize=24,
            frameWidth=420,
        ),
    ),
    Case(
        "spans_italic_family",
        _spans(
            "Roman, then ",
            {"text": "an italic phrase", "fontStyle": "italic"},
            " and ",
            {"text": "a serif family", "fontFamily": "Playfair Display", "fontWeight": 700},
            " in one line of text that wraps.",
            fontSize=22,
            frameWidth=400,
        ),
    ),
    Case(
        "spans_letter_spacing",
        _spans(
            "Tracking ",
            {"text": "SPACED CAPITALS", "letterSpacing": 4, "fontWeight": 600},
            " inside a sentence that has to wrap onto the next line.",
            fontSize=22,
            frameWidth=380,
        ),
    ),
    Case(
        "spans_larger_span",
        _spans(
            "A line with a ",
            {"text": "much larger", "fontSize": 36, "fontWeight": 700},
            " word grows taller than its neighbours, and the next lines follow it.",
            fontSize=20,
            frameWidth=400,
        ),
        height=190,
    ),
    Case(
        "spans_smaller_span",
        _spans(
            "Small print ",
            {"text": "(terms apply, see the shop for details)", "fontSize": 13},
            " after a normal sentence.",
            fontSize=22,
            frameWidth=420,
        ),
    ),
    Case(
        "spans_background",
        _spans(
            "A ",
            {"text": "highlighted phrase", "background": "#fde68a"},
            " behind which the background runs across the line break too.",
            fontSize=22,
            frameWidth=360,
        ),
    ),
    Case(
        "spans_underline",
        _spans(
            "Read the ",
            {"text": "terms and conditions", "textDecoration": "underline", "color": "#2563eb"},
            " before you buy.",
            fontSize=22,
            frameWidth=420,
        ),
    ),
    Case(
        "spans_line_through",
        _spans(
            "Was ",
            {"text": "$129", "textDecoration": "line-through", "color": "#6b7280"},
            " now $89 in the sale",
            fontFamily="Roboto",
            fontSize=26,
        ),
        height=90,
    ),
    Case(
        "underline_component",
        {
            "text": "A whole underlined text that wraps onto a second line",
            "fontSize": 22,
            "frameWidth": 380,
            "textDecoration": "underline",
        },
    ),
    Case(
        "spans_bidi",
        _spans(
            "English then ",
            {"text": "שלום עולם", "fontWeight": 700, "color": "#7c3aed"},
            " and ",
            {"text": "مرحبا بالعالم", "color": "#059669"},
            " back to Latin text.",
            fontFamily="Noto Sans",
            fontSize=22,
            frameWidth=380,
        ),
    ),
    Case(
        "spans_cjk",
        _spans(
            "今天我们一起",
            {"text": "学习中文排版", "fontWeight": 700, "color": "#dc2626"},
            "，然后再来看看标点符号的处理方法。",
            fontFamily="Noto Sans SC",
            fontSize=24,
            frameWidth=300,
        ),
    ),
    Case(
        "spans_word_split",
        _spans(
            "Un",
            {"text": "believ", "color": "#dc2626"},
            "able words split between spans still shape and break as one word does.",
            fontSize=24,
            frameWidth=360,
        ),
    ),
    Case(
        "spans_clamped",
        _spans(
            "A clamp cuts ",
            {"text": "across span boundaries", "fontWeight": 700, "color": "#2563eb"},
            " and ends the last line with the ellipsis, however long the rest of it is.",
            fontSize=20,
            frameWidth=320,
            maxLines=2,
        ),
    ),
    Case(
        "balance_headline",
        {
            "text": HEADLINE,
            "fontSize": 28,
            "fontWeight": 700,
            "frameWidth": 460,
            "textWrap": "balance",
        },
        height=170,
    ),
    Case(
        "balance_two_lines",
        {
            "text": "A title that just overflows one line",
            "fontSize": 30,
            "frameWidth": 460,
            "textWrap": "balance",
        },
        height=120,
    ),
    Case(
        "balance_centered",
        {
            "text": HEADLINE,
            "fontSize": 24,
            "frameWidth": 420,
            "textWrap": "balance",
            "textAlign": "center",
        },
    ),
    Case(
        "balance_spans",
        _spans(
            "Balanced ",
            {"text": "spans", "fontWeight": 800, "color": "#dc2626"},
            " wrap as evenly as a plain headline does, line for line",
            fontSize=26,
            frameWidth=440,
            textWrap="balance",
        ),
        height=170,
    ),
    Case(
        "pretty_last_word",
        {"text": PRETTY, "fontSize": 22, "frameWidth": 300, "textWrap": "pretty"},
    ),
    Case(
        "pretty_long_paragraph",
        {
            "text": "Chromium reconsiders only the last four lines of a paragraph when it "
            "wraps text prettily so a long paragraph keeps its first",
            "fontSize": 20,
            "frameWidth": 240,
            "textWrap": "pretty",
        },
        height=200,
    ),
    Case(
        "pretty_spans",
        _spans(
            "Pretty ",
            {"text": "spans", "fontWeight": 800, "color": "#2563eb"},
            " leave the final word of this sentence alone",
            fontSize=22,
            frameWidth=300,
            textWrap="pretty",
        ),
    ),
    Case(
        "font_static_ttf",
        {
            "text": "Brand Sans 400 and 700 from two files",
            "fontFamily": "Brand Sans",
            "fontSize": 26,
        },
        height=90,
        fonts=(_font("brand-regular.ttf"), _font("brand-bold.ttf")),
    ),
    Case(
        "font_static_bold_matched",
        {
            "text": "Weight 600 is matched to the 700 file",
            "fontFamily": "Brand Sans",
            "fontWeight": 600,
            "fontSize": 26,
        },
        height=90,
        fonts=(_font("brand-regular.ttf"), _font("brand-bold.ttf")),
    ),
    Case(
        "font_woff2",
        {
            "text": "A WOFF2 web font, weight 500, wrapping in its frame",
            "fontFamily": "Web",
            "fontWeight": 500,
            "fontSize": 26,
            "frameWidth": 400,
        },
        fonts=(_font("brand-web.woff2", family="Web"),),
    ),
    Case(
        "font_variable_300",
        {
            "text": "Variable font at weight 300",
            "fontFamily": "Brand Variable",
            "fontWeight": 300,
            "fontSize": 30,
        },
        height=90,
        fonts=(_font("brand-variable.ttf"),),
    ),
    Case(
        "font_variable_800",
        {
            "text": "Variable font at weight 800",
            "fontFamily": "Brand Variable",
            "fontWeight": 800,
            "fontSize": 30,
        },
        height=90,
        fonts=(_font("brand-variable.ttf"),),
    ),
    Case(
        "font_ttc_italic",
        {
            "text": "The italic face of a collection",
            "fontFamily": "Brand Serif",
            "fontStyle": "italic",
            "fontSize": 28,
        },
        height=90,
        fonts=(_font("brand-serif.ttc"),),
    ),
    Case(
        "font_brand_cjk_fallback",
        {"text": "Brand Sans 中文 한국어 fallback", "fontFamily": "Brand Sans", "fontSize": 26},
        height=90,
        fonts=(_font("brand-regular.ttf"),),
    ),
    Case(
        "font_spans_brand",
        _spans(
            "Inter with ",
            {"text": "a brand font span", "fontFamily": "Brand Sans", "fontWeight": 700},
            " inside, breaking across lines as one text.",
            fontSize=22,
            frameWidth=380,
        ),
        fonts=(_font("brand-regular.ttf"), _font("brand-bold.ttf")),
    ),
    Case(
        "italic_cjk_oblique",
        {"text": "Inter italic 中文 slanted", "fontStyle": "italic", "fontSize": 28},
        height=90,
    ),
    Case(
        "japanese_lang",
        {"text": "日本語の漢字：直、骨、今日は", "fontSize": 28, "lang": "ja"},
        height=90,
    ),
    Case(
        "thai_dictionary_breaks",
        {
            "text": "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ แต่เบราว์เซอร์ตัดบรรทัดตามพจนานุกรม",
            "fontFamily": "Noto Sans",
            "fontSize": 24,
            "frameWidth": 300,
        },
        height=170,
    ),
]


def _family_css(family: str, lang: str | None) -> str:
    chain = fallback_chain(family, han_preference(lang))
    return ", ".join(json.dumps(f) for f in chain)


def _style_css(props: dict[str, Any], lang: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if "fontFamily" in props:
        out["font-family"] = _family_css(props["fontFamily"], lang)
    if "fontSize" in props:
        out["font-size"] = f"{props['fontSize']}px"
    if "fontWeight" in props:
        out["font-weight"] = str(props["fontWeight"])
    if "fontStyle" in props:
        out["font-style"] = props["fontStyle"]
    if "color" in props:
        out["color"] = props["color"]
    if "letterSpacing" in props:
        out["letter-spacing"] = f"{props['letterSpacing']}px"
    if props.get("textDecoration", "none") != "none":
        out |= _decoration(props["textDecoration"])
    if "background" in props:
        out["background-color"] = props["background"]
    return out


def _decoration(line: str) -> dict[str, str]:
    """The engine's decorations: the font's own position and thickness, no skip-ink."""
    return {
        "text-decoration-line": line,
        "text-decoration-thickness": "from-font",
        "text-underline-position": "from-font",
        "text-decoration-skip-ink": "none",
    }


def _block_css(c: dict[str, Any]) -> dict[str, str]:
    lang = c.get("lang")
    style = {
        "position": "absolute",
        "left": f"{c['x']}px",
        "top": f"{c['y']}px",
        "margin": "0",
        "font-family": _family_css(c.get("fontFamily", "Inter"), lang),
        "font-size": f"{c.get('fontSize', 16)}px",
        "font-weight": str(c.get("fontWeight", 400)),
        "font-style": c.get("fontStyle", "normal"),
        "font-synthesis": "style",
        "font-kerning": "normal",
        "line-height": str(c.get("lineHeight", 1.2)),
        "color": c.get("color", "#000000"),
        "overflow-wrap": "anywhere",
        "text-align": c.get("textAlign", "start"),
        "text-wrap-style": c.get("textWrap", "auto").replace("wrap", "auto"),
    }
    if c.get("textDecoration", "none") != "none":
        style |= _decoration(c["textDecoration"])
    decorated = any(s.get("textDecoration", "none") != "none" for s in [c, *c.get("spans", ())])
    if "frameWidth" in c:
        # A decorated text collapses its spaces (it has no double ones), so a space a line
        # ends with is not underlined, as the engine does not underline what hangs.
        space = "normal" if decorated else "pre-wrap"
        style |= {"width": f"{c['frameWidth']}px", "white-space": space}
    else:
        style |= {"width": "max-content", "white-space": "pre"}
    if "maxLines" in c:
        style |= {
            "display": "-webkit-box",
            "-webkit-box-orient": "vertical",
            "-webkit-line-clamp": str(c["maxLines"]),
            "overflow": "hidden",
        }
    return style


def _css(style: dict[str, str]) -> str:
    return html.escape("; ".join(f"{k}: {v}" for k, v in style.items()))


def _case_faces(case: Case) -> str:
    """`@font-face` rules for the case's own fonts, described as the engine reads them."""
    rules = []
    for entry in case.fonts:
        path = (CASES_DIR / entry["src"]).resolve()
        lib = FontLibrary([path])
        for family in lib.registered:
            for face in lib.families[family]:
                lo, hi = face.weight
                url = _single_face(path, face.index).as_uri()
                rules.append(
                    "@font-face {"
                    f" font-family: {json.dumps(entry.get('family', family))};"
                    f" font-style: {'italic' if face.italic else 'normal'};"
                    f" font-weight: {lo if lo == hi else f'{lo} {hi}'};"
                    f" src: url({json.dumps(url)});"
                    " }"
                )
    return "\n".join(rules)


def _single_face(path: Path, index: int) -> Path:
    """A collection's face as a font file of its own: Chromium reads only a collection's first
    face from a URL."""
    if path.suffix.lower() != ".ttc":
        return path
    from fontTools.ttLib import TTCollection

    out = OUTPUT / f"{path.stem}-{index}.ttf"
    TTCollection(path).fonts[index].save(out)
    return out


def _inner(c: dict[str, Any]) -> str:
    if "spans" not in c:
        return html.escape(c["text"])
    lang = c.get("lang")
    return "".join(
        f'<span style="{_css(_style_css(s, lang))}">{html.escape(s["text"])}</span>'
        for s in c["spans"]
    )


_SCRIPT = """
async function main() {
  for (let i = 0; i < 4; i++) {
    await document.fonts.ready;
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  const out = [];
  for (const card of document.querySelectorAll(".card")) {
    const origin = card.getBoundingClientRect();
    const el = card.querySelector(".text");
    const chars = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const s = node.data;
      for (let i = 0; i < s.length; ) {
        const n = s.codePointAt(i) > 0xffff ? 2 : 1;
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + n);
        const rects = Array.from(range.getClientRects()).filter((r) => r.width > 0);
        const r = rects[0];
        const middle = r ? (r.top + r.bottom) / 2 - origin.top : null;
        chars.push([s.slice(i, i + n), middle]);
        i += n;
      }
    }
    out.push(chars);
  }
  const faces = Array.from(document.fonts, (f) => f.status);
  return {cards: out, faces: faces};
}
"""


def _page(cases: list[Case]) -> tuple[str, int]:
    parts, y = [], 0
    for case in cases:
        c = case.spec["components"][0]
        parts.append(
            f'<style>{_case_faces(case)}</style><div class="card" style="position: absolute; '
            f"left: 0; top: {y}px; width: {WIDTH}px; height: {case.height}px; "
            f'background: #ffffff; overflow: hidden"><div class="text" dir="auto" '
            f'lang="{html.escape(c.get("lang", ""))}" style="{_css(_block_css(c))}">'
            f"{_inner(c)}</div></div>"
        )
        y += case.height
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><style>"
        f"{font_face_css()} html, body {{ margin: 0; background: #ffffff }}"
        "</style></head><body>" + "\n".join(parts) + "</body></html>"
    )
    return page, y


@dataclass(frozen=True)
class Measured:
    chars: list[list[tuple[str, float | None]]]
    shot: NDArray[np.uint8]
    tops: list[int]


@pytest.fixture(scope="module")
def measured() -> Measured:
    ensure_fonts()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page_html, height = _page(CASES)
    page_file = OUTPUT / "page.html"
    page_file.write_text(page_html, "utf-8")
    browser: Browser
    with chromium() as browser:
        page = browser.new_page(viewport={"width": WIDTH, "height": height})
        page.goto(page_file.as_uri())
        page.add_script_tag(content=_SCRIPT)
        result: dict[str, Any] = page.evaluate("main()")
        png = page.screenshot(full_page=True)
        page.close()
    assert all(status == "loaded" for status in result["faces"] if status != "unloaded"), result
    with Image.open(io.BytesIO(png)) as im:
        shot = np.asarray(im.convert("RGB"))
    tops = [sum(c.height for c in CASES[:i]) for i in range(len(CASES))]
    chars = [[(ch, mid) for ch, mid in card] for card in result["cards"]]
    return Measured(chars, shot, tops)


def _engine(case: Case) -> tuple[TextBox, NDArray[np.uint8]]:
    spec = case.spec
    layout = renderer.lay_out_spec(spec, base_dir=CASES_DIR)
    box = layout.boxes[0]
    assert isinstance(box, TextBox)
    png = renderer.render(spec, "png", base_dir=CASES_DIR)
    with Image.open(io.BytesIO(png)) as im:
        return box, np.asarray(im.convert("RGB"))


def _band(pixels: NDArray[np.uint8], top: float, bottom: float) -> NDArray[np.uint8]:
    out = np.full_like(pixels, 255)
    lo, hi = max(0, round(top)), min(pixels.shape[0], round(bottom))
    out[lo:hi] = pixels[lo:hi]
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_same_lines_and_ink_as_chromium(case: Case, measured: Measured) -> None:
    index = CASES.index(case)
    box, ours = _engine(case)
    top = measured.tops[index]
    theirs = measured.shot[top : top + case.height, :WIDTH]
    lines = box.text.lines
    found = ["" for _ in lines]
    for ch, middle in measured.chars[index]:
        if middle is None:
            continue
        for k, line in enumerate(lines):
            if line.top <= middle < line.top + line.height:
                found[k] += ch
                break
        else:
            found.append(ch)  # below every line box of the engine: Chromium has more lines
    try:
        ours_lines = [line.text.strip() for line in lines]
        theirs_lines = [t.strip() for t in found]
        if box.text.clamped:
            # Chromium's clamp hides what follows the last line and covers the end of that line
            # with the ellipsis at paint time; its characters keep their boxes, so only the
            # lines before the last are compared by text, the last by its start and its ink.
            last = ours_lines[-1].removesuffix("…")
            assert theirs_lines[: len(lines) - 1] == ours_lines[:-1], "line breaks differ"
            assert theirs_lines[len(lines) - 1].startswith(last), "the last line differs"
        else:
            assert theirs_lines == ours_lines, "line breaks differ from Chromium's"
        for k, line in enumerate(lines):
            a = ink_box(_band(ours, line.top, line.top + line.height), BACKGROUND)
            b = ink_box(_band(theirs, line.top, line.top + line.height), BACKGROUND)
            assert (a is None) == (b is None), f"line {k}: ink on one side only"
            if a is None or b is None:
                continue
            off = [abs(p - q) for p, q in zip(a, b, strict=True)]
            assert max(off) <= TOLERANCE, (
                f"line {k} {line.text!r}: ink box engine {a} vs Chromium {b}, off by {off}"
            )
    except AssertionError:
        Image.fromarray(ours).save(OUTPUT / f"{case.name}.engine.png")
        Image.fromarray(np.ascontiguousarray(theirs)).save(OUTPUT / f"{case.name}.chromium.png")
        raise


# --- the baseline sweep: ascent and descent rounding as Blink ----------------------------------

SWEEP_FAMILIES = tuple(schema()["$defs"]["fontFamily"]["anyOf"][0]["enum"])  # the seven
SWEEP_WEIGHTS = (400, 700)
SWEEP_SIZES = tuple(8 + 0.5 * i for i in range(185))  # 8 … 100 px
SWEEP_LINE_HEIGHTS = (1.0, 1.2, 1.5)

_SWEEP_SCRIPT = """
async function sweep() {
  for (let i = 0; i < 4; i++) {
    await document.fonts.ready;
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  return Array.from(document.querySelectorAll(".probe"), (el) =>
    el.firstChild.getBoundingClientRect().top - el.getBoundingClientRect().top);
}
"""


def _ours(family: str, weight: int, size: float, line_height: float) -> float:
    face, _ = library().primary(family, weight, False)
    k = size / face.upem
    ascent, descent = round_half_up(face.ascender * k), round_half_up(face.descender * k)
    return ascent + (size * line_height - ascent - descent) // 2


def test_baseline_sweep() -> None:
    probes = [
        (f, w, s, lh)
        for f in SWEEP_FAMILIES
        for w in SWEEP_WEIGHTS
        for s in SWEEP_SIZES
        for lh in SWEEP_LINE_HEIGHTS
    ]
    assert len(probes) == 7770
    body = "".join(
        f'<div class="probe" style="font-family: {html.escape(json.dumps(f))}; '
        f'font-weight: {w}; font-size: {s}px; line-height: {lh}"><span style="display: '
        'inline-block; width: 0; height: 0"></span>x</div>'
        for f, w, s, lh in probes
    )
    page_html = (
        "<!doctype html><html><head><meta charset='utf-8'><style>"
        f"{font_face_css()} body {{ margin: 0 }}</style></head><body>{body}</body></html>"
    )
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page_file = OUTPUT / "sweep.html"
    page_file.write_text(page_html, "utf-8")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 800, "height": 600})
        page.goto(page_file.as_uri())
        page.add_script_tag(content=_SWEEP_SCRIPT)
        theirs: list[float] = page.evaluate("sweep()")
        page.close()
    off = [
        (p, _ours(*p), t) for p, t in zip(probes, theirs, strict=True) if abs(_ours(*p) - t) > 0.02
    ]
    assert off == [], f"{len(off)} of {len(probes)} baselines differ, e.g. {off[:5]}"
