"""Paints (issue 14): gradients wherever a fill colour is accepted, placed as CSS places them.
Geometry asserted as numbers, colours as pixels; the pictures are the `paint-*` golden cases."""

from __future__ import annotations

import io
import math
import re
from typing import Any

import numpy as np
import pytest
from PIL import Image

import renderer
from renderer import LimitError, Limits, SpecError
from renderer.geometry import Box
from renderer.model import Color, LinearGradient, RadialGradient, Stop
from renderer.paint import LinearFill, RadialFill, fill_for
from renderer.spec.resolve import paint

RED_BLUE = [{"color": "#ff0000"}, {"color": "#0000ff"}]


def _linear(
    angle: float | None = None, stops: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    g: dict[str, Any] = {"gradient": "linear", "stops": stops or RED_BLUE}
    if angle is not None:
        g["angle"] = angle
    return g


def _card(*components: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"width": 200, "height": 100, "components": list(components), **props}


def _pixels(spec: dict[str, Any]) -> np.ndarray:
    png = renderer.render(spec, "png")
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGBA"), dtype=np.int16)


def _offsets(stops: list[dict[str, Any]]) -> list[float]:
    resolved = paint(_linear(stops=stops))
    assert isinstance(resolved, LinearGradient)
    return [s.offset for s in resolved.stops]


def test_stop_offsets_follow_css() -> None:
    colour: dict[str, Any] = {"color": "#000000"}
    assert _offsets([colour, colour, colour]) == [0.0, 0.5, 1.0]
    # A position before an earlier one is raised to it first; then the gaps are spread.
    stops = [colour, {**colour, "offset": 0.8}, colour, {**colour, "offset": 0.2}, colour]
    assert _offsets(stops) == [0.0, 0.8, 0.8, 0.8, 1.0]
    stops = [{**colour, "offset": 0.2}, colour, colour, {**colour, "offset": 0.8}]
    assert _offsets(stops) == pytest.approx([0.2, 0.4, 0.6, 0.8])


@pytest.mark.parametrize(
    ("angle", "line"),
    [
        (180, (100, 0, 100, 100)),  # the default: to bottom
        (0, (100, 100, 100, 0)),  # to top
        (90, (0, 50, 200, 50)),  # to right
        (270, (200, 50, 0, 50)),
    ],
)
def test_the_gradient_line_is_css_s(angle: float, line: tuple[float, ...]) -> None:
    fill = fill_for(LinearGradient(angle, ()), Box(0, 0, 200, 100))
    assert isinstance(fill, LinearFill)
    assert (fill.x1, fill.y1, fill.x2, fill.y2) == pytest.approx(line, abs=1e-9)


def test_a_diagonal_line_is_long_enough_to_reach_the_corners() -> None:
    """CSS: the line through the centre at 45°, |w sin a| + |h cos a| long, so the
    perpendiculars at its ends pass through two opposite corners."""
    fill = fill_for(LinearGradient(45, ()), Box(10, 20, 200, 100))
    assert isinstance(fill, LinearFill)
    length = math.hypot(fill.x2 - fill.x1, fill.y2 - fill.y1)
    assert length == pytest.approx(300 * math.sqrt(0.5))
    ux, uy = (fill.x2 - fill.x1) / length, (fill.y2 - fill.y1) / length
    # The bottom-left corner projects onto the start, the top-right onto the end.
    assert (10 - fill.x1) * ux + (120 - fill.y1) * uy == pytest.approx(0, abs=1e-9)
    assert (210 - fill.x1) * ux + (20 - fill.y1) * uy == pytest.approx(length)


@pytest.mark.parametrize(
    ("circle", "extent", "radii"),
    [
        (False, "farthest-corner", (150 * math.sqrt(2), 75 * math.sqrt(2))),
        (False, "closest-side", (50, 25)),
        (False, "farthest-side", (150, 75)),
        (False, "closest-corner", (50 * math.sqrt(2), 25 * math.sqrt(2))),
        (True, "closest-side", (25, 25)),
        (True, "farthest-side", (150, 150)),
        (True, "closest-corner", (math.hypot(50, 25),) * 2),
        (True, "farthest-corner", (math.hypot(150, 75),) * 2),
    ],
)
def test_radial_extents_are_css_s(circle: bool, extent: str, radii: tuple[float, float]) -> None:
    fill = fill_for(RadialGradient(circle, extent, (0.25, 0.25), ()), Box(0, 0, 200, 100))
    assert isinstance(fill, RadialFill)
    assert (fill.cx, fill.cy) == (50, 25)
    assert (fill.rx, fill.ry) == pytest.approx(radii)


def test_a_linear_gradient_runs_from_the_first_colour_to_the_last() -> None:
    px = _pixels(_card({"type": "shape", "width": 200, "height": 100, "fill": _linear(90)}))
    assert tuple(px[50, 0, :3]) == pytest.approx((254, 0, 1), abs=2)
    assert tuple(px[50, 199, :3]) == pytest.approx((1, 0, 254), abs=2)
    assert tuple(px[50, 100, :3]) == pytest.approx((128, 0, 127), abs=2)
    assert (px[:, 60] == px[0, 60]).all()  # constant across the line


def test_a_radial_gradient_is_its_first_colour_at_the_centre() -> None:
    fill = {"gradient": "radial", "shape": "circle", "extent": "closest-side", "stops": RED_BLUE}
    px = _pixels(_card({"type": "shape", "width": 200, "height": 100, "fill": fill}))
    assert tuple(px[50, 100, :3]) == pytest.approx((255, 0, 0), abs=5)  # 0.7 px from it
    assert tuple(px[50, 160, :3]) == pytest.approx((0, 0, 255), abs=1)  # past the radius: pad
    assert tuple(px[50, 125, :3]) == pytest.approx((128, 0, 127), abs=4)  # half way


def test_a_gradient_background_spans_the_canvas() -> None:
    px = _pixels(_card({"type": "shape", "width": 0.1, "height": 0.1}, background=_linear(180)))
    assert px[0, 100, 0] > 250
    assert px[99, 100, 2] > 250
    assert (px[..., 3] == 255).all()  # opaque stops: an opaque card


def test_gradient_text_is_painted_through_the_glyphs_over_the_text_box() -> None:
    text = {"type": "text", "text": "IIIIIIIIII", "fontSize": 40, "fontWeight": "900"}
    px = _pixels(_card({**text, "x": 10, "y": 10, "color": _linear(90)}))
    ink = np.nonzero((px[..., 0] < 250) | (px[..., 1] < 250))
    columns = sorted(set(ink[1].tolist()))
    left, right = px[30, columns[1]], px[30, columns[-2]]
    assert left[0] > 200
    assert left[2] < 60
    assert left[1] < 40
    assert right[2] > 200
    assert right[0] < 60


def test_opacity_fades_the_stops_and_the_svg_says_only_what_it_parsed() -> None:
    spec = _card(
        {
            "type": "shape",
            "width": 10,
            "height": 10,
            "opacity": 0.5,
            "fill": _linear(90, [{"color": "#FF0000"}, {"color": "#00ff0080", "offset": 0.7}]),
        }
    )
    svg = renderer.render(spec, "svg").decode()
    stops = re.findall(r"<stop [^>]*/>", svg)
    assert stops == [
        '<stop offset="0" stop-color="#ff0000" stop-opacity="0.502"/>',
        '<stop offset="0.7" stop-color="#00ff00" stop-opacity="0.251"/>',
    ]
    assert 'fill="url(#p0)"' in svg


def test_one_gradient_is_defined_once() -> None:
    shape = {"type": "shape", "width": 20, "height": 20, "fill": _linear(90)}
    svg = renderer.render(_card(shape, {**shape, "x": 0}), "svg").decode()
    assert svg.count("<linearGradient") == 1


def test_stops_are_bounded_by_the_limits() -> None:
    stops = [{"color": "#000000"}] * 3
    spec = _card({"type": "shape", "width": 1, "height": 1, "fill": _linear(stops=stops)})
    with pytest.raises(LimitError) as e:
        renderer.validate(spec, limits=Limits(max_gradient_stops=2))
    assert [str(i) for i in e.value.issues] == [
        "/components/0/fill/stops: At most 2 stops (Limits.max_gradient_stops). Received: 3."
    ]
    with pytest.raises(LimitError):
        renderer.validate(
            _card(
                {"type": "shape", "width": 1, "height": 1},
                background=_linear(stops=[{"color": "#000000"}] * 33),
            )
        )


def test_every_paint_bound_is_named_by_its_pointer_in_one_answer() -> None:
    """One document over every paint bound, deep in a stack: one refusal lists them all, each
    at its own pointer, before anything is drawn; a rotation out of range is the schema's."""
    tight = Limits(max_gradient_stops=2, max_shadows=1, max_blur=10, max_qr_data=5)
    soft = {"blur": 12}
    child = {
        "type": "shape",
        "width": 10,
        "height": 10,
        "fill": _linear(stops=[{"color": "#000000"}] * 3),
        "shadow": [soft, soft],
    }
    image = {"type": "image", "src": "data:,", "width": 9, "height": 9, "filter": {"blur": 11}}
    stack = {"type": "stack", "shadow": soft, "children": [child, image]}
    qr = {"type": "qr", "data": "https://x.example", "size": 40}
    with pytest.raises(LimitError) as e:
        renderer.validate(_card(stack, qr), limits=tight)
    assert sorted(i.pointer for i in e.value.issues) == [
        "/components/0/children/0/fill/stops",
        "/components/0/children/0/shadow",
        "/components/0/children/0/shadow/0/blur",
        "/components/0/children/0/shadow/1/blur",
        "/components/0/children/1/filter/blur",
        "/components/0/shadow/blur",
        "/components/1/data",
    ]
    with pytest.raises(SpecError) as turned:
        renderer.validate(_card({**qr, "data": "x", "rotate": -361}))
    assert [i.pointer for i in turned.value.issues] == ["/components/0/rotate"]


@pytest.mark.parametrize(
    ("fill", "pointer", "fragment"),
    [
        ({"gradient": "conic", "stops": RED_BLUE}, "/components/0/fill/gradient", "linear, radial"),
        (
            _linear(stops=[{"color": "red"}, {"color": "#000"}]),
            "/components/0/fill/stops/0/color",
            "hex colour",
        ),
        (_linear(stops=RED_BLUE[:1]), "/components/0/fill/stops", "At least 2"),
        ({**_linear(), "angel": 5}, "/components/0/fill/angel", "Did you mean 'angle'"),
        ("rgb(0,0,0)", "/components/0/fill", "a gradient object"),
    ],
)
def test_bad_paints_name_the_field(fill: Any, pointer: str, fragment: str) -> None:
    with pytest.raises(SpecError) as e:
        renderer.validate(_card({"type": "shape", "width": 1, "height": 1, "fill": fill}))
    assert [i.pointer for i in e.value.issues] == [pointer]
    assert fragment in e.value.issues[0].message


def test_paint_resolves_colours_and_both_gradients() -> None:
    assert paint("#0f0") == Color(0, 255, 0)
    radial = paint({"gradient": "radial", "stops": RED_BLUE})
    assert radial == RadialGradient(
        False,
        "farthest-corner",
        (0.5, 0.5),
        (Stop(Color(255, 0, 0), 0.0), Stop(Color(0, 0, 255), 1.0)),
    )
