"""Hostile PNGs for the image tests, built by hand so no decoder is involved in making them."""

from __future__ import annotations

import struct
import zlib

__all__ = ["png_declaring"]


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
