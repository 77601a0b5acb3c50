"""What a flowing layout costs: a stack-heavy card against the same card laid out absolutely.

The stack card has three nested stacks and twelve children (issue 13's benchmark card). Its
absolute twin is built from the stack card's own layout: every leaf at the box the stacks gave it,
with the same sizes, so both draw the same picture and the difference is the flexbox work (Taffy,
and the text measured at the widths it asks about). Prints one JSON line per card and the ratio;
the target is a ratio of at most 1.5. The three reference cards are timed by `perf.py`.

    python benchmarks/stack.py [--iter 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import renderer
from renderer.layout import DividerBox, ImageBox, StackBox, TagBox, TextBox, boxes
from renderer.model import Color

AVATAR = {
    "type": "image",
    "src": "data:,",
    "width": 56,
    "height": 56,
    "onImageError": "placeholder",
}


def _text(text: str, size: int, **props: Any) -> dict[str, Any]:
    return {"type": "text", "text": text, "fontSize": size, "color": "#0f172a", **props}


def stack_card() -> dict[str, Any]:
    meta = {
        "type": "stack",
        "grow": 1,
        "gap": 2,
        "children": [
            _text("Ada Lovelace", 22, fontWeight="700"),
            _text("Analyst, poet of science", 16),
        ],
    }
    byline = {
        "type": "stack",
        "direction": "row",
        "gap": 14,
        "align": "center",
        "children": [AVATAR, meta, {"type": "tag", "text": "Follow", "fontSize": 16}],
    }
    stats = {
        "type": "stack",
        "direction": "row",
        "justify": "space-between",
        "children": [_text(t, 18) for t in ("42 posts", "1.8k followers", "7 years", "London")],
    }
    body = [
        {"type": "tag", "text": "ESSAY", "fontSize": 16, "backgroundColor": "#7c3aed"},
        _text("Notes on the Analytical Engine, and what it might compose", 48, fontWeight="800"),
        _text("On a machine that acts on symbols, not only numbers.", 24, color="#475569"),
        {"type": "divider", "width": 2, "color": "#cbd5e1"},
    ]
    column = {
        "type": "stack",
        "x": 60,
        "y": 50,
        "width": 1080,
        "gap": 18,
        "padding": 28,
        "backgroundColor": "#ffffff",
        "radius": 20,
        "children": [*body, byline, stats],
    }
    return {"width": 1200, "height": 630, "background": "#e2e8f0", "components": [column]}


def absolute_twin(spec: dict[str, Any]) -> dict[str, Any]:
    """Every node of `spec` placed where its stacks put it: the panel as a rectangle, text at
    its box's width, the rest at its box."""
    out: list[dict[str, Any]] = []
    for b in boxes(renderer.lay_out_spec(spec)):
        at = {"x": b.box.x, "y": b.box.y}
        match b:
            case StackBox():
                if isinstance(b.component.background, Color):  # the twins' panels are flat
                    color = b.component.background.hex6
                    rect = {"length": b.box.width, "width": b.box.height, "color": color}
                    out.append({"type": "divider", **at, **rect})
            case TextBox():
                source = _flat(_source(spec, b.component.pointer))
                out.append({**source, **at, "frameWidth": b.box.width})
            case TagBox():
                out.append({**_flat(_source(spec, b.component.pointer)), **at})
            case ImageBox():
                out.append({**AVATAR, **at})
            case DividerBox():
                assert isinstance(b.component.color, Color)
                color = b.component.color.hex6
                line = {"length": b.box.width, "width": b.box.height, "color": color}
                out.append({"type": "divider", **at, **line})
    return {**spec, "components": out}


def _source(spec: dict[str, Any], pointer: str) -> dict[str, Any]:
    node: Any = spec
    for part in pointer.strip("/").split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return dict(node)


def _flat(c: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in c.items() if k not in ("grow", "shrink", "alignSelf")}


def _median_ms(spec: dict[str, Any], iterations: int) -> float:
    for _ in range(5):
        renderer.render(spec, "png")
    samples = []
    for _ in range(iterations):
        t = time.perf_counter()
        renderer.render(spec, "png")
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iter", type=int, default=200)
    args = parser.parse_args()
    stacked = stack_card()
    flat = absolute_twin(stacked)
    a, b = _median_ms(stacked, args.iter), _median_ms(flat, args.iter)
    for name, ms in (("stack", a), ("absolute", b)):
        print(json.dumps({"bench": "stack", "card": name, "median_ms": round(ms, 3)}))
    print(json.dumps({"bench": "stack", "ratio": round(a / b, 3), "target": 1.5}))


if __name__ == "__main__":
    main()
