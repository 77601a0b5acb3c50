"""Hostile PNGs for the image tests, built by hand so no decoder is involved in making them."""

from __future__ import annotations

import struct
import zlib

__all__ = ["icc_rgb_profile", "png_declaring"]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A few dozen bytes that declare a `width` × `height` RGB image (an IHDR, one empty IDAT):
    a decompression bomb's header without the bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b""))
        + _chunk(b"IEND", b"")
    )


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz_tag(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


# sRGB's primaries adapted to D50, as an ICC profile states them.
SRGB_RED, SRGB_GREEN, SRGB_BLUE = (
    (0.4361, 0.2225, 0.0139),
    (0.3851, 0.7169, 0.0971),
    (
        0.1431,
        0.0606,
        0.7141,
    ),
)


def icc_rgb_profile(
    red: tuple[float, float, float] = SRGB_RED,
    green: tuple[float, float, float] = SRGB_GREEN,
    blue: tuple[float, float, float] = SRGB_BLUE,
    gamma: float = 2.2,
) -> bytes:
    """A minimal ICC v2 display profile (matrix and one gamma per channel), built by hand.
    With red and blue swapped it turns a file's pure red into sRGB blue: a colour-management
    bug cannot hide behind a subtle tint."""
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    tags = [
        (b"wtpt", _xyz_tag(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _xyz_tag(*red)),
        (b"gXYZ", _xyz_tag(*green)),
        (b"bXYZ", _xyz_tag(*blue)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body + b"\0" * (-len(body) % 4)
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + b"\0\0\0\0"
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 24
        + struct.pack(">I", 0)  # perceptual
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)
    )
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + data
