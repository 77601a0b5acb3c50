"""Progress for people and for logs: a tqdm bar on a terminal, plain periodic lines otherwise.

A CI log gets one line every `interval` seconds (default 10) and none for a run shorter than
that, instead of a bar redrawn with carriage returns. Errors go to stderr as they happen, through
the bar's own writer so they never tear it.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["Progress"]


class Progress:
    def __init__(self, total: int, *, enabled: bool, interval: float = 10.0) -> None:
        self.total = total
        self.counts = {"rendered": 0, "skipped": 0, "failed": 0}
        self._start = time.monotonic()
        self._last = self._start
        self._interval = interval
        self._stream: TextIO = sys.stderr
        self._bar: Any = None
        self._enabled = enabled
        if enabled and self._stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="card", file=self._stream, dynamic_ncols=True)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self._start

    def done(self, kind: str) -> None:
        """Count one finished item: "rendered", "skipped" or "failed"."""
        self.counts[kind] += 1
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(failed=self.counts["failed"], refresh=False)
        elif self._enabled and time.monotonic() - self._last >= self._interval:
            self._last = time.monotonic()
            self._stream.write(self.line() + "\n")
            self._stream.flush()

    def line(self) -> str:
        finished = sum(self.counts.values())
        rate = self.counts["rendered"] / self.seconds if self.seconds > 0 else 0.0
        left = self.total - finished
        eta = f", about {left / rate:.0f} s left" if rate > 0 and left else ""
        c = self.counts
        return (
            f"renderer batch: {finished}/{self.total} done ({c['rendered']} rendered, "
            f"{c['skipped']} skipped, {c['failed']} failed), {rate:.1f} cards/s{eta}"
        )

    def error(self, text: str) -> None:
        if self._bar is not None:
            self._bar.write(text, file=self._stream)
        else:
            self._stream.write(text + "\n")
            self._stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
