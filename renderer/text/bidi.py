"""Bidirectional text (Unicode UAX #9): embedding levels per character, and visual reordering.

Levels come from python-bidi's implementation of the algorithm (rules P2–I2); reordering (L2) is
done here on runs of glyphs, because HarfBuzz has already put each right-to-left run's glyphs in
visual order. Texts with no right-to-left character skip the algorithm entirely.

Limitations: explicit embedding controls (U+202A–U+202E, U+2066–U+2069) are removed by the spec
stage, so direction comes from the characters alone; a line's trailing whitespace is dropped
rather than moved to the paragraph level (rule L1), which gives the same picture.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import TypeVar

import bidi.algorithm as uax9

__all__ = ["BIDI_CONTROLS", "levels", "visual_order"]

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_RTL_CLASSES = frozenset({"R", "AL"})
_REMOVED = frozenset(uax9.X9_REMOVED)  # classes the algorithm drops from its character list

T = TypeVar("T")


def _stand_in(ch: str) -> str:
    """What the algorithm sees for `ch`: unassigned code points (no class in unicodedata) count
    as left-to-right, UAX #9's default for most of them, and paragraph separators inside one of
    our paragraphs (U+0085, U+2029) as a space; python-bidi asserts on both otherwise."""
    kind = unicodedata.bidirectional(ch)
    if kind == "":
        return "a"
    if kind == "B":
        return " "
    return ch


def levels(text: str) -> tuple[bool, tuple[int, ...]]:
    """(paragraph is right-to-left, embedding level of each character)."""
    if not any(unicodedata.bidirectional(c) in _RTL_CLASSES for c in text):
        return False, (0,) * len(text)
    kept = [i for i, c in enumerate(text) if unicodedata.bidirectional(c) not in _REMOVED]
    sub = "".join(_stand_in(text[i]) for i in kept)
    storage = uax9.get_empty_storage()
    base = uax9.get_base_level(sub, False)
    storage["base_level"] = base
    storage["base_dir"] = ("L", "R")[base]
    uax9.get_embedding_levels(sub, storage, False, False)
    uax9.explicit_embed_and_overrides(storage, False)
    uax9.resolve_weak_types(storage, False)
    uax9.resolve_neutral_types(storage, False)
    uax9.resolve_implicit_levels(storage, False)
    resolved = [int(ch["level"]) for ch in storage["chars"]]
    out = [base] * len(text)
    for index, level in zip(kept, resolved, strict=True):
        out[index] = level
    # Characters the algorithm skipped (joiners, format characters) take their neighbour's level.
    previous = base
    for i in range(len(text)):
        if unicodedata.bidirectional(text[i]) in _REMOVED:
            out[i] = previous
        previous = out[i]
    return base == 1, tuple(out)


def visual_order(items: Sequence[T], item_levels: Sequence[int]) -> list[T]:
    """Rule L2: from the highest level down to the lowest odd one, reverse every maximal run of
    items at that level or higher."""
    order = list(range(len(items)))
    if not item_levels or max(item_levels) == 0:
        return list(items)
    lv = list(item_levels)
    lowest_odd = min(level for level in lv if level % 2) if any(v % 2 for v in lv) else 1
    for level in range(max(lv), lowest_odd - 1, -1):
        i = 0
        while i < len(order):
            if lv[i] >= level:
                j = i
                while j < len(order) and lv[j] >= level:
                    j += 1
                order[i:j] = order[i:j][::-1]
                lv[i:j] = lv[i:j][::-1]
                i = j
            else:
                i += 1
    return [items[k] for k in order]
