"""One helper thread, so a single card can use a second core: the painter draws the lower band
of the canvas on it while the caller draws the upper band, and the PNG writer deflates the
lower half of the rows there.

cairo, NumPy and ISA-L release the GIL in the calls that take the time, so two bands take
little more than half the time of one. Only one card at a time borrows the helper: a render
that finds it busy (another thread is rendering) does its work in one piece instead of waiting.
Batch work and the server's workers are about throughput, not one card's latency: they keep
every core busy with one card per core already, so they turn the helper off (`set_threads(1)`
in a worker process, `alone()` around a card drawn in the caller's process); a second thread
per card would only contend. `RENDERER_THREADS=1` turns it off for a whole program.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

__all__ = ["alone", "beside", "helper", "set_threads", "threads"]


def _default_threads() -> int:
    configured = os.environ.get("RENDERER_THREADS", "").strip()
    if configured.isdigit() and int(configured) > 0:
        return min(2, int(configured))
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return 2 if cpus >= 2 else 1


_threads = _default_threads()
_executor: ThreadPoolExecutor | None = None
_busy = threading.Lock()
_local = threading.local()


def threads() -> int:
    """How many threads one card may use (1 or 2)."""
    return _threads


def set_threads(n: int) -> None:
    """1: every card is drawn and encoded on the calling thread; 2: with the helper."""
    global _threads
    _threads = 2 if n >= 2 else 1


@contextmanager
def helper() -> Iterator[ThreadPoolExecutor | None]:
    """The helper thread for the duration of the block, or None (threads off, or busy)."""
    global _executor
    if _threads < 2 or getattr(_local, "alone", False) or not _busy.acquire(blocking=False):
        yield None
        return
    try:
        if _executor is None:
            from concurrent.futures import ThreadPoolExecutor  # on first use: a CLI run may not

            _executor = ThreadPoolExecutor(1, thread_name_prefix="renderer-helper")
        yield _executor
    finally:
        _busy.release()


_Here = TypeVar("_Here")
_There = TypeVar("_There")


def beside(
    pool: ThreadPoolExecutor, here: Callable[[], _Here], there: Callable[[], _There]
) -> tuple[_Here, _There]:
    """`here()` on this thread while the helper (`pool`, from `helper()`) runs `there()`. If the
    helper has not begun `there` by the time `here` is done (its core was busy), this thread
    runs it too instead of waiting: a card is never later than on one thread for lack of a
    free core."""
    pending = pool.submit(there)
    mine = here()
    return mine, there() if pending.cancel() else pending.result()


@contextmanager
def alone() -> Iterator[None]:
    """Cards drawn by this thread inside the block use this thread only."""
    before = getattr(_local, "alone", False)
    _local.alone = True
    try:
        yield
    finally:
        _local.alone = before


def _after_fork() -> None:
    """A forked child has no helper thread, only the parent's executor object: start afresh."""
    global _executor, _busy
    _executor, _busy = None, threading.Lock()


os.register_at_fork(after_in_child=_after_fork)
