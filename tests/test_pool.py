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
