"""The direct cairo painter against the CairoSVG reference, on every golden case.

`render()` draws scenes straight onto cairo (fast); CairoSVG parsing the SVG we write is the
reference. Both must agree within the golden tolerance (no channel off by more than 1) at
several scales, so the SVG output and the raster output show the same card.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import cairocffi as cairo
import numpy as np
import pytest
from golden import CASES_DIR, case_names
from hypothesis import given, settings
from hypothesis import strategies as st

from renderer.api import prepare
from renderer.raster import needs_svg, paint_scene, rasterize
from renderer.scene import Group, Item, Rect, Rotated, ShadowItem
from renderer.spec import parse_card
from renderer.svg import build_svg


def blurred(items: tuple[Item, ...]) -> bool:
    """Whether the scene holds a blurred shadow (which CairoSVG cannot draw)."""
    return any(
        (isinstance(i, ShadowItem) and i.sigma > 0)
        or (isinstance(i, Group | Rotated) and blurred(i.items))
        for i in items
    )


@pytest.mark.parametrize("scale", [1.0, 1.5, 2.0])
@pytest.mark.parametrize("case", case_names())
def test_direct_painter_matches_cairosvg(case: str, scale: float) -> None:
    card = parse_card(CASES_DIR / f"{case}.json", scale=scale)
    scene = prepare(card, scale=scale).scene()
    svg = build_svg(scene, scale, raster=True)
    if needs_svg(scene):
        pytest.skip("scenes with emoji are drawn through CairoSVG by design")
    if blurred(scene.items):
        pytest.skip("CairoSVG draws no blur: test_browser_paint compares these with Chromium")
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
    scene = prepare(card).scene()
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
    scene = prepare(card).scene()
    reference = rasterize(build_svg(scene)).bgra
    raster._device_paths.clear()
    monkeypatch.setattr(raster, "_device_path_count", 0)
    monkeypatch.setattr(raster, "_DEVICE_PATHS_MAX", 20)
    drawn = paint_scene(scene).bgra
    held = sum(len(table) for table in raster._device_paths.values())
    assert 0 < held == raster._device_path_count <= 20
    assert np.array_equal(drawn, reference)


@settings(max_examples=6000, deadline=None)
@given(
    st.one_of(
        st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
        st.floats(allow_nan=False, allow_infinity=False, min_value=-2, max_value=2),
        st.integers(-(10**9), 10**9).map(lambda n: n / 1000),  # decimals at and near ties
        st.integers(-(10**9), 10**9).map(lambda n: n / 200),
        st.integers(-(10**9), 10**9).map(lambda n: n / 20 + 1e-9),
        st.integers(-(10**9), 10**9).map(lambda n: (n + 0.5) / 10),
    ),
    st.sampled_from([1, 2, 3, 4, 6]),
)
def test_painter_rounds_numbers_as_the_svg_writes_them(value: float, digits: int) -> None:
    """The painter rounds with round() where the SVG builder writes fmt(); the two rasters
    agree only if both give the same double, bit for bit."""
    from renderer.numfmt import fmt
    from renderer.raster import _q

    assert struct.pack("<d", _q(value, digits)) == struct.pack("<d", float(fmt(value, digits)))


_NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.integers(-(10**9), 10**9).map(lambda n: n / 20),  # ties at one decimal
    st.integers(-(10**9), 10**9).map(lambda n: (n + 0.5) / 10),
    st.integers(-(10**9), 10**9).map(lambda n: n / 20 + 1e-9),  # just off a tie
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_NUMBERS, min_size=1, max_size=64), st.sampled_from([1, 3, 6]))
def test_rounding_every_glyph_at_once_gives_the_same_doubles(
    values: list[float], digits: int
) -> None:
    """The painter rounds all of a card's glyph starts in one NumPy pass: bit for bit what `_q`
    gives one number at a time, ties, near-ties, negative zeros and huge values included."""
    from renderer.raster import _q, _q_array

    got = _q_array(np.array(values), digits)
    assert got.tobytes() == np.array([_q(v, digits) for v in values]).tobytes()


@pytest.mark.parametrize("scale", [1.0, 1.37, 2.0])
def test_two_bands_paint_the_same_pixels_as_one(
    scale: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a free core the canvas is painted in two bands on two threads. A band edge must
    change no pixel (it is placed where no image crosses), or the bytes of a card would depend
    on whether the helper thread happened to be free. (Every case is split here, however little
    text it has: that one band is quicker for little text is a matter of time, not pixels.)"""
    from renderer import parallel, raster

    monkeypatch.setattr(raster, "_MIN_SPLIT_PATH", 0)
    before = parallel.threads()
    banded = 0
    try:
        for case in case_names():
            card = parse_card(CASES_DIR / f"{case}.json", scale=scale)
            scene = prepare(card, scale=scale).scene()
            if needs_svg(scene):
                continue
            height = round(scene.height * scale)
            banded += (
                raster._split(scene, scale, raster._glyph_data(scene, scale), height) is not None
            )
            parallel.set_threads(2)
            two = paint_scene(scene, scale).bgra
            parallel.set_threads(1)
            one = paint_scene(scene, scale).bgra
            assert np.array_equal(one, two), case
    finally:
        parallel.set_threads(before)
    assert banded >= len(case_names()) // 2  # the bands really were used


def test_a_card_with_little_text_is_painted_in_one_band() -> None:
    """Two bands only pay when there is enough text to fill: a title and a line are drawn in
    one band, a page of paragraphs in two."""
    from renderer import raster

    def split(components: list[dict[str, object]]) -> int | None:
        spec = {"width": 1200, "height": 630, "background": "#fff", "components": components}
        scene = prepare(parse_card(spec)).scene()
        return raster._split(scene, 1.0, raster._glyph_data(scene, 1.0), 630)

    title = {"type": "text", "text": "Hello", "x": 60, "y": 60, "fontSize": 64}
    assert split([title]) is None
    words = " ".join(["Lorem ipsum dolor sit amet, consectetur adipiscing elit"] * 12)
    paragraph = {
        "type": "text",
        "text": words,
        "x": 60,
        "y": 160,
        "fontSize": 28,
        "frameWidth": 1080,
    }
    assert split([title, paragraph]) is not None


def test_the_helper_thread_serves_one_card_at_a_time() -> None:
    """A second card asking while the helper is lent out, or a card drawn inside `alone()`
    (batch work), gets no helper and draws on its own thread instead of waiting."""
    from renderer import parallel

    before = parallel.threads()
    try:
        parallel.set_threads(2)
        with parallel.helper() as first, parallel.helper() as second:
            assert first is not None
            assert second is None
        with parallel.alone(), parallel.helper() as inside:
            assert inside is None
        with parallel.helper() as again:
            assert again is not None
        parallel.set_threads(1)
        with parallel.helper() as off:
            assert off is None
    finally:
        parallel.set_threads(before)


def test_a_card_does_not_wait_for_a_helper_that_has_not_started() -> None:
    """The helper thread may be slow to get a core (another thread or process holds it). A card
    whose own band, or half of its rows, is done before the helper has begun the other does that
    one too instead of waiting for it: the same bytes, and never later than on one thread."""
    import threading
    from pathlib import Path

    import renderer
    from renderer import parallel, raster

    card = Path(__file__).resolve().parent.parent / "examples" / "blog.json"
    scene = prepare(parse_card(card)).scene()
    assert raster._split(scene, 1.0, raster._glyph_data(scene, 1.0), 630) is not None
    before = parallel.threads()
    parallel.set_threads(2)
    release = threading.Event()
    try:
        expected = renderer.render(card)
        assert expected[25] == 2  # RGB: its rows are deflated in two halves, one on the helper
        with parallel.helper() as pool:  # the helper exists; then its thread is kept busy
            assert pool is not None
        assert parallel._executor is not None
        blocker = parallel._executor.submit(release.wait, 60)
        drawn: list[bytes] = []
        render = threading.Thread(target=lambda: drawn.append(renderer.render(card)))
        render.start()
        render.join(20)
        assert not render.is_alive(), "the card waited for the busy helper"
        assert not blocker.done()  # the helper never got to the card's band or half
        assert drawn == [expected]
    finally:
        release.set()
        parallel.set_threads(before)


def test_outline_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long-lived server drawing arbitrary CJK text must not keep every outline it ever drew."""
    from renderer.text import outline

    monkeypatch.setattr(outline, "_CACHE_MAX", 30)
    outline._cache.clear()
    spec = {
        "width": 600,
        "height": 200,
        "components": [
            {
                "type": "text",
                "text": "天地玄黄宇宙洪荒日月盈昃辰宿列张寒来暑往秋收冬藏闰余成岁律吕调阳",
            }
        ],
    }
    card = parse_card(spec)
    scene = prepare(card).scene()
    drawn = paint_scene(scene).bgra
    assert 0 < len(outline._cache) <= 30
    assert np.array_equal(drawn, rasterize(build_svg(scene)).bgra)


_ROUNDED = {
    "width": 420,
    "height": 300,
    "background": "#f8fafc",
    "components": [
        {"type": "tag", "text": "Engineering", "x": 20, "y": 20, "radius": 14},
        {"type": "tag", "text": "技术博客", "x": 220, "y": 24, "backgroundColor": "#0f766e"},
        {
            "type": "shape",
            "x": 20,
            "y": 90,
            "width": 180,
            "height": 120,
            "radius": 28,
            "fill": "#f97316",
        },
        {
            "type": "shape",
            "x": 230,
            "y": 100,
            "width": 160,
            "height": 90,
            "radius": 18,
            "fill": "#38bdf8",
            "borderWidth": 7,
            "borderColor": "#0c4a6e",
        },
        {"type": "tag", "text": "The lower band", "x": 20, "y": 250, "radius": 6},
        {
            "type": "shape",
            "x": 300,
            "y": 210,
            "width": 80,
            "height": 80,
            "radius": [40, 4, 24, 0],
            "fill": "#1d4ed8",
        },
    ],
}


@pytest.mark.parametrize("scale", [1.0, 1.37, 2.0])
@pytest.mark.parametrize(
    ("lower", "edge"),
    [("The lower band", "top"), ("The lower band: more letters than above", "bottom")],
)
def test_a_band_skips_the_boxes_outside_it(
    scale: float, lower: str, edge: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each band paints only the boxes (tags, shapes, borders) whose rows reach it. Skipped or
    not, every pixel must be CairoSVG's. The band edge falls where half the glyphs lie: in
    the top tags (the lower band skips nothing, the upper skips the rest) or in the lower tag
    (the lower band skips all but it and the shape it crosses)."""
    from renderer import parallel, raster

    spec = json.loads(json.dumps(_ROUNDED))
    spec["components"][4]["text"] = lower
    card = parse_card(spec, scale=scale)
    scene = prepare(card, scale=scale).scene()
    reference = rasterize(build_svg(scene, scale, raster=True), scale).bgra
    monkeypatch.setattr(raster, "_MIN_SPLIT_PATH", 0)
    height = round(scene.height * scale)
    split = raster._split(scene, scale, raster._glyph_data(scene, scale), height)
    assert split is not None
    assert split < 60 * scale if edge == "top" else split > 250 * scale
    painted: list[int] = []
    paint_rect = raster.paint_rect

    def counted(ctx: cairo.Context, r: Rect) -> None:
        painted.append(id(r))
        paint_rect(ctx, r)

    monkeypatch.setattr(raster, "paint_rect", counted)
    before = parallel.threads()
    try:
        for threads in (1, 2):
            parallel.set_threads(threads)
            painted.clear()
            assert np.array_equal(paint_scene(scene, scale).bgra, reference), threads
            if threads == 2:  # a box wholly in one band is painted once, not twice
                assert len(painted) < 2 * len(set(painted))
    finally:
        parallel.set_threads(before)


@pytest.mark.parametrize("scale", [0.73, 1.37, 1.5])
@pytest.mark.parametrize("text", ["Wg", "Wg 😀"], ids=["painter", "cairosvg"])
def test_an_opaque_card_covers_every_pixel_at_any_scale(scale: float, text: str) -> None:
    """121 px × 1.37 is 165.77 device pixels: the canvas is 166, and its last row and column must
    be the background, not a part-covered (and, in an opaque PNG, grey) line, on both raster
    paths (emoji scenes go through CairoSVG)."""
    import io

    from PIL import Image

    import renderer

    spec = {
        "width": 121,
        "height": 121,
        "background": "#ffffff",
        "components": [{"type": "text", "text": text, "fontSize": 20}],
    }
    image = Image.open(io.BytesIO(renderer.render(spec, "png", scale=scale)))
    w, h = image.size
    assert (w, h) == (round(121 * scale), round(121 * scale))
    assert image.mode in ("RGB", "P")  # few colours make a palette PNG
    assert "transparency" not in image.info
    rgb = image.convert("RGB")
    for x, y in ((w // 2, h - 1), (w - 1, h // 2), (w - 1, h - 1)):
        assert rgb.getpixel((x, y)) == (255, 255, 255)


@pytest.mark.parametrize("scale", [0.73, 1.0, 1.37])
def test_an_opaque_background_leaves_nothing_of_the_canvas_it_was_painted_on(
    scale: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An opaque card's canvas is not cleared before the background is painted over it (every
    device pixel, by each band in its rows): whatever memory it starts with, the same pixels.
    Solid, linear and radial backgrounds, one band and two, at fractional scales."""
    from renderer import parallel, raster

    monkeypatch.setattr(raster, "_MIN_SPLIT_PATH", 0)  # two bands whenever a core is free
    plain = np.empty  # the painter's NumPy is this one: patched here, seen there

    def dirty(*args: Any, **kwargs: Any) -> np.ndarray:
        canvas: np.ndarray = plain(*args, **kwargs)
        canvas.fill(0xA5)  # what a reused heap block might hold
        return canvas

    words = {"type": "text", "text": "Wg fox " * 30, "fontSize": 28, "frameWidth": 300}
    backgrounds: list[object] = [
        "#0b1020",
        {"gradient": "linear", "angle": 30, "stops": [{"color": "#f8fafc"}, {"color": "#0f172a"}]},
        {
            "gradient": "radial",
            "center": [0.8, 0.1],
            "stops": [{"color": "#e11d48", "offset": 0.2}, {"color": "#0ea5e9"}],
        },
    ]
    before = parallel.threads()
    try:
        for background in backgrounds:
            spec = {"width": 321, "height": 201, "background": background, "components": [words]}
            scene = prepare(parse_card(spec, scale=scale), scale=scale).scene()
            for threads in (1, 2):
                parallel.set_threads(threads)
                monkeypatch.setattr(np, "empty", np.zeros)
                clean = paint_scene(scene, scale)
                monkeypatch.setattr(np, "empty", dirty)
                drawn = paint_scene(scene, scale)
                monkeypatch.setattr(np, "empty", plain)
                assert clean.opaque
                assert drawn.opaque
                assert np.array_equal(drawn.bgra, clean.bgra), (background, threads)
    finally:
        parallel.set_threads(before)
