"""Image effects: an image's `filter`, applied to its fitted pixels, the same for every painter.

The CSS filter functions of Filter Effects 1, in one fixed order, as CSS
`filter: brightness(b) contrast(c) saturate(s) grayscale(g) blur(r)` applies them: brightness
and contrast are per-channel lines (one lookup table, clamped after each as each SVG primitive
clamps), saturate and grayscale the spec's colour matrices (on straight colour, as
feColorMatrix is), blur a Gaussian of standard deviation `blur` (CSS's blur(): the length is
the deviation, unlike a box shadow's radius) over premultiplied pixels. Everything is sRGB, as
browsers apply the shorthand functions.

Unlike CSS, the blur does not fade the image's edges into transparency: edge pixels extend past
the border (Pillow's box blurs), and the image is clipped to its outline afterwards, so a
blurred photo background stays a full rectangle. The pixels are filtered where the painter gets
them (`imagefit.FittedImage`), so the SVG embeds the filtered image and the raster and PDF draw
it: one picture in every format.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from .model import Filter

__all__ = ["apply"]


def apply(image: Image.Image, f: Filter, density: tuple[float, float]) -> Image.Image:
    """`image` (RGBA) filtered; `density` is its pixels per CSS px across and down (what the
    blur's px are measured in)."""
    out = image
    if f.brightness != 1 or f.contrast != 1:
        out = _lines(out, f.brightness, f.contrast)
    if f.saturate != 1:
        out = _matrix(out, _saturate(f.saturate))
    if f.grayscale > 0:
        out = _matrix(out, _grayscale(min(1.0, f.grayscale)))
    if f.blur > 0:
        out = _blur(out, (f.blur * density[0], f.blur * density[1]))
    return out


def _lines(image: Image.Image, brightness: float, contrast: float) -> Image.Image:
    """brightness(b): v·b; contrast(c): (v - 0.5)·c + 0.5; each clamped to 0..1."""
    v = np.arange(256) / 255
    v = np.clip(v * brightness, 0, 1)
    v = np.clip((v - 0.5) * contrast + 0.5, 0, 1)
    table = np.round(v * 255).astype(np.uint8).tolist()
    return image.point(table * 3 + list(range(256)))  # RGB through the table, alpha as it is


def _saturate(s: float) -> tuple[float, ...]:
    return (
        0.213 + 0.787 * s, 0.715 - 0.715 * s, 0.072 - 0.072 * s, 0.0,
        0.213 - 0.213 * s, 0.715 + 0.285 * s, 0.072 - 0.072 * s, 0.0,
        0.213 - 0.213 * s, 0.715 - 0.715 * s, 0.072 + 0.928 * s, 0.0,
    )  # fmt: skip


def _grayscale(a: float) -> tuple[float, ...]:
    k = 1 - a
    return (
        0.2126 + 0.7874 * k, 0.7152 - 0.7152 * k, 0.0722 - 0.0722 * k, 0.0,
        0.2126 - 0.2126 * k, 0.7152 + 0.2848 * k, 0.0722 - 0.0722 * k, 0.0,
        0.2126 - 0.2126 * k, 0.7152 - 0.7152 * k, 0.0722 + 0.9278 * k, 0.0,
    )  # fmt: skip


def _matrix(image: Image.Image, matrix: tuple[float, ...]) -> Image.Image:
    """A colour matrix on the straight RGB (Pillow rounds and clamps); alpha kept."""
    rgb = image.convert("RGB").convert("RGB", matrix=matrix)
    rgb.putalpha(image.getchannel("A"))
    return rgb


def _blur(image: Image.Image, sigma: tuple[float, float]) -> Image.Image:
    """A Gaussian over premultiplied pixels (an opaque image needs none)."""
    opaque = image.getchannel("A").getextrema() == (255, 255)
    if opaque:
        rgb = image.convert("RGB").filter(ImageFilter.GaussianBlur(sigma))
        rgb.putalpha(255)
        return rgb
    return image.convert("RGBa").filter(ImageFilter.GaussianBlur(sigma)).convert("RGBA")
