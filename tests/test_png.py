"""Our own PNG writer: valid (Pillow and Chromium decode it to the same pixels), deterministic,
and `compression="small"` really is smaller."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from browser import _run, find_chromium
from PIL import Image

import renderer
from renderer.encode import write_png
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
    assert renderer.render(CARD, "png", compression=compression) == png  # type: ignore[arg-type]


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
