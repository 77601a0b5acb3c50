"""The worst cards the default limits accept: time and peak memory per entry point.

Issue 11's goal is at most 2 s and 1 GB for any spec the default `Limits` accept. Each case
below pushes one cost to its bound (shaped characters, glyphs drawn, painted area, image
area, decoded source pixels, validation of a hostile document, pathological clusters); each runs
in a fresh process, through the library (`renderer.render`) and through the CLI
(`renderer render`), and the table gives wall time and peak RSS. A case the engine refuses
(a `LimitError`, by design) is reported with the refusal and its cost.

    python benchmarks/worst_case.py                       # every case, library and CLI
    python benchmarks/worst_case.py --cases glyphs,images --entry library
    python benchmarks/worst_case.py --python /old/venv/bin/python   # another install: "before"

Prints one JSON line per (case, entry) and a table on stderr.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

SIDE = 4096  # Limits.max_side: the largest canvas
LATIN = "Lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
DEVANAGARI = "नमस्ते दुनिया यह एक लंबा हिंदी पाठ है क्षत्रिय "
ARABIC = "مرحبا بالعالم هذا نص عربي طويل "


def _long(sample: str, n: int = 4990) -> str:
    return (sample * (n // len(sample) + 1))[:n]


def _png_uri(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _card(components: list[dict[str, Any]], side: int = SIDE) -> dict[str, Any]:
    return {"width": side, "height": side, "background": "#ffffff", "components": components}


def _text(text: str, **props: Any) -> dict[str, Any]:
    return {"type": "text", "text": text, **props}


def _shaped(sample: str) -> dict[str, Any]:
    """20 × 4,990 characters (99,800 shaped, the bound is 100,000) in narrow frames on a
    short canvas: most lines fall below it, so they are shaped and broken, not drawn."""
    card = _card([_text(_long(sample), x=i * 200, y=0, frameWidth=180) for i in range(20)])
    return {**card, "height": 400}


def shaped_devanagari() -> dict[str, Any]:
    return _shaped(DEVANAGARI)


def shaped_arabic() -> dict[str, Any]:
    return _shaped(ARABIC)


def glyphs() -> dict[str, Any]:
    """About 49,000 small Latin glyphs on the canvas (the bound is 50,000)."""
    return _card(
        [_text(_long(LATIN), x=0, y=i * 400, fontSize=12, frameWidth=4000) for i in range(9)]
        + [_text(_long(LATIN, 3800), x=0, y=3700, fontSize=12, frameWidth=4000)]
    )


def big_glyphs() -> dict[str, Any]:
    """2,450 glyphs of 400 px stacked on one another: close to the painted-area bound."""
    return _card([_text("W" * 2450, fontSize=400, letterSpacing=-400)])


def images() -> dict[str, Any]:
    """Three full-canvas images from a 2 × 2 source: 3 × 16.8 megapixels resampled."""
    src = _png_uri(Image.new("RGB", (2, 2), "#c0392b"))
    full = {"type": "image", "src": src, "x": 0, "y": 0, "width": SIDE, "height": SIDE}
    return _card([full, {**full, "radius": 400}, {**full, "opacity": 0.5}])


def big_source() -> dict[str, Any]:
    """One 40-megapixel source (Limits.max_image_pixels) filling the canvas."""
    image = Image.linear_gradient("L").resize((6400, 6250)).convert("RGB")
    src = _png_uri(image)
    return _card([{"type": "image", "src": src, "x": 0, "y": 0, "width": SIDE, "height": SIDE}])


def tags() -> dict[str, Any]:
    return _card(
        [{"type": "tag", "text": _long(LATIN, 240), "x": 0, "y": i * 20} for i in range(200)]
    )


def auto_size() -> dict[str, Any]:
    """Four fontSize "auto" texts of 2,000 characters: every size tried is shaped."""
    text = _long(LATIN, 2000)
    return _card(
        [
            _text(text, x=0, y=i * 1000, fontSize="auto", frameWidth=4000, frameHeight=990)
            for i in range(4)
        ]
    )


def clusters() -> dict[str, Any]:
    """Twenty texts of one letter and 4,990 combining accents (each one cluster of 4,991
    characters), and of a heart with 4,990 variation selectors: 99,820 characters, just under
    the bound on shaped characters (each text counts one more for its paragraph end)."""
    odd = ["a" + "\u0301" * 4990, "\u2764" + "\ufe0f" * 4990]
    return _card([_text(odd[i % 2], x=0, y=i * 200, frameWidth=4000) for i in range(20)])


def emoji() -> dict[str, Any]:
    """990 colour emoji (the bound is 1,000), each a Twemoji drawing."""
    return _card([_text("\U0001f600" * 99, x=0, y=i * 60, fontSize=40) for i in range(10)])


def unknown_keys() -> dict[str, Any]:
    """200 components with 240 unknown keys each (96,000 keys and values, under the bound):
    refused, with the first 100 issues named."""
    junk = {f"k{i}": i for i in range(240)}
    return _card([{**_text("x"), **junk} for _ in range(200)], side=100)


def spans() -> dict[str, Any]:
    """Eight texts of 1,000 spans each, every span changing weight, style, size and colour,
    every fourth underlined and every sixth on a background: 8,000 shaping items, some 40,000
    glyphs and 99,000 keys and values (the bounds are 50,000 and 100,000)."""
    components = []
    for c in range(8):
        runs = []
        for i in range(1000):
            span: dict[str, Any] = {
                "text": "abcd " if i % 2 else "WXYZ ",
                "fontWeight": 400 if i % 3 else 800,
                "fontStyle": "italic" if i % 5 == 0 else "normal",
                "color": f"#{i * 997 % 0xFFFFFF:06x}",
                "fontSize": 8 + i % 7,
                "textDecoration": "underline" if i % 4 == 0 else "none",
            }
            if i % 6 == 0:
                span["background"] = "#ffee00"
            runs.append(span)
        components.append({"type": "text", "x": 0, "y": c * 100, "frameWidth": 1200, "spans": runs})
    return _card(components, 1200)


def spec_fonts() -> dict[str, Any]:
    """As many of a card's own fonts as a 5 MB document holds: eight 400 KB variable fonts as
    data URIs, each sanitized by OTS in its own bounded process, each drawing a line."""
    from renderer.data import data_dir

    font = data_dir("fonts") / "NotoSans" / "noto-sans-latin-ext-wght-italic.ttf"
    raw = font.read_bytes()  # each copy padded differently: eight fonts to read, not one
    uris = [base64.b64encode(raw + bytes(4 * i)).decode("ascii") for i in range(8)]
    fonts = [{"family": f"Own {i}", "src": f"data:font/ttf;base64,{u}"} for i, u in enumerate(uris)]
    texts = [_text("Ŧħĕ ŀāżŷ ďőĝ", fontFamily=f"Own {i}", y=40 * i) for i in range(8)]
    return {**_card(texts, 1200), "fonts": fonts}


def blur_full() -> dict[str, Any]:
    """A full-canvas panel whose shadow has the largest blur (200 px: its surface is the canvas
    600 px wider each way, 22 megapixels), and a second one filling the rest of the blur bound
    (Limits.max_blur_area)."""
    panel = {"type": "shape", "x": 0, "y": 0, "width": SIDE, "height": SIDE, "radius": 400}
    shadow = {"x": 0, "y": 40, "blur": 200, "spread": 20, "color": "#0f172a80"}
    second = {**panel, "x": 0, "y": 0, "width": 2400, "height": 2400, "fill": "#ffffff80"}
    return _card([{**panel, "shadow": shadow}, {**second, "shadow": {**shadow, "blur": 100}}])


def blur_many() -> dict[str, Any]:
    """A canvas full of shadowed shapes: 180 rounded panels of 360 px with eight shadows each,
    one of them blurred (its surface ~185,000 px: all of them close to Limits.max_blur_area),
    the others hard; translucent fills, so every cut-out shows."""
    hard = [{"x": i, "y": i, "spread": i, "color": "#33415540"} for i in range(1, 8)]
    shapes = []
    for i in range(180):
        x, y = (i % 14) * 290, (i // 14) * 310
        soft = {"x": 4, "y": 12, "blur": 20, "spread": 2, "color": "#00000066"}
        shapes.append(
            {
                "type": "shape",
                "x": x,
                "y": y,
                "width": 360,
                "height": 360,
                "radius": 40,
                "fill": "#ffffffcc",
                "shadow": [soft, *hard],
            }
        )
    return _card(shapes)


def text_shadows() -> dict[str, Any]:
    """Text with eight blurred text shadows, each a silhouette of every glyph: 5,500 glyphs
    drawn nine times (close to Limits.max_glyphs, which counts each shadow's glyphs), its
    surfaces close to Limits.max_blur_area."""
    shadows = [{"x": i, "y": i, "blur": 2 + i, "color": "#00000040"} for i in range(8)]
    return _card(
        [
            _text(
                _long(LATIN, 2750), x=0, y=i * 320, fontSize=24, frameWidth=4000, textShadow=shadows
            )
            for i in range(2)
        ]
    )


CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "shaped-devanagari": shaped_devanagari,
    "shaped-arabic": shaped_arabic,
    "glyphs": glyphs,
    "big-glyphs": big_glyphs,
    "images": images,
    "big-source": big_source,
    "tags": tags,
    "auto-size": auto_size,
    "clusters": clusters,
    "emoji": emoji,
    "unknown-keys": unknown_keys,
    "spans": spans,
    "spec-fonts": spec_fonts,
    "blur-full": blur_full,
    "blur-many": blur_many,
    "text-shadows": text_shadows,
}

_LIBRARY = """
import json, resource, sys, time
import renderer
spec = open(sys.argv[1], encoding="utf-8").read()
renderer.render({"width": 10, "height": 10, "components": [{"type": "text", "text": "x"}]})
t = time.perf_counter()
try:
    out = renderer.render(spec, sys.argv[2])
    outcome = f"{len(out)} bytes"
except renderer.RenderError as e:
    outcome = f"{type(e).__name__}: {str(e).splitlines()[0][:90]}"
seconds = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "rss_mb": rss, "outcome": outcome}))
"""


def _library(python: str, path: Path, fmt: str) -> dict[str, Any]:
    """One warm render in a fresh process: the render's own time, the process's peak RSS."""
    done = subprocess.run(
        [python, "-c", _LIBRARY, str(path), fmt],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=path.parent,  # not the checkout: `--python` must import its own install
    )
    if done.returncode != 0:
        return {"seconds": None, "rss_mb": None, "outcome": done.stderr.strip()[-120:]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _cli(python: str, path: Path, fmt: str) -> dict[str, Any]:
    """`renderer render` start to finish in a fresh process (start-up included); its own peak
    RSS from `wait4`."""
    out = path.with_suffix("." + fmt)
    t = time.perf_counter()
    child = subprocess.Popen(
        [python, "-m", "renderer", "render", str(path), "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=path.parent,
    )
    assert child.stderr is not None
    err = child.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t
    outcome = f"exit {child.returncode}"
    if child.returncode and err:
        outcome += ": " + err.strip().splitlines()[0][:90]
    return {"seconds": seconds, "rss_mb": usage.ru_maxrss / 1024, "outcome": outcome}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    parser.add_argument("--entry", choices=["library", "cli", "both"], default="both")
    parser.add_argument("--format", default="png")
    parser.add_argument("--python", default=sys.executable, help="interpreter with renderer")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.cases.split(","):
            path = Path(tmp) / f"{name}.json"
            path.write_text(json.dumps(CASES[name]()), encoding="utf-8")
            entries = ["library", "cli"] if args.entry == "both" else [args.entry]
            for entry in entries:
                run = _library if entry == "library" else _cli
                result = run(args.python, path, args.format)
                row = {"case": name, "entry": entry, "format": args.format, **result}
                rows.append(row)
                print(json.dumps(row), flush=True)
    print(f"\n{'case':20} {'entry':8} {'seconds':>8} {'RSS MB':>7}  outcome", file=sys.stderr)
    for r in rows:
        s = "—" if r["seconds"] is None else f"{r['seconds']:.2f}"
        m = "—" if r["rss_mb"] is None else f"{r['rss_mb']:.0f}"
        print(f"{r['case']:20} {r['entry']:8} {s:>8} {m:>7}  {r['outcome']}", file=sys.stderr)
    print(f"(machine: {os.cpu_count()} cores; Python {sys.version.split()[0]})", file=sys.stderr)


if __name__ == "__main__":
    main()
