"""Raster stage: SVG bytes in, an RGBA Pillow image of the device-pixel size out.

CairoSVG parses the SVG the builder wrote (never a user's) and draws it with cairo; the
premultiplied BGRA surface is turned into straight-alpha RGBA with NumPy so every encoder starts
from the same pixels. Size: round(width × scale) × round(height × scale).
"""

from __future__ import annotations

import cairosvg.parser
import cairosvg.surface
import numpy as np
from PIL import Image

from .errors import RasterError

__all__ = ["rasterize"]


def _unpremultiply(bgra: np.ndarray) -> np.ndarray:
    alpha = bgra[..., 3:4].astype(np.uint32)
    rgb = bgra[..., 2::-1].astype(np.uint32)
    safe = np.maximum(alpha, 1)
    straight = np.where(alpha > 0, (rgb * 255 + safe // 2) // safe, 0)
    out = np.empty(bgra.shape, dtype=np.uint8)
    out[..., :3] = np.minimum(straight, 255)
    out[..., 3:] = alpha
    return out


def rasterize(svg: bytes, scale: float = 1.0) -> Image.Image:
    try:
        tree = cairosvg.parser.Tree(bytestring=svg, unsafe=False)
        surface = cairosvg.surface.PNGSurface(tree, None, 96, scale=scale)
        cairo_surface = surface.cairo
        cairo_surface.flush()
        w, h, stride = (
            cairo_surface.get_width(),
            cairo_surface.get_height(),
            cairo_surface.get_stride(),
        )
        data = np.frombuffer(cairo_surface.get_data(), dtype=np.uint8)
        bgra = data.reshape(h, stride)[:, : w * 4].reshape(h, w, 4)
        pixels = _unpremultiply(bgra)
        surface.finish()
    except Exception as e:  # cairo reports out-of-memory and invalid sizes this way
        msg = f"cairo could not draw the card: {e}"
        raise RasterError(msg) from e
    return Image.fromarray(pixels, "RGBA")
