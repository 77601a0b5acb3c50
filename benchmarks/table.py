"""The README's Performance tables, written from one `peers.py` run (JSON lines).

Usage: python benchmarks/table.py run.jsonl [--readme README.md]
Without --readme the Markdown goes to stdout; with it, it replaces what stands between the
README's `<!-- perf-table:begin -->` and `<!-- perf-table:end -->` lines (and the palette curve,
when the run has `curve.py`'s lines, between `<!-- perf-curve:begin -->` and `...:end -->`, and
the glyph-fill table, from `glyph_fill.py`'s, between `<!-- perf-fill:begin -->` and its end).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from cards import NAMES

MARKERS = {
    "table": ("<!-- perf-table:begin -->", "<!-- perf-table:end -->"),
    "curve": ("<!-- perf-curve:begin -->", "<!-- perf-curve:end -->"),
    "fill": ("<!-- perf-fill:begin -->", "<!-- perf-fill:end -->"),
}
Lines = list[dict[str, Any]]

# (label, peer) rows of the times table, and the ratio rows: label, ours, theirs, field, target
TIMES = [
    ("renderer PNG", "renderer-png"),
    ('renderer PNG, `compression="small"`', "renderer-png-small"),
    ("Takumi PNG", "takumi"),
    ("Satori + resvg PNG", "satori-resvg"),
    ("renderer WEBP", "renderer-webp"),
    ("Takumi WEBP", "takumi-webp"),
    ("renderer JPEG", "renderer-jpeg"),
    ("Takumi JPEG", "takumi-jpeg"),
    ("renderer SVG", "renderer-svg"),
    ("Satori SVG", "satori-svg"),
]
RATIOS = [
    ("PNG time ÷ Takumi", "renderer-png", "takumi", "median_ms", 0.7),
    ("PNG bytes ÷ Satori + resvg", "renderer-png", "satori-resvg", "png_bytes", 1.0),
    ('PNG bytes, `"small"`, ÷ Takumi', "renderer-png-small", "takumi", "png_bytes", 1.0),
    ("WEBP time ÷ Takumi WEBP", "renderer-webp", "takumi-webp", "median_ms", 1.0),
    ("WEBP bytes ÷ Takumi WEBP", "renderer-webp", "takumi-webp", "png_bytes", 1.0),
    ("JPEG time ÷ Takumi JPEG", "renderer-jpeg", "takumi-jpeg", "median_ms", 1.0),
    ("SVG time ÷ Satori SVG", "renderer-svg", "satori-svg", "median_ms", 1.0),
]


def _rounds(lines: Lines, peer: str, card: str) -> dict[int, dict[str, Any]]:
    """A runner's line for `card` in each round (`peers.py --rounds`; a run without rounds is
    one round, 0)."""
    found: dict[int, dict[str, Any]] = {}
    for x in lines:
        if x.get("peer") == peer and x.get("card") == card:
            found.setdefault(int(x.get("round", 0)), x)
    return found


def _round_count(lines: Lines) -> int:
    return len({x.get("round", 0) for x in lines if "peer" in x})


def _find(lines: Lines, peer: str, card: str) -> dict[str, Any] | None:
    """The runner's line for `card`, its time the median over rounds (bytes do not change)."""
    found = list(_rounds(lines, peer, card).values())
    if not found:
        return None
    return found[0] | {"median_ms": statistics.median(x["median_ms"] for x in found)}


def _size(line: dict[str, Any]) -> str:
    size = line.get("png_bytes") or line.get("svg_bytes") or 0
    return f"{size / 1000:.1f} KB"


def _cell(line: dict[str, Any] | None) -> str:
    return "—" if line is None else f"{line['median_ms']:.2f} ms, {_size(line)}"


def _row(label: str, cells: list[str]) -> str:
    return "| " + " | ".join([label, *cells]) + " |"


def times_table(lines: Lines, cards: list[str]) -> list[str]:
    rounds = _round_count(lines)
    head = (
        "spec → bytes, warm (median)"
        if rounds == 1
        else f"spec → bytes, warm (median of {rounds} rounds)"
    )
    out = [_row(head, cards), _row("---", ["---"] * len(cards))]
    for label, peer in TIMES:
        out.append(_row(label, [_cell(_find(lines, peer, card)) for card in cards]))
    return out


def ratios_table(lines: Lines, cards: list[str]) -> list[str]:
    rounds = _round_count(lines)
    head = "ratio (✗: target missed)"
    if rounds > 1:
        head = f"ratio, median of {rounds} rounds (range; ✗: target missed)"
    out = [_row(head, [*cards, "target"])]
    out.append(_row("---", ["---"] * (len(cards) + 1)))
    for label, ours, theirs, field, target in RATIOS:
        cells = []
        for card in cards:
            a, b = _rounds(lines, ours, card), _rounds(lines, theirs, card)
            each = [a[k][field] / b[k][field] for k in sorted(a.keys() & b.keys()) if b[k][field]]
            if not each:
                cells.append("—")
                continue
            ratio, low, high = statistics.median(each), min(each), max(each)
            spread = f" ({low:.2f}–{high:.2f})" if high - low >= 0.005 else ""
            cells.append(f"{ratio:.2f}{spread}" + ("" if ratio <= target else " ✗"))
        out.append(_row(label, [*cells, f"≤ {target}"]))
    return out


def load_table(lines: Lines) -> list[str]:
    runs = [x for x in lines if x.get("bench") == "load" and "throughput_rps" in x]
    if not runs:
        return []
    cpu = all("server_cpu_ms" in x for x in runs)  # runs before load.py counted CPU have none
    heads = ["card", "clients", "req/s", "p50", "p99"]
    heads += ["server CPU a request", "load generator's"] if cpu else []
    out = [_row("server, PNG over loopback", heads), _row("---", ["---"] * len(heads))]
    for run in sorted(runs, key=lambda x: (x["card"], x["concurrency"], x["server"])):
        name = "`renderer serve`" if run["server"] == "renderer" else "Takumi in a Node server"
        cells = [run["card"], str(run["concurrency"]), f"{run['throughput_rps']:.0f}"]
        cells += [f"{run['p50_ms']:.1f} ms", f"{run['p99_ms']:.1f} ms"]
        if cpu:
            server = f"{run['server_cpu_ms']:.2f} ms"
            if run["server"] == "renderer":
                server += f" ({run['workers_cpu_ms']:.2f} in render workers)"
            cells += [server, f"{run['client_cpu_ms']:.2f} ms"]
        out.append(_row(name, cells))
    ratios = []
    for run in runs:
        other = next(
            (
                x
                for x in runs
                if x["server"] == "takumi"
                and (x["card"], x["concurrency"]) == (run["card"], run["concurrency"])
            ),
            None,
        )
        if run["server"] == "renderer" and other:
            rps = run["throughput_rps"] / other["throughput_rps"]
            p99 = run["p99_ms"] / other["p99_ms"]
            ratios.append(f"{run['card']} × {run['concurrency']}: req/s {rps:.2f}×, p99 {p99:.2f}×")
    if ratios:
        out += [
            "",
            "renderer ÷ Takumi server (target: req/s ≥ 1, p99 ≤ 1): " + "; ".join(ratios) + ".",
        ]
    return out


def other_lines(lines: Lines) -> list[str]:
    out = []
    cold = next((x for x in lines if x.get("bench") == "cold-start"), None)
    compiled = next((x for x in lines if x.get("bench") == "cold-start-bytecode"), None)
    if cold:
        seconds = cold["median_ms"] / 1000
        line = f"Cold start (`renderer render blog.json -o out.png`, new process): {seconds:.2f} s"
        if compiled:
            line += f"; {compiled['median_ms'] / 1000:.2f} s with every module's bytecode written"
            line += " (as `pip install` leaves a package)"
        out.append(line + ".")
    fresh = next((x for x in lines if x.get("bench") == "fresh-glyphs"), None)
    if fresh:
        out.append(
            f"The {fresh['card']} card with {fresh['new_glyphs']} characters no earlier card had, "
            f"every render (PNG): {fresh['new_text_ms']:.1f} ms; the same card again, every "
            f"glyph cached: {fresh['same_text_ms']:.1f} ms."
        )
    rss = next((x for x in lines if x.get("bench") == "rss-reference-cards"), None)
    flat = next((x for x in lines if x.get("bench") == "rss-2000-renders"), None)
    if rss and flat:
        out.append(
            f"Peak RSS rendering the {len(rss['cards'])} cards: {rss['peak_rss_mb']:.0f} MB; "
            f"over 2,000 more renders it grows by {flat['growth_mb']:+.1f} MB "
            f"(peak {flat['peak_rss_mb']:.0f} MB)."
        )
    return out


def curve_table(lines: Lines) -> list[str]:
    points = [x for x in lines if x.get("bench") == "palette-curve"]
    if not points:
        return []
    heads = ["max error", "PNG small: colours", "mean distance", "bytes"]
    heads += ["WEBP: colours", "mean distance", "bytes"]
    out = [_row("card", heads), _row("---", ["---"] * len(heads))]
    for x in points:
        exact = not x["max_error"]
        cells = [str(x["max_error"]), "exact" if exact else str(x["colours"])]
        cells += [f"{x['mean_distance']:.3f}", f"{x['png_bytes'] / 1000:.1f} KB"]
        cells += ["exact" if exact else str(x["webp_colours"])]
        cells += [f"{x['webp_mean_distance']:.3f}", f"{x['webp_bytes'] / 1000:.1f} KB"]
        out.append(_row(x["card"], cells))
    return out


def fill_table(lines: Lines) -> list[str]:
    """`glyph_fill.py`'s lines: each way of filling glyphs, its paint time also as a share of
    the exact fill's (both from the same interleaved rounds, so the share holds when the
    machine's speed drifts), its PNG and its distance to the exact raster."""
    points = [x for x in lines if x.get("bench") == "glyph-fill"]
    if not points:
        return []
    heads = ["fill", "paint", "÷ exact", "PNG bytes", "mean distance", "max", "pixels differing"]
    out = [_row("card", heads), _row("---", ["---"] * len(heads))]
    for x in points:
        exact = next(
            (y for y in points if y["card"] == x["card"] and y["variant"] == "exact"), None
        )
        share = f"{x['paint_ms'] / exact['paint_ms']:.2f}" if exact else "—"
        cells = [f"`{x['variant']}`", f"{x['paint_ms']:.2f} ms", share]
        cells += [f"{x['png_bytes'] / 1000:.1f} KB", f"{x['mean_distance']:.4f}"]
        cells += [str(x["max_moved"]), f"{x['pixels_differing']:,}"]
        out.append(_row(x["card"], cells))
    return out


def markdown(lines: Lines) -> str:
    cards = [c for c in NAMES if any(x.get("card") == c and "peer" in x for x in lines)]
    parts = [times_table(lines, cards), ratios_table(lines, cards), load_table(lines)]
    parts.append(other_lines(lines))
    return "\n\n".join("\n".join(p) for p in parts if p) + "\n"


def _replace(readme: str, which: str, text: str) -> str:
    begin, end = MARKERS[which]
    head, rest = readme.split(begin + "\n", 1)
    _, tail = rest.split(end, 1)
    return head + begin + "\n" + text + end + tail


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("run", type=Path)
    p.add_argument("--readme", type=Path)
    args = p.parse_args()
    lines = [json.loads(x) for x in args.run.read_text().splitlines() if x.startswith("{")]
    text, curve = markdown(lines), "\n".join(curve_table(lines))
    fill = "\n".join(fill_table(lines))
    if args.readme is None:
        print(text + "".join("\n" + t + "\n" for t in (curve, fill) if t), end="")
        return
    readme = _replace(args.readme.read_text(), "table", text)
    if curve:
        readme = _replace(readme, "curve", curve + "\n")
    if fill:
        readme = _replace(readme, "fill", fill + "\n")
    args.readme.write_text(readme)


if __name__ == "__main__":
    main()
