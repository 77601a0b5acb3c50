"""End-to-end and per-stage timings per reference card, as JSON lines.

Output lines have the peer harness's shape (`{"peer", "card", "median_ms", "p90_ms", "png_bytes",
"rss_mb"}`, see ../shared/peers) so both can be tabled together, plus one line per stage
(with `--stages`; a flat card's WEBP also as its palette, `webp-cover`, and its file, `webp-vp8l`).
Cards: see cards.py (the peers' cards when ../shared/cards is there).
Usage: python benchmarks/run.py [--iter 30] [--cards hello,blog,cjk,photo] [--formats png,svg]
       [--stages]   (a format may be png-small: PNG with compression="small")
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cards import NAMES, card_path

import renderer
from renderer import vp8l
from renderer.encode import DEFAULT_QUALITY, Format, cover, encode, webp_error
from renderer.imagefit import fit_images
from renderer.layout import lay_out
from renderer.raster import paint_scene, rasterize
from renderer.resources import load_resources
from renderer.scene import build_scene
from renderer.spec import parse_card
from renderer.svg import build_svg


def _time(fn: Callable[[], Any], iterations: int) -> tuple[dict[str, float], Any]:
    out = None
    for _ in range(3):
        out = fn()
    samples = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        out = fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    p90 = samples[min(len(samples) - 1, int(0.9 * len(samples) + 0.5) - 1)]
    return {"median_ms": round(statistics.median(samples), 3), "p90_ms": round(p90, 3)}, out


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _stages(path: Path, card_name: str, iterations: int) -> None:
    card = parse_card(path)
    res = load_resources(card)
    layout = lay_out(card)
    images = fit_images(layout, res)
    scene = build_scene(layout, images)
    svg = build_svg(scene)
    image = paint_scene(scene)
    steps: dict[str, Callable[[], Any]] = {
        "validate": lambda: parse_card(path),
        "resources": lambda: load_resources(card),
        "layout": lambda: lay_out(card),
        "fit": lambda: fit_images(layout, res),
        "scene": lambda: build_scene(layout, images),
        "svg": lambda: build_svg(scene),
        "paint": lambda: paint_scene(scene),
        "raster-cairosvg": lambda: rasterize(svg),
    }
    for fmt in (Format.PNG, Format.JPEG, Format.WEBP, Format.TIFF, Format.AVIF):
        steps[f"encode-{fmt.value}"] = functools.partial(encode, image, fmt)
    # a flat card's WEBP is these two steps (encode._webp); a photograph has no palette
    error = webp_error(DEFAULT_QUALITY[Format.WEBP])
    steps["webp-cover"] = functools.partial(cover, image, error)
    palette = cover(image, error)
    if palette is not None:
        steps["webp-vp8l"] = functools.partial(
            vp8l.encode_indexed, palette.indices, palette.colours, not image.opaque
        )
    for stage, fn in steps.items():
        stats, _ = _time(fn, iterations)
        print(json.dumps({"peer": "renderer", "stage": stage, "card": card_name, **stats}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--iter", type=int, default=30)
    p.add_argument("--cards", default=",".join(NAMES))
    p.add_argument("--stages", action="store_true", help="also time each pipeline stage")
    p.add_argument("--formats", default="png,svg")
    args = p.parse_args()
    for name in args.cards.split(","):
        path = card_path(name)
        for fmt in args.formats.split(","):
            stats, data = _time(functools.partial(_render, path, fmt), args.iter)
            raster = fmt not in ("svg",)
            print(
                json.dumps(
                    {
                        "peer": f"renderer-{fmt}",
                        "card": name,
                        **stats,
                        "png_bytes": len(data) if raster else 0,
                        "svg_bytes": 0 if raster else len(data),
                        "rss_mb": _rss_mb(),
                    }
                ),
                flush=True,
            )
        if args.stages:
            _stages(path, name, args.iter)


def _render(path: Path, fmt: str) -> bytes:
    """`fmt` is a format name, or png-small (PNG with compression="small")."""
    if fmt == "png-small":
        return renderer.render(path, "png", compression="small")
    return renderer.render(path, fmt)


if __name__ == "__main__":
    main()
