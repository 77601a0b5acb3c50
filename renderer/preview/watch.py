"""Tell the preview when a file it drew from is saved: `watchfiles` (the OS's notification API,
inotify on Linux, FSEvents on macOS; never a polling loop of ours).

The folders holding the files are watched, not the files: editors often save by writing a new
file and renaming it over the old one, which a watch on the old file would never see. Events for
other files in those folders are filtered out. The set of files changes as the spec does (a new
image), so `refresh()` restarts the watch when the folders it needs change.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from watchfiles import Change, awatch

__all__ = ["Watcher"]

# ms: a save is reported once no further change came for STEP ms (an editor's write, rename and
# chmod arrive as one batch), and at most DEBOUNCE ms after the first event.
_STEP = 30
_DEBOUNCE = 300


class Watcher:
    """Calls `changed()` in the event loop when any file `files()` names is written, created or
    removed."""

    def __init__(self, files: Callable[[], set[Path]], changed: Callable[[], None]) -> None:
        self._files = files
        self._changed = changed
        self._targets: frozenset[str] = frozenset()
        self._folders: frozenset[str] = frozenset()
        self._restart = asyncio.Event()

    def refresh(self) -> None:
        """Watch what `files()` names now; restarts the watch only when its folders change."""
        self._targets = self._current()
        if _folders(self._targets) != self._folders:
            self._restart.set()

    def _current(self) -> frozenset[str]:
        return frozenset(t for f in self._files() for t in (str(f), os.path.realpath(f)))

    def _wanted(self, change: Change, path: str) -> bool:
        return path in self._targets

    async def run(self, stop: asyncio.Event) -> None:
        """Watch until `stop` is set."""
        relay = asyncio.ensure_future(self._relay(stop))
        try:
            while not stop.is_set():
                self._restart = asyncio.Event()
                self._targets = self._current()
                self._folders = _folders(self._targets)
                if not self._folders:
                    await self._restart.wait()
                    continue
                async for _ in awatch(
                    *sorted(self._folders),
                    watch_filter=self._wanted,
                    stop_event=self._restart,
                    recursive=False,
                    step=_STEP,
                    debounce=_DEBOUNCE,
                ):
                    self._changed()
        finally:
            relay.cancel()

    async def _relay(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._restart.set()


def _folders(targets: frozenset[str]) -> frozenset[str]:
    """The folders holding `targets` that exist (a missing one cannot be watched)."""
    return frozenset(d for d in (os.path.dirname(t) for t in targets) if os.path.isdir(d))
