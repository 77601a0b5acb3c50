"""How the process hands memory to a render: tuned once, on the first render.

A card is drawn through a few large, short-lived buffers (the 3 MB canvas of a 1200 x 630
card, its PNG rows, the encoders' arrays), freed before the next card. Left to their defaults,
glibc returns such blocks to the kernel as they are freed (anything over 128 KB is mapped on
its own, and the heap's free top past 128 KB is given back), and Pillow keeps no freed image
block; the next card then faults every page in afresh. Which of the two a process ends up in
depends on the order of its first allocations, so the same loop of renders runs in one of two
speeds: the hello card's WEBP 2.8 or 4.9 ms, the blog card's 11 or 16 ms, its PNG 3.2 or 3.6
(`MALLOC_MMAP_THRESHOLD_=131072` forces the slow one: blog WEBP 27 ms, PNG 6.0).

So, once: glibc maps only blocks of 16 MB or more on their own and keeps up to 64 MB free at
the top of its heap, and Pillow keeps four freed image blocks. Smaller settings left faults in
(counted with `ru_minflt` over every reference card and format in one process): at 4 / 8 MB a
blog or cjk WEBP, whose arrays peak near 10 MB, still faulted 2,000 pages a render in some
runs (8.6 -> 12 ms), and PNG small's 4-8 MB buffers 700-1,300 pages; at 16 / 64 MB none did.
The reference cards' peak RSS stays 99 MB, flat over 2,000 renders; the worst cases of
`benchmarks/worst_case.py` peak at most 64 MB above the defaults' (images: 460 against 396 MB).

A program that says what it wants keeps it: any of glibc's `MALLOC_MMAP_THRESHOLD_`,
`MALLOC_TRIM_THRESHOLD_` or `MALLOC_TOP_PAD_`, or Pillow's `PILLOW_BLOCKS_MAX`, in the
environment leaves that allocator alone, and `RENDERER_MEMORY=default` leaves both. Not done
at import, so importing the package changes nothing.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["GLIBC_SETTINGS", "collector_paused", "tune"]

# mallopt parameters (malloc.h) and the values set
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
GLIBC_SETTINGS = {_M_MMAP_THRESHOLD: 16 << 20, _M_TRIM_THRESHOLD: 64 << 20}
_GLIBC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")

_tuned: dict[str, bool] | None = None  # what tune() changed, once it has run


def tune() -> dict[str, bool]:
    """Tune the allocators for rendering (see the module docstring), on the first call; give
    back which were changed: {"glibc": ..., "pillow": ...}."""
    global _tuned
    if _tuned is None:
        default = os.environ.get("RENDERER_MEMORY") == "default"
        _tuned = {
            "glibc": not default and _tune_glibc(),
            "pillow": not default and _tune_pillow(),
        }
    return _tuned


def _tune_glibc() -> bool:
    if not sys.platform.startswith("linux") or any(name in os.environ for name in _GLIBC_ENV):
        return False
    import ctypes  # ~2 ms, on the first render only

    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - musl (Alpine) has mallopt but not these knobs
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in GLIBC_SETTINGS.items())


def _tune_pillow() -> bool:
    """Let Pillow keep a few freed image blocks for the next image (its default keeps none):
    every card hands it a fresh image to encode, about 1 ms a card to fault in otherwise (half
    a JPEG's time)."""
    if "PILLOW_BLOCKS_MAX" in os.environ:
        return False
    from PIL import Image

    core = getattr(Image, "core")  # noqa: B009 - not in the typed API
    core.set_blocks_max(max(4, core.get_blocks_max()))
    return True


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector held off while a block builds many objects that live as long
    as the process: the package's own import (its modules, and NumPy's, Pillow's, HarfBuzz's)
    and the font manifest (36,000 ranges). Each young generation filling up there set off a
    collection, for nothing: none of it is garbage (the import ran 83, the manifest 61 with a
    full one among them; a cold import and first card, 1.4 % fewer instructions under
    callgrind). The collector's state is put back after the block, so a program that turned
    it off keeps it off.

    At the end the block's objects are moved to the oldest generation (a freeze and an
    unfreeze: two list splices): left young, the first allocation after the block set off a
    young collection that walked all of them, 21 ms after the package's import. Nothing is
    kept from the collector: the oldest generation is still collected, only less often.
    Skipped when the program has frozen objects of its own, which the unfreeze would thaw."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if was:
            gc.enable()
