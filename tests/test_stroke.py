"""Text and tag `stroke` (issue 14): outlines outside, on or inside the glyph edge. Pixels and SVG
structure asserted here; the pictures are the `stroke-*` golden cases."""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np
import pytest
from PIL import Image

import renderer
from renderer import LimitError, Limits, SpecError
from renderer.layout import PlacedRun, TextBox, boxes


def _card(*components: dict[str, Any], width: int = 120, height: int = 100) -> dict[str, Any]:
    return {
        "width": width,
        "height": height,
        "background": "#ffffff",
        "components": list(components),
    }


def _i(stroke: dict[str, Any] | None = None, **props: Any) -> dict[str, Any]:
    text = {"type": "text", "text": "I", "fontSize": 80, "fontWeight": "900", "x": 40, "y": 0}
    text |= {"color": "#0000ff", **props}
    return text if stroke is None else {**text, "stroke": stroke}


def _pixels(spec: dict[str, Any]) -> np.ndarray:
    with Image.open(io.BytesIO(renderer.render(spec, "png"))) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def _edge(px: np.ndarray, row: int) -> tuple[int, int]:
    """The first and last columns of blue-ish or red-ish ink on `row`."""
    ink = np.nonzero((px[row] < 200).any(axis=1))[0]
    return int(ink.min()), int(ink.max())


def test_an_outside_stroke_grows_the_glyph_and_keeps_its_fill() -> None:
    plain = _pixels(_card(_i()))
    outlined = _pixels(_card(_i({"width": 4, "color": "#ff0000"})))
    left, right = _edge(plain, 50)
    o_left, o_right = _edge(outlined, 50)
    assert o_left == pytest.approx(left - 4, abs=1)
    assert o_right == pytest.approx(right + 4, abs=1)
    assert tuple(outlined[50, left + 2]) == (0, 0, 255)  # the fill keeps its width
    assert tuple(outlined[50, left - 2]) == (255, 0, 0)


def test_an_inside_stroke_stays_within_the_glyph() -> None:
    plain = _pixels(_card(_i()))
    inside = _pixels(_card(_i({"width": 4, "color": "#ff0000", "position": "inside"})))
    left, right = _edge(plain, 50)
    assert _edge(inside, 50) == (left, right)
    assert tuple(inside[50, left + 2]) == (255, 0, 0)
    assert tuple(inside[50, (left + right) // 2]) == (0, 0, 255)


def test_a_centred_stroke_straddles_the_edge() -> None:
    plain = _pixels(_card(_i()))
    centred = _pixels(_card(_i({"width": 4, "color": "#ff0000", "position": "center"})))
    left, _ = _edge(plain, 50)
    assert _edge(centred, 50)[0] == pytest.approx(left - 2, abs=1)
    assert tuple(centred[50, left + 1]) == (255, 0, 0)


def test_the_svg_strokes_the_glyph_path_in_font_units() -> None:
    svg = renderer.render(_card(_i({"width": 4, "color": "#ff000080"})), "svg").decode()
    paths = re.findall(r"<path [^>]*>", svg)
    stroke, fill = paths[-2], paths[-1]
    assert 'fill="none"' in stroke
    assert 'stroke="#ff0000" stroke-opacity="0.502"' in stroke
    # 2 × 4 px at 80 px per em of Inter's 2048 units: 204.8 units
    assert 'stroke-width="204.8" stroke-linejoin="round"' in stroke
    assert 'fill="#0000ff"' in fill
    inside = renderer.render(
        _card(_i({"width": 4, "color": "#ff0000", "position": "inside"})), "svg"
    ).decode()
    assert '<clipPath id="s0"><path d="M' in inside
    assert 'clip-path="url(#s0)" fill="none"' in inside


def test_a_stroke_reaching_onto_the_canvas_is_drawn_where_its_glyph_is_not() -> None:
    """The glyph ends 3 px above the canvas; its 8 px outline reaches 5 px onto it."""
    laid = renderer.lay_out_spec(_card(_i()))
    (box,) = laid.boxes
    assert isinstance(box, TextBox)
    y = -3 - box.text.lines[0].baseline  # an "I" sits on its baseline
    plain = renderer.lay_out_spec(_card(_i(y=y)))
    assert not [r for b in boxes(plain) if isinstance(b, TextBox) for r in b.text.lines[0].runs]
    assert (_pixels(_card(_i(y=y))) == 255).all()
    outlined = _pixels(_card(_i({"width": 8, "color": "#ff0000"}, y=y)))
    assert (outlined[:4, :, 1] < 100).any()
    assert (outlined[6:] == 255).all()


def test_stroked_glyphs_count_twice_in_the_cost_model() -> None:
    text = {"type": "text", "text": "abcdef", "fontSize": 12}
    limits = Limits(max_glyphs=10)
    layout = renderer.lay_out_spec(_card(text), limits=limits)
    (box,) = layout.boxes
    assert isinstance(box, TextBox)
    assert sum(len(r.glyphs) for r in box.text.lines[0].runs if isinstance(r, PlacedRun)) == 6
    with pytest.raises(LimitError) as e:
        renderer.lay_out_spec(_card({**text, "stroke": {"width": 1}}), limits=limits)
    assert "12 glyphs" in e.value.issues[0].message


@pytest.mark.parametrize(
    ("stroke", "pointer", "fragment"),
    [
        ({"width": 0}, "/components/0/stroke/width", "Must be > 0"),
        ({"width": 1, "position": "outer"}, "/components/0/stroke/position", "outside, center"),
        ({"color": "#000"}, "/components/0/stroke/width", "Required property"),
    ],
)
def test_bad_strokes_name_the_field(stroke: dict[str, Any], pointer: str, fragment: str) -> None:
    with pytest.raises(SpecError) as e:
        renderer.validate(_card({"type": "tag", "text": "x", "stroke": stroke}))
    assert [i.pointer for i in e.value.issues] == [pointer]
    assert fragment in e.value.issues[0].message
