"""Where the bundled data lives: `fonts/` and `schemas/` beside the package in a checkout, or
inside it (`renderer/_data/`) in an installed wheel. Nothing is read from system folders."""

from __future__ import annotations

from functools import cache
from pathlib import Path

__all__ = ["data_dir"]

_PACKAGE = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """The folder `name` ("fonts" or "schemas"), wherever this installation keeps it."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    msg = f"renderer's bundled {name!r} folder is missing; reinstall the package"
    raise FileNotFoundError(msg)
