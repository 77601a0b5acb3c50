"""Where jobs run: in this process, in a pool of local worker processes, or on a Dask cluster.

All three have one shape, so the runner and `render_many` treat them alike: `submit` a job,
`wait` for whichever finish next (with a timeout, so the caller can notice Ctrl-C between
results), `cancel` what has not started, `close`. Results come back in completion order; callers
that need submission order (`render_many`) reorder by job id.

Local workers are started with `forkserver` where the platform has it: forking the parent
directly would copy whatever threads it runs (a progress bar, a Dask client) into children in an
undefined state. Each worker runs `work.init_worker` once.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import multiprocessing
import os
from collections import deque
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from .. import parallel
from ..errors import TIMEOUT_ERRORS
from .work import ErrorInfo, Job, Outcome, init_worker, render_job, render_jobs, warm_up

__all__ = ["CHUNK", "DaskExecutor", "Executor", "InProcessExecutor", "PoolExecutor", "usable_cores"]


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, as a container or `taskset` limits it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no affinity call
        return max(1, os.cpu_count() or 1)


class Executor(Protocol):
    capacity: int  # how many jobs to keep in flight so no worker waits for work

    def submit(self, job: Job) -> None: ...
    def in_flight(self) -> int: ...
    def wait(self, timeout: float) -> list[Outcome]: ...
    def cancel(self) -> None: ...
    def close(self) -> None: ...


class InProcessExecutor:
    """`--jobs 1`: no worker processes at all, the cheapest way to draw a handful of cards."""

    capacity = 1

    def __init__(self) -> None:
        self._queue: deque[Job] = deque()

    def submit(self, job: Job) -> None:
        self._queue.append(job)

    def in_flight(self) -> int:
        return len(self._queue)

    def wait(self, timeout: float) -> list[Outcome]:
        if not self._queue:
            return []
        with parallel.alone():  # --jobs 1 is one core, as each of --jobs N's workers is
            return [render_job(self._queue.popleft())]

    def cancel(self) -> None:
        self._queue.clear()

    def close(self) -> None:
        self._queue.clear()


CHUNK = 8  # jobs per hand-over to a worker process


class PoolExecutor:
    """`--jobs N`: N local worker processes, each loading the fonts once. Jobs go to the workers
    in chunks of `CHUNK`: handing over one job costs the parent ~0.2 ms (pickling, a pipe
    write, a future), as much as a small card takes to draw, and the parent shares the cores
    with the workers."""

    def __init__(self, jobs: int, chunk: int = CHUNK) -> None:
        """`chunk=1` for `--fail-fast`: a failure is seen when its job ends, not its chunk,
        and at most a job per worker and one queued behind each are drawn after it."""
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if "forkserver" in methods:
            # Import the engine once in the fork server, so each worker starts warm.
            # Under --fail-fast also jsonschema, which only a refused spec's messages import
            # (~50 ms in a worker's first refusal, cards drawn past the failure meanwhile).
            preload = ["renderer.batch.work", "renderer.api"]
            ctx.set_forkserver_preload([*preload, "jsonschema"] if chunk == 1 else preload)
        # The workers exit when this process dies, by any means (see `work.watch_parent`): they
        # hold the reading end, this process the only writing end.
        self._alive, self._alive_w = ctx.Pipe(duplex=False)
        self._pool = cf.ProcessPoolExecutor(
            jobs, mp_context=ctx, initializer=init_worker, initargs=(self._alive,)
        )
        self._jobs = jobs
        self._futures: dict[cf.Future[list[Outcome]], list[int]] = {}
        self._pending: list[Job] = []  # not yet handed over: fewer than a chunk
        self._failed: list[Outcome] = []  # jobs a dead pool refused at submit time
        self._chunk = chunk
        self.capacity = 4 * jobs * chunk if chunk > 1 else jobs

    def start(self) -> None:
        """Start every worker now rather than on the first jobs (one no-op each)."""
        for _ in range(self._jobs):
            self._pool.submit(warm_up)

    def submit(self, job: Job) -> None:
        self._pending.append(job)
        if len(self._pending) >= self._chunk:
            self._hand_over()

    def _hand_over(self) -> None:
        chunk, self._pending = self._pending, []
        try:
            self._futures[self._pool.submit(render_jobs, chunk)] = [j.id for j in chunk]
        except BrokenProcessPool as e:
            self._failed += [Outcome(j.id, error=ErrorInfo.of(e)) for j in chunk]

    def in_flight(self) -> int:
        held = sum(len(ids) for ids in self._futures.values())
        return held + len(self._pending) + len(self._failed)

    def wait(self, timeout: float) -> list[Outcome]:
        if self._pending and len(self._futures) < 2 * self._jobs:  # a worker may go idle
            self._hand_over()
        outcomes, self._failed = self._failed, []
        if not self._futures:
            return outcomes
        done, _ = cf.wait(self._futures, timeout, cf.FIRST_COMPLETED)
        for f in done:
            ids = self._futures.pop(f)
            if f.cancelled():
                continue
            error = f.exception()
            # render_jobs never raises; an exception here means the worker process died (killed,
            # out of memory), which fails the jobs it held, not the batch.
            if error:
                outcomes += [Outcome(i, error=ErrorInfo.of(error)) for i in ids]
            else:
                outcomes += f.result()
        return outcomes

    def cancel(self) -> None:
        self._pending.clear()
        for f in list(self._futures):
            if f.cancel():
                del self._futures[f]
        self._failed.clear()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._alive.close()
        self._alive_w.close()


class DaskExecutor:
    """`--executor dask`: jobs run on a Dask distributed cluster's workers.

    `scheduler` is an address such as `tcp://host:8786`; None starts a `LocalCluster` of `jobs`
    worker processes for this run (handy on one big machine, and for trying the setup).
    """

    def __init__(self, scheduler: str | None, jobs: int) -> None:
        # Typed as Any: distributed's public functions are unannotated, and it is optional.
        self._dask: Any = importlib.import_module("distributed")
        self._cluster: Any = None
        if scheduler is None:
            self._cluster = self._dask.LocalCluster(
                n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None
            )
            scheduler = self._cluster.scheduler_address
        self._client: Any = self._dask.Client(scheduler)
        self._client.run(init_worker_fonts)
        threads = sum(self._client.nthreads().values()) or 1
        self.capacity = 4 * threads
        self._futures: dict[Any, int] = {}

    def submit(self, job: Job) -> None:
        self._futures[self._client.submit(render_job, job, pure=False)] = job.id

    def in_flight(self) -> int:
        return len(self._futures)

    def wait(self, timeout: float) -> list[Outcome]:
        try:
            self._dask.wait(list(self._futures), timeout=timeout, return_when="FIRST_COMPLETED")
        except TIMEOUT_ERRORS:
            return []
        outcomes: list[Outcome] = []
        for f in [f for f in self._futures if f.done()]:
            job_id = self._futures.pop(f)
            if f.status == "finished":
                outcomes.append(f.result())
            elif f.status == "error":
                # render_job never raises: this is a lost worker or a broken installation on it.
                outcomes.append(Outcome(job_id, error=ErrorInfo.of(f.exception())))
            f.release()
        return outcomes

    def cancel(self) -> None:
        pending = [f for f in self._futures if not f.done()]
        self._client.cancel(pending)
        for f in pending:
            del self._futures[f]

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def init_worker_fonts() -> None:
    """Load the font library on a Dask worker before its first job (see `work.init_worker`)."""
    from ..fonts import library

    parallel.set_threads(1)
    library()
