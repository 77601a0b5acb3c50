"""The Python entry points: `render`, `render_async`, `validate`, `lay_out_spec`.

Each call runs the whole pipeline: spec → resources → layout → scene → SVG → raster → encode.
Safe to call from many threads at once: every stage builds new values, and the only shared state
(font faces, glyph outlines, shaped-text and decoded-image caches) is immutable once built or
guarded by a lock.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from .encode import Format, encode
from .layout import CardLayout, lay_out
from .limits import DEFAULT_LIMITS, Limits
from .model import Card
from .raster import rasterize
from .resources import load_resources
from .scene import build_scene
from .spec import SpecInput, parse_card
from .svg import build_svg

__all__ = ["lay_out_spec", "render", "render_async", "validate"]


def validate(spec: SpecInput, *, limits: Limits = DEFAULT_LIMITS, scale: float = 1.0) -> Card:
    """Check a spec without drawing it; returns the resolved card or raises `SpecError`."""
    return parse_card(spec, limits, scale)


def lay_out_spec(
    spec: SpecInput,
    *,
    scale: float = 1.0,
    limits: Limits = DEFAULT_LIMITS,
    base_dir: Path | None = None,
) -> CardLayout:
    """Where every component and every line lands, without drawing (for tests and reports)."""
    card = parse_card(spec, limits, scale, base_dir)
    return lay_out(card, load_resources(card, scale, limits))


def render(
    spec: SpecInput,
    format: str | Format = "png",
    *,
    scale: float = 1.0,
    quality: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
    base_dir: Path | None = None,
) -> bytes:
    """Render a card spec to image bytes.

    `spec`: a dict, JSON text (str or bytes) or a path to a JSON file (relative image paths then
    resolve against its folder; otherwise against `base_dir` or the working folder).
    `format`: svg, png, jpeg, webp, tiff or avif. `scale`: device-pixel ratio (2 = retina).
    `quality`: 1–100 for jpeg, webp and avif (defaults 90, 90, 70).
    Raises `SpecError` (with every issue and its JSON pointer) or another `RenderError`.
    """
    fmt = Format.parse(format)
    if quality is not None and not (isinstance(quality, int) and 1 <= quality <= 100):
        msg = f"quality must be an integer from 1 to 100. Received: {quality!r}."
        raise ValueError(msg)
    layout = lay_out_spec(spec, scale=scale, limits=limits, base_dir=base_dir)
    svg = build_svg(build_scene(layout))
    if fmt is Format.SVG:
        return svg
    return encode(rasterize(svg, scale), fmt, quality)


async def render_async(
    spec: SpecInput,
    format: str | Format = "png",
    *,
    scale: float = 1.0,
    quality: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
    base_dir: Path | None = None,
) -> bytes:
    """`render` in a worker thread, so an asyncio server keeps serving while a card is drawn."""
    return await asyncio.to_thread(
        render, spec, format, scale=scale, quality=quality, limits=limits, base_dir=base_dir
    )
