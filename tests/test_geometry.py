"""Pixel geometry: what is drawn lands exactly where the spec and the layout say.

Every check decodes the rendered PNG with Pillow and looks at pixels with NumPy. Rectangles on
integer coordinates must be exact (cairo fills whole pixels there); text and anti-aliased edges get
a stated tolerance of one pixel.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from renderer import lay_out_spec, render
from renderer.layout import TagBox, TextBox

Pixels = NDArray[np.uint8]
Rect = tuple[int, int, int, int]  # left, top, right (exclusive), bottom (exclusive)

WHITE = (255, 255, 255, 255)
RED = (255, 0, 0, 255)
ANCHORS = {
    "top-left": (0.0, 0.0),
    "top-center": (0.5, 0.0),
    "top-right": (1.0, 0.0),
    "center-left": (0.0, 0.5),
    "center": (0.5, 0.5),
    "center-right": (1.0, 0.5),
    "bottom-left": (0.0, 1.0),
    "bottom-center": (0.5, 1.0),
    "bottom-right": (1.0, 1.0),
}
PARAGRAPH = (
    "The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs. "
    "Sphinx of black quartz, judge my vow! How vexingly quick daft zebras jump."
)


def rgba(spec: dict[str, Any], scale: float = 1.0) -> Pixels:
    data = render(spec, "png", scale=scale)
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "PNG"
        return np.asarray(im.convert("RGBA"))


def bbox(mask: NDArray[np.bool_]) -> Rect | None:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def not_colour(px: Pixels, colour: tuple[int, int, int, int] = WHITE) -> NDArray[np.bool_]:
    return np.asarray(np.any(px != np.array(colour, dtype=np.uint8), axis=-1))


def ink(px: Pixels, threshold: int = 250) -> NDArray[np.bool_]:
    """Dark pixels: black text anti-aliased on white."""
    return np.asarray(np.any(px[..., :3] < threshold, axis=-1))


def card(width: int, height: int, *components: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"width": width, "height": height, "components": list(components), **top}


def solid_png(colour: tuple[int, int, int], size: tuple[int, int] = (16, 16)) -> str:
    """A solid-colour PNG as raw base64 (as an AI image API would return it)."""
    import base64

    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


# --- dividers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "thickness"),
    [("thin", 1), ("medium", 3), ("thick", 5), (7, 7), (None, 3)],
    ids=["thin", "medium", "thick", "number-7", "default"],
)
@pytest.mark.parametrize("direction", ["horizontal", "vertical"])
def test_divider_pixels_are_exactly_its_rectangle(
    width: str | int | None, thickness: int, direction: str
) -> None:
    divider: dict[str, Any] = {
        "type": "divider",
        "x": 10,
        "y": 20,
        "length": 50,
        "direction": direction,
        "color": "#ff0000",
    }
    if width is not None:
        divider["width"] = width
    px = rgba(card(120, 90, divider))
    if direction == "horizontal":
        expected = (10, 20, 60, 20 + thickness)
    else:
        expected = (10, 20, 10 + thickness, 70)
    assert bbox(not_colour(px)) == expected
    left, top, right, bottom = expected
    assert (px[top:bottom, left:right] == np.array(RED, dtype=np.uint8)).all()


def test_fractional_divider_covers_its_rectangle_with_partial_edge() -> None:
    """2.5 px thick: two full rows, the third row half covered (anti-aliased), nothing beyond."""
    px = rgba(card(80, 40, {"type": "divider", "x": 5, "y": 10, "length": 30, "width": 2.5}))
    assert bbox(not_colour(px)) == (5, 10, 35, 13)
    assert (px[10:12, 5:35, :3] == 0).all()
    edge = px[12, 5:35, 0].astype(int)
    assert (abs(edge - 128) <= 2).all()


def test_divider_colour_and_paint_order() -> None:
    """Later components paint on top: a blue divider crossing a red one wins the overlap."""
    px = rgba(
        card(
            60,
            60,
            {"type": "divider", "x": 0, "y": 20, "length": 60, "width": 10, "color": "#ff0000"},
            {
                "type": "divider",
                "x": 25,
                "y": 0,
                "length": 60,
                "width": 10,
                "direction": "vertical",
                "color": "#0000ff",
            },
        )
    )
    assert tuple(px[25, 5]) == RED
    assert tuple(px[25, 30]) == (0, 0, 255, 255)
    assert tuple(px[5, 30]) == (0, 0, 255, 255)
    assert tuple(px[5, 5]) == WHITE


# --- images -----------------------------------------------------------------------------------


def test_image_fills_exactly_its_box() -> None:
    colour = (200, 30, 90)
    spec = card(
        100,
        80,
        {"type": "image", "src": solid_png(colour), "x": 10, "y": 20, "width": 40, "height": 30},
    )
    px = rgba(spec)
    assert bbox(not_colour(px)) == (10, 20, 50, 50)
    box = px[20:50, 10:50].astype(int)
    assert (np.abs(box - np.array([*colour, 255])) <= 1).all()


def test_image_box_follows_layout_box_not_source_size() -> None:
    """A 16×16 source in a 70×20 box is covered (cropped), not letterboxed or stretched out."""
    spec = card(
        100,
        50,
        {"type": "image", "src": solid_png((0, 128, 0)), "x": 5, "y": 7, "width": 70, "height": 20},
    )
    (b,) = lay_out_spec(spec).boxes
    assert (b.box.x, b.box.y, b.box.width, b.box.height) == (5, 7, 70, 20)
    assert bbox(not_colour(rgba(spec))) == (5, 7, 75, 27)


def test_image_with_half_side_radius_is_a_circle() -> None:
    colour = (20, 90, 200)
    spec = card(
        80,
        80,
        {
            "type": "image",
            "src": solid_png(colour),
            "x": 10,
            "y": 10,
            "width": 60,
            "height": 60,
            "radius": 30,
        },
    )
    px = rgba(spec)
    assert bbox(not_colour(px)) == (10, 10, 70, 70)
    target = np.array([*colour, 255], dtype=np.uint8)
    for y, x in [(10, 10), (10, 69), (69, 10), (69, 69), (14, 14), (65, 65)]:
        assert tuple(px[y, x]) == WHITE, (x, y)
    for y, x in [(40, 40), (12, 40), (40, 12), (67, 40), (40, 67)]:
        assert (px[y, x] == target).all(), (x, y)


def _coverage(px: Pixels) -> NDArray[np.float64]:
    """How much of each pixel black paint covers on white (anti-aliased edges count partly)."""
    return (255 - px[..., 0].astype(np.float64)) / 255


def test_image_with_half_side_radius_has_the_area_of_a_circle() -> None:
    spec = card(
        80,
        80,
        {
            "type": "image",
            "src": solid_png((0, 0, 0)),
            "x": 10,
            "y": 10,
            "width": 60,
            "height": 60,
            "radius": 30,
        },
    )
    area = _coverage(rgba(spec)).sum()
    assert abs(area - np.pi * 30**2) / (np.pi * 30**2) < 0.005


@pytest.mark.parametrize("radius", [0, 6])
def test_image_radius_cuts_only_the_corners(radius: int) -> None:
    """Radius 0 covers the whole box; radius r removes about r² (4 − π), never a whole r × r."""
    spec = card(
        80,
        80,
        {
            "type": "image",
            "src": solid_png((0, 0, 0)),
            "x": 10,
            "y": 10,
            "width": 60,
            "height": 60,
            "radius": radius,
        },
    )
    px = rgba(spec)
    area = _coverage(px).sum()
    if radius == 0:
        assert area == pytest.approx(3600)
        assert tuple(px[10, 10]) == (0, 0, 0, 255)
    else:
        cut = 3600 - area
        assert 0.8 * (4 - np.pi) * radius**2 < cut < 1.3 * (4 - np.pi) * radius**2
        assert tuple(px[10, 10]) == WHITE
        assert tuple(px[10, 10 + radius]) == (0, 0, 0, 255)


# --- tags -------------------------------------------------------------------------------------


def test_tag_background_matches_layout_and_contains_its_text() -> None:
    spec = card(
        300,
        100,
        {
            "type": "tag",
            "text": "Hello tag",
            "x": 50,
            "y": 20,
            "fontSize": 20,
            "backgroundColor": "#0000ff",
            "color": "#ffff00",
            "radius": 0,
        },
    )
    (b,) = lay_out_spec(spec).boxes
    assert isinstance(b, TagBox)
    px = rgba(spec)
    left, top = int(np.floor(b.box.x)), int(np.floor(b.box.y))
    right, bottom = int(np.ceil(b.box.x + b.box.width)), int(np.ceil(b.box.y + b.box.height))
    assert bbox(not_colour(px)) == (left, top, right, bottom)
    # Default padding: 0.6 × fontSize across, 0.3 × fontSize down.
    text_box = b.text.box
    assert text_box.x - b.box.x == pytest.approx(12)
    assert text_box.y - b.box.y == pytest.approx(6)
    assert b.box.width == pytest.approx(text_box.width + 24)
    assert b.box.height == pytest.approx(20 * 1.2 + 12)
    # Yellow text ink on blue: every such pixel is inside the background, clear of the padding.
    yellow = (px[..., 0] > 128) & (px[..., 1] > 128) & (px[..., 2] < 128)
    text_ink = bbox(yellow)
    assert text_ink is not None
    il, it, ir, ib = text_ink
    assert il >= b.box.x + 12 - 2
    assert ir <= b.box.x + b.box.width - 12 + 2
    assert it >= b.box.y + 6 - 2
    assert ib <= b.box.y + b.box.height - 6 + 2
    # The text is roughly centred in the label.
    assert abs((il + ir) / 2 - (b.box.x + b.box.width / 2)) <= 2
    # Blue fills the label where there is no text.
    assert tuple(px[top + 1, left + 2]) == (0, 0, 255, 255)


def test_tag_explicit_padding() -> None:
    spec = card(
        300,
        100,
        {"type": "tag", "text": "Pad", "x": 10, "y": 10, "paddingX": 30, "paddingY": 15},
    )
    (b,) = lay_out_spec(spec).boxes
    assert isinstance(b, TagBox)
    assert b.text.box.x - b.box.x == pytest.approx(30)
    assert b.text.box.y - b.box.y == pytest.approx(15)
    assert b.box.height == pytest.approx(16 * 1.2 + 30)


# --- text stays in its frame ------------------------------------------------------------------


@pytest.mark.parametrize("family", ["Inter", "Roboto", "Playfair Display", "Noto Sans SC"])
@pytest.mark.parametrize("size", [14, 24])
@pytest.mark.parametrize("align", ["left", "center", "right"])
def test_text_ink_stays_inside_its_frame(family: str, size: int, align: str) -> None:
    x, frame = 40, 300
    spec = card(
        400,
        260,
        {
            "type": "text",
            "text": PARAGRAPH,
            "x": x,
            "y": 10,
            "frameWidth": frame,
            "fontSize": size,
            "fontFamily": family,
            "textAlign": align,
        },
    )
    (b,) = lay_out_spec(spec).boxes
    assert isinstance(b, TextBox)
    assert (b.box.x, b.box.width) == (x, frame)
    assert len(b.text.lines) >= 2  # it really wrapped
    for line in b.text.lines:
        assert x - 1e-6 <= line.x
        assert line.x + line.width <= x + frame + 1e-6
    px = rgba(spec)
    found = bbox(ink(px))
    assert found is not None
    left, _, right, bottom = found
    # One pixel of tolerance for anti-aliasing and glyph side bearings.
    assert left >= x - 1
    assert right <= x + frame + 1
    assert bottom <= b.box.y + b.box.height + size * 0.3
    # Not vacuous: the paragraph fills most of the frame.
    assert right - left > frame * 0.8


def _line_ink(px: Pixels, baseline: float, size: float) -> Rect:
    """Ink bounding box of the line whose baseline is `baseline`."""
    top, bottom = int(baseline - 0.85 * size), int(np.ceil(baseline + 0.3 * size))
    found = bbox(ink(px[top:bottom]))
    assert found is not None
    return found[0], found[1] + top, found[2], found[3] + top


@pytest.mark.parametrize("align", ["left", "center", "right"])
def test_text_alignment_places_each_line(align: str) -> None:
    x, frame, size = 30, 320, 16
    spec = card(
        400,
        200,
        {
            "type": "text",
            "text": PARAGRAPH,
            "x": x,
            "y": 10,
            "frameWidth": frame,
            "fontSize": size,
            "textAlign": align,
        },
    )
    (b,) = lay_out_spec(spec).boxes
    assert isinstance(b, TextBox)
    px = rgba(spec)
    shifted = 0
    for line in b.text.lines:
        left, _, right, _ = _line_ink(px, line.baseline, size)
        assert left >= x - 1
        assert right <= x + frame + 1
        slack = frame - line.width
        if align == "left":
            assert left <= x + 2
        elif align == "center":
            assert abs((left + right) / 2 - (x + frame / 2)) <= 2
        else:
            assert right >= x + frame - 2
        if slack > 20:
            shifted += left > x + 10
    # At least one short line, and centre/right actually moved it.
    assert any(frame - line.width > 20 for line in b.text.lines)
    assert (shifted > 0) == (align != "left")


# --- anchors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("anchor", list(ANCHORS))
def test_anchor_moves_a_divider(anchor: str) -> None:
    spec = card(
        400,
        200,
        {"type": "divider", "x": 200, "y": 100, "length": 50, "width": 10, "anchor": anchor},
    )
    fx, fy = ANCHORS[anchor]
    left, top = int(200 - fx * 50), int(100 - fy * 10)
    assert bbox(not_colour(rgba(spec))) == (left, top, left + 50, top + 10)


@pytest.mark.parametrize("anchor", list(ANCHORS))
def test_anchor_moves_a_tag(anchor: str) -> None:
    tag: dict[str, Any] = {"type": "tag", "text": "Anchored", "x": 200, "y": 100, "radius": 0}
    reference = bbox(not_colour(rgba(card(400, 200, tag))))
    assert reference is not None
    assert reference[:2] == (200, 100)
    w, h = reference[2] - reference[0], reference[3] - reference[1]
    found = bbox(not_colour(rgba(card(400, 200, {**tag, "anchor": anchor}))))
    assert found is not None
    fx, fy = ANCHORS[anchor]
    assert abs(found[0] - (200 - fx * w)) <= 1
    assert abs(found[1] - (100 - fy * h)) <= 1
    assert abs((found[2] - found[0]) - w) <= 1
    assert abs((found[3] - found[1]) - h) <= 1


def test_anchor_centres_a_text_box_on_its_point() -> None:
    spec = card(
        400, 200, {"type": "text", "text": "Centre", "x": 200, "y": 100, "anchor": "center"}
    )
    (b,) = lay_out_spec(spec).boxes
    assert b.box.x + b.box.width / 2 == pytest.approx(200)
    assert b.box.y + b.box.height / 2 == pytest.approx(100)
    found = bbox(ink(rgba(spec)))
    assert found is not None
    assert abs((found[0] + found[2]) / 2 - 200) <= 2


# --- line height and letter spacing -----------------------------------------------------------


@pytest.mark.parametrize("line_height", [1.0, 1.2, 1.5, 2.0])
def test_line_height_sets_the_line_pitch(line_height: float) -> None:
    size = 20
    spec = card(
        120,
        200,
        {
            "type": "text",
            "text": "H\nH\nH",
            "x": 10,
            "y": 5,
            "fontSize": size,
            "lineHeight": line_height,
        },
    )
    (b,) = lay_out_spec(spec).boxes
    assert isinstance(b, TextBox)
    baselines = [line.baseline for line in b.text.lines]
    assert len(baselines) == 3
    for a, c in zip(baselines, baselines[1:], strict=False):
        assert c - a == pytest.approx(line_height * size)
    assert b.box.height == pytest.approx(3 * line_height * size)
    # The same pitch in pixels: the tops of the three H's.
    rows = np.nonzero(ink(rgba(spec)).any(axis=1))[0]
    tops = [int(rows[0])] + [int(r) for p, r in zip(rows, rows[1:], strict=False) if r > p + 1]
    assert len(tops) == 3
    for a, c in zip(tops, tops[1:], strict=False):
        assert abs((c - a) - line_height * size) <= 1


@pytest.mark.parametrize("spacing", [-1.0, 2.0, 5.0, 10.0])
def test_letter_spacing_widens_the_line(spacing: float) -> None:
    text = "HELLO WORLD"

    def spec(s: float) -> dict[str, Any]:
        return card(
            400,
            60,
            {"type": "text", "text": text, "x": 10, "y": 10, "fontSize": 20, "letterSpacing": s},
        )

    (plain,) = lay_out_spec(spec(0)).boxes
    (spaced,) = lay_out_spec(spec(spacing)).boxes
    assert isinstance(plain, TextBox)
    assert isinstance(spaced, TextBox)
    grow = spaced.text.lines[0].width - plain.text.lines[0].width
    assert grow == pytest.approx(len(text) * spacing, abs=0.5)
    ink_plain, ink_spaced = bbox(ink(rgba(spec(0)))), bbox(ink(rgba(spec(spacing))))
    assert ink_plain is not None
    assert ink_spaced is not None
    ink_grow = (ink_spaced[2] - ink_spaced[0]) - (ink_plain[2] - ink_plain[0])
    # Between the first and the last glyph there are len - 1 gaps.
    assert abs(ink_grow - (len(text) - 1) * spacing) <= 2


# --- opacity, transparency, scale -------------------------------------------------------------


def test_divider_opacity_blends_with_the_background() -> None:
    spec = card(
        60,
        40,
        {
            "type": "divider",
            "x": 10,
            "y": 10,
            "length": 40,
            "width": 10,
            "color": "#ff0000",
            "opacity": 0.5,
        },
    )
    px = rgba(spec).astype(int)
    r, g, b, a = px[15, 30]
    assert r == 255
    assert abs(g - 128) <= 2
    assert abs(b - 128) <= 2
    assert a == 255
    assert tuple(px[2, 2]) == WHITE


def test_tag_opacity_fades_text_and_background_together() -> None:
    """Half-transparent tag: background over white is mid-grey, and text is not punched through."""
    spec = card(
        200,
        60,
        {
            "type": "tag",
            "text": "Fade",
            "x": 10,
            "y": 10,
            "fontSize": 20,
            "radius": 0,
            "backgroundColor": "#000000",
            "color": "#000000",
            "opacity": 0.5,
        },
    )
    px = rgba(spec).astype(int)
    inside = px[12:14, 12:20, :3]
    assert (np.abs(inside - 128) <= 2).all()
    (b,) = lay_out_spec(spec).boxes
    region = px[
        int(b.box.y) + 1 : int(b.box.y + b.box.height) - 1,
        int(b.box.x) + 1 : int(b.box.x + b.box.width) - 1,
        :3,
    ]
    # Same-coloured text under a group opacity must not darken the overlap.
    assert region.min() >= 125


def test_transparent_background_has_zero_alpha() -> None:
    spec = card(
        50,
        40,
        {"type": "divider", "x": 10, "y": 10, "length": 20, "width": 5, "color": "#00ff00"},
        background="transparent",
    )
    data = render(spec, "png")
    with Image.open(io.BytesIO(data)) as im:
        assert im.mode == "RGBA" or "transparency" in im.info  # two colours: a palette + tRNS
        px = np.asarray(im.convert("RGBA"))
    assert (px[..., 3][not_colour(px, (0, 255, 0, 255))] == 0).all()
    assert bbox(px[..., 3] > 0) == (10, 10, 30, 15)
    assert tuple(px[12, 15]) == (0, 255, 0, 255)


def test_opaque_background_colour_fills_the_canvas() -> None:
    px = rgba(
        card(
            30,
            20,
            {"type": "divider", "length": 1, "x": 29, "y": 19, "width": 1},
            background="#336699",
        )
    )
    assert (px[:19, :] == np.array([0x33, 0x66, 0x99, 255], dtype=np.uint8)).all()


@pytest.mark.parametrize("direction", ["horizontal", "vertical"])
def test_scale_two_doubles_size_and_rectangles(direction: str) -> None:
    spec = card(
        100,
        60,
        {
            "type": "divider",
            "x": 10,
            "y": 20,
            "length": 50,
            "width": 4,
            "direction": direction,
            "color": "#00ff00",
        },
    )
    one, two = rgba(spec), rgba(spec, scale=2)
    assert one.shape == (60, 100, 4)
    assert two.shape == (120, 200, 4)
    r1 = bbox(not_colour(one))
    r2 = bbox(not_colour(two))
    assert r1 is not None
    assert r2 == tuple(2 * v for v in r1)


def test_scale_fraction_rounds_output_size() -> None:
    spec = card(101, 51, {"type": "divider", "length": 10})
    assert rgba(spec, scale=1.5).shape[:2] == (round(51 * 1.5), round(101 * 1.5))
