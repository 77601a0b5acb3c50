"""Issue 7's remaining measurements, as JSON lines: cold start, memory, cost per component.

- cold: `renderer render CARD -o out.png` in a fresh process, wall time, median of 5 runs; and
  what `import renderer` pulls in (no server, HTTP client, Dask or CJK font may load).
- memory: peak RSS of one process rendering the four reference cards, then RSS sampled over
  2,000 consecutive renders (flat = no leak).
- scaling: time for cards of 1, 10 and 100 text components (10x the work should cost <= 10x).
- fresh: the cjk card with a new title every render (36 Han characters no earlier card had, so
  every glyph is outlined and converted afresh, as in a batch of real titles) against the same
  card again (every glyph cached, as the warm tables time it).

Usage: python benchmarks/perf.py [cold|memory|scaling|fresh ...]   (the first three by default)
Cards: see cards.py (hello, blog, cjk and photo).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cards import NAMES, card_path


def _emit(**fields: Any) -> None:
    print(json.dumps({"peer": "renderer", **fields}), flush=True)


def _cold_runs(card: Path, out: Path, env: dict[str, str] | None = None) -> list[float]:
    """Wall time of 5 fresh `renderer render` processes, ms."""
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        argv = [sys.executable, "-m", "renderer", "render", str(card), "-o", str(out)]
        subprocess.run(argv, check=True, env=env)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def cold() -> None:
    """As this checkout runs (bytecode only where the environment writes it; this project's
    machines set PYTHONDONTWRITEBYTECODE, so every module is compiled at every start), and with
    bytecode for every module, as `pip install` leaves an installed package: the second run
    reads and writes it under a temporary PYTHONPYCACHEPREFIX, after one run to write it."""
    card = card_path("blog")
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "out.png"
        times = _cold_runs(card, target)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "bytecode")
        _cold_runs(card, target, env)  # writes the bytecode
        compiled = _cold_runs(card, target, env)
    for bench, runs in (("cold-start", times), ("cold-start-bytecode", compiled)):
        _emit(
            bench=bench,
            card="blog",
            median_ms=round(statistics.median(runs), 1),
            runs_ms=[round(t, 1) for t in runs],
        )
    probe = (
        "import sys, time; t = time.perf_counter(); import renderer; "
        "ms = (time.perf_counter() - t) * 1000; import renderer.fonts as f; "
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'starlette', 'uvicorn', 'httpx', 'dask', 'distributed', 'redis', 'tqdm', 'yaml'}); "
        "print(round(ms, 1), heavy, f._library is not None)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    ms, rest = out.stdout.split(" ", 1)
    _emit(bench="import", import_ms=float(ms), loaded=rest.strip())


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def memory() -> None:
    import renderer

    specs = [card_path(name) for name in NAMES]
    for spec in specs:
        renderer.render(spec, "png")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _emit(bench="rss-reference-cards", cards=list(NAMES), peak_rss_mb=round(peak, 1))
    samples = []
    for i in range(2000):
        renderer.render(specs[i % len(specs)], "png")
        if i % 200 == 199:
            samples.append(round(_rss_mb(), 1))
    _emit(
        bench="rss-2000-renders",
        rss_mb_every_200=samples,
        growth_mb=round(samples[-1] - samples[0], 1),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )


def _card(n: int) -> dict[str, Any]:
    components = [
        {
            "type": "text",
            "text": f"Line {i}: the quick brown fox jumps over",
            "fontSize": 14,
            "x": 10 + (i % 4) * 300,
            "y": 5 + (i // 4) * 24,
            "frameWidth": 280,
        }
        for i in range(n)
    ]
    return {"width": 1200, "height": 630, "components": components}


def scaling() -> None:
    import renderer

    base = None
    for n in (1, 10, 100):
        spec = _card(n)
        for _ in range(3):
            renderer.render(spec, "png")
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            renderer.render(spec, "png")
            times.append((time.perf_counter() - t0) * 1000)
        median = statistics.median(times)
        base = base or median
        _emit(
            bench="scaling",
            components=n,
            median_ms=round(median, 2),
            ratio_to_1=round(median / base, 2),
        )


def fresh() -> None:
    import renderer

    spec = json.loads(card_path("cjk").read_text("utf-8"))
    title = next(i for i, c in enumerate(spec["components"]) if len(c.get("text", "")) > 20)
    base = card_path("cjk").parent
    for name in NAMES:  # the process as a server's or a batch's is: fonts read, warm
        renderer.render(card_path(name), "png")
    new, same = [], []
    for i in range(40):
        spec["components"][title]["text"] = "".join(chr(0x4E00 + 36 * i + k) for k in range(36))
        t0 = time.perf_counter()
        renderer.render(spec, "png", base_dir=base)
        new.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        renderer.render(spec, "png", base_dir=base)
        same.append((time.perf_counter() - t0) * 1000)
    _emit(
        bench="fresh-glyphs",
        card="cjk",
        new_glyphs=36,
        new_text_ms=round(statistics.median(new), 2),
        same_text_ms=round(statistics.median(same), 2),
    )


def main() -> None:
    chosen = sys.argv[1:] or ["cold", "memory", "scaling"]
    for name in chosen:
        {"cold": cold, "memory": memory, "scaling": scaling, "fresh": fresh}[name]()


if __name__ == "__main__":
    main()
