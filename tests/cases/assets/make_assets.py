"""Regenerate the image assets the golden cases use (run by hand; the PNGs are committed).

    python tests/cases/assets/make_assets.py

Every PNG asset is drawn from shapes with Pillow, so its provenance is this file; `logo.svg` is
written by hand (a vector mark like `logo.png`). Each stays under 10 KB. If you change one, rerun
`pytest --update-goldens` and look at the goldens it rewrote.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SUPERSAMPLE = 4  # draw big, shrink with LANCZOS: smooth edges without hand-made antialiasing


def _shrink(big: Image.Image, size: tuple[int, int]) -> Image.Image:
    return big.resize(size, Image.Resampling.LANCZOS)


def avatar() -> Image.Image:
    """96×96 opaque portrait: a head and shoulders on a teal ground (square, for round crops)."""
    s = SUPERSAMPLE
    im = Image.new("RGB", (96 * s, 96 * s), (20, 184, 166))
    d = ImageDraw.Draw(im)
    d.ellipse([18 * s, 66 * s, 78 * s, 126 * s], fill=(30, 41, 59))  # shoulders
    d.ellipse([31 * s, 18 * s, 65 * s, 56 * s], fill=(253, 215, 170))  # face
    d.chord([29 * s, 14 * s, 67 * s, 50 * s], 180, 360, fill=(120, 53, 15))  # hair
    d.ellipse([40 * s, 34 * s, 44 * s, 38 * s], fill=(30, 41, 59))  # eyes
    d.ellipse([52 * s, 34 * s, 56 * s, 38 * s], fill=(30, 41, 59))
    d.arc([41 * s, 38 * s, 55 * s, 48 * s], 20, 160, fill=(190, 18, 60), width=s * 2)  # smile
    return _shrink(im, (96, 96))


def photo() -> Image.Image:
    """64×40 landscape: a sky gradient, a sun and two hills (a photo-like, non-square source)."""
    s = SUPERSAMPLE
    w, h = 64 * s, 40 * s
    im = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(im)
    for y in range(h):  # sky: deep blue at the top to pale orange at the horizon
        t = y / (h - 1)
        d.line([(0, y), (w, y)], fill=(int(30 + 220 * t), int(64 + 120 * t), int(175 - 60 * t)))
    d.ellipse([40 * s, 6 * s, 52 * s, 18 * s], fill=(255, 220, 90))
    d.ellipse([-20 * s, 24 * s, 40 * s, 70 * s], fill=(22, 101, 52))
    d.ellipse([24 * s, 28 * s, 90 * s, 76 * s], fill=(21, 128, 61))
    return _shrink(im, (64, 40))


def logo() -> Image.Image:
    """64×64 RGBA mark with a fully transparent ground, a hole and a half-transparent dot."""
    s = SUPERSAMPLE
    im = Image.new("RGBA", (64 * s, 64 * s), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle([4 * s, 4 * s, 60 * s, 60 * s], radius=14 * s, fill=(124, 58, 237, 255))
    d.ellipse([18 * s, 18 * s, 46 * s, 46 * s], fill=(0, 0, 0, 0))  # hole: see-through
    d.ellipse([40 * s, 40 * s, 62 * s, 62 * s], fill=(250, 204, 21, 160))  # 63 % opaque
    return _shrink(im, (64, 64))


def tiny(kind: str) -> bytes:
    """A 16×16 quartered square, encoded as `kind`: what the data-URI and base64 cases embed."""
    im = Image.new("RGB", (16, 16), (239, 68, 68))
    d = ImageDraw.Draw(im)
    d.rectangle([8, 0, 15, 7], fill=(59, 130, 246))
    d.rectangle([0, 8, 7, 15], fill=(34, 197, 94))
    d.rectangle([8, 8, 15, 15], fill=(250, 204, 21))
    buf = io.BytesIO()
    if kind == "PNG":
        im.save(buf, "PNG", optimize=True)
    elif kind == "JPEG":
        im.save(buf, "JPEG", quality=95, subsampling=0)
    else:
        im.save(buf, "WEBP", lossless=True)
    return buf.getvalue()


def main() -> None:
    for name, image in (("avatar", avatar()), ("photo", photo()), ("logo", logo())):
        path = HERE / f"{name}.png"
        image.save(path, "PNG", optimize=True)
        print(f"{path.name}: {image.size[0]}×{image.size[1]}, {path.stat().st_size} bytes")
    for kind in ("PNG", "JPEG", "WEBP"):
        data = base64.b64encode(tiny(kind)).decode("ascii")
        print(f"tiny {kind} ({len(data)} base64 characters):\n{data}")


if __name__ == "__main__":
    main()
