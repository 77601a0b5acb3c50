"""Image `filter` and `overlay` (issue 14): CSS filter functions on the fitted pixels, a scrim
inside the outline. Colours and profiles asserted here; pictures in `image-filter*` and
`image-overlay` golden cases, and `test_browser_paint` compares them with Chromium's CSS."""

from __future__ import annotations

import base64
import io
import math
import re
from typing import Any

import numpy as np
import pytest
from PIL import Image

import renderer
from renderer import LimitError, Limits

COLOUR = (200, 120, 40)


def _uri(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


FLAT = _uri(Image.new("RGB", (8, 8), COLOUR))
HALVES = _uri(Image.fromarray(np.repeat(np.repeat(np.array([[0, 255]], np.uint8), 50, 1), 40, 0)))


def _image(src: str = FLAT, **props: Any) -> dict[str, Any]:
    return {"type": "image", "src": src, "x": 0, "y": 0, "width": 100, "height": 40, **props}


def _rgba(component: dict[str, Any], scale: float = 1.0, **card: Any) -> np.ndarray:
    spec = {"width": 100, "height": 40, "background": "#ffffff", "components": [component]}
    png = renderer.render(spec | card, "png", scale=scale)
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGBA"), dtype=np.float64)


def _centre(f: dict[str, Any]) -> tuple[float, ...]:
    return tuple(_rgba(_image(filter=f))[20, 50, :3])


def test_brightness_and_contrast_are_css_lines() -> None:
    r, g, b = (v / 255 for v in COLOUR)
    assert _centre({"brightness": 0.5}) == pytest.approx([100, 60, 20], abs=1)
    expected = [255 * min(1, max(0, (v - 0.5) * 1.5 + 0.5)) for v in (r, g, b)]
    assert _centre({"contrast": 1.5}) == pytest.approx(expected, abs=1)


def test_saturate_and_grayscale_are_the_spec_s_matrices() -> None:
    r, g, b = COLOUR
    grey = 0.2126 * r + 0.7152 * g + 0.0722 * b
    assert _centre({"grayscale": 1}) == pytest.approx([grey] * 3, abs=1)
    luma = 0.213 * r + 0.715 * g + 0.072 * b  # saturate(0) uses the rounder weights
    assert _centre({"saturate": 0}) == pytest.approx([luma] * 3, abs=1)
    half = [0.5 * v + 0.5 * grey for v in COLOUR]
    assert _centre({"grayscale": 0.5}) == pytest.approx(half, abs=1)


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_blur_is_a_gaussian_of_the_given_deviation(scale: float) -> None:
    """CSS blur(4px): σ = 4 px (not half of it, as for a shadow), in device px at any scale."""
    row = _rgba(_image(HALVES, filter={"blur": 4}), scale)[int(20 * scale), :, 0]
    edge, sigma = 50 * scale, 4 * scale
    xs = np.arange(int(edge - 2 * sigma), int(edge + 2 * sigma))
    expected = [255 * 0.5 * math.erfc(-(x + 0.5 - edge) / (sigma * math.sqrt(2))) for x in xs]
    assert np.abs(row[xs] - expected).max() <= 4


def test_a_blurred_image_keeps_its_edges() -> None:
    """Edge pixels extend past the border: a blurred photo background stays a full rectangle,
    not a rectangle fading into the canvas."""
    px = _rgba(_image(filter={"blur": 10}), background="transparent")
    assert (px[..., 3] == 255).all()
    assert tuple(px[0, 0, :3]) == pytest.approx(COLOUR, abs=1)


def test_an_overlay_covers_the_image_inside_its_rounded_outline() -> None:
    px = _rgba(_image(radius=20, overlay="#00000080"))
    assert tuple(px[20, 50, :3]) == pytest.approx([v / 2 for v in COLOUR], abs=1)
    assert tuple(px[1, 1, :3]) == (255, 255, 255)  # outside the rounded corner


def test_a_gradient_overlay_spans_the_image_box() -> None:
    scrim = {"gradient": "linear", "stops": [{"color": "#00000000"}, {"color": "#000000"}]}
    px = _rgba(_image(overlay=scrim))
    assert tuple(px[0, 50, :3]) == pytest.approx(COLOUR, abs=4)
    assert tuple(px[39, 50, :3]) == pytest.approx((0, 0, 0), abs=4)


def test_the_svg_embeds_the_filtered_pixels() -> None:
    spec = {"width": 100, "height": 40, "components": [_image(filter={"grayscale": 1})]}
    svg = renderer.render(spec, "svg").decode()
    assert "<filter" not in svg
    data = re.search(r'href="data:image/png;base64,([^"]+)"', svg)
    assert data is not None
    with Image.open(io.BytesIO(base64.b64decode(data.group(1)))) as embedded:
        r, g, b, _ = embedded.convert("RGBA").getpixel((0, 0))
    assert r == g == b


def test_image_blur_is_bounded() -> None:
    spec = {"width": 100, "height": 40, "components": [_image(filter={"blur": 50})]}
    with pytest.raises(LimitError) as e:
        renderer.validate(spec, limits=Limits(max_blur=20))
    assert [i.pointer for i in e.value.issues] == ["/components/0/filter/blur"]
    with pytest.raises(LimitError) as e:
        renderer.render(spec, "png", limits=Limits(max_blur_area=1000))
    assert "Limits.max_blur_area" in e.value.issues[0].message
