"""Encoders: an RGBA raster in, the bytes of one output format out (Pillow for every format).

Defaults are chosen for cards (flat colour and text): JPEG at quality 90 without chroma
subsampling (coloured text stays crisp), WEBP at 90, AVIF at 70, speed 6; PNG and TIFF lossless.
An image with no transparent pixel is written without an alpha channel. JPEG has no alpha, so a
transparent card is composited on white. Every encoder here is deterministic.
"""

from __future__ import annotations

import enum
import io
from typing import Any

from PIL import Image

from .errors import EncodeError

__all__ = ["DEFAULT_QUALITY", "Format", "encode"]


class Format(enum.Enum):
    SVG = "svg"
    PNG = "png"
    JPEG = "jpeg"
    WEBP = "webp"
    TIFF = "tiff"
    AVIF = "avif"

    @property
    def content_type(self) -> str:
        return "image/svg+xml" if self is Format.SVG else f"image/{self.value}"

    @property
    def extension(self) -> str:
        return {"jpeg": "jpg", "tiff": "tif"}.get(self.value, self.value)

    @property
    def lossy(self) -> bool:
        return self in (Format.JPEG, Format.WEBP, Format.AVIF)

    @classmethod
    def parse(cls, name: str | Format) -> Format:
        """Accepts a name, an extension (`jpg`, `tif`) or a content type."""
        if isinstance(name, Format):
            return name
        key = name.lower().strip().removeprefix("image/").removeprefix(".")
        key = {"jpg": "jpeg", "tif": "tiff", "svg+xml": "svg"}.get(key, key)
        try:
            return cls(key)
        except ValueError:
            allowed = ", ".join(f.value for f in cls)
            msg = f"Unknown format {name!r}. Allowed: {allowed}."
            raise ValueError(msg) from None


DEFAULT_QUALITY = {Format.JPEG: 90, Format.WEBP: 90, Format.AVIF: 70}


def _opaque(image: Image.Image) -> bool:
    low, _ = image.getchannel("A").getextrema()
    return bool(low == 255)


def _flatten(image: Image.Image) -> Image.Image:
    """Drop alpha when nothing is transparent; smaller files, same pixels."""
    if _opaque(image):
        return image.convert("RGB")
    return image


def _on_white(image: Image.Image) -> Image.Image:
    if _opaque(image):
        return image.convert("RGB")
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, image).convert("RGB")


def encode(image: Image.Image, fmt: Format, quality: int | None = None) -> bytes:
    """Encode an RGBA image; `quality` (1–100) applies to JPEG, WEBP and AVIF only."""
    q = quality if quality is not None else DEFAULT_QUALITY.get(fmt, 0)
    options: dict[str, Any]
    match fmt:
        case Format.PNG:
            target, name, options = _flatten(image), "PNG", {"compress_level": 6}
        case Format.JPEG:
            target, name = _on_white(image), "JPEG"
            options = {"quality": q, "subsampling": 0, "optimize": True}
        case Format.WEBP:
            target, name, options = _flatten(image), "WEBP", {"quality": q, "method": 4}
        case Format.TIFF:
            target, name, options = _flatten(image), "TIFF", {"compression": "tiff_adobe_deflate"}
        case Format.AVIF:
            target, name, options = _flatten(image), "AVIF", {"quality": q, "speed": 6}
        case Format.SVG:
            msg = "SVG is written by the SVG builder, not by an encoder"
            raise EncodeError(msg)
    buf = io.BytesIO()
    try:
        target.save(buf, name, **options)
    except (OSError, ValueError, KeyError) as e:
        msg_0 = f"Could not encode {fmt.value.upper()}: {e}"
        raise EncodeError(msg_0) from e
    return buf.getvalue()
