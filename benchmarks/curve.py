"""Bytes against fidelity for the palette steps of `compression="small"` and of WEBP: for each
card and each allowed error (levels of 255 any channel of any pixel may move), each palette's
colours, its mean distance to the exact raster (mean |difference| per channel, 0-255), and the
bytes it gives: PNG small from `quantize`'s palette, WEBP (our VP8L writer) from `cover`'s.
Error 0 is the exact file (PNG: RGB, libdeflate level 10; WEBP: libwebp lossless, for a card of
more than 256 colours). JSON lines, then a Markdown table on stderr.

Usage: python benchmarks/curve.py [--cards blog,cjk] [--errors 0,2,4,6,8,10,12,16,24,32]
"""

from __future__ import annotations

import argparse
import io
import json
import sys

import numpy as np
from cards import card_path

from renderer.api import prepare
from renderer.encode import Palette, _indexed_png, _rgb_png, cover, quantize
from renderer.raster import Raster, paint_scene
from renderer.spec import parse_card
from renderer.vp8l import encode_indexed


def _raster(name: str) -> Raster:
    return paint_scene(prepare(parse_card(card_path(name))).scene())


def _webp(raster: Raster, palette: Palette | None) -> int:
    if palette is not None:
        return len(encode_indexed(palette.indices, palette.colours, not raster.opaque))
    buf = io.BytesIO()
    raster.to_image().save(buf, "WEBP", lossless=True, method=2, quality=0)
    return len(buf.getvalue())


def _distance(exact: Raster, palette: Palette | None) -> tuple[float, int]:
    if palette is None:
        return 0.0, 0
    moved = np.abs(palette.bgra().astype(int) - exact.bgra.astype(int))[..., :3]
    return round(float(moved.mean()), 4), int(moved.max())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cards", default="blog,cjk")
    p.add_argument("--errors", default="0,2,4,6,8,10,12,16,24,32")
    args = p.parse_args()
    rows = []
    for name in args.cards.split(","):
        exact = _raster(name)
        for error in (int(e) for e in args.errors.split(",")):
            small = quantize(exact, error, exact_first=False) if error else None
            webp = cover(exact, error) if error else None
            if error and (small is None or webp is None):
                continue  # no palette of 256 colours gets this near
            png = len(
                _rgb_png(exact, "small") if small is None else _indexed_png(exact, small, "small")
            )
            (mean, most), (webp_mean, webp_most) = _distance(exact, small), _distance(exact, webp)
            line = {"bench": "palette-curve", "card": name, "max_error": error}
            line |= {"colours": 0 if small is None else small.colours.size}
            line |= {"mean_distance": mean, "max_moved": most, "png_bytes": png}
            line |= {"webp_colours": 0 if webp is None else webp.colours.size}
            line |= {"webp_mean_distance": webp_mean, "webp_max_moved": webp_most}
            line |= {"webp_bytes": _webp(exact, webp)}
            rows.append(line)
            print(json.dumps(line), flush=True)
    print(
        "| card | max error | colours | mean distance | PNG bytes | WEBP colours "
        "| WEBP mean distance | WEBP bytes |",
        file=sys.stderr,
    )
    print("|---|---|---|---|---|---|---|---|", file=sys.stderr)
    for r in rows:
        shown = r["colours"] or "exact"
        cells = [
            r["card"],
            r["max_error"],
            shown,
            r["mean_distance"],
            r["png_bytes"],
            r["webp_colours"] or "exact",
            r["webp_mean_distance"],
            r["webp_bytes"],
        ]
        print("| " + " | ".join(str(c) for c in cells) + " |", file=sys.stderr)


if __name__ == "__main__":
    main()
