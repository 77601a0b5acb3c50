"""Batch throughput: cards per second per reference card at --jobs 1, --jobs 2 and on Dask.

Each measurement is a whole `renderer batch` run (`runner.run_batch`, as the command does it,
with `--force` so nothing is skipped) over COUNT copies of one reference card, timed from the
call to its return: finding and planning the specs, worker start-up, rendering, writing and the
manifest are all in the time. The Dask LocalCluster (2 worker
processes, 1 thread each) is started once before its runs and not timed, as a standing cluster
would be. Cards: see cards.py.
Output: one JSON line per run, then one line of speed-ups (jobs 2 over jobs 1, per card).
Usage: python benchmarks/batch.py [--count 100] [--cards hello,blog,cjk] [--no-dask]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from cards import cards_dir

from renderer.batch.plan import Options
from renderer.batch.runner import Settings, Summary, run_batch


def _folder(work: Path, card: str, count: int) -> Path:
    """COUNT copies of one card (and the images beside it) in a fresh folder."""
    src = work / f"src-{card}"
    src.mkdir()
    cards = cards_dir()
    for other in cards.iterdir():
        if other.suffix != ".json":
            shutil.copy(other, src / other.name)
    spec = (cards / f"{card}.json").read_text("utf-8")
    for i in range(count):
        (src / f"{card}-{i:04}.json").write_text(spec, "utf-8")
    return src


def _run(src: Path, out: Path, jobs: int, scheduler: str | None) -> tuple[Summary, float]:
    settings = Settings(
        sources=[src],
        out_dir=out,
        options=Options(),
        jobs=jobs,
        force=True,
        executor="dask" if scheduler else "local",
        scheduler=scheduler,
        progress=False,
    )
    summary = Summary()
    start = time.perf_counter()  # the whole command: reading and planning the specs too
    run_batch(settings, summary)
    seconds = time.perf_counter() - start
    assert summary.failed == 0, summary.errors
    return summary, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100, help="copies of each card per run")
    ap.add_argument("--cards", default="hello,blog,cjk")
    ap.add_argument("--no-dask", action="store_true")
    args = ap.parse_args()
    cluster: Any = None
    if not args.no_dask:
        from distributed import LocalCluster

        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
    rates: dict[str, dict[str, float]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            for card in args.cards.split(","):
                src = _folder(work, card, args.count)
                runs = [("local", 1, None), ("local", 2, None)]
                if cluster is not None:
                    runs.append(("dask", 2, cluster.scheduler_address))
                for executor, jobs, scheduler in runs:
                    out = work / f"out-{card}-{executor}-{jobs}"
                    s, seconds = _run(src, out, jobs, scheduler)
                    rate = s.rendered / seconds
                    rates.setdefault(card, {})[f"{executor}-{jobs}"] = rate
                    line = {
                        "bench": "batch",
                        "card": card,
                        "executor": executor,
                        "jobs": jobs,
                        "cards": s.rendered,
                        "seconds": round(seconds, 3),
                        "cards_per_second": round(rate, 1),
                        # Other work on the machine skews this; the load says how much there was.
                        "loadavg_1min": round(os.getloadavg()[0], 2),
                    }
                    print(json.dumps(line), flush=True)
    finally:
        if cluster is not None:
            cluster.close()
    speedups = {c: round(r["local-2"] / r["local-1"], 2) for c, r in rates.items()}
    print(json.dumps({"bench": "batch", "speedup_jobs2_over_jobs1": speedups}))


if __name__ == "__main__":
    main()
