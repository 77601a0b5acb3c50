"""renderer: Craftr-compatible JSON card specs to SVG, PNG, JPEG, WEBP, TIFF and AVIF, offline.

    import renderer
    png = renderer.render({"width": 1200, "height": 630, "components": [...]}, format="png")

Pipeline (one module per stage): spec → resources → layout → imagefit → scene → svg / raster
→ encode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import memory as _memory

with _memory.collector_paused():  # none of what the imports build is garbage
    from . import cairolib  # noqa: F401  first: cairocffi's C declarations come pre-parsed
    from .api import lay_out_spec, render, render_async, validate
    from .encode import Format
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
    from .fonts import FontLibrary, FontSource
    from .limits import DEFAULT_LIMITS, Limits
    from .policy import DEFAULT_POLICY, ImagePolicy
    from .preflight import preflight
    from .report import Report
    from .signing import sign_url

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
    from .batch.many import render_many


def __getattr__(name: str) -> Any:
    """`render_many` is imported when first asked for: `import renderer` loads nothing of the
    batch machinery."""
    if name == "render_many":
        from .batch.many import render_many

        return render_many
    msg = f"module 'renderer' has no attribute {name!r}"
    raise AttributeError(msg)
