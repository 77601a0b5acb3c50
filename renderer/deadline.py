"""Deadlines: `render(..., timeout=...)` stops at the first checkpoint past its deadline.

The cost model (`budget`) is what bounds a render's time; a deadline is the caller's own bound on
top of it, for a web app that must answer within its budget whatever the card. Python cannot
interrupt a thread, so the pipeline checks the deadline at checkpoints: between stages, before
each component is laid out, each image loaded, and each item painted. A render therefore stops
within one such step of its deadline (the longest is one image resampled or one encode, both
bounded by `Limits`). The deadline lives in a context variable: set by `render` for its own
call, seen by every stage it runs, in this thread only.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from contextvars import ContextVar

from .errors import RenderTimeout

__all__ = ["check", "check_timeout", "deadline"]

_deadline: ContextVar[tuple[float, float] | None] = ContextVar("renderer_deadline", default=None)


@contextlib.contextmanager
def deadline(timeout: float | None) -> Iterator[None]:
    """Run the body under a deadline `timeout` seconds from now (None: no deadline)."""
    if timeout is None:
        yield
        return
    check_timeout(timeout)
    token = _deadline.set((time.monotonic() + timeout, float(timeout)))
    try:
        yield
    finally:
        _deadline.reset(token)


def check_timeout(timeout: float | None) -> None:
    """Refuse a `timeout` that is not None or a positive number of seconds (ValueError)."""
    ok = isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0
    if timeout is not None and not (ok and math.isfinite(timeout)):
        msg = f"timeout must be a number of seconds > 0, or None. Received: {timeout!r}."
        raise ValueError(msg)


def check() -> None:
    """Raise `RenderTimeout` if the current render is past its deadline."""
    current = _deadline.get()
    if current is not None and time.monotonic() > current[0]:
        msg = f"The render took longer than its timeout of {current[1]:g} s."
        raise RenderTimeout(msg)
