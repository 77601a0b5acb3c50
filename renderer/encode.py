"""Encoders: an RGBA raster in, the bytes of one output format out.

Defaults are chosen for cards (flat colour and text) and for speed: JPEG at quality 90 without
chroma subsampling (coloured text stays crisp), WEBP at 90 (method 2), AVIF at 70 (speed 8);
PNG and TIFF lossless.
PNG is written here rather than by Pillow: cards are long runs of one colour, where PNG's "None"
row filter compresses well and costs nothing to compute. `compression="fast"` (the default)
deflates with ISA-L (blog card: 71 KB in 0.4 ms; Pillow: 72 KB in ~13 ms);
`compression="small"` spends more time (zlib level 9, the better of the None and Up filters) for
the smallest file (blog card: 50 KB in ~45 ms). The other formats are Pillow's.
An image with no transparent pixel is written without an alpha channel. JPEG has no alpha, so a
transparent card is composited on white. Every encoder here is deterministic.
"""

from __future__ import annotations

import enum
import io
import os
import struct
import zlib
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from isal import isal_zlib
from PIL import Image

from . import parallel
from .errors import EncodeError
from .raster import Raster

__all__ = [
    "DEFAULT_QUALITY",
    "FORMAT_NAMES",
    "Compression",
    "Format",
    "adler32_combine",
    "encode",
    "write_png",
]

Compression = Literal["fast", "small"]


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
        key = {**_ALIASES, "svg+xml": "svg"}.get(key, key)
        try:
            return cls(key)
        except ValueError:
            allowed = ", ".join(f.value for f in cls)
            msg = f"Unknown format {name!r}. Allowed: {allowed}."
            raise ValueError(msg) from None


_ALIASES = {"jpg": "jpeg", "tif": "tiff"}  # extensions accepted as format names
# Every name `Format.parse` takes as a format (not content types): what an API lists as allowed.
FORMAT_NAMES: tuple[str, ...] = tuple(
    name for f in Format for name in (f.value, *(a for a, v in _ALIASES.items() if v == f.value))
)

_FAST_LEVEL = 2  # ISA-L: level 3 is ~7x slower and no smaller on cards

DEFAULT_QUALITY = {Format.JPEG: 90, Format.WEBP: 90, Format.AVIF: 70}


_pillow_tuned = False


def _reuse_pillow_memory() -> None:
    """Let Pillow keep a few freed image blocks for the next image (its default keeps none).

    Every card hands Pillow a fresh 1200x630 image to encode; without a cached block each one is
    new memory the kernel must fault in page by page, about 1 ms a card: half the time of a JPEG
    and a tenth of a WEBP. Four blocks hold a few cards' worth. Done on the first encode rather
    than at import, and not when PILLOW_BLOCKS_MAX says what the program wants."""
    global _pillow_tuned
    if not _pillow_tuned:
        _pillow_tuned = True
        if "PILLOW_BLOCKS_MAX" not in os.environ:
            core = getattr(Image, "core")  # noqa: B009 - not in the typed API
            core.set_blocks_max(max(4, core.get_blocks_max()))


def _on_white(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, image).convert("RGB")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _scanlines(raster: Raster, up: bool, top: int = 0, bottom: int | None = None) -> np.ndarray:
    """PNG scanlines of rows [top, bottom) straight from the raster's BGRA (one strided copy):
    RGB when opaque, else RGBA, each row prefixed by its filter type, 0 (None) or 2 (Up: minus
    the row above)."""
    bgra = raster.bgra[top:bottom]
    height = bgra.shape[0]
    channels = 3 if raster.opaque else 4
    out = np.empty((height, raster.width * channels + 1), dtype=np.uint8)
    out[:, 0] = 2 if up else 0
    pixels = out[:, 1:].reshape(height, raster.width, channels)
    # One channel at a time: NumPy copies these 3x faster than a reversed slice of all three.
    pixels[..., 0], pixels[..., 1], pixels[..., 2] = bgra[..., 2], bgra[..., 1], bgra[..., 0]
    if channels == 4:
        pixels[..., 3] = bgra[..., 3]
    if up:
        rows = out[:, 1:].copy()
        out[1:, 1:] = rows[1:] - rows[:-1]  # modulo 256, as PNG defines it
    return out  # zlib reads it through the buffer protocol: no copy to bytes


@dataclass(frozen=True, slots=True)
class _Deflated:
    body: bytes  # raw deflate
    adler: int  # Adler-32 of the scanlines
    size: int  # bytes of scanlines


def _deflate_rows(raster: Raster, top: int, bottom: int, final: bool) -> _Deflated:
    """The scanlines of rows [top, bottom) as raw deflate (ISA-L), ended with a sync flush
    (byte-aligned, not final) so the next part can follow it in the same stream."""
    lines = _scanlines(raster, False, top, bottom)
    deflater = isal_zlib.compressobj(_FAST_LEVEL, isal_zlib.DEFLATED, -15)
    flush = isal_zlib.Z_FINISH if final else isal_zlib.Z_SYNC_FLUSH
    body = deflater.compress(lines) + deflater.flush(flush)
    return _Deflated(body, isal_zlib.adler32(lines), lines.nbytes)


def adler32_combine(adler1: int, adler2: int, size2: int) -> int:
    """The Adler-32 of A + B from those of A and B and B's length (zlib's adler32_combine)."""
    base = 65521
    rem = size2 % base
    sum1 = adler1 & 0xFFFF
    sum2 = (rem * sum1) % base
    sum1 += (adler2 & 0xFFFF) + base - 1
    sum2 += ((adler1 >> 16) & 0xFFFF) + ((adler2 >> 16) & 0xFFFF) + base - rem
    sum1 = sum1 - base if sum1 >= base else sum1
    sum1 = sum1 - base if sum1 >= base else sum1
    sum2 = sum2 - 2 * base if sum2 >= 2 * base else sum2
    sum2 = sum2 - base if sum2 >= base else sum2
    return sum1 | (sum2 << 16)


def _fast_idat(raster: Raster) -> bytes:
    """One zlib stream from two halves deflated independently, the lower on the helper thread
    when it is free. The halves are the same either way (the split is by row count), so the
    bytes do not depend on threads; the cost is the second half starting without the first
    half's dictionary (tens of bytes on a card)."""
    middle = raster.height // 2
    with parallel.helper() as pool:
        if pool is None:
            lower = _deflate_rows(raster, middle, raster.height, final=True)
            upper = _deflate_rows(raster, 0, middle, final=False)
        else:
            pending = pool.submit(_deflate_rows, raster, middle, raster.height, True)
            upper = _deflate_rows(raster, 0, middle, final=False)
            lower = pending.result()
    adler = adler32_combine(upper.adler, lower.adler, lower.size)
    return b"\x78\x9c" + upper.body + lower.body + struct.pack(">I", adler)


def write_png(raster: Raster, compression: Compression = "fast") -> bytes:
    """An 8-bit RGB (opaque) or RGBA PNG with no metadata: equal pixels give equal bytes."""
    if compression == "fast":  # ISA-L deflate: ~7x zlib level 3's speed, ~15 % larger
        idat = _fast_idat(raster)
    else:
        idat = min((zlib.compress(_scanlines(raster, up).data, 9) for up in (False, True)), key=len)
    colour_type = 2 if raster.opaque else 6
    header = struct.pack(">IIBBBBB", raster.width, raster.height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def encode(
    raster: Raster, fmt: Format, quality: int | None = None, compression: Compression = "fast"
) -> bytes:
    """Encode a drawn card; `quality` (1–100) applies to JPEG, WEBP and AVIF only,
    `compression` to PNG only. A card with no transparent pixel is written without alpha."""
    q = quality if quality is not None else DEFAULT_QUALITY.get(fmt, 0)
    options: dict[str, Any]
    match fmt:
        case Format.PNG:
            if compression not in ("fast", "small"):
                msg = f"compression must be 'fast' or 'small'. Received: {compression!r}."
                raise ValueError(msg)
            return write_png(raster, compression)
        case Format.SVG:
            msg = "SVG is written by the SVG builder, not by an encoder"
            raise EncodeError(msg)
    _reuse_pillow_memory()
    match fmt:
        case Format.JPEG:
            target, name = _on_white(raster.to_image()), "JPEG"
            options = {"quality": q, "subsampling": 0}  # Huffman optimizing: 3x time, -12 %
        case Format.WEBP:
            # method 2: half of method 4's time for ~3 % more bytes on cards
            target, name, options = raster.to_image(), "WEBP", {"quality": q, "method": 2}
        case Format.TIFF:
            target, name = raster.to_image(), "TIFF"
            options = {"compression": "tiff_adobe_deflate"}
        case Format.AVIF:
            # speed 8: a quarter of speed 6's time for ~8 % more bytes on cards
            target, name, options = raster.to_image(), "AVIF", {"quality": q, "speed": 8}
        case _:  # PNG and SVG returned above
            raise AssertionError(fmt)
    buf = io.BytesIO()
    try:
        target.save(buf, name, **options)
    except (OSError, ValueError, KeyError) as e:
        msg_0 = f"Could not encode {fmt.value.upper()}: {e}"
        raise EncodeError(msg_0) from e
    return buf.getvalue()
