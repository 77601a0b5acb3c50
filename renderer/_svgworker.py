"""SVG rasterizing worker: runs in its own process, under hard limits, and never opens a URL.

Invoked by `renderer.svgsource` as `python -I _svgworker.py W H FIT SCALE MAX_PIXELS MEMORY`. It
loads CairoSVG, writes `ready` on a line of its own, then reads the SVG from stdin: the parent's
deadline runs from there, so a slow start on a loaded machine is not taken for a bomb. It caps
its own address space, CPU time and file writes before it parses a byte,
measures the SVG's intrinsic size without drawing, draws it once at the size the caller needs, and
writes `"<intrinsic width> <intrinsic height>\\n"` followed by a PNG to stdout. Any failure is one
line on stderr and exit status 1. The parent kills it at its deadline, so a `<use>`/`<pattern>`
amplification bomb costs at most that long; entities are refused by CairoSVG's safe parser
(`unsafe=False`) and every reference except a `data:` URL resolves to nothing.

This file imports nothing from `renderer`, so it starts fast and cannot reach the parent's state.
"""

from __future__ import annotations

import math
import resource
import sys
from typing import Any


def _limit(memory: int, seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _no_fetch(url: str, resource_type: str) -> bytes:
    """References resolve to nothing, except inline `data:` URLs (already in the document)."""
    if url.startswith("data:"):
        from cairosvg.url import fetch

        result: bytes = fetch(url, resource_type)
        return result
    return b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'


def main(argv: list[str]) -> int:
    width, height, fit = int(argv[1]), int(argv[2]), argv[3]
    scale, max_pixels, memory = float(argv[4]), int(argv[5]), int(argv[6])
    import cairocffi
    import cairosvg.parser
    import cairosvg.surface

    _limit(memory, 5)
    sys.stdout.buffer.write(b"ready\n")
    sys.stdout.buffer.flush()
    data = sys.stdin.buffer.read()
    measured: dict[str, float] = {}

    class Measure(cairosvg.surface.PNGSurface):  # type: ignore[misc]
        """Resolves the document's size exactly as drawing would, but draws nothing."""

        def _create_surface(self, w: float, h: float) -> tuple[Any, float, float]:
            measured["w"], measured["h"] = w, h
            return cairocffi.ImageSurface(cairocffi.FORMAT_ARGB32, 1, 1), 1, 1

        def draw(self, node: Any) -> None:
            return None

    try:
        tree = cairosvg.parser.Tree(bytestring=data, unsafe=False, url_fetcher=_no_fetch)
        Measure(tree, None, 96)
        iw, ih = measured["w"], measured["h"]
        if not (iw > 0 and ih > 0 and math.isfinite(iw * ih)):
            msg = "the SVG has no usable width and height"
            raise ValueError(msg)
        factor = scale if fit == "none" else max(width / iw, height / ih)
        if iw * ih * factor * factor > max_pixels:
            factor = math.sqrt(max_pixels / (iw * ih))
        ow, oh = max(1, round(iw * factor)), max(1, round(ih * factor))
        surface = cairosvg.surface.PNGSurface(tree, None, 96, output_width=ow, output_height=oh)
        sys.stdout.buffer.write(f"{iw:.4f} {ih:.4f}\n".encode())
        surface.cairo.write_to_png(sys.stdout.buffer)
        surface.finish()
    except MemoryError:
        sys.stderr.write("the SVG needs more memory than allowed\n")
        return 1
    except Exception as e:  # report any parse/draw failure as one line
        sys.stderr.write(f"{type(e).__name__}: {e}"[:300].replace("\n", " ") + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
