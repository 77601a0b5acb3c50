"""Bytes against fidelity for the palette step of `compression="small"` and of WEBP: for each
card and each allowed error (levels of 255 any channel of any pixel may move), the palette's
colours, its mean distance to the exact raster (mean |difference| per channel, 0-255), and the
PNG and lossless-WEBP bytes it gives. Error 0 is the exact file (RGB, libdeflate level 10, for
a card of more than 256 colours). JSON lines, then a Markdown table on stderr.

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
from renderer.encode import _indexed_png, _rgb_png, quantize
from renderer.raster import Raster, paint_scene
from renderer.spec import parse_card


def _raster(name: str) -> Raster:
    return paint_scene(prepare(parse_card(card_path(name))).scene())


def _webp(raster: Raster) -> int:
    buf = io.BytesIO()
    raster.to_image().save(buf, "WEBP", lossless=True, method=2, quality=0)
    return len(buf.getvalue())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cards", default="blog,cjk")
    p.add_argument("--errors", default="0,2,4,6,8,10,12,16,24,32")
    args = p.parse_args()
    rows = []
    for name in args.cards.split(","):
        exact = _raster(name)
        for error in (int(e) for e in args.errors.split(",")):
            palette = quantize(exact, error, exact_first=False) if error else None
            if error and palette is None:
                continue  # no palette of 256 colours gets this near
            if palette is None:
                drawn, colours, png = exact, 0, len(_rgb_png(exact, "small"))
            else:
                drawn = Raster(exact.width, exact.height, palette.bgra(), exact.opaque)
                colours, png = palette.colours.size, len(_indexed_png(exact, palette, "small"))
            moved = np.abs(drawn.bgra.astype(int) - exact.bgra.astype(int))[..., :3]
            line = {"bench": "palette-curve", "card": name, "max_error": error}
            line |= {"colours": colours, "mean_distance": round(float(moved.mean()), 4)}
            line |= {"max_moved": int(moved.max()), "png_bytes": png, "webp_bytes": _webp(drawn)}
            rows.append(line)
            print(json.dumps(line), flush=True)
    print(
        "| card | max error | colours | mean distance | PNG bytes | WEBP bytes |", file=sys.stderr
    )
    print("|---|---|---|---|---|---|", file=sys.stderr)
    for r in rows:
        shown = r["colours"] or "exact"
        cells = [
            r["card"],
            r["max_error"],
            shown,
            r["mean_distance"],
            r["png_bytes"],
            r["webp_bytes"],
        ]
        print("| " + " | ".join(str(c) for c in cells) + " |", file=sys.stderr)


if __name__ == "__main__":
    main()
