"""Regenerate the assets of the image fit/position/border/transparency/SVG golden cases.

    python tests/cases/assets/make_image_assets.py

Drawn from shapes with Pillow (and one hand-written SVG), so this file is their provenance. The
stripes and bands make a crop visible at a glance: which colours survive says which part of the
source `fit` and `position` kept.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
COLORS = [(239, 68, 68), (34, 197, 94), (59, 130, 246), (250, 204, 21)]  # red green blue yellow

WORDMARK_SVG = """\
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 40" width="120" height="40">
  <rect x="2" y="2" width="36" height="36" rx="8" fill="#4f46e5"/>
  <path d="M12 28 L20 12 L28 28 Z" fill="#ffffff"/>
  <rect x="46" y="8" width="70" height="8" rx="4" fill="#0f172a"/>
  <rect x="46" y="24" width="48" height="8" rx="4" fill="#64748b"/>
</svg>
"""


def stripes() -> Image.Image:
    """96×48: four vertical stripes, red | green | blue | yellow."""
    im = Image.new("RGB", (96, 48))
    for i, c in enumerate(COLORS):
        im.paste(c, (i * 24, 0, (i + 1) * 24, 48))
    return im


def bands() -> Image.Image:
    """48×96: four horizontal bands, red / green / blue / yellow from the top."""
    im = Image.new("RGB", (48, 96))
    for i, c in enumerate(COLORS):
        im.paste(c, (0, i * 24, 48, (i + 1) * 24))
    return im


def badge() -> Image.Image:
    """20×20: a dark square with a yellow centre, small enough to show `fit: none` placement."""
    im = Image.new("RGB", (20, 20), (15, 23, 42))
    ImageDraw.Draw(im).rectangle([6, 6, 13, 13], fill=COLORS[3])
    return im


def glass() -> Image.Image:
    """64×64 RGBA: a half-transparent blue disc over a fully transparent ground, and an opaque
    white bar (straight alpha, so edges must not darken when resampled)."""
    big = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    d = ImageDraw.Draw(big)
    d.ellipse([16, 16, 240, 240], fill=(59, 130, 246, 128))
    d.rectangle([32, 112, 224, 144], fill=(255, 255, 255, 255))
    return big.resize((64, 64), Image.Resampling.LANCZOS)


def main() -> None:
    stripes().save(HERE / "stripes.png", optimize=True)
    bands().save(HERE / "bands.png", optimize=True)
    badge().save(HERE / "badge.png", optimize=True)
    glass().save(HERE / "glass.png", optimize=True)
    (HERE / "wordmark.svg").write_text(WORDMARK_SVG, encoding="utf-8")


if __name__ == "__main__":
    main()
