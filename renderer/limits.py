"""The bounds every entry point (library, CLI, server) enforces before any drawing.

One frozen `Limits` value is shared by all three ways in; a caller may pass a tighter one. The
defaults keep a single render within about 70 MB of pixel buffers (16.8 megapixels × 4 bytes) and
a few hundred milliseconds, so hostile input fails in milliseconds instead of allocating gigabytes.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    max_side: int = 4096  # px, per canvas side (before scale)
    max_pixels: int = 16_777_216  # device pixels after scale (4096 × 4096)
    max_scale: float = 4.0  # device-pixel ratio
    max_components: int = 200
    max_text_length: int = 5000  # characters per text or tag
    max_font_size: float = 1000.0  # px
    max_json_depth: int = 32  # nesting of objects and arrays in a spec
    max_json_bytes: int = 5_000_000  # size of a spec document
    max_number_digits: int = 32  # digits in one JSON number literal
    max_image_pixels: int = 40_000_000  # decoded pixels of one source image
    max_image_bytes: int = 20_000_000  # encoded bytes of one source image


DEFAULT_LIMITS = Limits()
