"""One way to write numbers into SVG, so equal inputs give equal bytes (usvg's writer does this)."""

from __future__ import annotations

__all__ = ["fmt"]


def fmt(value: float, digits: int = 2) -> str:
    """`value` rounded to `digits` decimals, without trailing zeros or a negative zero."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
