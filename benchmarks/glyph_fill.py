"""What filling glyphs another way would buy, and what it would cost in fidelity: the trade-off
behind the cjk card's PNG time (issue 16), measured rather than argued.

Filling the outlines is most of a text card's painting (cairo scan-converts each run at 256 levels
of coverage, the rule that keeps every pixel the same as CairoSVG's, the reference). Each
alternative is swapped into `renderer.raster` for the measurement only:

- `exact`: as shipped.
- `coverage-16`: the same fills at cairo's `ANTIALIAS_FAST` (a 4 x 4 grid: 16 levels, as resvg
  and Takumi draw).
- `line-runs`: a line's consecutive one-colour runs filled as one path (a CJK line is a run per
  character, since the font comes in unicode-range slices, each its own face).
- `glyph-masks`: each glyph's coverage drawn once per (face, matrix, glyph, 1/256 px offset) into
  an A8 mask and kept; a run is its glyphs' masks composited with `cairo_mask_surface`. Warm
  (every mask cached: the same card again); `cold_paint_ms` is the first paint.

Per card and variant: paint time (median, interleaved rounds), PNG bytes (default compression),
and the distance to the exact raster (mean |difference| per channel, 0-255; the largest; pixels
that differ). JSON lines, then a Markdown table on stderr.

Usage: python benchmarks/glyph_fill.py [--cards hello,blog,cjk] [--rounds 6] [--iter 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import cairocffi as cairo
import numpy as np
from cards import card_path

from renderer import raster as _raster
from renderer.api import prepare
from renderer.encode import write_png
from renderer.model import Color
from renderer.scene import GlyphRunItem, Scene
from renderer.spec import parse_card

_FAST = 4  # CAIRO_ANTIALIAS_FAST
R: Any = _raster  # its private parts are what is swapped


def _solid(g: Any) -> bool:
    return isinstance(g, GlyphRunItem) and isinstance(g.paint, Color) and g.stroke is None


@contextmanager
def _patched(**names: Any) -> Iterator[None]:
    saved = {name: getattr(R, name) for name in names}
    for name, value in names.items():
        setattr(R, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(R, name, value)


@contextmanager
def _coverage_16() -> Iterator[None]:
    fill = R._fill  # every one-colour run goes through it (a band plan's, _fill_solid's)

    def fill_fast(p: Any, entry: Any, device: bool) -> None:
        R._C.cairo_set_antialias(p, _FAST)
        fill(p, entry, device)
        R._C.cairo_set_antialias(p, 0)

    with _patched(_fill=fill_fast):
        yield


@contextmanager
def _line_runs() -> Iterator[None]:
    data = R._glyph_data
    keep: list[Any] = []

    def merged(scene: Scene, scale: float, fonts: bool = False) -> Any:
        d = data(scene, scale, fonts)
        items: list[Any] = list(scene.items)
        i = 0
        while i < len(items):
            g = items[i]
            if not (_solid(g) and id(g) in d.runs):
                i += 1
                continue
            j = i + 1
            while j < len(items) and _solid(items[j]) and id(items[j]) in d.runs:
                if items[j].paint != g.paint or items[j].y != g.y:
                    break
                j += 1
            if j > i + 1:  # the runs' path data lie one after another: one path spans them
                group = [d.runs[id(h)] for h in items[i:j]]
                path = R.ffi.new("cairo_path_t *")
                path.data, path.num_data = group[0].path.data, sum(r.path.num_data for r in group)
                keep.append(path)
                top, bottom = min(r.top for r in group), max(r.bottom for r in group)
                d.runs[id(g)] = R._RunPath(path, top, bottom)
                for h in items[i + 1 : j]:
                    del d.runs[id(h)]
            i = j
        return d

    with _patched(_glyph_data=merged):
        yield


@contextmanager
def _glyph_masks() -> Iterator[None]:
    data, paint = R._glyph_data, R.paint_glyph_run
    glyphs_of: dict[int, list[tuple[Any, ...]]] = {}
    masks: dict[tuple[Any, ...], tuple[cairo.ImageSurface, int, int]] = {}

    def with_glyphs(scene: Scene, scale: float, fonts: bool = False) -> Any:
        d = data(scene, scale, fonts)
        glyphs_of.clear()
        for g, turned in R._glyph_runs(scene.items, fonts=fonts):
            if turned is not None or not _solid(g):
                continue
            k = g.size / g.face.upem
            xx, yx, xy, yy, x0, y0 = R._run_matrix(g, scale)
            key = (g.face.key, xx, yx, xy, yy)
            table, placed = R._device_paths[key], []
            for gid, gx, gy in g.glyphs:
                path = table[gid]
                if not path.empty:  # the start `_glyph_data` gives the glyph, in 1/256 px
                    mx, my = R._q(gx / k + path.x, 1), R._q(gy / k + path.y, 1)
                    sx = round(((xx * mx + xy * my) + x0) * 256)
                    sy = round(((yx * mx + yy * my) + y0) * 256)
                    placed.append((key, gid, path, sx, sy))
            glyphs_of[id(g)] = placed
        return d

    def mask(key: Any, gid: int, path: Any, fx: int, fy: int) -> tuple[Any, int, int]:
        found = masks.get((key, gid, fx, fy))
        if found is None:
            points = path.recs[path.points]
            left, top = np.floor((points.min(0) + (fx, fy)) / 256).astype(int) - 1
            right, bottom = np.ceil((points.max(0) + (fx, fy)) / 256).astype(int) + 1
            surface = cairo.ImageSurface(cairo.FORMAT_A8, int(right - left), int(bottom - top))
            recs = path.recs.copy()
            recs[path.points] = (recs[path.points] + (fx - left * 256, fy - top * 256)) / 256
            c_path = R.ffi.new("cairo_path_t *")
            c_path.data = R.ffi.cast("cairo_path_data_t *", R.ffi.from_buffer(recs))
            c_path.num_data = len(recs)
            ctx = cairo.Context(surface)
            R._C.cairo_append_path(ctx._pointer, c_path)
            R._C.cairo_fill(ctx._pointer)
            surface.flush()
            found = masks[(key, gid, fx, fy)] = (surface, int(left), int(top))
        return found

    def paint_masks(ctx: Any, g: Any, glyphs: Any, band: tuple[int, int]) -> None:
        placed = glyphs_of.get(id(g))
        if placed is None:
            paint(ctx, g, glyphs, band)
            return
        p = ctx._pointer
        R._C.cairo_set_source_rgba(p, *R._rgba(g.paint))
        for key, gid, path, sx, sy in placed:
            surface, left, top = mask(key, gid, path, sx & 255, sy & 255)
            R._C.cairo_mask_surface(p, surface._pointer, (sx >> 8) + left, (sy >> 8) + top)

    def unplanned(scene: Scene, glyphs: Any, band: tuple[int, int]) -> list[Any]:
        return list(scene.items)  # every run through paint_glyph_run, so through the masks

    with _patched(_glyph_data=with_glyphs, paint_glyph_run=paint_masks, _band_plan=unplanned):
        yield


VARIANTS: dict[str, Callable[[], Any]] = {
    "exact": nullcontext,
    "coverage-16": _coverage_16,
    "line-runs": _line_runs,
    "glyph-masks": _glyph_masks,
}


def _timed(scene: Scene, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        R.paint_scene(scene)
        times.append((time.perf_counter() - start) * 1e3)
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cards", default="hello,blog,cjk")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--iter", type=int, default=10)
    args = p.parse_args()
    rows = []
    for name in args.cards.split(","):
        scene = prepare(parse_card(card_path(name))).scene()
        exact = R.paint_scene(scene)  # also fills the outline caches every variant shares
        times: dict[str, list[float]] = {v: [] for v in VARIANTS}
        drawn, cold = {}, {}
        for variant, swap in VARIANTS.items():
            with swap():
                start = time.perf_counter()
                drawn[variant] = R.paint_scene(scene)
                cold[variant] = (time.perf_counter() - start) * 1e3
        for _ in range(args.rounds):  # interleaved: the machine's speed drifts
            for variant, swap in VARIANTS.items():
                with swap():
                    times[variant] += _timed(scene, args.iter)
        for variant in VARIANTS:
            moved = np.abs(drawn[variant].bgra.astype(int) - exact.bgra.astype(int))[..., :3]
            line = {"bench": "glyph-fill", "card": name, "variant": variant}
            line |= {"paint_ms": round(statistics.median(times[variant]), 3)}
            line |= {"cold_paint_ms": round(cold[variant], 3)}
            line |= {"png_bytes": len(write_png(drawn[variant]))}
            line |= {"mean_distance": round(float(moved.mean()), 4), "max_moved": int(moved.max())}
            line |= {"pixels_differing": int(np.count_nonzero(moved.max(axis=2)))}
            rows.append(line)
            print(json.dumps(line), flush=True)
    print(
        "| card | fill | paint | PNG bytes | mean distance | max | pixels differing |",
        file=sys.stderr,
    )
    print("|---|---|---|---|---|---|---|", file=sys.stderr)
    for r in rows:
        cells = [
            r["card"],
            r["variant"],
            f"{r['paint_ms']:.2f} ms",
            f"{r['png_bytes'] / 1000:.1f} KB",
            r["mean_distance"],
            r["max_moved"],
            f"{r['pixels_differing']:,}",
        ]
        print("| " + " | ".join(str(c) for c in cells) + " |", file=sys.stderr)


if __name__ == "__main__":
    main()
