"""Our own PNG writer: valid (Pillow and Chromium decode it to the same pixels), deterministic,
and `compression="small"` really is smaller."""

from __future__ import annotations

import io
import os
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
from renderer.encode import adler32_combine, write_png
from renderer.raster import Raster

ROOT = Path(__file__).resolve().parent.parent
CARD = ROOT / "examples" / "blog.json"


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


@pytest.mark.parametrize("compression", ["fast", "small"])
def test_png_decodes_to_the_raster(compression: str) -> None:
    png = renderer.render(CARD, "png", compression=compression)  # type: ignore[arg-type]
    tiff = renderer.render(CARD, "tiff")  # lossless, written by Pillow
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert np.array_equal(_pixels(png), _pixels(tiff))
    again = renderer.render(CARD, "png", compression=compression)  # type: ignore[arg-type]
    same_pixels = np.array_equal(_pixels(again), _pixels(png))
    assert again == png, f"same card, other bytes ({'same' if same_pixels else 'other'} pixels)"


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
        renderer.render(CARD, "png", compression="tiny")  # type: ignore[arg-type]


def test_chromium_decodes_it(tmp_path: Path) -> None:
    chromium = find_chromium()
    if chromium is None:
        if os.environ.get("RENDERER_REQUIRE_CHROMIUM"):
            pytest.fail("RENDERER_REQUIRE_CHROMIUM is set but no chromium was found")
        pytest.skip("no chromium on this machine (CI installs Debian's chromium)")
    for compression in ("fast", "small"):
        png = tmp_path / f"{compression}.png"
        png.write_bytes(renderer.render(CARD, "png", compression=compression))  # type: ignore[arg-type]
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
