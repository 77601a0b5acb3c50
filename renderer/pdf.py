"""PDF: a `Scene` in, a one-page PDF document (bytes) out.

The same painter as the raster (`raster.paint_onto`), on cairo's PDF surface: shapes, glyph
outlines and QR modules stay vectors (glyphs of one colour as Type 3 fonts of their outlines,
each glyph written once: `pdftext`), gradients stay PDF shadings, colour emoji stay drawings;
images embed the pixels the raster would draw at `scale` (no more than their displayed
resolution × scale), and a blurred shadow is its blurred silhouette at that resolution (PDF
has no blur). The page is the card at its size in CSS px, 1 px = 0.75 pt: a device scale maps
the painter's device units (`scale` per CSS px) onto points.

Deterministic: cairo stamps a creation date (the clock) into the document information; it is
set to a fixed date here, and nothing else cairo writes depends on the time or the machine, so
the same scene gives the same bytes.
"""

from __future__ import annotations

import io

from .cairolib import cairocffi as cairo
from .errors import RasterError
from .raster import paint_onto
from .scene import Scene

__all__ = ["PT_PER_PX", "build_pdf"]

PT_PER_PX = 0.75  # CSS: 96 px to the inch, PDF: 72 pt
_EPOCH = "2000-01-01T00:00:00Z"  # what the document says it was made: a fixed date


def build_pdf(scene: Scene, scale: float = 1.0) -> bytes:
    """The scene as a PDF page of `scene.width` × `scene.height` CSS px; images and blurred
    shadows at `scale` device pixels per CSS px."""
    out = io.BytesIO()
    try:
        surface = cairo.PDFSurface(out, scene.width * PT_PER_PX, scene.height * PT_PER_PX)
        surface.set_metadata(cairo.PDF_METADATA_CREATE_DATE, _EPOCH)
        surface.set_device_scale(PT_PER_PX / scale, PT_PER_PX / scale)
        ctx = cairo.Context(surface)
        paint_onto(ctx, scene, scale, (scene.width * scale, scene.height * scale), True)
        surface.finish()
    except cairo.Error as e:
        msg = f"cairo could not write the PDF: {e}"
        raise RasterError(msg) from e
    return out.getvalue()
