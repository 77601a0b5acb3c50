"""Our VP8L writer against libwebp's decoder (through Pillow): every pixel back as written.

The cases are the ones a bit-level writer gets wrong: 1, 2, 4, 16 and 17 colours (pixel bundling
at 8, 4, 2 and 1 indices a byte, the width not a multiple of the bundle), a lone colour (simple
prefix codes), runs past 4,096 pixels (copies split), rows that repeat (copies from above),
noise (every pixel a literal), images one pixel wide or high, and transparency.
"""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from renderer import render
from renderer.encode import _within, cover
from renderer.raster import Raster
from renderer.vp8l import _tokens, encode_indexed


def _colours(n: int, rng: np.random.Generator, alpha: bool = False) -> np.ndarray:
    """n distinct ARGB words (as a raster's B, G, R, A bytes read little-endian)."""
    words = rng.choice(1 << 24, size=n, replace=False).astype(np.uint32)
    a = rng.integers(0, 256, n, dtype=np.uint32) if alpha else np.full(n, 255, dtype=np.uint32)
    colours: np.ndarray = words | (a << 24)
    return colours


def _decoded(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    assert image.format == "WEBP"
    image.load()
    rgba: np.ndarray = np.asarray(image.convert("RGBA"))
    return rgba


def _expected(indices: np.ndarray, colours: np.ndarray) -> np.ndarray:
    bgra = colours[indices].view(np.uint8).reshape(*indices.shape, 4)
    rgba: np.ndarray = bgra[..., [2, 1, 0, 3]]
    return rgba


def _check(indices: np.ndarray, colours: np.ndarray, alpha: bool = False) -> bytes:
    data = encode_indexed(indices, colours, alpha)
    assert data[:4] == b"RIFF"
    assert data[8:16] == b"WEBPVP8L"
    decoded = _decoded(data)
    expected = _expected(indices, colours)
    if not alpha:
        decoded, expected = decoded[..., :3], expected[..., :3]
    assert decoded.shape == expected.shape
    assert np.array_equal(decoded, expected)
    return data


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 16, 17, 200, 256])
@pytest.mark.parametrize("shape", [(1, 1), (1, 37), (29, 1), (13, 77), (40, 301)])
def test_every_palette_size_and_shape_decodes_exactly(n: int, shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(n * 1000 + shape[1])
    colours = _colours(n, rng)
    # blocks of colour (runs, repeated rows) with noise sprinkled in (literals)
    h, w = shape
    blocks = rng.integers(0, n, size=(-(-h // 4), -(-w // 8)))
    indices = np.repeat(np.repeat(blocks, 4, axis=0), 8, axis=1)[:h, :w]
    noise = rng.random(shape) < 0.1
    indices = np.where(noise, rng.integers(0, n, size=shape), indices).astype(np.uint8)
    _check(indices, colours)


def test_long_runs_and_repeated_rows() -> None:
    """A flat 300 x 200 canvas is one run of 60,000 pixels: copies of at most 4,096 each."""
    rng = np.random.default_rng(1)
    colours = _colours(3, rng)
    indices = np.zeros((200, 300), dtype=np.uint8)
    indices[50:60, 10:290] = 1  # a bar: rows that repeat the one above
    indices[120, ::7] = 2
    data = _check(indices, colours)
    assert len(data) < 200  # a few dozen copies, not 60,000 pixels
    start, length, kind = _tokens(indices.reshape(-1), 300)
    assert length.max() <= 4096
    assert length.sum() == indices.size
    assert (kind[length > 1] != 0).all()  # literals are single pixels


def test_transparent_colours_keep_their_alpha() -> None:
    rng = np.random.default_rng(2)
    colours = _colours(9, rng, alpha=True)
    colours[0] = 0  # fully transparent black
    indices = rng.integers(0, 9, size=(31, 45)).astype(np.uint8)
    _check(indices, colours, alpha=True)


def test_noise_is_all_literals_and_still_exact() -> None:
    rng = np.random.default_rng(3)
    colours = _colours(256, rng)
    indices = rng.integers(0, 256, size=(64, 64)).astype(np.uint8)
    _check(indices, colours)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 256),
    h=st.integers(1, 24),
    w=st.integers(1, 70),
    seed=st.integers(0, 2**32 - 1),
    flat=st.floats(0, 1),
)
def test_any_indexed_image_decodes_exactly(n: int, h: int, w: int, seed: int, flat: float) -> None:
    rng = np.random.default_rng(seed)
    colours = _colours(n, rng)
    base = rng.integers(0, n, size=(h, w))
    keep = rng.random((h, w)) < flat  # flat: how much of each row repeats its left pixel
    indices = base.copy()
    for x in range(1, w):
        indices[:, x] = np.where(keep[:, x], indices[:, x - 1], base[:, x])
    _check(indices.astype(np.uint8), colours)


# colours for `_within`: k of them, 1, 3 or 4 channels, spread over `spread` levels
_POINTS = {
    "k": st.integers(1, 300),
    "channels": st.sampled_from([1, 3, 4]),
    "spread": st.integers(1, 256),
    "seed": st.integers(0, 2**32 - 1),
}


def _points(k: int, channels: int, spread: int, seed: int) -> np.ndarray:
    """Random colours with 0 and 255 in every channel among them."""
    points = np.random.default_rng(seed).integers(0, spread, size=(k, channels)).astype(np.int16)
    points[0] = 0
    points[-1] = 255
    return points


def _assert_pairwise(points: np.ndarray, error: int) -> None:
    starts, neighbours = _within(points, error)
    near = (np.abs(points[:, None, :] - points[None, :, :]).max(axis=2) <= error).astype(int)
    assert starts[0] == 0
    assert starts[-1] == neighbours.size
    for i in range(points.shape[0]):
        row = neighbours[starts[i] : starts[i + 1]]
        assert sorted(row.tolist()) == np.flatnonzero(near[i]).tolist()  # each pair once


@settings(max_examples=200, deadline=None)
@given(error=st.integers(0, 40), **_POINTS)
def test_cover_finds_exactly_the_neighbours_a_pairwise_comparison_finds(
    k: int, channels: int, spread: int, error: int, seed: int
) -> None:
    """`_within` compares the channels side by side in one word: with 0 and 255 in every
    channel and errors from 0, it finds the pairs comparing every pair of colours finds."""
    _assert_pairwise(_points(k, channels, spread, seed), error)


@settings(max_examples=150, deadline=None)
@given(error=st.integers(6, 60), **_POINTS)
def test_the_grid_finds_the_same_neighbours(
    k: int, channels: int, spread: int, error: int, seed: int
) -> None:
    """With many candidate pairs `_within` looks for them in a grid of `error + 1` levels a
    side instead (the blog card): forced here for every case the grid is small enough for,
    it finds what comparing every pair finds, at cell edges and at 0 and 255 too."""
    import renderer.encode as encode

    points = _points(k, channels, spread, seed)
    points[k // 2] = min(255, error + 1)  # the first point of the second cell
    before = encode._GRID_FROM
    encode._GRID_FROM = -1
    try:
        _assert_pairwise(points, error)
    finally:
        encode._GRID_FROM = before


def _sweep_by_rule(colours: np.ndarray, counts: np.ndarray, error: int) -> set[int]:
    """`cover`'s palette for distinct RGB `colours` (k, 3) drawn `counts` times each (none a
    fill), found pair by pair as its docstring puts it: the darkest uncovered colour first,
    then of the colours within reach of it the one reaching the most uncovered colours (a
    tie: the darker, then the more frequent, then the lower value)."""
    value = (0xFF << 24) | (colours[:, 0] << 16) | (colours[:, 1] << 8) | colours[:, 2]
    order = np.lexsort((value, -counts))  # most frequent first, as `cover` numbers them
    points, value = colours[order], value[order]
    near = np.abs(points[:, None, :] - points[None, :, :]).max(axis=2) <= error
    darkness = points.sum(axis=1)
    covered = np.zeros(len(points), dtype=bool)
    chosen = set()
    while not covered.all():
        first = min(np.flatnonzero(~covered), key=lambda i: (darkness[i], i))
        reach = np.flatnonzero(near[first])
        leader = max(reach, key=lambda j: (int((near[j] & ~covered).sum()), -darkness[j], -j))
        chosen.add(int(value[leader]))
        covered |= near[leader]
    return chosen


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_cover_sweep_picks_what_its_rule_picks(seed: int) -> None:
    """`cover`'s sweep keeps each colour's count of uncovered neighbours up to date step by
    step (as byte counters, at most 255 rows summed at once): on clouds of shades where one
    entry covers hundreds of colours at once, its palette is the one its rule picks pair by
    pair (every colour a pixel or two on white, so white is the only fill)."""
    rng = np.random.default_rng(seed)
    clouds = []
    for centre, spread, n in (
        ((60, 60, 60), 5, 400),
        ((68, 71, 66), 5, 300),
        ((150, 90, 40), 40, 150),
    ):
        shades = np.clip(np.array(centre) + rng.integers(-spread, spread + 1, (n, 3)), 0, 255)
        clouds.append(shades)
    colours = np.unique(np.concatenate(clouds), axis=0)
    counts = rng.integers(1, 3, size=(colours.shape[0],))
    pixels = np.repeat(colours, counts, axis=0)
    image = np.full((400, 400, 3), 255, dtype=np.uint8)
    image.reshape(-1, 3)[::7][: pixels.shape[0]] = pixels  # 6 white pixels between
    palette = cover(Raster.from_image(Image.fromarray(image, "RGB")), 10)
    assert palette is not None
    got = {int(c) for c in palette.colours.tolist()} - {0xFFFFFFFF}
    assert max(len(c) for c in clouds) > 255  # shades all within reach of one another
    assert got == _sweep_by_rule(colours.astype(np.int64), counts, 10)


def test_bad_sizes_are_refused() -> None:
    colours = np.array([0xFF000000], dtype=np.uint32)
    with pytest.raises(ValueError, match="16384"):
        encode_indexed(np.zeros((1, 16385), dtype=np.uint8), colours, False)
    with pytest.raises(ValueError, match="colours"):
        encode_indexed(np.zeros((2, 2), dtype=np.uint8), np.zeros(0, dtype=np.uint32), False)


def test_a_flat_card_is_written_by_our_writer_within_ten_levels() -> None:
    """The default WEBP of a text card: VP8L of the `cover` palette, every pixel exactly that
    palette's, and no channel more than 10 levels from the PNG's."""
    spec = {
        "width": 600,
        "height": 315,
        "background": "#0f172a",
        "components": [
            {
                "type": "text",
                "text": "Cards as WEBP",
                "fontSize": 56,
                "color": "#f8fafc",
                "x": 40,
                "y": 60,
                "frameWidth": 520,
            },
            {"type": "tag", "text": "lossless", "x": 40, "y": 200},
        ],
    }
    webp = _decoded(render(spec, "webp"))[..., :3].astype(int)
    png = np.asarray(Image.open(io.BytesIO(render(spec, "png"))).convert("RGB")).astype(int)
    assert np.abs(webp - png).max() <= 10
    palette = cover(Raster.from_image(Image.fromarray(png.astype(np.uint8), "RGB")), 10)
    assert palette is not None
    assert palette.colours.size <= 256
    assert np.array_equal(webp, palette.bgra()[..., 2::-1].astype(int))
    assert (webp[0, 0] == (0x0F, 0x17, 0x2A)).all()  # the fill stays exact


def test_the_same_card_gives_the_same_bytes_in_another_process() -> None:
    code = (
        "import sys, hashlib; from renderer import render; "
        "spec = {'width': 300, 'height': 120, 'components': [{'type': 'text', 'text': 'Same', "
        "'fontSize': 40, 'x': 10, 'y': 10}]}; "
        "print(hashlib.sha256(render(spec, 'webp')).hexdigest())"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    }
    assert len(runs) == 1


_DECODE_IN_PAGE = """async (b64) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const blob = new Blob([bytes], { type: "image/webp" });
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none" });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const g = canvas.getContext("2d");
  g.drawImage(bitmap, 0, 0);
  const data = g.getImageData(0, 0, bitmap.width, bitmap.height).data;
  let text = "";
  for (let i = 0; i < data.length; i += 8192) {
    text += String.fromCharCode(...data.subarray(i, i + 8192));
  }
  return [bitmap.width, bitmap.height, btoa(text)];
}"""


def test_chromium_decodes_our_webp_exactly() -> None:
    """What a browser shows of our files: Chromium decodes each (bundled at 2, 4 and 16
    colours, unbundled at 17 and 256, and a real card) to exactly the pixels written."""
    import base64

    from pages import chromium, new_page

    rng = np.random.default_rng(5)
    images: list[tuple[np.ndarray, np.ndarray]] = []
    for n, shape in ((2, (9, 70)), (4, (33, 45)), (16, (20, 101)), (17, (17, 60)), (256, (40, 40))):
        blocks = rng.integers(0, n, size=(-(-shape[0] // 3), -(-shape[1] // 5)))
        indices = np.repeat(np.repeat(blocks, 3, axis=0), 5, axis=1)[: shape[0], : shape[1]]
        images.append((indices.astype(np.uint8), _colours(n, rng)))
    card = {
        "width": 300,
        "height": 120,
        "background": "#fafaf9",
        "components": [{"type": "text", "text": "Decoded", "fontSize": 44, "x": 12, "y": 20}],
    }
    png = np.asarray(Image.open(io.BytesIO(render(card, "png"))).convert("RGB"))
    palette = cover(Raster.from_image(Image.fromarray(png, "RGB")), 10)
    assert palette is not None
    images.append((palette.indices, palette.colours))
    with chromium() as browser, new_page(browser, 320, 200) as (page, errors):
        for indices, colours in images:
            data = encode_indexed(indices, colours, False)
            w, h, pixels = page.evaluate(_DECODE_IN_PAGE, base64.b64encode(data).decode())
            assert (h, w) == indices.shape
            shown = np.frombuffer(base64.b64decode(pixels), np.uint8).reshape(h, w, 4)
            assert np.array_equal(shown, _expected(indices, colours)), f"{colours.size} colours"
        assert errors == []


def test_a_transparent_card_keeps_its_alpha_within_ten_levels() -> None:
    spec = {
        "width": 240,
        "height": 90,
        "background": "transparent",
        "components": [
            {"type": "text", "text": "Clear", "fontSize": 48, "color": "#1d4ed8", "x": 10, "y": 10}
        ],
    }
    data = render(spec, "webp")
    assert data[12:16] == b"VP8L"
    webp = _decoded(data).astype(int)
    png = np.asarray(Image.open(io.BytesIO(render(spec, "png"))).convert("RGBA")).astype(int)
    assert np.abs(webp[..., 3] - png[..., 3]).max() <= 10
    seen = (webp[..., 3] > 0) & (png[..., 3] > 0)
    assert np.abs(webp[..., :3] - png[..., :3])[seen].max() <= 10
    assert (webp[..., 3] == 0).mean() > 0.5  # the canvas stays clear
