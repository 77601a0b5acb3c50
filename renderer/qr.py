"""QR codes: data and an error-correction level in, the module matrix as runs out.

Encoded by segno (ISO/IEC 18004, pure Python, maintained), which picks the densest mode for
the data (numeric, alphanumeric, byte as UTF-8, kanji) and the smallest version that holds it
at the level asked for, exactly that level (no silent boost). The matrix is kept as runs of
dark modules along each row, what the scene draws as one path of rectangles. Encoding a 1,000
character URL takes tens of milliseconds, so results are cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

__all__ = ["QrCode", "encode"]


@dataclass(frozen=True, slots=True)
class QrCode:
    """A QR symbol as runs of dark modules per row: a few hundred rectangles to draw instead
    of thousands of squares."""

    modules: int  # per side, without the quiet zone
    version: int  # 1..40
    runs: tuple[tuple[int, int, int], ...]  # (row, first column, length) of dark modules


@lru_cache(maxsize=128)
def encode(data: str, error: str) -> QrCode:
    """The code for `data` at error correction `error` (L, M, Q or H); raises `ValueError`
    when no QR code holds that much data at that level."""
    import segno

    code = segno.make_qr(data, error=error.lower(), boost_error=False)
    runs: list[tuple[int, int, int]] = []
    for r, row in enumerate(code.matrix):
        c, n = 0, len(row)
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                runs.append((r, start, c - start))
            else:
                c += 1
    version = code.version
    return QrCode(len(code.matrix), version if isinstance(version, int) else 0, tuple(runs))
