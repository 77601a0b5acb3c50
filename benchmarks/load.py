"""Load benchmark: `renderer serve` against a Takumi server, PNG cards over real HTTP on loopback.

Each server runs in a subprocess on a free 127.0.0.1 port and is driven from this process by the
same load generator: a fixed number of concurrent clients on keep-alive connections, bounded in
count (`--requests` per run) and time (`--max-seconds`). Servers:
- renderer: `renderer serve --workers N` (render workers = CPUs ÷ N);
- takumi: `takumi_server.js`, a small Node HTTP server around Takumi, as a web app would run it.
  It needs the peer harness: RENDERER_PEERS names a copy of ../shared/peers after its setup.sh
  (node_modules with @takumi-rs/core); it is skipped, with a note, when that is not set.
Prints one JSON line per (server, card, concurrency): throughput, p50/p99 latency, failures,
and the CPU time each request cost, in ms: the server's whole process tree (`server_cpu_ms`:
for renderer the HTTP process and its render workers, also apart as `workers_cpu_ms`) and this
load generator (`client_cpu_ms`). On a 2-core machine the three share the cores, so CPU per
request, not the render alone, is what bounds the requests per second.

Usage: python benchmarks/load.py [--servers renderer,takumi] [--cards blog,photo]
       [--concurrency 1,8] [--requests 400] [--workers 1] [--max-seconds 120]
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
from cards import card_path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from procs import cpu_seconds  # noqa: E402 (tests/procs.py, shared with the suite)
from procs import tree as process_tree  # noqa: E402


def _cpu_by_process(root: int) -> dict[int, float]:
    """CPU seconds of every process in the tree under `root` (itself included) still there."""
    found = {}
    for pid in process_tree(root):
        try:
            found[pid] = cpu_seconds(pid)
        except OSError:  # gone since the tree was read (a retired worker)
            continue
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_healthy(proc: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    msg = "server did not start"
    raise RuntimeError(msg)


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
    _wait_healthy(proc, url)
    return proc, url


def _start_renderer(workers: int, image_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    return start_server(["--workers", str(workers), "--allow-image-dir", str(image_dir)])


def _start_takumi(peers: str, image_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "RENDERER_PEERS": peers, "CARDS_DIR": str(image_dir)}
    script = Path(__file__).resolve().parent / "takumi_server.js"
    proc = subprocess.Popen(["node", str(script), str(port)], env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    _wait_healthy(proc, url)
    return proc, url


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _run(
    url: str, body: bytes, requests: int, concurrency: int, max_seconds: float, server: int = 0
) -> dict[str, Any]:
    """Drive the server at `url`; with `server` (its process id), also what each request cost
    its process tree and this process in CPU time."""
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

    before = _cpu_by_process(server) if server else {}
    client_before = time.process_time()
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as ex:
        for f in [ex.submit(client) for _ in range(concurrency)]:
            f.result()
    elapsed = time.perf_counter() - start
    client_cpu = time.process_time() - client_before
    after = _cpu_by_process(server) if server else {}
    ordered = sorted(latencies)
    result: dict[str, Any] = {
        "requests": len(ordered),
        "failures": failures,
        "seconds": round(elapsed, 2),
        "throughput_rps": round(len(ordered) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
    }
    if server and ordered:
        per = 1000 / len(ordered)
        spent = {pid: after[pid] - before.get(pid, 0.0) for pid in after}
        workers = sum(v for pid, v in spent.items() if pid != server)
        result["server_cpu_ms"] = round(sum(spent.values()) * per, 2)
        result["workers_cpu_ms"] = round(workers * per, 2)
        result["client_cpu_ms"] = round(client_cpu * per, 2)
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--servers", default="renderer,takumi")
    p.add_argument("--cards", default="blog,photo", help="card names (cards.py) or JSON paths")
    p.add_argument("--concurrency", default="1,8")
    p.add_argument("--requests", type=int, default=400)
    p.add_argument("--workers", type=int, default=1, help="uvicorn processes for renderer")
    p.add_argument("--max-seconds", type=float, default=120.0)
    args = p.parse_args()
    failed = False
    peers = os.environ.get("RENDERER_PEERS", "")
    for name in args.cards.split(","):
        card = Path(name) if name.endswith(".json") else card_path(name)
        body = card.read_bytes()
        for server in args.servers.split(","):
            if server == "takumi" and not peers:
                print(json.dumps({"server": "takumi", "skipped": "RENDERER_PEERS is not set"}))
                continue
            folder = card.resolve().parent
            proc, url = (
                _start_takumi(peers, folder)
                if server == "takumi"
                else _start_renderer(args.workers, folder)
            )
            try:
                for clients in (int(c) for c in args.concurrency.split(",")):
                    _run(url, body, clients * 4, clients, 60)  # warm every worker
                    result = _run(url, body, args.requests, clients, args.max_seconds, proc.pid)
                    line = {"bench": "load", "server": server, "card": card.stem, "format": "png"}
                    line |= {"concurrency": clients, "cpus": os.cpu_count()} | result
                    if server == "renderer":
                        line["workers"] = args.workers
                    print(json.dumps(line), flush=True)
                    failed |= result["failures"] > 0
            finally:
                stop_server(proc)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
