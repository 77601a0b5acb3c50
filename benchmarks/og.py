"""`GET /og/` under a crawler storm: signed template URLs over real HTTP on loopback.

Starts `renderer serve --templates` (one uvicorn worker, the memory render cache) in a subprocess
on a free 127.0.0.1 port with `examples/blog.json`'s design as a template, then, per round:
`--storm` concurrent GETs of a URL never seen before (how long until every one has its card, and
how many renders the server did: one, by single flight), then `--hits` GETs of that URL from
`--concurrency` clients (answers from the cache: requests per second, p50/p99). Bounded in count
and time; prints one JSON line per round.

Usage: python benchmarks/og.py [--rounds 3] [--storm 100] [--hits 1000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from load import start_server, stop_server  # noqa: E402  (benchmarks/ is on sys.path)

from renderer.signing import sign_url  # noqa: E402

SECRET = "benchmark-secret"


def _template(folder: Path) -> None:
    """examples/blog.json with its title as a variable, its avatar beside it."""
    blog = json.loads((ROOT / "examples" / "blog.json").read_text("utf-8"))
    title = next(c for c in blog["components"] if c["type"] == "text")
    title["text"] = "{{ title }}"
    for c in blog["components"]:
        if c["type"] == "image":
            (folder / "avatar.png").write_bytes((ROOT / "examples" / c["src"]).read_bytes())
            c["src"] = "avatar.png"
    (folder / "blog.json").write_text(json.dumps(blog))


def _metric(base: str, name: str) -> float:
    m = re.search(rf"^{name} (\S+)$", httpx.get(base + "/metrics").text, re.M)
    return float(m.group(1)) if m else 0.0


async def _storm(target: str, n: int) -> tuple[float, int]:
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=n), timeout=60) as c:
        started = time.perf_counter()
        answers = await asyncio.gather(*(c.get(target) for _ in range(n)))
        return time.perf_counter() - started, sum(r.status_code != 200 for r in answers)


async def _hits(target: str, n: int, concurrency: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    failed = 0

    async def client(c: httpx.AsyncClient, count: int) -> None:
        nonlocal failed
        for _ in range(count):
            t = time.perf_counter()
            r = await c.get(target)
            latencies.append(time.perf_counter() - t)
            failed += r.status_code != 200

    async with httpx.AsyncClient(timeout=60) as c:
        started = time.perf_counter()
        await asyncio.gather(*(client(c, n // concurrency) for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, failed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--storm", type=int, default=100)
    p.add_argument("--hits", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=8)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _template(Path(tmp))
        proc, base = start_server(["--templates", tmp], {"RENDERER_URL_SECRET": SECRET})
        try:
            for n in range(args.rounds):
                target = sign_url(
                    "blog", {"title": f"Round {n} at {time.time()}"}, secret=SECRET, base_url=base
                )
                renders = _metric(base, "renderer_og_renders_total")
                seconds, storm_failed = asyncio.run(_storm(target, args.storm))
                drawn = _metric(base, "renderer_og_renders_total") - renders
                total, lat, failed = asyncio.run(_hits(target, args.hits, args.concurrency))
                lat.sort()
                print(
                    json.dumps(
                        {
                            "round": n,
                            "storm_requests": args.storm,
                            "storm_seconds": round(seconds, 3),
                            "storm_renders": int(drawn),
                            "storm_failed": storm_failed,
                            "hit_requests_per_s": round(len(lat) / total, 1),
                            "hit_p50_ms": round(statistics.median(lat) * 1000, 2),
                            "hit_p99_ms": round(lat[int(len(lat) * 0.99) - 1] * 1000, 2),
                            "hit_failed": failed,
                        }
                    ),
                    flush=True,
                )
        finally:
            stop_server(proc)


if __name__ == "__main__":
    main()
