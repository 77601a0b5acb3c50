"""A pool of render worker processes with a bounded queue and a per-render deadline.

Why processes: a render is C code (cairo, libjpeg, libavif) that Python cannot interrupt, and a
crash or memory blow-up there must not take the server down. Each job goes to an idle worker over
a pipe; a thread waits for the answer with `Connection.poll(deadline)` so the event loop stays free
(`/healthz` answers while every worker is busy). Past the deadline the worker is killed (SIGKILL)
and replaced, and the caller gets `RenderTimeout` (503). A worker that answers but says it should
not serve again (it ran out of memory, failed on its own account, or holds more than
`recycle_mb`: see `worker`) is replaced the same way before anyone else is handed to it. When
every worker is busy and `queue_size` callers already wait, `PoolBusy` (503) is raised at once
instead of queueing without bound.

Workers start with the "forkserver" context (a clean, single-threaded parent that has already
imported `renderer`, so a replacement is up in milliseconds rather than re-importing everything),
or "spawn" where forkserver does not exist. Never "fork": the server process runs threads. Each
worker holds the reading end of a pipe only this process writes to, and exits when it closes
(`renderer.batch.work.watch_parent`), so a server killed with SIGKILL leaves no worker behind.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import os
import sys
from collections.abc import Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import ForkingPickler
from typing import Any, Literal, overload

from renderer import parallel
from renderer.errors import TIMEOUT_ERRORS
from renderer.policy import DEFAULT_POLICY, ImagePolicy

from .worker import Packed, RenderJob, worker_main

__all__ = ["PoolBusy", "RenderFailed", "RenderPool", "RenderTimeout", "WorkerCrashed"]

_START_TIMEOUT = 120.0  # s for a new worker to import and warm up


class PoolBusy(Exception):
    """Every worker is busy and the queue is full."""


class RenderTimeout(Exception):
    """The render passed its deadline; its worker was killed."""


class WorkerCrashed(Exception):
    """The worker died during the render (a crash in C code, or killed by the OS)."""


@dataclass(frozen=True, slots=True)
class RenderFailed:
    """The worker answered with an error (bad spec, bad image, …)."""

    status: int
    error: str
    issues: list[dict[str, str]]


@dataclass(slots=True)
class PoolStats:
    renders: int = 0
    timeouts: int = 0
    crashes: int = 0
    restarts: int = 0
    recycled: int = 0  # workers replaced after a request left them unhealthy
    busy_rejections: int = 0


class _Worker:
    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn

    def stop(self, kill: bool) -> None:
        if kill:
            self.process.kill()
        self.conn.close()
        self.process.join(2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(2)


def _context() -> ForkServerContext | SpawnContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["renderer.api", "renderer.server.worker"])  # all of a render
        return ctx
    return multiprocessing.get_context("spawn")


def _wait(conn: Connection, timeout: float) -> Any:
    """Runs in a thread: the answer, `TimeoutError` past the deadline, EOFError if it died."""
    if not conn.poll(timeout):
        raise TimeoutError
    return conn.recv()


_INLINE_SEND = 16 * 1024  # bytes: a socket pair buffers more, and an idle worker is reading


async def _answer(loop: asyncio.AbstractEventLoop, conn: Connection, timeout: float) -> Any:
    """The worker's answer, read once its pipe is readable (the event loop watches the pipe:
    no thread to wake, two fewer context switches a request than waiting in one);
    `TimeoutError` past the deadline, EOFError if the worker died."""
    ready: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not ready.done():
            ready.set_result(None)

    fd = conn.fileno()
    loop.add_reader(fd, readable)
    try:
        await asyncio.wait_for(ready, timeout)
    finally:
        loop.remove_reader(fd)
        os.set_blocking(fd, True)  # uvloop's add_reader leaves it non-blocking
    return conn.recv()  # the rest of a big answer is on its way: the worker is writing it


class RenderPool:
    def __init__(
        self,
        size: int,
        timeout: float,
        queue_size: int,
        memory_mb: int,
        recycle_mb: float = 768,
        font_dirs: tuple[str, ...] = (),
    ) -> None:
        self.size = max(1, size)
        self.timeout = timeout
        self.queue_size = queue_size
        self.memory_mb = memory_mb
        self.recycle_mb = min(recycle_mb, memory_mb)  # resident memory cannot pass the cap
        self.font_dirs = font_dirs  # the operator's fonts, registered in every worker
        self.stats = PoolStats()
        self.waiting = 0
        self._ctx = _context()
        self._alive, self._alive_w = self._ctx.Pipe(duplex=False)
        # Last in, first out: a lone client is served by the worker that served it last, whose
        # caches (the CPU's and its allocator's) are warm, instead of each worker in turn (the
        # blog card at one client: 136-139 -> 150-158 requests a second). Waiting requests are
        # still served in the order they came.
        self._idle: asyncio.Queue[_Worker] = asyncio.LifoQueue()
        self._all: set[_Worker] = set()
        self._threads = ThreadPoolExecutor(self.size * 2 + 2, thread_name_prefix="render-wait")
        self._closed = False
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def busy(self) -> int:
        return len(self._all) - self._idle.qsize()

    @property
    def alive(self) -> int:
        return sum(1 for w in self._all if w.process.is_alive())

    def _start_worker(self) -> _Worker:
        """Blocking: start a process and wait for its ready message."""
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=worker_main,
            args=(child, self.memory_mb, self.recycle_mb, self._alive, self.font_dirs),
            name="renderer-worker",
            daemon=True,
        )
        process.start()
        child.close()
        worker = _Worker(process, parent)
        try:
            ready = _wait(parent, _START_TIMEOUT)
        except (TimeoutError, EOFError, OSError):
            worker.stop(kill=True)
            raise
        if ready != ("ready",):
            worker.stop(kill=True)
            msg = f"unexpected first message from a worker: {ready!r}"
            raise RuntimeError(msg)
        return worker

    async def _add_worker(self) -> None:
        loop = asyncio.get_running_loop()
        worker = await loop.run_in_executor(self._threads, self._start_worker)
        if self._closed:
            worker.stop(kill=True)
            return
        self._all.add(worker)
        self._idle.put_nowait(worker)

    async def start(self) -> None:
        await asyncio.gather(*(self._add_worker() for _ in range(self.size)))

    async def _replace(self, worker: _Worker, kill: bool) -> None:
        self._all.discard(worker)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._threads, worker.stop, kill)
        self.stats.restarts += 1
        while not self._closed:
            try:
                await self._add_worker()
                return
            except Exception as e:  # keep trying: a pool with no workers serves nothing
                print(f"renderer: could not start a render worker: {e!r}", file=sys.stderr)
                await asyncio.sleep(1)

    def _background(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(self._tasks.discard)

    async def _acquire(self) -> _Worker:
        if self._idle.empty() and self.waiting >= self.queue_size:
            self.stats.busy_rejections += 1
            raise PoolBusy
        self.waiting += 1
        try:
            return await asyncio.wait_for(self._idle.get(), self.timeout * 2)
        except TIMEOUT_ERRORS:
            self.stats.busy_rejections += 1
            raise PoolBusy from None
        finally:
            self.waiting -= 1

    @overload
    async def render(
        self,
        spec: bytes | dict[str, Any],
        fmt: str,
        scale: float,
        quality: int | None,
        base_dir: str | None,
        policy: ImagePolicy = ...,
        variables: Mapping[str, object] | None = ...,
        *,
        report: Literal[False] = ...,
    ) -> bytes | RenderFailed: ...

    @overload
    async def render(
        self,
        spec: bytes | dict[str, Any],
        fmt: str,
        scale: float,
        quality: int | None,
        base_dir: str | None,
        policy: ImagePolicy = ...,
        variables: Mapping[str, object] | None = ...,
        *,
        report: bool,
    ) -> bytes | tuple[bytes, dict[str, Any]] | RenderFailed: ...

    async def render(
        self,
        spec: bytes | dict[str, Any] | Packed,
        fmt: str,
        scale: float,
        quality: int | None,
        base_dir: str | None,
        policy: ImagePolicy = DEFAULT_POLICY,
        variables: Mapping[str, object] | None = None,
        *,
        report: bool = False,
    ) -> bytes | tuple[bytes, dict[str, Any]] | RenderFailed:
        """Render in a worker; raises PoolBusy, RenderTimeout or WorkerCrashed. `spec` is the
        request body, or a document already read by the strict reader (a batch item): it is
        pickled whole, so the worker still sees the duplicate keys and bad literals it holds.
        With `variables`, `spec` is a template the worker fills first. With `report`, the answer
        is (image, the render report as `Report.to_dict()`)."""
        job = RenderJob(spec, fmt, scale, quality, base_dir, policy, variables, report=report)
        answer = await self._run(job)
        if isinstance(answer, RenderFailed):
            return answer
        return (answer[1], answer[2]) if report else answer[1]

    async def check(self, spec: bytes, scale: float) -> bytes | RenderFailed:
        """Run only the spec stage on `spec` in a worker (`b""` when the engine accepts it), under
        the same deadline: what the server asks before it answers 304 for a body."""
        answer = await self._run(RenderJob(spec, "png", scale, check_only=True))
        return answer if isinstance(answer, RenderFailed) else answer[1]

    async def _run(self, job: RenderJob) -> tuple[Any, ...] | RenderFailed:
        """The worker's `("ok", …)` answer, or its error as `RenderFailed`."""
        worker = await self._acquire()
        if self.busy == 1 and parallel.threads() == 2:  # no one else is drawing: use both cores
            job = dataclasses.replace(job, threads=2)
        loop = asyncio.get_running_loop()
        try:
            message = ForkingPickler.dumps(job)
            if len(message) <= _INLINE_SEND:  # fits the pipe's buffer: written at once
                worker.conn.send_bytes(message)
            else:  # a big body: the worker drains the pipe while a thread writes it
                await loop.run_in_executor(self._threads, worker.conn.send_bytes, message)
            retire, answer = await _answer(loop, worker.conn, self.timeout)
        except TIMEOUT_ERRORS:
            self.stats.timeouts += 1
            self._background(self._replace(worker, kill=True))
            raise RenderTimeout from None
        except (EOFError, OSError):
            self.stats.crashes += 1
            self._background(self._replace(worker, kill=True))
            raise WorkerCrashed from None
        except BaseException:  # cancelled mid-render: the worker's state is unknown
            self._background(self._replace(worker, kill=True))
            raise
        self.stats.renders += 1
        if retire:  # it exits by itself; never handed to anyone again
            self.stats.recycled += 1
            self._background(self._replace(worker, kill=False))
        else:
            self._idle.put_nowait(worker)
        if answer[0] == "ok":
            result: tuple[Any, ...] = answer
            return result
        return RenderFailed(answer[1], answer[2], answer[3])

    async def close(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        loop = asyncio.get_running_loop()
        workers = list(self._all)
        self._all.clear()
        await asyncio.gather(*(loop.run_in_executor(self._threads, w.stop, False) for w in workers))
        self._threads.shutdown(wait=False, cancel_futures=True)
        self._alive.close()
        self._alive_w.close()
