"""Our own PNG writer: valid (Pillow and Chromium decode it to the same pixels), deterministic,
and `compression="small"` really is smaller."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from browser import _run, find_chromium
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import renderer
from renderer import parallel
from renderer.encode import Compression, _unique, adler32_combine, quantize, write_png
from renderer.raster import Raster

ROOT = Path(__file__).resolve().parent.parent
CARD = ROOT / "examples" / "blog.json"


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


def test_png_decodes_to_the_raster() -> None:
    png = renderer.render(CARD, "png")
    tiff = renderer.render(CARD, "tiff")  # lossless, written by Pillow
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert np.array_equal(_pixels(png), _pixels(tiff))
    again = renderer.render(CARD, "png")
    same_pixels = np.array_equal(_pixels(again), _pixels(png))
    assert again == png, f"same card, other bytes ({'same' if same_pixels else 'other'} pixels)"


def test_small_moves_no_channel_of_a_flat_card_by_more_than_ten() -> None:
    """The blog card has 1,225 colours, nearly all of them edge shades: `small` draws it as a
    palette that keeps every channel of every pixel within 10 levels of the exact raster."""
    small = renderer.render(CARD, "png", compression="small")
    exact = _pixels(renderer.render(CARD, "tiff")).astype(int)
    moved = np.abs(_pixels(small).astype(int) - exact)
    assert Image.open(io.BytesIO(small)).mode == "P"
    assert 0 < moved.max() <= 10
    assert moved.mean() < 0.1
    assert renderer.render(CARD, "png", compression="small") == small


def _two_tone(width: int = 60, height: int = 40, background: str = "#ffffff") -> dict[str, object]:
    """A card of few colours: a divider and a rectangle-ish tag on a plain background."""
    return {
        "width": width,
        "height": height,
        "background": background,
        "components": [
            {"type": "divider", "x": 0, "y": 5, "length": width, "color": "#0070f3"},
            {"type": "divider", "x": 3.5, "y": 20.25, "length": 40.3, "color": "#ff000080"},
        ],
    }


@pytest.mark.parametrize("compression", ["fast", "small"])
@pytest.mark.parametrize("background", ["#ffffff", "transparent"])
def test_a_card_of_few_colours_is_an_exact_palette_png(
    compression: Compression, background: str
) -> None:
    spec = _two_tone(background=background)
    png = renderer.render(spec, "png", compression=compression)
    assert Image.open(io.BytesIO(png)).mode == "P"
    assert np.array_equal(_pixels(png), _pixels(renderer.render(spec, "tiff")))


def _rows_filters(png: bytes) -> list[int]:
    """The filter type byte of every row of an 8-bit RGB PNG."""
    image = Image.open(io.BytesIO(png))
    width, height = image.size
    data, pos = b"", 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        if png[pos + 4 : pos + 8] == b"IDAT":
            data += png[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(data)
    stride = width * 3 + 1
    return [raw[row * stride] for row in range(height)]


def _photo_card() -> Raster:
    """A flat card whose left 60 % is noise: photographic rows next to flat ones."""
    rng = np.random.default_rng(7)
    rgb = np.full((64, 100, 3), 240, dtype=np.uint8)
    rgb[8:56, :60] = rng.integers(0, 256, (48, 60, 3), dtype=np.uint8)
    return Raster.from_image(Image.fromarray(rgb, "RGB"))


@pytest.mark.parametrize(("compression", "photo_filter"), [("fast", 2), ("small", 4)])
def test_photographic_rows_are_written_as_differences(compression: str, photo_filter: int) -> None:
    """Rows of a photograph compress far better as differences from the row above (Up when
    fast, Paeth when small); rows of flat colour stay as they are. Both decode exactly."""
    raster = _photo_card()
    png = write_png(raster, compression)  # type: ignore[arg-type]
    assert np.array_equal(_pixels(png), np.asarray(raster.to_image().convert("RGBA")))
    filters = _rows_filters(png)
    assert set(filters[9:56]) == {photo_filter}
    assert set(filters[:8] + filters[57:]) == {0}


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 40),
    st.integers(1, 300),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_any_raster_round_trips(
    width: int, height: int, colours: int, opaque: bool, seed: int
) -> None:
    """fast is exact on any raster; small is exact up to 256 colours, and otherwise moves no
    channel by more than 10 levels."""
    rng = np.random.default_rng(seed)
    table = rng.integers(0, 256, (colours, 4), dtype=np.uint8)
    if opaque:
        table[:, 3] = 255
    rgba = table[rng.integers(0, colours, (height, width))]
    rgba[rgba[..., 3] == 0] = 0  # an invisible pixel has no colour (as the painter leaves it)
    raster = Raster.from_image(Image.fromarray(rgba, "RGBA"))
    assert np.array_equal(_pixels(write_png(raster)), rgba)
    small = _pixels(write_png(raster, "small")).astype(int)
    distinct = len({tuple(p) for p in rgba.reshape(-1, 4)})
    moved = np.abs(small - rgba)[..., : 3 if raster.opaque else 4].max()
    assert moved == 0 if distinct <= 256 else moved <= 10


def test_same_bytes_while_other_threads_render() -> None:
    """A web app renders from many threads; the helper thread is lent to one card at a time and
    the others draw alone. Every PNG of the same card must be the same bytes."""
    import threading

    first = renderer.render(CARD, "png")
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            renderer.render(CARD, "tiff")
            renderer.render(CARD, "png")

    others = [threading.Thread(target=busy) for _ in range(2)]
    for t in others:
        t.start()
    try:
        results = [renderer.render(CARD, "png") for _ in range(40)]
    finally:
        stop.set()
        for t in others:
            t.join()
    assert all(r == first for r in results)


def test_small_is_smaller() -> None:
    fast = renderer.render(CARD, "png")
    small = renderer.render(CARD, "png", compression="small")
    assert len(small) < len(fast)


def test_alpha_is_kept() -> None:
    image = Image.new("RGBA", (5, 3), (10, 20, 30, 0))
    image.putpixel((2, 1), (200, 100, 50, 128))
    decoded = _pixels(write_png(Raster.from_image(image)))
    assert decoded[1, 2].tolist() == [200, 100, 50, 128]
    assert decoded[0, 0, 3] == 0


@pytest.mark.parametrize("height", [1, 2, 3, 64])
@pytest.mark.parametrize("opaque", [True, False])
def test_two_halves_make_one_valid_stream(height: int, opaque: bool) -> None:
    """The fast writer deflates the upper and lower halves separately and joins them into one
    zlib stream; every height (one row leaves the upper half empty) must decode exactly."""
    rng = np.random.default_rng(height)
    rgba = rng.integers(0, 256, (height, 7, 4), dtype=np.uint8)
    rgba[..., 3] = 255 if opaque else rgba[..., 3]
    rgba[: height // 2, :3, :] = rgba[0, 0]  # some runs for the deflater to find
    decoded = _pixels(write_png(Raster.from_image(Image.fromarray(rgba, "RGBA"))))
    assert np.array_equal(decoded, rgba)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=70_000))
def test_adler32_combine_matches_zlib(a: bytes, b: bytes) -> None:
    assert adler32_combine(zlib.adler32(a), zlib.adler32(b), len(b)) == zlib.adler32(a + b)


@given(
    st.lists(
        st.sampled_from([0, 1, 7, 0xFF00FF00, 0xFFFFFFFE, 0xFFFFFFFF]) | st.integers(0, 2**32 - 1),
        min_size=1,
        max_size=3_000,
    )
)
def test_the_colour_sort_finds_what_np_unique_finds(words: list[int]) -> None:
    """`_unique` (a card's colours and each run's colour, through one sort of packed words)
    gives np.unique's colours and inverse, on repeats, extremes and any uint32."""
    values = np.array(words, dtype=np.uint32)
    expected, inverse = np.unique(values, return_inverse=True)
    got, got_inverse = _unique(values)
    assert got.dtype == np.uint32
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got_inverse, inverse.reshape(-1))


def test_bytes_do_not_depend_on_threads() -> None:
    """The painter's bands and the writer's halves are fixed by the card, not by whether the
    helper thread was free: one thread and two give the same file."""
    before = parallel.threads()
    try:
        parallel.set_threads(2)
        with_helper = renderer.render(CARD, "png")
        parallel.set_threads(1)
        alone = renderer.render(CARD, "png")
    finally:
        parallel.set_threads(before)
    assert alone == with_helper


def test_unknown_compression_is_refused() -> None:
    with pytest.raises(ValueError, match="compression"):
        renderer.render(CARD, "png", compression="tiny")  # type: ignore[call-overload]


def test_chromium_decodes_it(tmp_path: Path) -> None:
    chromium = find_chromium()
    if chromium is None:
        if os.environ.get("RENDERER_REQUIRE_CHROMIUM"):
            pytest.fail("RENDERER_REQUIRE_CHROMIUM is set but no chromium was found")
        pytest.skip("no chromium on this machine (CI installs Debian's chromium)")
    compressions: tuple[Compression, ...] = ("fast", "small")
    for compression in compressions:
        png = tmp_path / f"{compression}.png"
        png.write_bytes(renderer.render(CARD, "png", compression=compression))
        page = tmp_path / f"{compression}.html"
        page.write_text(f'<body style="margin:0"><img src="{png.name}" style="display:block">')
        shot = tmp_path / f"{compression}-shot.png"
        _run(chromium, [f"--screenshot={shot}", "--window-size=1200,630", page.as_uri()])
        seen = np.asarray(Image.open(shot).convert("RGB"))[:630, :1200]
        assert np.array_equal(seen, _pixels(png.read_bytes())[..., :3])


@pytest.mark.parametrize(
    ("env", "cpus", "expected"),
    [("", 2, 2), ("", 1, 1), ("1", 8, 1), ("2", 1, 2), ("0", 4, 2), ("many", 4, 2), ("5", 4, 2)],
)
def test_threads_default_from_cores_and_environment(
    monkeypatch: pytest.MonkeyPatch, env: str, cpus: int, expected: int
) -> None:
    """RENDERER_THREADS=1 turns the helper off; anything unusable falls back to the cores."""
    monkeypatch.setenv("RENDERER_THREADS", env)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cpus)))
    assert parallel._default_threads() == expected


def test_quantize_keeps_fills_exact_and_every_pixel_within_the_error() -> None:
    """A card of two fills and a smooth band of 1,000 shades: the fills keep their exact
    colours, and every shade is drawn within the error asked for, with fewer colours for a
    larger error."""
    x = np.arange(1000)
    band = np.stack([x % 256, (x // 4) % 256, np.full(1000, 128)], axis=-1).astype(np.uint8)
    rgb = np.zeros((60, 1000, 3), dtype=np.uint8)  # the band is 1/6 of it: not a photograph
    rgb[:25] = (250, 240, 230)
    rgb[25:35] = band
    rgb[35:] = (10, 20, 30)
    raster = Raster.from_image(Image.fromarray(rgb, "RGB"))
    sizes = []
    for error in (10, 20):
        palette = quantize(raster, error)
        assert palette is not None
        drawn = palette.bgra()[..., 2::-1].astype(int)
        assert np.abs(drawn - rgb).max() <= error
        assert (drawn[:25] == (250, 240, 230)).all()
        assert (drawn[35:] == (10, 20, 30)).all()
        sizes.append(palette.colours.size)
    assert sizes[1] < sizes[0] <= 256
    assert quantize(raster, 1) is None  # 1,000 shades within 1 level need more than 256
    assert quantize(_photo_card(), 10) is None  # a photograph: no palette is tried
