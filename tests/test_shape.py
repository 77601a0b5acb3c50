"""The `shape` component (issue 14): rectangles with four corners, ellipses, borders inside the
outline. Boxes and pixels asserted here; the pictures are the `shape-*` golden cases."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

import renderer
from renderer import SpecError
from renderer.geometry import Corners


def _card(*components: dict[str, Any], width: int = 120, height: int = 80) -> dict[str, Any]:
    return {
        "width": width,
        "height": height,
        "background": "#ffffff",
        "components": list(components),
    }


def _shape(**props: Any) -> dict[str, Any]:
    return {"type": "shape", "width": 100, "height": 60, "x": 10, "y": 10, **props}


def _pixels(spec: dict[str, Any], scale: float = 1.0) -> np.ndarray:
    png = renderer.render(spec, "png", scale=scale)
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_the_report_lists_a_shape_with_its_box() -> None:
    spec = _card(_shape(anchor="center", x=60, y=40, width="50%"))
    _, report = renderer.render(spec, "png", report=True)
    (entry,) = report.to_dict()["components"]
    assert entry == {
        "pointer": "/components/0",
        "type": "shape",
        "box": {"x": 30.0, "y": 10.0, "width": 60.0, "height": 60.0},
    }


def test_an_ellipse_fills_the_ellipse_inscribed_in_its_box() -> None:
    px = _pixels(_card(_shape(shape="ellipse", fill="#000000")))
    assert (px[40, 60] == 0).all()  # the centre
    assert (px[12, 12] == 255).all()  # inside the box, outside the ellipse
    assert (px[40, 12] == 0).all()
    assert (px[40, 107] == 0).all()
    # On the outline: a point at 45° of the ellipse, (cos, sin) × (50, 30) from the centre.
    x, y = 60 + 50 * 0.7071, 40 + 30 * 0.7071
    assert (px[round(y) - 2, round(x) - 2] == 0).all()
    assert (px[round(y) + 2, round(x) + 2] == 255).all()


def test_four_corners_overlapping_are_scaled_together_as_css_does() -> None:
    # 80 + 80 across a 100 px side: every radius × 100 / 160, as CSS border-radius does.
    fitted = Corners.fit((80, 80, 0, 0), 100, 60)
    assert fitted.top_left == fitted.top_right == (50.0, 50.0)
    assert fitted.bottom_right == fitted.bottom_left == (0.0, 0.0)
    px = _pixels(_card(_shape(radius=[30, 0, 30, 0], fill="#000000")))
    assert (px[11, 11] == 255).all()
    assert (px[68, 108] == 255).all()
    assert (px[10, 109] == 0).all()
    assert (px[69, 10] == 0).all()


def test_one_radius_is_capped_at_half_the_smaller_side() -> None:
    assert Corners.fit((500, 500, 500, 500), 100, 60) == Corners.uniform(30.0)
    pill = _pixels(_card(_shape(radius=500, fill="#000000")))
    stadium = _pixels(_card(_shape(radius=30, fill="#000000")))
    assert np.array_equal(pill, stadium)


def test_the_border_is_drawn_inside_the_outline() -> None:
    px = _pixels(_card(_shape(fill="#ffffff", borderWidth=4, borderColor="#ff0000")))
    assert tuple(px[40, 10]) == (255, 0, 0)
    assert tuple(px[40, 13]) == (255, 0, 0)
    assert tuple(px[40, 14]) == (255, 255, 255)  # inside the border
    assert tuple(px[40, 9]) == (255, 255, 255)  # the box does not grow


def test_opacity_fades_fill_and_border_together() -> None:
    """Where the border lies over the fill, a shape fading as one shows only the border."""
    px = _pixels(_card(_shape(fill="#0000ff", borderWidth=4, borderColor="#ff0000", opacity=0.5)))
    r, g, b = px[40, 11]
    assert (r, g) == (255, 127) or (r, g) == (255, 128)
    assert b in (127, 128)  # white under half red: no blue from the fill beneath the border


@pytest.mark.parametrize(
    ("props", "pointer", "fragment"),
    [
        ({"shape": "triangle"}, "/components/0/shape", "Allowed values: rect, ellipse"),
        ({"radius": [1, 2, 3]}, "/components/0/radius", "At least 4 item(s)"),
        ({"fill": "red"}, "/components/0/fill", "hex colour"),
        ({"width": "150%"}, "/components/0/width", "≤ 100%"),
    ],
)
def test_bad_shapes_name_the_field(props: dict[str, Any], pointer: str, fragment: str) -> None:
    with pytest.raises(SpecError) as e:
        renderer.validate(_card(_shape(**props)))
    assert [i.pointer for i in e.value.issues] == [pointer]
    assert fragment in e.value.issues[0].message


def test_width_and_height_are_required() -> None:
    with pytest.raises(SpecError) as e:
        renderer.validate(_card({"type": "shape"}))
    assert sorted(i.pointer for i in e.value.issues) == [
        "/components/0/height",
        "/components/0/width",
    ]
