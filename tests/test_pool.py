"""The render pool's pipe to a worker, read on the event loop (`renderer.server.pool._answer`).

The server's tests drive the pool through real workers; these check the two things the event
loop's reading must get right whatever loop runs it: a big answer arrives whole even though it
is still being written when the pipe first turns readable, and on a loop that leaves the pipe
non-blocking once it has watched it (uvloop does), and no answer means a timeout, not a hang.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from collections.abc import Callable

import pytest
from procs import cpu_seconds

from renderer.server.pool import _answer

_BIG = 8 * 1024 * 1024  # bytes: many times what a socket pair buffers


@pytest.mark.parametrize("left_non_blocking", [False, True])
def test_a_big_answer_is_read_whole(left_non_blocking: bool) -> None:
    ours, theirs = multiprocessing.Pipe()
    answer = (False, ("ok", os.urandom(_BIG)))
    writer = threading.Timer(0.05, theirs.send, (answer,))  # written while we already wait

    async def read() -> object:
        loop = asyncio.get_running_loop()
        if left_non_blocking:  # what uvloop's add_reader leaves behind
            original = loop.add_reader

            def add_reader(fd: int, callback: Callable[[], object]) -> None:
                original(fd, callback)
                os.set_blocking(fd, False)

            loop.add_reader = add_reader  # type: ignore[method-assign,assignment]
        writer.start()
        return await _answer(loop, ours, timeout=30)

    try:
        assert asyncio.run(read()) == answer
        assert os.get_blocking(ours.fileno())
    finally:
        ours.close()  # a writer still sending (the read failed) stops at a broken pipe
        writer.join(10)
        theirs.close()


def test_no_answer_is_a_timeout() -> None:
    ours, theirs = multiprocessing.Pipe()

    async def read() -> object:
        return await _answer(asyncio.get_running_loop(), ours, timeout=0.2)

    try:
        with pytest.raises((TimeoutError, asyncio.TimeoutError)):
            asyncio.run(read())
    finally:
        ours.close()
        theirs.close()


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux's /proc")
def test_a_lone_client_is_served_by_one_warm_worker() -> None:
    """One request after another goes to the worker that answered the last one (its caches
    are warm), not to each worker in turn: of two workers, one does the drawing."""
    from renderer.server.pool import RenderPool

    spec = b'{"width": 600, "height": 315, "background": "#123",'
    spec += b' "components": [{"type": "text", "text": "Warm", "x": 40, "y": 40, "fontSize": 96}]}'

    async def run() -> list[float]:
        pool = RenderPool(2, 30, 4, 2048)
        await pool.start()
        try:
            pids = [w.process.pid for w in pool._all if w.process.pid is not None]
            before = [cpu_seconds(pid) for pid in pids]
            for _ in range(60):
                assert isinstance(await pool.render(spec, "png", 2.0, None, None), bytes)
            return sorted(cpu_seconds(pid) - b for pid, b in zip(pids, before, strict=True))
        finally:
            await pool.close()

    idle, busy = asyncio.run(run())
    assert idle < busy / 5, (idle, busy)  # taking turns, each would have done half
    assert busy >= 0.05  # 60 cards at scale 2: enough clock ticks to tell the two apart
