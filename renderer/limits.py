"""The bounds every entry point (library, CLI, server) enforces before any drawing.

One frozen `Limits` value is shared by all three ways in; a caller may pass a tighter one, and
`RENDERER_LIMITS` (a JSON object of fields) sets the defaults of a whole process. The
defaults keep a single render within about 70 MB of pixel buffers (16.8 megapixels × 4 bytes) and
a few hundred milliseconds, so hostile input fails in milliseconds instead of allocating gigabytes.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_LIMITS", "ENV_LIMITS", "Limits", "limits_from_env"]


@dataclass(frozen=True, slots=True)
class Limits:
    """The bounds every entry point enforces (library, CLI, server): one object, so a card
    accepted by one is accepted by all. Each bound caps the time or memory a card can ask
    for."""

    max_side: int = 4096  # px, per canvas side (before scale)
    max_pixels: int = 16_777_216  # device pixels after scale (4096 × 4096)
    max_scale: float = 4.0  # device-pixel ratio
    max_components: int = 200
    max_text_length: int = 5000  # characters per text or tag
    max_font_size: float = 1000.0  # px
    max_json_depth: int = 32  # nesting of objects and arrays in a spec
    max_stack_depth: int = 8  # stacks inside stacks (a component on the card is at depth 0)
    max_json_bytes: int = 5_000_000  # size of a spec document, characters
    max_json_items: int = 100_000  # keys and values in a spec document, counted before parsing
    # Characters of every string value of a template once filled from a row (or --var), counted
    # while filling and before the strings are built; the same as max_json_bytes by default, so
    # a filled template is never bigger than a hand-written spec may be.
    max_filled_bytes: int = 5_000_000
    max_number_digits: int = 32  # digits in one JSON number literal
    max_image_pixels: int = 40_000_000  # decoded pixels of one source image
    max_image_bytes: int = 20_000_000  # encoded bytes of one source image
    # The cost model (renderer.budget): work one card may ask for, counted where it is done.
    max_shaped_chars: int = 100_000  # characters shaped (each fontSize "auto" size tried)
    max_image_area: int = 50_331_648  # device px of images resampled (3 × max_pixels)
    max_decoded_pixels: int = 48_000_000  # source px decoded for one card (cached ones free)
    max_glyphs: int = 50_000  # glyphs drawn
    max_emoji: int = 1_000  # colour emoji drawn (each an SVG drawing)
    max_painted_area: int = 400_000_000  # device px painted: glyph em squares, images, rects
    # Fonts (renderer.fontfiles): bytes of one font file as given, what a WOFF or WOFF2 may
    # decode to, and how many fonts a card's own `fonts` list may name.
    max_font_bytes: int = 32_000_000
    max_font_decoded_bytes: int = 64_000_000
    max_spec_fonts: int = 16
    max_spec_font_bytes: int = 16_000_000  # a card's own fonts together, as sanitized
    # Paint (issue 14): what each effect may ask for, checked on the spec.
    max_gradient_stops: int = 32  # colour stops of one gradient
    max_shadows: int = 8  # shadows in one shadow or textShadow list
    max_blur: float = 200.0  # px: a shadow's blur radius, an image filter's blur deviation
    max_blur_area: int = 33_554_432  # device px blurred per card (2 × max_pixels), see budget
    max_qr_data: int = 2000  # characters the card's QR codes encode in all
    # Fixed by the schema, not here (they cost nothing to draw): `rotate` −360° to 360°,
    # shadow offsets and spreads ±1000 px, stroke widths up to 100 px.


ENV_LIMITS = "RENDERER_LIMITS"


def limits_from_env() -> Limits:
    """`Limits()` with the fields `RENDERER_LIMITS` sets, a JSON object such as
    `{"max_shaped_chars": 200000}`: how an operator raises or tightens the defaults of the CLI,
    batch and server without code (render workers inherit the environment)."""
    raw = os.environ.get(ENV_LIMITS, "").strip()
    if not raw:
        return Limits()
    try:
        fields = json.loads(raw)
    except ValueError as e:
        msg = f"{ENV_LIMITS} is not JSON: {e}"
        raise ValueError(msg) from None
    known = {f.name: f.type for f in dataclasses.fields(Limits)}
    if not isinstance(fields, dict) or set(fields) - set(known):
        unknown = sorted(set(fields) - set(known)) if isinstance(fields, dict) else fields
        names = ", ".join(known)
        msg = f"{ENV_LIMITS} must be an object of Limits fields ({names}). Received: {unknown!r}."
        raise ValueError(msg)
    bad = [
        k
        for k, v in fields.items()
        if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0
    ]
    if bad:
        msg = f"{ENV_LIMITS}: {', '.join(bad)} must be positive numbers."
        raise ValueError(msg)
    values: dict[str, Any] = {
        k: float(v) if known[k] == "float" else int(v) for k, v in fields.items()
    }
    return Limits(**values)


DEFAULT_LIMITS = limits_from_env()
