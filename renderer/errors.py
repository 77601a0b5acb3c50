"""Every error `renderer` raises on purpose, as one tree, so callers catch at the depth they need.

    RenderError                  base: anything renderer refuses or fails to do
    ├── SpecError (ValueError)   the spec is not a valid card; `issues` names every bad field
    │   └── LimitError           the spec is valid but breaks a `Limits` bound
    ├── ResourceError            an input the spec points at cannot be used
    │   ├── ImageLoadError       an image source is missing, unreadable or not an allowed format
    │   ├── FontError            the bundled fonts are missing or damaged (an installation problem)
    │   └── FontLoadError        a font file the caller or the spec names cannot be used
    ├── RasterError              cairo could not draw the scene (a bug or resource exhaustion)
    ├── EncodeError              an encoder could not write the requested format
    ├── RenderTimeout (TimeoutError)  the render passed the caller's `timeout`
    └── OutOfMemory (MemoryError)     the render needed more memory than the process could get

Only the spec and resources stages raise user-facing errors: layout, scene and SVG building are
total on a validated card, so a caller that got past `resources` gets an image.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

__all__ = [
    "TIMEOUT_ERRORS",
    "EncodeError",
    "FontError",
    "FontLoadError",
    "ImageLoadError",
    "Issue",
    "LimitError",
    "OutOfMemory",
    "RasterError",
    "RenderError",
    "RenderTimeout",
    "ResourceError",
    "SpecError",
]


# What a timed-out wait raises: asyncio's (and dask's) TimeoutError is the builtin one only
# from Python 3.11; on 3.10 catching TimeoutError alone lets a deadline surface as a 500.
# (asyncio is imported only where it is needed from 3.11 on: it is 30 ms of every start.)
TIMEOUT_ERRORS: tuple[type[BaseException], ...]
if sys.version_info >= (3, 11):
    TIMEOUT_ERRORS = (TimeoutError,)
else:
    import asyncio

    TIMEOUT_ERRORS = (TimeoutError, asyncio.TimeoutError)


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem with one field: where (a JSON pointer into the spec) and why."""

    pointer: str
    message: str

    def __str__(self) -> str:
        # "" points at the whole document; "/" would be a key named "" (RFC 6901).
        return f"{self.pointer}: {self.message}" if self.pointer else self.message

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "message": self.message}


class RenderError(Exception):
    """Base of every error renderer raises deliberately."""

    issues: tuple[Issue, ...] = ()


class _IssuesError(RenderError):
    """An error about named fields: the message lists every issue, one per line."""

    def __init__(self, issues: list[Issue] | tuple[Issue, ...]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(str(i) for i in self.issues))

    def __reduce__(self) -> tuple[type[_IssuesError], tuple[tuple[Issue, ...]]]:
        # Rebuilt from `issues`, not the message, so errors keep their pointers across processes.
        return type(self), (self.issues,)


class SpecError(_IssuesError, ValueError):
    """The spec is invalid. `issues` holds every problem found, not just the first."""


class LimitError(SpecError):
    """The spec breaks a configured limit (canvas size, component count, text length, …)."""


class ResourceError(_IssuesError):
    """Something the spec refers to (an image, a font) could not be loaded."""


class ImageLoadError(ResourceError):
    """An image source could not be read, decoded or was refused."""


class FontError(ResourceError):
    """The bundled fonts are missing or unreadable: an installation problem, not a user error."""


class FontLoadError(ResourceError):
    """A font the caller or the spec names cannot be read, is not a font, or was refused."""


class RasterError(RenderError):
    """Drawing the scene failed."""


class EncodeError(RenderError):
    """Encoding the raster into the requested format failed."""


class RenderTimeout(RenderError, TimeoutError):
    """The render was still running at the caller's deadline (`render(..., timeout=...)`)."""


class OutOfMemory(RenderError, MemoryError):
    """The render ran out of memory (the process's own limit, or the machine's). Also a
    `MemoryError`, so code that already catches that keeps working."""
