"""Tell the preview when a file it drew from is saved: `watchfiles` (the OS's notification API,
inotify on Linux, FSEvents on macOS; never a polling loop of ours).

The folders holding the files are watched, not the files: editors often save by writing a new
file and renaming it over the old one, which a watch on the old file would never see. Events for
other files in those folders are filtered out. A file whose folder does not exist (yet) is
watched through the nearest folder above it that does: creating the missing folder counts as a
change and moves the watch down. The set of files changes as the spec does (a new image), so
`refresh()` restarts the watch when the folders it needs change; every restart after the first
reports a change, since a save may have fallen between the two watches.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path

from watchfiles import Change, awatch

__all__ = ["Watcher"]

# ms: a save is reported once no further change came for STEP ms (an editor's write, rename and
# chmod arrive as one batch), and at most DEBOUNCE ms after the first event.
_STEP = 30
_DEBOUNCE = 300
_RETRY = 0.5  # s before watching again after the watch failed

log = logging.getLogger("renderer.preview")


class Watcher:
    """Calls `changed()` in the event loop when any file `files()` names is written, created or
    removed."""

    def __init__(self, files: Callable[[], set[Path]], changed: Callable[[], None]) -> None:
        self._files = files
        self._changed = changed
        self._targets: frozenset[str] = frozenset()  # the files, as given and resolved
        self._missing: frozenset[str] = frozenset()  # folders on their way that do not exist
        self._folders: frozenset[str] = frozenset()  # what the running watch watches
        self._restart = asyncio.Event()

    def refresh(self) -> None:
        """Watch what `files()` names now; restarts the watch only when its folders change."""
        self._targets = self._current()
        if self._plan() != self._folders:
            self._restart.set()

    def _current(self) -> frozenset[str]:
        return frozenset(t for f in self._files() for t in (str(f), os.path.realpath(f)))

    def _plan(self) -> frozenset[str]:
        """The folders to watch for the current targets; notes the missing ones on the way."""
        folders, missing = set(), set()
        for target in self._targets:
            folder = os.path.dirname(target)
            while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
                missing.add(folder)
                folder = os.path.dirname(folder)
            folders.add(folder)
        self._missing = frozenset(missing)
        return frozenset(folders)

    def _wanted(self, change: Change, path: str) -> bool:
        return path in self._targets or path in self._missing

    async def run(self, stop: asyncio.Event) -> None:
        """Watch until `stop` is set."""
        relay = asyncio.ensure_future(self._relay(stop))
        first = True
        try:
            while not stop.is_set():
                self._restart = asyncio.Event()
                self._targets = self._current()
                self._folders = self._plan()
                if not first:
                    self._changed()
                first = False
                try:
                    await self._watch()
                except (OSError, RuntimeError) as e:  # a folder removed under the watch
                    log.warning("watching %s failed (%s); starting again", self._folders, e)
                    await asyncio.sleep(_RETRY)
        finally:
            relay.cancel()

    async def _watch(self) -> None:
        async for changes in awatch(
            *sorted(self._folders),
            watch_filter=self._wanted,
            stop_event=self._restart,
            recursive=False,
            step=_STEP,
            debounce=_DEBOUNCE,
        ):
            if any(path in self._missing for _, path in changes):
                self._restart.set()  # a missing folder appeared: watch inside it (reported then)
            else:
                self._changed()

    async def _relay(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._restart.set()
