"""The render cache of `GET /og/`: finished card bytes by ETag, in memory or in a folder.

Why: a page shared on a busy day is fetched by every crawler and chat preview, each with a cold
CDN edge; the cache makes each URL cost one render per process (memory) or per folder (shared by
every process and replica that mounts it, and kept across restarts). Keys are ETags, which hash
every input of the card (`og.etag`), so an entry never goes stale: a changed template is a new
key, and the old entry ages out.

Both caches are bounded in bytes and drop the least recently used entries first. The folder
cache writes each entry atomically (temporary name, rename), so a reader sees a whole card or
none; it marks use by touching the file's mtime, and prunes to 90 % of the bound when a write
passes it, so a full cache is not pruned on every write. Processes sharing a folder each keep
their own running total, so the bound is approximate there (each prunes what it finds).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

from renderer.files import write_atomic

__all__ = ["FolderCache", "MemoryCache", "RenderCache", "make_cache"]

_KEY = re.compile(r"[0-9a-f]{16,64}\.[a-z]{3,4}")  # "<etag>.<ext>": nothing else is a path


class RenderCache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, data: bytes) -> None: ...


class MemoryCache:
    """Least recently used entries go first once the bytes held pass `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[str, bytes] = OrderedDict()

    async def get(self, key: str) -> bytes | None:
        data = self._entries.get(key)
        if data is not None:
            self._entries.move_to_end(key)
        return data

    async def put(self, key: str, data: bytes) -> None:
        if len(data) > self.max_bytes or key in self._entries:
            return
        self._entries[key] = data
        self.size += len(data)
        while self.size > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self.size -= len(dropped)


class FolderCache:
    """One file per entry, named by its key; mtime is the last use."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        folder.mkdir(parents=True, exist_ok=True)
        for leftover in folder.glob(".*.tmp"):  # a write cut short by a kill
            leftover.unlink(missing_ok=True)
        self.size = sum(size for _, _, size in self._entries())

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            msg = f"not a cache key: {key!r}"
            raise ValueError(msg)
        return self.folder / key

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._read, self._path(key))

    async def put(self, key: str, data: bytes) -> None:
        if len(data) <= self.max_bytes:
            await asyncio.to_thread(self._write, self._path(key), data)

    @staticmethod
    def _read(path: Path) -> bytes | None:
        try:
            data = path.read_bytes()
        except OSError:
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: the last to be pruned
        return data

    def _write(self, path: Path, data: bytes) -> None:
        with contextlib.suppress(OSError):  # a cache that cannot be written is just not a cache
            write_atomic(path, data, suffix=".tmp")
            self.size += len(data)
            if self.size > self.max_bytes:
                self._prune()

    def _entries(self) -> list[tuple[float, Path, int]]:
        found = []
        for path in self.folder.iterdir():
            if _KEY.fullmatch(path.name):
                with contextlib.suppress(OSError):
                    st = path.stat()
                    found.append((st.st_mtime, path, st.st_size))
        return found

    def _prune(self) -> None:
        entries = sorted(self._entries())
        total = sum(size for _, _, size in entries)
        for _, path, size in entries:
            if total <= self.max_bytes * 0.9:
                break
            with contextlib.suppress(OSError):
                path.unlink()
            total -= size
        self.size = total


def make_cache(setting: str, max_bytes: int) -> RenderCache | None:
    """`""` → no cache, `"memory"` → `MemoryCache`, anything else → a `FolderCache` there."""
    if not setting:
        return None
    if setting == "memory":
        return MemoryCache(max_bytes)
    return FolderCache(Path(setting), max_bytes)
