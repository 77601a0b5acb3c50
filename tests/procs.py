"""Real processes and their memory, read from /proc (Linux), for tests/test_hostile.py and
benchmarks/hostile.py: which processes a command started, and the most memory each held.

A tree is walked through each thread's `children` file (Linux 3.5+), a few reads per process,
so sampling it every 20 ms does not compete with what is measured the way scanning all of /proc
would on a busy machine.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

__all__ = ["Sampler", "children", "cmdline", "cpu_seconds", "descendants", "status_mb", "tree"]


def children(pid: int) -> list[int]:
    """The children of `pid`, alive now."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            found += [int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
        except FileNotFoundError:  # a kernel without CONFIG_PROC_CHILDREN
            return _scan(pid)
        except OSError:
            continue
    return found


def _scan(pid: int) -> list[int]:
    """The children of `pid` from every process's parent field: slow, but always there."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text() if entry.isdigit() else ""
        except OSError:
            continue
        if stat and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def tree(pid: int) -> dict[int, int]:
    """Each process of the tree under `pid` (itself included, as parent 0), with its parent."""
    found, todo = {pid: 0}, [pid]
    while todo:
        parent = todo.pop()
        for child in children(parent):
            found[child] = parent
            todo.append(child)
    return found


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, grandchildren, …), alive now."""
    return [p for p in tree(pid) if p != pid]


def status_mb(pid: int, key: str) -> float:
    """A memory field of /proc/PID/status (`VmRSS`, `VmHWM`, …), MiB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far, from /proc/PID/stat (OSError once it is
    gone: a caller that measures a process must know it still ran)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class Sampler:
    """The most memory (`key`: `VmRSS` now, or `VmHWM`, the process's own peak) that a process
    and each of its descendants held, sampled every 20 ms on a thread while the block runs."""

    def __init__(self, root: int, key: str = "VmRSS") -> None:
        self.root = root
        self.key = key
        self.peak: dict[int, float] = {}
        self.parent: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid, parent in tree(self.root).items():
                self.peak[pid] = max(self.peak.get(pid, 0.0), status_mb(pid, self.key))
                self.parent[pid] = parent
                self.names.setdefault(pid, cmdline(pid))
            self._stop.wait(0.02)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def root_mb(self) -> float:
        return self.peak.get(self.root, 0.0)

    def workers_mb(self) -> float:
        """The largest worker: a child of a forkserver the root started (the render workers of
        `renderer serve`, the workers of `renderer batch --jobs N`)."""
        forkservers = {
            pid
            for pid, parent in self.parent.items()
            if parent == self.root and "forkserver" in self.names.get(pid, "")
        }
        workers = [mb for pid, mb in self.peak.items() if self.parent.get(pid) in forkservers]
        return max(workers, default=0.0)

    def below_mb(self) -> float:
        """The largest process below the root, whatever it is."""
        return max((mb for pid, mb in self.peak.items() if pid != self.root), default=0.0)
