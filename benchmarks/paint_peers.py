"""Issue 14's reference cards (examples/hero.json, examples/photo-card.json) timed against
Takumi and Satori + resvg, as ratios measured in one run.

The peers take CSS, not our JSON, and the harness's spec translation (`lib/common.js`) knows
only text, image, tag and divider; so each card is written here once, by hand, as the CSS a
user of those engines would write for it (`linear-gradient`, `radial-gradient`, `box-shadow`,
`text-shadow`, `transform: rotate`, `-webkit-text-stroke`, `filter`, `background-clip: text`),
the QR code as a PNG image of its modules (neither peer draws QR codes). What a peer cannot
express is listed per card in its `approx` (measured from the pictures it drew: see the PNGs
in --out). `paint_peers.js` times the peers; this script times `renderer.render(card, "png")`
in the same run, after them, with the same iteration count.

Usage: RENDERER_PEERS=/path/to/peers python benchmarks/paint_peers.py [--iter 30] [--out DIR]
Prints one JSON line per (peer, card) and a table of ratios (peer time / ours) on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import segno
from cards import PAINT_NAMES, card_path
from run import _rss_mb, _time

import renderer

HERE = Path(__file__).resolve().parent
INTER = "Inter"


def _div(
    style: dict[str, Any], *children: dict[str, Any], text: str | None = None
) -> dict[str, Any]:
    node: dict[str, Any] = {"tag": "div", "style": {"display": "flex", "boxSizing": "border-box"}}
    node["style"] |= style
    if text is not None:
        node["text"] = text
    else:
        node["children"] = list(children)
    return node


def _font(size: float, weight: int, color: str, **more: Any) -> dict[str, Any]:
    return {"fontFamily": INTER, "fontSize": size, "fontWeight": weight, "color": color, **more}


def _abs(x: float, y: float, **style: Any) -> dict[str, Any]:
    return {"position": "absolute", "left": x, "top": y, **style}


def hero() -> dict[str, Any]:
    bg = "linear-gradient(135deg, #1e1b4b 0%, #4c1d95 55%, #be185d 100%)"
    glow = "radial-gradient(ellipse farthest-corner, #f472b6aa 0%, #f472b600 70%)"
    tile = "linear-gradient(160deg, #fde68a, #f97316)"
    title = "linear-gradient(90deg, #ffffff, #fbcfe8)"
    dot = "linear-gradient(135deg, #22d3ee, #a855f7)"
    tree = _div(
        {"position": "relative", "width": 1200, "height": 630, "backgroundImage": bg},
        _div(_abs(480, -200, width=760, height=760, borderRadius="50%", backgroundImage=glow)),
        _div(
            _abs(900, 320, width=220, height=220, borderRadius=48, backgroundColor="#ffffff14")
            | {"border": "2px solid #ffffff40", "transform": "rotate(18deg)"}
        ),
        _div(
            _abs(985, 325, width=150, height=150, borderRadius=36, backgroundImage=tile)
            | {"boxShadow": "0px 24px 48px #0f0a2e99", "transform": "rotate(-12deg)"}
        ),
        _div(
            _abs(80, 80, padding="8px 18px", borderRadius=999, backgroundColor="#ffffff1f")
            | _font(20, 700, "#fdf4ff", letterSpacing=2, lineHeight=1.2),
            text="LAUNCH WEEK · DAY 3",
        ),
        _div(
            _abs(80, 150, width=760)
            | _font(68, 800, "#ffffff", lineHeight=1.08)
            | {"backgroundImage": title, "backgroundClip": "text", "color": "transparent"}
            | {"textShadow": "0px 6px 24px #1e1b4b80"},
            text="Gradients, shadows and QR codes, straight from JSON",
        ),
        _div(
            _abs(80, 420, width=760) | _font(28, 500, "#e9d5ff", lineHeight=1.2),
            text="One spec, seven formats, the same picture in every one.",
        ),
        _div(
            _abs(80, 520, alignItems="center", padding="10px 20px 10px 10px", borderRadius=999)
            | {"backgroundColor": "#0f0a2e66", "border": "1px solid #ffffff33"},
            _div({"width": 36, "height": 36, "borderRadius": "50%", "backgroundImage": dot}),
            _div(
                {"marginLeft": 14} | _font(22, 600, "#ffffff", lineHeight=1.2),
                text="renderer.dev/launch",
            ),
        ),
    )
    fonts = "the harness's font files (Debian Inter 3.019): the title breaks after 'straight'"
    shows = "the title's text-shadow shows through its clipped, transparent fill, as in CSS"
    approx = {"satori": f"{fonts}; {shows}", "takumi": f"{fonts}; {shows}"}
    return {"width": 1200, "height": 630, "tree": tree, "approx": approx}


def photo_card() -> dict[str, Any]:
    scrim = "linear-gradient(90deg, #1c1917e6 0%, #1c191799 45%, #1c191700 80%)"
    price = "linear-gradient(90deg, #9a3412, #ea580c)"
    photo: dict[str, Any] = {"tag": "img", "src": "photo.jpg"}
    photo["style"] = _abs(0, 0, width=1200, height=630)
    photo["style"] |= {"objectFit": "cover", "filter": "brightness(0.9) saturate(1.15)"}
    qr = {"tag": "img", "src": "qr.png", "style": {"width": 150, "height": 150}}
    panel = _div(
        _abs(72, 329.2, width=620, height=228.8, alignItems="center", padding=28)
        | {"backgroundColor": "#fffaf3", "borderRadius": 28}
        | {"boxShadow": "0px 24px 48px #0000008c, 0px 2px 6px #00000040"},
        _div(
            {"flexDirection": "column", "flexGrow": 1, "marginRight": 28},
            _div(
                {"alignSelf": "flex-start", "padding": "4.8px 9.6px", "borderRadius": 6}
                | {"backgroundColor": "#9a3412"}
                | _font(16, 700, "#ffffff", lineHeight=1.2),
                text="MEDIUM ROAST",
            ),
            _div(
                {"marginTop": 10} | _font(26, 600, "#1c1917", lineHeight=1.25),
                text="Caramel, red apple and cocoa, for filter and espresso",
            ),
            _div(
                {"marginTop": 10}
                | _font(32, 800, "transparent", lineHeight=1.2)
                | {"backgroundImage": price, "backgroundClip": "text"},
                text="€16.90 · 250 g",
            ),
        ),
        _div(
            {"flexDirection": "column", "alignItems": "center", "flexShrink": 0},
            qr,
            _div(
                {"marginTop": 6} | _font(14, 600, "#78716c", lineHeight=1.2), text="scan to order"
            ),
        ),
    )
    tree = _div(
        {"position": "relative", "width": 1200, "height": 630, "backgroundColor": "#1c1917"},
        photo,
        _div(_abs(0, 0, width=1200, height=630, backgroundImage=scrim)),
        _div(_abs(72, 72) | _font(22, 800, "#fed7aa", letterSpacing=3), text="FRESH THIS WEEK"),
        _div(
            _abs(72, 116, width=560)
            | _font(64, 800, "#ffffff", lineHeight=1.05)
            | {"WebkitTextStroke": "4px #1c1917", "paintOrder": "stroke"}
            | {"textShadow": "0px 4px 16px #00000099"},
            text="Washed Colombian Huila",
        ),
        panel,
    )
    as_image = "the QR code is an image made by segno"
    centred = "paint-order: stroke is not honoured: the title's stroke is centred, thinning it"
    approx = {"satori": as_image, "takumi": f"{centred}; {as_image}"}
    return {"width": 1200, "height": 630, "tree": tree, "approx": approx}


TREES = {"hero": hero, "photo-card": photo_card}


def _qr_png(folder: Path) -> None:
    """The photo card's code as a PNG of its modules (what a peer's user would embed)."""
    spec = json.loads(card_path("photo-card").read_text("utf-8"))
    data = json.dumps(spec).split('"data": "')[1].split('"')[0]
    segno.make(data, error="m", boost_error=False).save(
        str(folder / "qr.png"), scale=5, border=2, dark="#1c1917"
    )


def _peers(peers: Path, folder: Path, iterations: int) -> list[dict[str, Any]]:
    env = {**os.environ, "RENDERER_PEERS": str(peers), "ITER": str(iterations)}
    done = subprocess.run(
        ["node", str(HERE / "paint_peers.js"), str(folder)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        print(done.stderr[-3000:], file=sys.stderr)
        raise SystemExit(done.returncode)
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--peers", default=os.environ.get("RENDERER_PEERS", ""))
    p.add_argument("--iter", type=int, default=30)
    p.add_argument("--out", help="keep the trees and the peers' PNGs in this folder")
    args = p.parse_args()
    if not args.peers:
        p.error("name the peer harness folder with --peers or RENDERER_PEERS")
    folder = Path(args.out or tempfile.mkdtemp(prefix="renderer-paint-"))
    folder.mkdir(parents=True, exist_ok=True)
    trees = {name: TREES[name]() for name in PAINT_NAMES}
    (folder / "trees.json").write_text(json.dumps(trees), encoding="utf-8")
    shutil.copy(card_path("photo-card").parent / "photo.jpg", folder / "photo.jpg")
    _qr_png(folder)
    rows = _peers(Path(args.peers).resolve(), folder, args.iter)
    for name in PAINT_NAMES:
        stats, png = _time(partial(renderer.render, card_path(name), "png"), args.iter)
        (folder / f"renderer-{name}.png").write_bytes(png)
        rows.append({"peer": "renderer", "card": name, **stats, "png_bytes": len(png)})
        rows[-1]["rss_mb"] = _rss_mb()
    for row in rows:
        print(json.dumps(row), flush=True)
    ours = {r["card"]: r["median_ms"] for r in rows if r["peer"] == "renderer"}
    print(
        f"\n{'card':12} {'peer':14} {'median ms':>10} {'peer / ours':>12}  approx", file=sys.stderr
    )
    for r in rows:
        ratio = r["median_ms"] / ours[r["card"]]
        line = f"{r['card']:12} {r['peer']:14} {r['median_ms']:>10.1f} {ratio:>12.2f}"
        print(f"{line}  {r.get('approx', '')}", file=sys.stderr)
    print(f"(PNGs in {folder}; {os.cpu_count()} cores, {args.iter} renders each)", file=sys.stderr)


if __name__ == "__main__":
    main()
