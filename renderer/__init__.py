"""renderer: Craftr-compatible JSON card specs to SVG, PNG, JPEG, WEBP, TIFF and AVIF, offline.

    import renderer
    png = renderer.render({"width": 1200, "height": 630, "components": [...]}, format="png")

Pipeline (one module per stage): spec → resources → layout → imagefit → scene → svg / raster
→ encode.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import memory as _memory

with _memory.collector_paused():  # none of what the imports build is garbage
    from .errors import (
        EncodeError,
        FontError,
        FontLoadError,
        ImageLoadError,
        Issue,
        LimitError,
        OutOfMemory,
        RasterError,
        RenderError,
        RenderTimeout,
        ResourceError,
        SpecError,
    )
    from .preflight import preflight  # eager: the submodule's name would otherwise hide it

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_POLICY",
    "EncodeError",
    "FontError",
    "FontLibrary",
    "FontLoadError",
    "FontSource",
    "ImagePolicy",
    "Format",
    "ImageLoadError",
    "Issue",
    "LimitError",
    "Limits",
    "OutOfMemory",
    "RasterError",
    "RenderError",
    "RenderTimeout",
    "Report",
    "ResourceError",
    "SpecError",
    "__version__",
    "lay_out_spec",
    "preflight",
    "render",
    "render_async",
    "render_many",
    "sign_url",
    "validate",
]

if TYPE_CHECKING:
    from .api import lay_out_spec, render, render_async, validate
    from .batch.many import render_many
    from .encode import Format
    from .fonts import FontLibrary, FontSource
    from .limits import DEFAULT_LIMITS, Limits
    from .policy import DEFAULT_POLICY, ImagePolicy
    from .report import Report
    from .signing import sign_url

# Where each name of the API lives: imported on first use, so `import renderer` and the
# commands that draw nothing (`renderer --help`, `validate`, `sign`) load neither
# NumPy, Pillow, cairo nor the raster.
_LAZY = {
    "lay_out_spec": "api",
    "render": "api",
    "render_async": "api",
    "validate": "api",
    "render_many": "batch.many",
    "Format": "encode",
    "FontLibrary": "fonts",
    "FontSource": "fonts",
    "DEFAULT_LIMITS": "limits",
    "Limits": "limits",
    "DEFAULT_POLICY": "policy",
    "ImagePolicy": "policy",
    "Report": "report",
    "sign_url": "signing",
}


def __getattr__(name: str) -> Any:
    """An API name, its module imported the first time one of its names is asked for (with
    the cycle collector held off, as the whole package's import was: none of it is garbage)."""
    where = _LAZY.get(name)
    if where is None:
        msg = f"module 'renderer' has no attribute {name!r}"
        raise AttributeError(msg)
    with _memory.collector_paused():
        value = getattr(importlib.import_module(f".{where}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
