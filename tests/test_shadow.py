"""Shadows (issue 14): `shadow` with CSS box-shadow semantics (blur radius = 2σ, spread, offset,
a list, never under the element) and `textShadow`. Profiles and pixels asserted here; the
pictures are the `shadow-*` golden cases, and `test_browser_paint` compares them with
Chromium's CSS."""

from __future__ import annotations

import io
import math
import re
from typing import Any

import numpy as np
import pytest
from PIL import Image

import renderer
from renderer import LimitError, Limits
from renderer.scene import _spread_radius


def _card(*components: dict[str, Any], **props: Any) -> dict[str, Any]:
    card = {"width": 200, "height": 120, "background": "#ffffff", "components": list(components)}
    return card | props


def _rgba(spec: dict[str, Any], scale: float = 1.0) -> np.ndarray:
    with Image.open(io.BytesIO(renderer.render(spec, "png", scale=scale))) as image:
        return np.asarray(image.convert("RGBA"), dtype=np.float64)


@pytest.mark.parametrize(
    ("radius", "spread", "grown"),
    [
        (10, 5, 15),  # a radius at least the spread grows by it
        (2, 10, 2 + 10 * (1 + (0.2 - 1) ** 3)),  # a smaller one by less (CSS's cubic)
        (0, 5, 0),  # a square corner stays square
        (10, -4, 6),  # a negative spread shrinks it, not below 0
        (3, -4, 0),
    ],
)
def test_spread_grows_corners_as_css_does(radius: float, spread: float, grown: float) -> None:
    assert _spread_radius(radius, spread) == pytest.approx(grown)


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_the_blur_is_a_gaussian_of_half_the_blur_radius(scale: float) -> None:
    """Across a straight edge of the shadow, coverage follows the Gaussian's integral with
    σ = blur / 2 (CSS Backgrounds 3), at any scale. (The shape lies off the canvas, so its
    own outline clips nothing of the shadow there.)"""
    shape = {"type": "shape", "x": -300, "y": -100, "width": 180, "height": 320}
    shadow = {"x": 300, "y": 0, "blur": 20, "color": "#000000"}
    card = _card({**shape, "shadow": shadow}, background="transparent", width=260)
    alpha = _rgba(card, scale)[..., 3]
    edge, sigma = 180 * scale, 10 * scale  # the shadow's right edge, device px
    row = alpha[int(60 * scale)]
    xs = np.arange(int(edge - 2.5 * sigma), int(edge + 2.5 * sigma))
    expected = [255 * 0.5 * math.erfc((x + 0.5 - edge) / (sigma * math.sqrt(2))) for x in xs]
    assert np.abs(row[xs] - expected).max() <= 4  # three box blurs in 8 bits


def test_a_box_shadow_is_not_drawn_under_its_element() -> None:
    translucent = {
        "type": "shape",
        "x": 50,
        "y": 30,
        "width": 100,
        "height": 60,
        "fill": "#ffffff00",
    }
    px = _rgba(_card({**translucent, "shadow": {"x": 10, "y": 10, "color": "#ff0000"}}))
    assert tuple(px[60, 100, :3]) == (255, 255, 255)  # inside the box: no shadow
    assert tuple(px[95, 100, :3]) == (255, 0, 0)  # below it: the offset shadow


def test_the_first_shadow_in_the_list_is_on_top() -> None:
    shape = {"type": "shape", "x": 50, "y": 30, "width": 100, "height": 60, "fill": "#ffffff"}
    red, blue = {"x": 8, "y": 8, "color": "#ff0000"}, {"x": 12, "y": 12, "color": "#0000ff"}
    px = _rgba(_card({**shape, "shadow": [red, blue]}))
    assert tuple(px[94, 154, :3]) == (255, 0, 0)  # where both fall: the first
    assert tuple(px[100, 160, :3]) == (0, 0, 255)  # where only the second does


def test_opacity_fades_the_shadow_with_its_element() -> None:
    shape = {"type": "shape", "x": 50, "y": 30, "width": 100, "height": 60, "fill": "#ffffff"}
    px = _rgba(_card({**shape, "opacity": 0.5, "shadow": {"y": 20, "color": "#000000"}}))
    assert px[105, 100, 0] == pytest.approx(127.5, abs=1)


def test_a_hard_text_shadow_is_the_text_moved() -> None:
    text = {"type": "text", "text": "Hg", "fontSize": 40, "x": 20, "y": 10, "color": "#0000"}
    shadowed = _rgba(_card({**text, "textShadow": {"x": 7, "y": 5, "color": "#000000"}}))
    moved = _rgba(_card({**text, "x": 27, "y": 15, "color": "#000000"}))
    assert np.abs(shadowed - moved).max() <= 1


def test_a_shadow_that_reaches_onto_the_canvas_is_drawn() -> None:
    """The shape lies 10 px right of the canvas; its shadow, 40 px to the left, does not."""
    off = {"type": "shape", "x": 210, "y": 20, "width": 50, "height": 50, "fill": "#000000"}
    px = _rgba(_card({**off, "shadow": {"x": -40, "color": "#ff0000"}}))
    assert tuple(px[40, 190, :3]) == (255, 0, 0)
    _, report = renderer.render(_card(off), "png", report=True)
    assert report.to_dict()["components"][0].get("offCanvas") is True


def test_the_svg_blurs_with_a_standard_filter_and_clips_out_the_box() -> None:
    shape = {"type": "shape", "x": 50, "y": 30, "width": 100, "height": 60, "radius": 10}
    svg = renderer.render(
        _card({**shape, "shadow": {"y": 4, "blur": 12, "color": "#00000080"}}), "svg"
    )
    text = svg.decode()
    assert re.search(
        r'<filter id="f0" filterUnits="userSpaceOnUse" [^>]*><feGaussianBlur stdDeviation="6"/>',
        text,
    )
    assert '<g filter="url(#f0)" opacity="0.502">' in text
    assert '<clipPath id="o1"><path d="M' in text
    assert "A10 10 0 0 0 " in text  # the element's outline, counter-clockwise: a hole


def test_blurring_is_bounded_by_the_cost_model() -> None:
    shape = {"type": "shape", "x": 0, "y": 0, "width": 200, "height": 120}
    blurred = {**shape, "shadow": {"blur": 40, "color": "#000000"}}
    limits = Limits(max_blur_area=50_000)  # the blur needs (200 + 120) x (120 + 120) px
    renderer.render(_card({**shape, "shadow": {"color": "#000000"}}), "svg", limits=limits)
    with pytest.raises(LimitError) as e:
        renderer.render(_card(blurred), "svg", limits=limits)
    assert e.value.issues[0].pointer == "/components/0"
    assert "Limits.max_blur_area" in e.value.issues[0].message


def test_shadow_counts_and_blur_radii_are_bounded() -> None:
    shape = {"type": "shape", "width": 10, "height": 10}
    with pytest.raises(LimitError) as e:
        renderer.validate(
            _card({**shape, "shadow": [{"blur": 2}] * 3}), limits=Limits(max_shadows=2)
        )
    assert [str(i) for i in e.value.issues] == [
        "/components/0/shadow: At most 2 shadows (Limits.max_shadows). Received: 3."
    ]
    text = {"type": "text", "text": "x", "textShadow": [{"blur": 1}, {"blur": 30}]}
    with pytest.raises(LimitError) as e:
        renderer.validate(_card(text), limits=Limits(max_blur=20))
    assert [i.pointer for i in e.value.issues] == ["/components/0/textShadow/1/blur"]


def test_emoji_in_a_scene_with_a_blur_are_drawn_as_through_cairosvg() -> None:
    """CairoSVG draws no blur, so a scene with emoji and a blurred shadow is painted directly,
    the emoji from their recorded Twemoji drawings: they look as CairoSVG draws them."""
    emoji = {"type": "text", "text": "😀👍", "fontSize": 40, "x": 10, "y": 10}
    far = {"type": "shape", "x": 150, "y": 80, "width": 20, "height": 20, "shadow": {"blur": 6}}
    plain = _rgba(_card(emoji, {**far, "shadow": {"color": "#00000080"}}))  # no blur: CairoSVG
    blurred = _rgba(_card(emoji, far))
    assert np.abs(plain[:70, :120] - blurred[:70, :120]).mean() < 0.5
    assert (np.abs(plain[:70, :120] - blurred[:70, :120]) > 48).mean() < 0.005
