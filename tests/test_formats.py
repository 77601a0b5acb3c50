"""Every output format: right signature, right size, right pixels, deterministic bytes.

The PNG raster is the reference: lossless formats must decode to exactly its pixels, lossy ones
must stay within a stated mean absolute difference (per channel, 0–255 scale, over the card):
JPEG ≤ 4, WEBP ≤ 5, AVIF ≤ 6 at their default qualities. Those bounds are about twice what the
current encoders produce on the test card, and far below what a wrong image gives (> 30).
"""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from renderer import Format, render

FORMATS = ["svg", "png", "jpeg", "webp", "tiff", "avif"]
RASTER = ["png", "jpeg", "webp", "tiff", "avif"]
LOSSY_BOUND = {"jpeg": 4.0, "webp": 5.0, "avif": 6.0}
PIL_NAME = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "tiff": "TIFF", "avif": "AVIF"}
SVG_NS = "{http://www.w3.org/2000/svg}"
SVG_ELEMENTS = {"svg", "path", "rect", "image", "g", "defs", "clipPath"}


def _solid_png(colour: tuple[int, int, int]) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buf, "PNG")  # at least as large as its box
    return base64.b64encode(buf.getvalue()).decode("ascii")


def make_spec(background: str = "#f0e8d8") -> dict[str, Any]:
    """A small card with one of each component, opacity, a rounded image and CJK text."""
    return {
        "width": 160,
        "height": 90,
        "background": background,
        "components": [
            {
                "type": "text",
                "text": "Hello 世界",
                "x": 8,
                "y": 8,
                "fontSize": 20,
                "color": "#222222",
            },
            {"type": "tag", "text": "Tag", "x": 8, "y": 50, "opacity": 0.7},
            {
                "type": "image",
                "src": _solid_png((10, 120, 200)),
                "x": 100,
                "y": 10,
                "width": 50,
                "height": 50,
                "radius": 10,
            },
            {"type": "divider", "x": 8, "y": 80, "length": 140, "color": "#ff0000"},
        ],
    }


SPEC = make_spec()
MAGIC: dict[str, Any] = {
    "svg": lambda b: b.startswith(b"<svg "),
    "png": lambda b: b.startswith(b"\x89PNG\r\n\x1a\n"),
    "jpeg": lambda b: b.startswith(b"\xff\xd8\xff") and b.endswith(b"\xff\xd9"),
    "webp": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP",
    "tiff": lambda b: b[:4] in (b"II*\x00", b"MM\x00*"),
    "avif": lambda b: b[4:12] in (b"ftypavif", b"ftypavis"),
}


def decode(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def pixels(data: bytes) -> NDArray[np.int64]:
    return np.asarray(decode(data).convert("RGBA")).astype(np.int64)


@pytest.fixture(scope="module")
def reference() -> NDArray[np.int64]:
    return pixels(render(SPEC, "png"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_magic_bytes(fmt: str) -> None:
    assert MAGIC[fmt](render(SPEC, fmt))


@pytest.mark.parametrize("fmt", FORMATS)
def test_magic_bytes_are_not_shared(fmt: str) -> None:
    """The checks above can fail: each format's bytes pass only their own signature check."""
    data = render(SPEC, fmt)
    assert [f for f in FORMATS if MAGIC[f](data)] == [fmt]


@pytest.mark.parametrize("fmt", RASTER)
@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_decoded_size(fmt: str, scale: float) -> None:
    im = decode(render(SPEC, fmt, scale=scale))
    assert im.format == PIL_NAME[fmt]
    assert im.size == (round(160 * scale), round(90 * scale))


def test_svg_is_well_formed_with_the_card_size() -> None:
    root = ET.fromstring(render(SPEC, "svg"))
    assert root.tag == SVG_NS + "svg"
    assert root.get("width") == "160"
    assert root.get("height") == "90"
    assert root.get("viewBox") == "0 0 160 90"


def test_svg_uses_only_font_independent_elements() -> None:
    """Text is glyph outlines, so the SVG looks the same on a machine without the fonts."""
    data = render(SPEC, "svg")
    assert b"<text" not in data
    assert b"<use" not in data
    assert b"font-family" not in data
    assert b"@font-face" not in data
    root = ET.fromstring(data)
    tags = {el.tag.removeprefix(SVG_NS) for el in root.iter()}
    assert tags <= SVG_ELEMENTS
    assert {"path", "rect", "image"} <= tags  # the card's text, tag/divider and image are there
    for el in root.iter(SVG_NS + "image"):
        href = el.get("{http://www.w3.org/1999/xlink}href") or el.get("href") or ""
        assert href.startswith("data:image/png;base64,")


@pytest.mark.parametrize("fmt", ["png", "tiff"])
def test_lossless_formats_match_the_png_raster(fmt: str, reference: NDArray[np.int64]) -> None:
    got = pixels(render(SPEC, fmt))
    assert got.shape == reference.shape
    assert (got == reference).all()


@pytest.mark.parametrize("fmt", sorted(LOSSY_BOUND))
def test_lossy_formats_stay_close_to_the_png_raster(fmt: str, reference: NDArray[np.int64]) -> None:
    got = pixels(render(SPEC, fmt))
    assert got.shape == reference.shape
    mad = np.abs(got[..., :3] - reference[..., :3]).mean()
    assert mad <= LOSSY_BOUND[fmt]
    # And a wrong picture would not pass: a blank card is far off.
    blank = np.full_like(reference, 255)
    assert np.abs(blank[..., :3] - reference[..., :3]).mean() > 3 * LOSSY_BOUND[fmt]


def test_svg_rasterised_independently_matches_the_png() -> None:
    """The SVG itself (not only the raster path) draws the card: cairosvg on it gives the PNG."""
    import cairosvg

    from_svg = cairosvg.svg2png(bytestring=render(SPEC, "svg"))
    a, b = pixels(from_svg), pixels(render(SPEC, "png"))
    assert a.shape == b.shape
    assert np.abs(a - b).max() <= 1


@pytest.mark.parametrize("fmt", ["png", "webp", "tiff", "avif"])
def test_transparent_background_keeps_alpha(fmt: str) -> None:
    data = render(make_spec("transparent"), fmt)
    im = decode(data)
    assert "A" in im.getbands()
    px = pixels(data)
    assert px[2, 155, 3] <= 2  # empty corner: transparent
    assert px[88, 2, 3] <= 2
    assert px[81, 50, 3] >= 250  # on the red divider: opaque and red (lossy chroma allowed)
    assert px[81, 50, 0] >= 200
    assert px[81, 50, 1] <= 60


def test_opaque_card_has_no_alpha_channel() -> None:
    for fmt in ("png", "tiff"):
        assert decode(render(SPEC, fmt)).mode == "RGB"
    divider = {"type": "divider", "x": 0, "y": 10, "length": 40, "color": "#ff0000"}
    card = {"width": 40, "height": 20, "background": "#102030", "components": [divider]}
    few = decode(render(card, "png"))
    assert few.mode == "P"  # two colours: a palette, with no transparency entry
    assert "transparency" not in few.info


def test_jpeg_composites_transparency_on_white() -> None:
    data = render(make_spec("transparent"), "jpeg")
    im = decode(data)
    assert im.mode == "RGB"
    px = np.asarray(im).astype(int)
    assert (px[0:5, 150:160] >= 250).all()  # transparent corner became white, not black
    assert px[81, 50, 0] >= 230
    assert px[81, 50, 1] <= 30


@pytest.mark.parametrize("fmt", sorted(LOSSY_BOUND))
def test_quality_changes_lossy_file_size(fmt: str) -> None:
    low, mid, high = (len(render(SPEC, fmt, quality=q)) for q in (10, 50, 95))
    assert low < mid < high


@pytest.mark.parametrize("fmt", sorted(LOSSY_BOUND))
def test_higher_quality_is_closer_to_the_reference(fmt: str, reference: NDArray[np.int64]) -> None:
    def error(q: int) -> float:
        return float(
            np.abs(pixels(render(SPEC, fmt, quality=q))[..., :3] - reference[..., :3]).mean()
        )

    assert error(95) < error(10)


@pytest.mark.parametrize("quality", [0, 101, -5, "high", 50.0, "90"])
def test_bad_quality_is_a_value_error(quality: Any) -> None:
    with pytest.raises(ValueError, match="quality must be an integer from 1 to 100"):
        render(SPEC, "jpeg", quality=quality)


def test_bool_quality_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="quality"):
        render(SPEC, "jpeg", quality=True)


@pytest.mark.parametrize("name", ["bmp", "gif", "eps", "", "png8"])
def test_unknown_format_names_the_allowed_ones(name: str) -> None:
    with pytest.raises(ValueError, match=r"Allowed: svg, png, jpeg, webp, tiff, avif, pdf") as info:
        render(SPEC, name)
    assert repr(name) in str(info.value)


@pytest.mark.parametrize(
    ("alias", "fmt"),
    [
        ("JPG", "jpeg"),
        ("tif", "tiff"),
        ("image/webp", "webp"),
        ("image/svg+xml", "svg"),
        (".png", "png"),
        (Format.AVIF, "avif"),
    ],
)
def test_format_aliases(alias: Any, fmt: str) -> None:
    assert MAGIC[fmt](render(SPEC, alias))


@pytest.mark.parametrize("fmt", FORMATS)
def test_rendering_is_deterministic(fmt: str) -> None:
    first = render(SPEC, fmt)
    assert render(SPEC, fmt) == first
    assert render(make_spec(), fmt) == first  # an equal spec built afresh


def test_rendering_is_deterministic_across_processes() -> None:
    """A fresh interpreter (cold caches, another hash seed) writes the same SVG and PNG bytes."""
    code = (
        "import sys, hashlib, json; sys.path.insert(0, sys.argv[1]);"
        "from test_formats import SPEC; from renderer import render;"
        "print(json.dumps({f: hashlib.sha256(render(SPEC, f)).hexdigest() for f in "
        "('svg', 'png', 'webp')}))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code, os.path.dirname(__file__)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=120,
    ).stdout
    import hashlib
    import json

    here = {f: hashlib.sha256(render(SPEC, f)).hexdigest() for f in ("svg", "png", "webp")}
    assert json.loads(out) == here


def test_different_specs_give_different_bytes() -> None:
    """Determinism is not constant output: moving one divider changes every format."""
    moved = make_spec()
    moved["components"][3] = {**moved["components"][3], "y": 70}
    for fmt in FORMATS:
        assert render(moved, fmt) != render(SPEC, fmt)


def test_svg_embeds_images_at_no_more_than_their_own_resolution() -> None:
    """A 10 px source shown at 100 px: the SVG carries the 10 px image (the viewer scales it),
    the PNG is drawn at full resolution; a 400 px source shown at 40 px is embedded at 40 px."""
    import re

    def spec(side: int, shown: int) -> dict[str, Any]:
        buf = io.BytesIO()
        Image.new("RGB", (side, side), (30, 120, 200)).save(buf, "PNG")
        src = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
        image = {"type": "image", "src": src, "width": shown, "height": shown}
        return {"width": 120, "height": 120, "components": [image]}

    for side, shown, embedded in ((10, 100, 10), (400, 40, 40)):
        svg = render(spec(side, shown), "svg")
        data = re.search(rb'href="data:image/png;base64,([^"]+)"', svg)
        assert data is not None
        assert Image.open(io.BytesIO(base64.b64decode(data.group(1)))).size == (embedded, embedded)
    png = pixels(render(spec(10, 100), "png"))
    assert (png[5:95, 5:95, :3] == (30, 120, 200)).all()


# --- WEBP: lossless from a palette for flat cards, lossy for photographs --------------------------


def _webp_kind(data: bytes) -> bytes:
    """The first chunk after the RIFF header: b"VP8L" lossless, b"VP8 " lossy (b"VP8X" leads
    both when there is alpha or metadata)."""
    return data[12:16]


def _noise_card() -> dict[str, Any]:
    rng = np.random.default_rng(3)
    noise = Image.fromarray(rng.integers(0, 256, (90, 80, 3), dtype=np.uint8), "RGB")
    buf = io.BytesIO()
    noise.save(buf, "PNG")
    src = base64.b64encode(buf.getvalue()).decode("ascii")
    photo = {"type": "image", "src": src, "x": 0, "y": 0, "width": 80, "height": 90}
    return {"width": 160, "height": 90, "background": "#ffffff", "components": [photo]}


def test_webp_of_a_flat_card_is_lossless_and_within_ten_levels(
    reference: NDArray[np.int64],
) -> None:
    data = render(SPEC, "webp")
    assert _webp_kind(data) == b"VP8L"
    moved = np.abs(pixels(data) - reference)
    assert moved.max() <= 10


def test_webp_of_a_photograph_is_lossy_unless_quality_is_100() -> None:
    card = _noise_card()
    assert _webp_kind(render(card, "webp")) == b"VP8 "
    exact = render(card, "webp", quality=100)
    assert _webp_kind(exact) == b"VP8L"
    assert (pixels(exact) == pixels(render(card, "png"))).all()


@pytest.mark.parametrize("fmt", ["jpeg", "avif"])
def test_lossy_formats_keep_full_colour_resolution(fmt: str) -> None:
    """No chroma subsampling: a red rule one pixel wide on white (coloured text, a thin border)
    keeps its colour. With 4:2:0 its colour is averaged with the white beside it: AVIF drew the
    rule (255, 146, 145), 110 levels off, and 1,200 pixels of the hello card more than 40 off."""
    rule = {"type": "divider", "x": 0, "y": 10, "length": 64, "width": 1, "color": "#ff0000"}
    card = {"width": 64, "height": 32, "background": "#ffffff", "components": [rule]}
    px = pixels(render(card, fmt, quality=100))
    red = px[10, 8:56, :3]
    assert np.abs(red - [255, 0, 0]).max() <= 12, red[:4]
