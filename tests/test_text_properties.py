"""Properties of text layout over random strings in several scripts (Hypothesis).

Each property is what a user relies on: a wrapped line never sticks out of its frame, a clamped
block ends with its ellipsis inside the frame, `fontSize: "auto"` picks a size that fits while
0.5 px more would not, and no string makes layout raise.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

import renderer
from renderer.layout import TextBox

WORDS = [
    "card",
    "render",
    "Ünïcödé",
    "façade",
    "Tiếng",
    "Việt",
    "Ελληνικά",
    "Русский",
    "在没有",
    "无头浏览器",
    "情况下，",
    "「引用」",
    "カタカナ",
    "ひらがな。",
    "مرحبا",
    "بالعالم",
    "שלום",
    "עולם",
    "😀",
    "👍🏽",
    "🇺🇸",
    "👨‍👩‍👧",
    "2024",
    "(parens)",
    "a-very-long-hyphenated-word",
    "Supercalifragilisticexpialidocious",
    "!",
    "—",
    "…",
    "in\u00adter\u00adna\u00adtion\u00adal",  # soft hyphens: a line broken at one ends with "-"
]
FAMILIES = ["Inter", "Noto Sans", "Noto Sans SC", "Roboto", "Poppins", "Playfair Display"]
text_st = st.lists(st.sampled_from(WORDS), min_size=1, max_size=14).map(" ".join)
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _text_box(spec: dict[str, object]) -> TextBox:
    box = renderer.lay_out_spec(spec).boxes[0]
    assert isinstance(box, TextBox)
    return box


def _spec(component: dict[str, object], width: int = 700, height: int = 400) -> dict[str, object]:
    return {"width": width, "height": height, "components": [{"type": "text", **component}]}


@PROPERTY
@given(
    text=text_st,
    frame=st.integers(30, 600),
    size=st.integers(8, 64),
    family=st.sampled_from(FAMILIES),
)
@example(text="Supercalifragilisticexpialidocious card", frame=120, size=30, family="Inter")
def test_lines_stay_inside_the_frame(text: str, frame: int, size: int, family: str) -> None:
    """...and, as in a browser, no line is empty or starts with the space it was broken at
    (a word cut to fit keeps its trailing space, which hangs)."""
    box = _text_box(
        _spec({"text": text, "frameWidth": frame, "fontSize": size, "fontFamily": family})
    )
    for line in box.text.lines[1:]:
        assert line.text, [ln.text for ln in box.text.lines]
        assert not line.text[0].isspace(), [ln.text for ln in box.text.lines]
    for line in box.text.lines:
        single_cluster = len(line.text) <= 1 or line.text in WORDS[18:22]
        if single_cluster:  # one cluster wider than the frame cannot be made to fit
            continue
        assert line.width <= frame + 1e-6, (line.text, line.width, frame)
        assert box.box.x - 1e-6 <= line.x
        assert line.x + line.width <= box.box.x + frame + 1e-6


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=text_st, frame=st.integers(120, 400), size=st.integers(12, 40))
@example(text="مرحبا 「引用」", frame=120, size=19)  # a mirrored bracket ends an RTL line
def test_ink_stays_inside_the_frame(text: str, frame: int, size: int) -> None:
    """Pixels: no ink right of the frame, beyond a side-bearing allowance of 1 px + 4 % of the
    size (glyph outlines may overhang their advance box slightly, in browsers too)."""
    x0 = 40
    spec = _spec(
        {"text": text, "frameWidth": frame, "fontSize": size, "x": x0, "y": 10, "color": "#000000"},
        width=frame + 2 * x0,
        height=600,
    )
    im = Image.open(io.BytesIO(renderer.render(spec, "png"))).convert("RGB")
    ink = np.asarray(im).min(axis=2) < 250
    columns = np.flatnonzero(ink.any(axis=0))
    if columns.size:
        slack = 1 + 0.04 * size
        assert columns.min() >= x0 - slack
        assert columns.max() <= x0 + frame + slack


@PROPERTY
@example(text="Short words that go on", frame=150, lines=1, size=30, ellipsis="… read more")
@given(
    text=text_st,
    frame=st.integers(60, 500),
    lines=st.integers(1, 3),
    size=st.integers(10, 48),
    ellipsis=st.sampled_from(["…", "...", " [more]", "… read more"]),
)
def test_clamped_text_ends_with_ellipsis_inside_frame(
    text: str, frame: int, lines: int, size: int, ellipsis: str
) -> None:
    box = _text_box(
        _spec(
            {
                "text": text,
                "frameWidth": frame,
                "fontSize": size,
                "maxLines": lines,
                "ellipsis": ellipsis,
            }
        )
    )
    laid = box.text
    assert len(laid.lines) <= lines
    if laid.clamped:
        last = laid.lines[-1]
        # an ellipsis wider than the frame is itself cut (to at least its first character),
        # and is then all the line holds
        assert last.text.endswith(ellipsis) or ellipsis.startswith(last.text), last.text
        assert last.width <= frame + 1e-6 or len(last.text) == 1


@PROPERTY
@given(text=text_st, frame=st.integers(150, 600), height=st.integers(40, 300))
def test_auto_size_is_the_largest_that_fits(text: str, frame: int, height: int) -> None:
    component = {
        "text": text,
        "frameWidth": frame,
        "frameHeight": height,
        "fontSize": "auto",
        "minFontSize": 8,
        "maxFontSize": 120,
    }
    chosen = _text_box(_spec(component)).text.font_size
    assert 8 <= chosen <= 120
    at = _text_box(_spec({**component, "fontSize": chosen}))
    fits = not at.text.clamped and len(at.text.lines) * 1.2 * chosen <= height + 1e-6
    if chosen > 8:  # at the minimum the text may simply not fit, and is clamped
        assert fits
        assert not at.text.words_cut
        assert all(line.width <= frame + 1e-6 for line in at.text.lines)
    if chosen < 120:
        bigger = _text_box(_spec({**component, "fontSize": chosen + 0.5})).text
        too_tall = len(bigger.lines) * 1.2 * (chosen + 0.5) > height + 1e-6
        assert bigger.clamped or too_tall or bigger.words_cut


@PROPERTY
@given(
    text=st.text(min_size=0, max_size=80),
    size=st.floats(1, 200),
    frame=st.one_of(st.just("fit"), st.floats(1, 800)),
)
def test_any_string_lays_out(text: str, size: float, frame: object) -> None:
    spec = _spec(
        {
            "text": text.encode("utf-8", "replace").decode("utf-8"),
            "fontSize": size,
            "frameWidth": frame,
        }
    )
    renderer.render(spec, "svg")


NO_LINE_START = "、。，．：；！？）」』】〕〉》ーぁぃぅぇぉっゃゅょァィゥェォッャュョ…"
NO_LINE_END = "（「『【〔〈《"
CJK = (
    "在没有无头浏览器的情况下，每分钟渲染一万张开放图谱卡片的工程实践与性能优化。"
    "「引用」（括弧）之后！ちょっとコーヒーショップでキャッシュレス決済をしてみた。"
)


@pytest.mark.parametrize("width", range(60, 600, 7))
def test_cjk_kinsoku(width: int) -> None:
    """Across many frame widths, no line starts with closing punctuation or small kana and
    none ends with an opening bracket."""
    lines = _text_box(
        _spec(
            {
                "text": CJK,
                "frameWidth": width,
                "fontSize": 20,
                "fontFamily": "Noto Sans SC",
                "lang": "ja",
            }
        )
    ).text.lines
    assert len(lines) > 1
    assert "".join(line.text for line in lines) == CJK
    for line in lines[1:]:
        assert line.text[0] not in NO_LINE_START, [ln.text for ln in lines]
    for line in lines[:-1]:
        assert line.text[-1] not in NO_LINE_END, [ln.text for ln in lines]


@pytest.mark.parametrize(
    "component",
    [
        {"lineHeight": 2.2e-311, "frameHeight": 50, "frameWidth": 100},
        {"fontSize": 1e-300, "frameHeight": 50, "frameWidth": 100},
        {"fontSize": 1e-300, "lineHeight": 1e-300, "maxLines": 2},
    ],
    ids=["denormal-line-height", "tiny-font", "tiny-both"],
)
def test_vanishing_sizes_render(component: dict[str, object]) -> None:
    """Valid but absurd sizes lay out (found by schemathesis as a 500 in the server)."""
    spec = _spec({"text": "a b c", **component})
    assert renderer.render(spec, "png").startswith(b"\x89PNG")


def test_unassigned_and_separator_characters_lay_out_with_rtl_text() -> None:
    """Unassigned code points and U+0085/U+2029 inside right-to-left text (schemathesis found
    python-bidi asserting on them: a server 500)."""
    text = "\u05e9\u05dc\u05d5\u05dd \U000992e0 \u0085 \u2029 \ufc90 abc"
    assert renderer.render(_spec({"text": text, "frameWidth": 200}), "png").startswith(b"\x89PNG")


def test_integer_valued_floats_are_integers() -> None:
    """JSON Schema's integer admits 2.0 (found by schemathesis as a server 500)."""
    spec = _spec({"text": "one two three four five six", "frameWidth": 60, "maxLines": 2.0})
    box = _text_box(spec)
    assert len(box.text.lines) == 2
    assert box.text.clamped


@pytest.mark.parametrize(("height", "overflow"), [(10, True), (36, False), (50, False)])
def test_a_first_line_taller_than_frame_height_is_reported(height: int, overflow: bool) -> None:
    """The first line is always drawn whole, so a frameHeight shorter than it is an overflow
    the report (and `--strict`) must show; one line box exactly as tall fits."""
    text = {"text": "One line, then more", "fontSize": 30, "frameWidth": 150}
    spec = _spec({**text, "frameHeight": height})
    assert len(_text_box(_spec(text)).text.lines) > 1
    assert len(_text_box(spec).text.lines) == 1
    _, report = renderer.render(spec, "svg", report=True)
    assert report.components[0].overflow is overflow
    assert report.components[0].clamped


def test_a_line_broken_at_a_soft_hyphen_draws_a_hyphen_inside_the_frame() -> None:
    """CSS `hyphens: manual`: a hyphen where the line breaks at a soft hyphen, its width
    counted (the line still fits), and none where it does not break."""
    text = "in\u00adter\u00adna\u00adtion\u00adal\u00adiza\u00adtion"
    lines = _text_box(_spec({"text": text, "fontSize": 30, "frameWidth": 150})).text.lines
    assert len(lines) > 1
    for line in lines[:-1]:
        assert line.text.endswith("\u00ad-")
        assert line.width <= 150 + 1e-6
    assert not lines[-1].text.endswith("-")
    one = _text_box(_spec({"text": text, "fontSize": 30})).text.lines
    assert [ln.text for ln in one] == [text]
    hyphen = renderer.lay_out_spec(_spec({"text": "-", "fontSize": 30})).boxes[0]
    assert isinstance(hyphen, TextBox)
    bare = _text_box(_spec({"text": text.replace("\u00ad", ""), "fontSize": 30}))
    assert one[0].width == pytest.approx(bare.text.lines[0].width)


def test_the_report_gives_soft_hyphenated_lines_as_drawn() -> None:
    """The report's lines and runs hold no invisible U+00AD: "in-", not "in\u00ad-"."""
    spec = _spec(
        {"text": "in\u00adter\u00adna\u00adtion of words", "fontSize": 30, "frameWidth": 150}
    )
    _, report = renderer.render(spec, "svg", report=True)
    (text,) = report.components
    assert text.lines is not None
    assert text.lines[0].endswith("-")
    assert not any("\u00ad" in line for line in text.lines)
    assert text.lines[0] == "interna-"  # what the card shows (a hyphen, nothing invisible)
    assert " ".join(text.lines[1:]) == "tion of words"
    assert text.runs is not None
    assert not any("\u00ad" in str(run["text"]) for line in text.runs for run in line)
