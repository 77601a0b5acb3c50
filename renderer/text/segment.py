"""Text segmentation: grapheme clusters (UAX #29) and line-break opportunities (UAX #14).

Both come from ICU (through `icu4py`), the library browsers segment with: its break iterators are
state machines over compiled rule tables, so they cost time linear in the text whatever it holds
(uniseg, the pure-Python implementation used before, re-scanned each cluster from its start and
took 9 s on "a" followed by 4,999 combining accents, 34 s on a run of 5,000 spaces). ICU's line
breaker also finds word boundaries in Thai, Lao, Khmer and Burmese from its dictionaries, as
Chromium does, where UAX #14 alone allows a break only at spaces.

ICU's root rules are the UAX #14 defaults (`line-break: strict` in CSS terms): no line starts with
small kana or the prolonged sound mark, as before. Positions are Python string indices (code
points): ICU hands back the segments as strings, and their lengths add up.
"""

from __future__ import annotations

import re
from functools import lru_cache

from icu4py.breakers import CharacterBreaker, LineBreaker
from icu4py.locale import Locale

__all__ = ["grapheme_boundaries", "line_opportunities"]

_ROOT = Locale("")
# Printable ASCII without the characters that join or split specially: every character is its
# own cluster (UAX #29 GB999 between two characters of class Other).
_ONE_PER_CHAR = re.compile(r"[\x20-\x7e]*")


def _ends(segments: object) -> list[int]:
    ends, at = [], 0
    for piece in segments:  # type: ignore[attr-defined]
        at += len(piece)
        ends.append(at)
    return ends


def grapheme_boundaries(text: str) -> list[int]:
    """Cluster starts and the text's end: `[0, ..., len(text)]` (`[0]` for empty text)."""
    if not text:
        return [0]
    if _ONE_PER_CHAR.fullmatch(text):
        return list(range(len(text) + 1))
    return [0, *_ends(CharacterBreaker(text, _ROOT))]


@lru_cache(maxsize=4096)
def line_opportunities(text: str) -> tuple[int, ...]:
    """Positions before which a line may start, the text's length included (`()` for empty)."""
    if not text:
        return ()
    return tuple(_ends(LineBreaker(text, _ROOT)))
