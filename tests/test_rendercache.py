"""The render cache of `GET /og/` (`renderer.server.rendercache`): bounded in bytes, least
recently used first, and (in a folder) whole files only, kept across instances."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from renderer.server.rendercache import FolderCache, MemoryCache, make_cache

KEY = "0123456789abcdef0123456789abcdef"


def key(n: int) -> str:
    return f"{n:032x}.png"


def test_memory_cache_drops_the_least_recently_used_past_its_bound() -> None:
    async def run() -> None:
        cache = MemoryCache(max_bytes=30)
        for n in range(3):
            await cache.put(key(n), bytes([n]) * 10)
        assert await cache.get(key(0)) == b"\x00" * 10  # used: now the most recent
        await cache.put(key(3), b"\x03" * 10)
        assert await cache.get(key(1)) is None  # the least recently used went
        assert await cache.get(key(0)) is not None
        assert cache.size == 30
        await cache.put(key(4), b"x" * 31)  # larger than the whole cache: not kept
        assert await cache.get(key(4)) is None

    asyncio.run(run())


def test_folder_cache_keeps_entries_across_instances_and_prunes_to_its_bound(
    tmp_path: Path,
) -> None:
    async def run() -> None:
        cache = FolderCache(tmp_path, max_bytes=1000)
        for n in range(4):
            await cache.put(key(n), bytes([n]) * 200)
            os.utime(tmp_path / key(n), (n, n))  # distinct last uses, oldest first
        # Another instance (a restart, a replica) finds the entry, and marks it used.
        assert await FolderCache(tmp_path, 1000).get(key(0)) == b"\x00" * 200
        await cache.put(key(9), b"\x09" * 300)  # 1,100 bytes: pruned to 900 or less
        left = {p.name for p in tmp_path.iterdir()}
        assert left == {key(0), key(2), key(3), key(9)}  # key(1) was the least recently used
        assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 900

    asyncio.run(run())


def test_folder_cache_ignores_other_files_and_removes_torn_writes(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / f".{KEY}.png.abc123.tmp").write_bytes(b"half")
    cache = FolderCache(tmp_path, 100)
    assert cache.size == 0
    assert (tmp_path / "notes.txt").exists()
    assert not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(ValueError, match="not a cache key"):
        asyncio.run(cache.get("../escape.png"))


def test_make_cache_reads_the_setting(tmp_path: Path) -> None:
    assert make_cache("", 10) is None
    assert isinstance(make_cache("memory", 10), MemoryCache)
    assert isinstance(make_cache(str(tmp_path / "c"), 10), FolderCache)
