"""The direct cairo painter against the CairoSVG reference, on every golden case.

`render()` draws scenes straight onto cairo (fast); CairoSVG parsing the SVG we write is the
reference. Both must agree within the golden tolerance (no channel off by more than 1) at
several scales, so the SVG output and the raster output show the same card.
"""

from __future__ import annotations

import numpy as np
import pytest
from golden import CASES_DIR, case_names

from renderer.layout import lay_out
from renderer.raster import needs_svg, paint_scene, rasterize
from renderer.resources import load_resources
from renderer.scene import build_scene
from renderer.spec import parse_card
from renderer.svg import build_svg


@pytest.mark.parametrize("scale", [1.0, 1.5, 2.0])
@pytest.mark.parametrize("case", case_names())
def test_direct_painter_matches_cairosvg(case: str, scale: float) -> None:
    card = parse_card(CASES_DIR / f"{case}.json", scale=scale)
    scene = build_scene(lay_out(card, load_resources(card, scale)))
    svg = build_svg(scene)
    if needs_svg(scene):
        pytest.skip("scenes with emoji are drawn through CairoSVG by design")
    direct = np.asarray(paint_scene(scene, scale).to_image().convert("RGBA"), dtype=np.int16)
    reference = np.asarray(rasterize(svg, scale).to_image().convert("RGBA"), dtype=np.int16)
    assert direct.shape == reference.shape
    transparent = (direct[..., 3] == 0) & (reference[..., 3] == 0)
    differing = (np.abs(direct - reference).max(axis=2) > 1) & ~transparent
    assert int(differing.sum()) == 0, f"{int(differing.sum())} pixels differ"


def test_emoji_scenes_use_the_reference_path() -> None:
    card = parse_card(
        {
            "width": 80,
            "height": 40,
            "components": [{"type": "text", "text": "hi 😀", "fontSize": 20}],
        }
    )
    scene = build_scene(lay_out(card, load_resources(card)))
    assert needs_svg(scene)
    with pytest.raises(Exception, match="needs its SVG"):
        paint_scene(scene, 1.0)
    image = paint_scene(scene, 1.0, build_svg(scene))
    assert (image.width, image.height) == (80, 40)


def test_glyph_path_cache_is_bounded_and_eviction_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Outlines are cached per (glyph, device matrix); a card with many sizes must not grow the
    cache past its bound, and a cache emptied mid-card must draw the same pixels."""
    from renderer import raster

    spec = {
        "width": 600,
        "height": 400,
        "background": "#ffffff",
        "components": [
            {"type": "text", "text": "Quick brown fox", "fontSize": 10 + 3 * i, "y": 30 * i}
            for i in range(12)
        ],
    }
    card = parse_card(spec)
    scene = build_scene(lay_out(card, load_resources(card)))
    reference = rasterize(build_svg(scene)).bgra
    raster._device_paths.clear()
    monkeypatch.setattr(raster, "_DEVICE_PATHS_MAX", 20)
    drawn = paint_scene(scene).bgra
    assert 0 < len(raster._device_paths) <= 20
    assert np.array_equal(drawn, reference)
