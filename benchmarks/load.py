"""Load benchmark for `renderer serve`: PNG cards over real HTTP on loopback.

Starts the server (uvicorn, `--workers 1` then `--workers 2`, render workers = CPUs ÷ workers) in
a subprocess on a free 127.0.0.1 port, and drives it from this process with a fixed number of
concurrent clients. Bounded in count (`--requests` per run) and time (`--max-seconds` per run);
prints one JSON line per run: throughput, p50/p99 latency and the number of failed requests.

Usage: python benchmarks/load.py [--requests 200] [--concurrency 8] [--workers 1,2]
       [--card examples/blog.json] [--max-seconds 120]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start(workers: int, image_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    return start_server(["--workers", str(workers), "--allow-image-dir", str(image_dir)])


def start_server(
    args: list[str], env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """`renderer serve ARGS` on a free loopback port (also used by og.py): (process, base URL),
    once `/healthz` answers. The environment's RENDERER_* variables are left out."""
    port = _free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RENDERER_")}
    environ.update(env or {})
    argv = [sys.executable, "-m", "renderer", "serve", "--port", str(port), *args]
    argv += ["--log-level", "warning"]
    proc = subprocess.Popen(argv, cwd=ROOT, env=environ, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    msg = "server did not start"
    raise RuntimeError(msg)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _run(
    url: str, body: bytes, requests: int, concurrency: int, max_seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + max_seconds
    counter = iter(range(requests))

    def client() -> None:
        nonlocal failures
        with httpx.Client(base_url=url, timeout=60) as http:
            while time.monotonic() < stop_at:
                with lock:
                    if next(counter, None) is None:
                        return
                t = time.perf_counter()
                try:
                    r = http.post(
                        "/api/v1/image",
                        content=body,
                        headers={"Content-Type": "application/json", "Accept": "image/png"},
                    )
                    ok = r.status_code == 200 and r.content.startswith(b"\x89PNG")
                except httpx.HTTPError:
                    ok = False
                with lock:
                    latencies.append(time.perf_counter() - t)
                    failures += not ok

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as ex:
        for f in [ex.submit(client) for _ in range(concurrency)]:
            f.result()
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "failures": failures,
        "seconds": round(elapsed, 2),
        "throughput_rps": round(len(ordered) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--workers", default="1,2")
    p.add_argument("--card", default=str(ROOT / "examples" / "blog.json"))
    p.add_argument("--max-seconds", type=float, default=120.0)
    args = p.parse_args()
    card = Path(args.card)
    body = card.read_bytes()
    failed = False
    for workers in (int(w) for w in args.workers.split(",")):
        proc, url = _start(workers, card.resolve().parent)
        try:
            _run(url, body, args.concurrency * 2, args.concurrency, 60)  # warm every worker
            result = _run(url, body, args.requests, args.concurrency, args.max_seconds)
        finally:
            stop_server(proc)
        line = {"card": card.stem, "format": "png", "workers": workers, "cpus": os.cpu_count()}
        line |= {"concurrency": args.concurrency} | result
        print(json.dumps(line), flush=True)
        failed |= result["failures"] > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
