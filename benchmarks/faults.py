"""Page faults and time per render, every reference card in every raster format, in one
process: what `renderer.memory`'s tuning of the allocators is for.

Each setting runs in a fresh interpreter, as a program would: the first render tunes glibc and
Pillow (`tuned`), `RENDERER_MEMORY=default` leaves both alone (`default`: glibc's dynamic
thresholds, which land a process in a fast or a slow state by the order of its first
allocations), and `forced-slow` also fixes glibc's mmap threshold at its 128 KB start, the slow
state every time. Per card and format: the median of `--iter` renders after 3 warm ones, and
the minor page faults a render (`ru_minflt`): a fault is a page the kernel had to hand over
afresh, about a microsecond each.

Usage: python benchmarks/faults.py [--iter 20] [--cards hello,blog,cjk,photo]
           [--formats png,png-small,webp,jpeg] [--settings tuned,default,forced-slow]
Prints one JSON line per (setting, card, format).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

SETTINGS = {
    "tuned": {},
    "default": {"RENDERER_MEMORY": "default"},
    "forced-slow": {"RENDERER_MEMORY": "default", "MALLOC_MMAP_THRESHOLD_": "131072"},
}

_CHILD = """
import json, resource, statistics, sys, time
sys.path.insert(0, {here!r})
import renderer
from cards import card_path
iterations = {iterations}
for card, fmt in {blocks!r}:
    path = card_path(card)
    kind, compression = ("png", "small") if fmt == "png-small" else (fmt, "fast")
    def once():
        return renderer.render(path, kind, compression=compression)
    for _ in range(3):
        once()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    samples = []
    for _ in range(iterations):
        t = time.perf_counter()
        once()
        samples.append((time.perf_counter() - t) * 1000)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / iterations
    median = round(statistics.median(samples), 3)
    line = {{"card": card, "format": fmt, "median_ms": median}}
    print(json.dumps({{**line, "faults_per_render": round(faults, 1)}}), flush=True)
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--iter", type=int, default=20)
    p.add_argument("--cards", default="hello,blog,cjk,photo")
    p.add_argument("--formats", default="png,png-small,webp,jpeg")
    p.add_argument("--settings", default=",".join(SETTINGS))
    args = p.parse_args()
    blocks = [(c, f) for c in args.cards.split(",") for f in args.formats.split(",")]
    code = _CHILD.format(here=str(HERE), iterations=args.iter, blocks=blocks)
    for setting in args.settings.split(","):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "RENDERER_"))}
        env.pop("PILLOW_BLOCKS_MAX", None)
        env.update(SETTINGS[setting])
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        for line in out.stdout.splitlines():
            print(json.dumps({"bench": "faults", "setting": setting, **json.loads(line)}))


if __name__ == "__main__":
    main()
