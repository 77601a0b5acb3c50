"""Hostile inputs at full size (issue 11, the batch, server and template rows): time and peak
resident memory per entry point, for this checkout and, with `--before DIR`, another one (a
worktree of an older commit), side by side.

Each case is the worst input I could construct within the default limits for its row, or the
issue's own input where the old code accepted it. Entry points: `renderer batch --jobs 2` (its
own process, and the largest of its workers), and `renderer serve` with two render workers (the
main process, and the largest worker); a fresh server per case, so each main-process peak is that
case's. Memory is sampled from /proc every 20 ms (VmHWM of each process of the tree); every
process tree runs under an address-space cap (`--cap-mb`, default 4096) and a time limit, so the
old code's blow-ups end as a MemoryError or a timeout instead of taking the machine down.

Usage: python benchmarks/hostile.py [--before /tmp/before] [--cases a,b] [--cap-mb 4096]
Prints one JSON line per (tree, case), then a table.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


sys.path.insert(0, str(ROOT / "tests"))
from hostile_inputs import alias_bomb, amplifying_template, png_data_uri  # noqa: E402
from procs import Sampler, status_mb  # noqa: E402 (tests/procs.py, shared with the suite)
from procs import tree as process_tree  # noqa: E402


@dataclass(frozen=True)
class Tree:
    """A checkout to measure: its folder, put first on PYTHONPATH."""

    label: str
    root: Path
    cap_mb: int

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RENDERER_")}
        env["PYTHONPATH"] = str(self.root)
        return env

    def popen(self, cmd: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """`cmd` run from this checkout, under its address-space cap, in a session of its own."""
        return subprocess.Popen(cmd, cwd=self.root, env=self.env(), preexec_fn=self.limit, **kwargs)

    def limit(self) -> None:  # runs in the child before exec
        cap = self.cap_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        os.setsid()


@dataclass
class Result:
    case: str
    entry: str
    tree: str
    seconds: float
    main_mb: float
    worker_mb: float
    outcome: str
    extra: dict[str, Any] = field(default_factory=dict)


# --- inputs -------------------------------------------------------------------------------------


def _template_rows(rows: int, value: int) -> tuple[dict[str, Any], list[dict[str, str]]]:
    return amplifying_template(), [{"a": "x" * value} for _ in range(rows)]


def _strings_body(objects: int, size: int) -> bytes:
    """A card carrying `objects` empty objects, then one string up to `size` bytes."""
    head = b'{"width":10,"height":10,"components":[],"x":[' + b",".join([b"{}"] * objects)
    return head + b'],"y":"' + b"z" * max(0, size - len(head) - 9) + b'"}'


# --- the CLI ---------------------------------------------------------------------------------


def _run_cli(name: str, tree: Tree, argv: list[str], timeout: float = 180) -> Result:
    """`renderer batch ARGV --jobs 2 --json` of `tree`, under its cap and `timeout`."""
    cmd = [sys.executable, "-m", "renderer", "batch", *argv, "--jobs", "2", "--json"]
    started = time.monotonic()
    proc = tree.popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with Sampler(proc.pid, "VmHWM") as memory:
        try:
            _, err = proc.communicate(timeout=timeout)
            outcome = f"exit {proc.returncode}"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, err = proc.communicate()
            outcome = f"killed after {timeout:g} s"
    if "MemoryError" in err:
        outcome += ", MemoryError"
    elif "Traceback" in err:
        outcome += ", traceback"
    seconds = time.monotonic() - started
    return Result(
        name, "CLI batch", tree.label, seconds, memory.root_mb(), memory.workers_mb(), outcome
    )


def _card_with(text: str) -> str:
    return json.dumps({"width": 120, "height": 40, "components": [{"type": "text", "text": text}]})


def cli_template(tree: Tree, tmp: Path) -> Result:
    """Row 1 through the CLI: the issue's template and 100 rows of 40,000 characters."""
    template, rows = _template_rows(100, 40_000)
    (tmp / "t.json").write_text(json.dumps(template))
    (tmp / "rows.csv").write_text("a\n" + "".join(r["a"] + "\n" for r in rows))
    argv = [str(tmp / "t.json"), "--data", str(tmp / "rows.csv"), "-o", str(tmp / "out")]
    return _run_cli("template-100-rows", tree, argv)


def cli_alias_bomb(tree: Tree, tmp: Path) -> Result:
    """Row 8: a 354-byte YAML alias bomb in one post's front matter, beside a fine post."""
    (tmp / "og.json").write_text(_card_with("{{ title }}"))
    (tmp / "bomb.md").write_text(alias_bomb())
    (tmp / "fine.md").write_text("---\ntitle: Fine\n---\n")
    argv = [str(tmp / "og.json"), "--data", str(tmp / "bomb.md"), str(tmp / "fine.md")]
    return _run_cli("yaml-alias-bomb", tree, [*argv, "-o", str(tmp / "out")])


def cli_wide_csv(tree: Tree, tmp: Path) -> Result:
    """Row 9: a CSV header of 100,000 columns."""
    (tmp / "t.json").write_text(_card_with("{{ c1 }}"))
    names = [f"c{i}" for i in range(100_000)]
    (tmp / "wide.csv").write_text(",".join(names) + "\n" + ",".join(names) + "\n")
    argv = [str(tmp / "t.json"), "--data", str(tmp / "wide.csv"), "-o", str(tmp / "out")]
    return _run_cli("csv-100000-columns", tree, argv)


def cli_kill(tree: Tree, tmp: Path) -> Result:
    """Row 7: `kill -9` of `renderer batch --jobs 2` mid-run; what is still alive 5 s later."""
    card = {
        "width": 1200,
        "height": 630,
        "components": [{"type": "text", "text": "Lorem " * 300, "frameWidth": 1100}],
    }
    (tmp / "src").mkdir()
    for i in range(400):
        (tmp / "src" / f"c{i}.json").write_text(json.dumps(card))
    cmd = [
        sys.executable,
        "-m",
        "renderer",
        "batch",
        str(tmp / "src"),
        "-o",
        str(tmp / "out"),
        "--jobs",
        "2",
    ]
    proc = tree.popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    while len(process_tree(proc.pid)) < 5 and time.monotonic() - started < 60:
        time.sleep(0.05)
    time.sleep(1.0)
    below = [p for p in process_tree(proc.pid) if p != proc.pid]
    proc.kill()
    proc.wait()
    time.sleep(5)
    left = [p for p in below if status_mb(p, "VmRSS") > 0]
    rss = sum(status_mb(p, "VmRSS") for p in left)
    for p in left:  # ours, by id
        os.kill(p, signal.SIGKILL)
    outcome = f"{len(left)} processes left 5 s later ({rss:.0f} MB)"
    return Result("kill-9-mid-batch", "CLI batch", tree.label, 0.0, 0.0, 0.0, outcome)


# --- the server ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """`renderer serve` of one tree, two render workers, keys on a free and an open plan."""

    def __init__(self, tree: Tree, tmp: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (tmp / "keys.txt").write_text("big:unlimited\nfree:free\n")
        (tmp / "config.json").write_text(json.dumps({"plans": {"unlimited": {"requests": None}}}))
        argv = [sys.executable, "-m", "renderer", "serve", "--port", str(self.port)]
        argv += ["--render-workers", "2", "--api-keys-file", str(tmp / "keys.txt")]
        argv += ["--config", str(tmp / "config.json"), "--log-level", "warning"]
        self.log = (tmp / "server.log").open("wb")
        self.proc = tree.popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        msg = "the server did not start"
        raise RuntimeError(msg)

    def post(self, path: str, body: bytes, key: str = "big", **headers: str) -> httpx.Response:
        h = {"Content-Type": "application/json", "Authorization": f"Bearer {key}", **headers}
        try:
            return httpx.post(self.url + path, content=body, headers=h, timeout=300)
        except httpx.TransportError as e:
            return httpx.Response(599, text=type(e).__name__)

    def wait_job(self, r: httpx.Response, key: str = "big", limit: float = 300) -> dict[str, Any]:
        if r.status_code != 202:
            return {"status": f"HTTP {r.status_code}"}
        link = r.json()["links"]["self"]
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                job: dict[str, Any] = httpx.get(
                    self.url + link, headers={"Authorization": f"Bearer {key}"}, timeout=30
                ).json()
            except (httpx.TransportError, ValueError):
                return {"status": "server gone"}
            if job["status"] in ("done", "failed"):
                return job
            time.sleep(0.1)
        return {"status": "not finished"}

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()


def _workers(root: int) -> list[int]:
    """The render workers under a server: the children of its forkserver."""
    processes = process_tree(root)
    forkservers = {p for p, parent in processes.items() if parent == root and p != root}
    return [p for p, parent in processes.items() if parent in forkservers]


def _served(
    name: str, tree: Tree, tmp: Path, drive: Callable[[Server], tuple[str, dict[str, Any]]]
) -> Result:
    server = Server(tree, tmp)
    try:
        started = time.monotonic()
        with Sampler(server.proc.pid, "VmHWM") as memory:
            outcome, extra = drive(server)
        seconds = time.monotonic() - started
        alive = server.proc.poll() is None
    finally:
        server.stop()
    if not alive:
        outcome += "; the server died"
    return Result(
        name, "server", tree.label, seconds, memory.root_mb(), memory.workers_mb(), outcome, extra
    )


def server_template(tree: Tree, tmp: Path) -> Result:
    """Row 1 as reported: template `{{a}}` × 2000, 100 rows of 40,000 × "x" (a 4 MB body)."""
    template, rows = _template_rows(100, 40_000)
    body = json.dumps({"template": template, "rows": rows}).encode()

    def drive(s: Server) -> tuple[str, dict[str, Any]]:
        t = time.monotonic()
        r = s.post("/api/v1/batch", body)
        answered = time.monotonic() - t
        job = s.wait_job(r)
        failed = job.get("failed", "-")
        return f"HTTP {r.status_code} in {answered:.1f} s; job {job['status']}, {failed} failed", {}

    return _served("batch-template-4MB", tree, tmp, drive)


def server_flood(tree: Tree, tmp: Path) -> Result:
    """5 MB of `[{}, {}, …]` (1.6 million objects) in one card."""
    body = _strings_body(1_660_000, 0)

    def drive(s: Server) -> tuple[str, dict[str, Any]]:
        r = s.post("/api/v1/image", body)
        return f"HTTP {r.status_code}", {}

    return _served("image-5MB-objects", tree, tmp, drive)


def _within_bound(name: str, tree: Tree, tmp: Path, at_once: int) -> Result:
    """The most objects `Limits.max_json_items` lets through (95,000) beside 4.5 MB of text,
    `at_once` to /api/v1/image together, then as many batches of it."""
    body = _strings_body(95_000, 4_990_000)
    batch = b'{"items":[' + body + b"]}"

    def drive(s: Server) -> tuple[str, dict[str, Any]]:
        def send(path: str, data: bytes) -> list[httpx.Response]:
            with concurrent.futures.ThreadPoolExecutor(at_once) as pool:
                return list(pool.map(lambda _: s.post(path, data), range(at_once)))

        images = sorted(r.status_code for r in send("/api/v1/image", body))
        jobs = [s.wait_job(r)["status"] for r in send("/api/v1/batch", batch)]
        return f"image: {images}; batch jobs: {sorted(jobs)}", {}

    return _served(name, tree, tmp, drive)


def server_within(tree: Tree, tmp: Path) -> Result:
    return _within_bound("5MB-95k-objects-x1", tree, tmp, 1)


def server_within_ten(tree: Tree, tmp: Path) -> Result:
    return _within_bound("5MB-95k-objects-x10", tree, tmp, 10)


def server_bomb(tree: Tree, tmp: Path) -> Result:
    """Row 5: 50 image components, each a 4096² box from a 2×2 PNG (6 KB), then five ordinary
    4096² AVIF cards."""
    uri = png_data_uri(2, 2)
    bomb = {
        "width": 4096,
        "height": 4096,
        "components": [{"type": "image", "src": uri, "width": 4096, "height": 4096}] * 50,
    }
    avif = {
        "width": 4096,
        "height": 4096,
        "components": [{"type": "text", "text": "Ordinary", "fontSize": 300}],
    }

    def drive(s: Server) -> tuple[str, dict[str, Any]]:
        first = s.post("/api/v1/image", json.dumps(bomb).encode(), Accept="image/png")
        time.sleep(1)  # a replacement, if any, is up
        held = sorted(round(status_mb(p, "VmRSS")) for p in _workers(s.proc.pid))
        after = [
            s.post("/api/v1/image", json.dumps(avif).encode(), Accept="image/avif").status_code
            for _ in range(5)
        ]
        text = f"bomb: HTTP {first.status_code}, workers then hold {held} MB; 4096² AVIF: {after}"
        return text, {}

    return _served("image-bomb-then-avif", tree, tmp, drive)


def server_quota(tree: Tree, tmp: Path) -> Result:
    """Row 12: ten concurrent 2-item batches on a fresh free key (10 requests a month)."""
    card = {"width": 60, "height": 30, "components": [{"type": "text", "text": "Hi"}]}
    body = json.dumps({"items": [card, card]}).encode()

    def drive(s: Server) -> tuple[str, dict[str, Any]]:
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            answers = list(pool.map(lambda _: s.post("/api/v1/batch", body, "free"), range(10)))
        rendered = sum(s.wait_job(r, "free").get("completed", 0) for r in answers)
        left = s.post("/api/v1/image", json.dumps(card).encode(), "free")
        statuses = sorted(r.status_code for r in answers)
        text = f"{statuses.count(202)} accepted, {statuses.count(429)} refused, {rendered} cards"
        return text + f"; next request: HTTP {left.status_code}", {}

    return _served("10-concurrent-batches-free", tree, tmp, drive)


CASES: dict[str, Callable[[Tree, Path], Result]] = {
    "cli-template": cli_template,
    "cli-alias": cli_alias_bomb,
    "cli-csv": cli_wide_csv,
    "cli-kill": cli_kill,
    "server-template": server_template,
    "server-flood": server_flood,
    "server-within": server_within,
    "server-within-10": server_within_ten,
    "server-bomb": server_bomb,
    "server-quota": server_quota,
}


def scaling() -> list[str]:
    """Each input path whose cost this change made linear, at n and 10 n: the ratio of the
    times should be near 10 (quadratic would be 100). This checkout, in this process."""
    from renderer.batch.rows import read_rows
    from renderer.templates import fill

    def timed(run: Callable[[], object]) -> float:
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - started)
        return best

    def csv(columns: int) -> Callable[[], object]:
        path = Path(tempfile.mkdtemp()) / "wide.csv"
        path.write_text(",".join(f"c{i}" for i in range(columns)) + "\n")
        return lambda: read_rows([path])

    paths: dict[str, tuple[int, Callable[[int], Callable[[], object]]]] = {
        "fill: placeholders": (100_000, lambda n: lambda: fill({"t": "{{a}} " * n}, {"a": "x"})),
        "fill: unclosed '{{'": (10_000, lambda n: lambda: _refused(fill, {"t": "{{ " * n}, {})),
        "CSV header: columns": (1_000, csv),
    }
    lines = ["| input path | n | time at n | time at 10 n | ratio |", "|---|---|---|---|---|"]
    for name, (n, make) in paths.items():
        small, large = timed(make(n)), timed(make(10 * n))
        lines.append(
            f"| {name} | {n:,} | {small * 1000:.2f} ms | {large * 1000:.2f} ms "
            f"| {large / small:.1f} |"
        )
    return lines


def _refused(fill: Callable[..., object], *args: object) -> None:
    from renderer.errors import SpecError

    try:
        fill(*args)
    except SpecError:
        return


def _table(results: list[Result], labels: list[str]) -> str:
    rows = [
        "| case | entry point | "
        + " | ".join(f"{label}: time, main / worker peak, outcome" for label in labels)
        + " |"
    ]
    rows.append("|---|---|" + "---|" * len(labels))
    for case in dict.fromkeys(r.case for r in results):
        mine = {r.tree: r for r in results if r.case == case}
        entry = next(iter(mine.values())).entry
        cells = []
        for label in labels:
            r = mine.get(label)
            cells.append(
                "—"
                if r is None
                else f"{r.seconds:.1f} s, {r.main_mb:.0f} / {r.worker_mb:.0f} MB, {r.outcome}"
            )
        rows.append(f"| {case} | {entry} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="another checkout, measured first")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated")
    parser.add_argument("--cap-mb", type=int, default=4096, help="address space per process")
    parser.add_argument("--no-scaling", action="store_true", help="skip the n / 10 n table")
    args = parser.parse_args()
    trees = [Tree("after", ROOT, args.cap_mb)]
    if args.before:
        trees.insert(0, Tree("before", args.before.resolve(), args.cap_mb))
    results: list[Result] = []
    for name in args.cases.split(","):
        for tree in trees:
            with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
                result = CASES[name](tree, Path(tmp))
            results.append(result)
            print(json.dumps(result.__dict__), flush=True)
    print()
    print(_table(results, [t.label for t in trees]))
    if not args.no_scaling:
        print()
        print("\n".join(scaling()))


if __name__ == "__main__":
    main()
