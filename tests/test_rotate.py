"""`rotate` (issue 14): every component turns about its anchor point; the report gives the turned
bounds, and culling and the cost model see where a turned component lands. Pictures: the
`rotate-*` golden cases."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

import renderer
from renderer import LimitError, Limits, SpecError
from renderer.layout import PlacedRun, TextBox, boxes


def _card(*components: dict[str, Any], width: int = 200, height: int = 200) -> dict[str, Any]:
    return {
        "width": width,
        "height": height,
        "background": "#ffffff",
        "components": list(components),
    }


def _report(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    _, report = renderer.render(spec, "png", report=True)
    return {e["pointer"]: e for e in report.to_dict()["components"]}


def _pixels(spec: dict[str, Any]) -> np.ndarray:
    with Image.open(io.BytesIO(renderer.render(spec, "png"))) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def _box(x: float, y: float, w: float, h: float) -> dict[str, float]:
    return {"x": x, "y": y, "width": w, "height": h}


def test_the_report_gives_the_turned_bounds_and_keeps_the_laid_out_box() -> None:
    shape = {"type": "shape", "x": 100, "y": 100, "anchor": "center", "width": 100, "height": 40}
    entry = _report(_card({**shape, "rotate": 90}))["/components/0"]
    assert entry["box"] == _box(50, 80, 100, 40)
    assert entry["rotate"] == 90
    assert entry["bounds"] == _box(80, 50, 40, 100)
    assert "bounds" not in _report(_card(shape))["/components/0"]


def test_a_turned_stack_turns_its_children_about_its_own_anchor() -> None:
    child = {"type": "shape", "width": 40, "height": 20}
    stack = {"type": "stack", "x": 100, "y": 100, "rotate": 180, "children": [child]}
    entries = _report(_card(stack))
    assert entries["/components/0"]["bounds"] == _box(60, 80, 40, 20)
    child_entry = entries["/components/0/children/0"]
    assert child_entry["box"] == _box(100, 100, 40, 20)
    assert child_entry["rotate"] == 0  # its own; the stack's turn moves it
    assert child_entry["bounds"] == _box(60, 80, 40, 20)


def test_a_component_off_the_canvas_that_turns_onto_it_is_drawn() -> None:
    # Its box is left of the canvas; half a turn about its top-right corner (0, 50) brings it on.
    shape = {"type": "shape", "x": 0, "y": 50, "anchor": "top-right", "width": 100, "height": 20}
    assert (_pixels(_card(shape)) == 255).all()
    px = _pixels(_card({**shape, "rotate": 180}))
    assert (px[31:49, 1:99] == 0).all()
    assert (px[52:, :] == 255).all()


def test_glyphs_of_turned_text_are_culled_where_the_turn_takes_them_off() -> None:
    """A line running 2,000 px right from (100, 20), turned a quarter clockwise, runs down the
    canvas: the glyphs that land on it are drawn, the rest are not placed."""
    text = {"type": "text", "text": "H" * 200, "x": 100, "y": 20, "fontSize": 16, "rotate": 90}
    layout = renderer.lay_out_spec(_card(text))
    (box,) = (b for b in boxes(layout) if isinstance(b, TextBox))
    placed = sum(
        len(r.glyphs) for line in box.text.lines for r in line.runs if isinstance(r, PlacedRun)
    )
    assert 10 < placed < 40  # ~180 px of the line fall on the canvas, 11 px a glyph
    px = _pixels(_card(text))
    ink_rows = np.nonzero((px < 128).any(axis=(1, 2)))[0]
    assert ink_rows.min() < 30
    assert ink_rows.max() > 190  # drawn down to the bottom edge
    ink_columns = np.nonzero((px < 128).any(axis=(0, 2)))[0]
    assert 75 <= ink_columns.min()
    assert ink_columns.max() <= 100  # turned clockwise: left of the pivot


def test_the_cost_model_counts_the_turned_box() -> None:
    """A 4000 × 2 px bar paints 8,000 px; turned 45° it covers a 2,830 px square's bounds."""
    bar = {"type": "shape", "x": 2000, "y": 2000, "anchor": "center", "width": 4000, "height": 2}
    limits = Limits(max_painted_area=2_000_000)
    card = {**_card(bar, width=4000, height=4000), "background": "transparent"}
    renderer.render(card, "svg", limits=limits)
    turned = {**card, "components": [{**bar, "rotate": 45}]}
    with pytest.raises(LimitError) as e:
        renderer.render(turned, "svg", limits=limits)
    assert e.value.issues[0].pointer == "/components/0"
    assert "max_painted_area" in e.value.issues[0].message


def test_the_svg_turns_a_group_and_a_whole_turn_draws_nothing_turned() -> None:
    shape = {"type": "shape", "x": 10, "y": 20, "width": 30, "height": 30}
    svg = renderer.render(_card({**shape, "rotate": 12.5}), "svg").decode()
    assert '<g transform="rotate(12.5 10 20)">' in svg
    for whole in (360, -360, 0):
        assert "rotate(" not in renderer.render(_card({**shape, "rotate": whole}), "svg").decode()


def test_rotation_is_bounded() -> None:
    with pytest.raises(SpecError) as e:
        renderer.validate(_card({"type": "divider", "rotate": 400}))
    assert [str(i) for i in e.value.issues] == [
        "/components/0/rotate: Must be ≤ 360. Received: 400."
    ]
