"""Writes `photo.jpg`, the benchmark's stand-in for a product photo (ours, generated: no licence
question). A photograph's statistics are what matter to the encoders and the painter: a smooth
colour field, sensor-like grain, and a subject with soft edges. Deterministic (seeded); rerun it
only to change the picture, and commit the JPEG with it.

Usage: python benchmarks/cards/make_photo.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

WIDTH, HEIGHT = 900, 945  # a 600 x 630 box at 1.5x: cover-fitted and resampled every render


def _field(rng: np.random.Generator) -> np.ndarray:
    """Warm, slowly varying colour: a few random plane waves per channel."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH] / max(WIDTH, HEIGHT)
    field = np.empty((HEIGHT, WIDTH, 3))
    for c, base in enumerate((190.0, 150.0, 120.0)):
        wave = np.zeros_like(x)
        for _ in range(4):
            fx, fy, phase = rng.uniform(-3, 3), rng.uniform(-3, 3), rng.uniform(0, 6.3)
            wave += np.sin(2 * np.pi * (fx * x + fy * y) + phase)
        field[..., c] = base + 18 * wave
    return field


def _cup(image: Image.Image) -> Image.Image:
    """A cup seen from above: a pale rim around dark coffee, edges softened like a lens."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    r = np.hypot(xx - WIDTH / 2, yy - HEIGHT / 2)
    rim, coffee = (r < 200), (r < 150)
    pixels = np.asarray(image).copy()
    pixels[rim] = (236, 232, 226)
    pixels[coffee] = (120, 74, 40)
    mask = Image.fromarray(((r < 210) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(3))
    return Image.composite(
        Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(1.5)), image, mask
    )


def main() -> None:
    rng = np.random.default_rng(20261201)
    grain = rng.normal(0, 14, (HEIGHT, WIDTH, 3))
    base = np.clip(_field(rng) + grain, 0, 255).astype(np.uint8)
    image = Image.fromarray(base).filter(ImageFilter.GaussianBlur(0.8))
    out = Path(__file__).with_name("photo.jpg")
    _cup(image).save(out, "JPEG", quality=85, optimize=True)
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
