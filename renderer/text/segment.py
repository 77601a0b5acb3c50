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

Between two printable ASCII characters browsers do not ask ICU: Blink decides such a pair by its
own table (`kAsciiLineBreakTable` in `text_break_iterator.cc`, as Firefox and IE broke), and so
do we, or a URL, a path or "and/or" would break where no browser breaks it. The table allows a
break only after "-" and "?" (before most characters), and before an opening bracket after
closing punctuation; "-" before a digit only after a letter or digit ("ABCD-1234", not "-5").
UAX #14 breaks after "/", "!" and "|" before a letter, which the table does not; a word holding
them is one word, cut between clusters only when it is wider than the frame. The table was read
back from Chromium 156 itself, pair by pair (tests/test_browser.py checks every pair).

One difference from browsers is kept on purpose: after a space they break before anything, so
"Bonjour !" or "« Bonjour »" may start a line with "!" or "»", and "a / b" one with "/". UAX #14
keeps closing punctuation, "!", "?", "/" and the like with the word before (LB13 to LB17), as
French typography asks; so does the engine. Otherwise a random mixture of scripts, punctuation
and emoji breaks where Chromium breaks it (tests/test_browser.py, 2,000 texts).
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


# Blink's table as the pairs it breaks: (what the line before ends with, what the next begins with).
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DIGITS = "0123456789"
_BREAK_AFTER = {
    "-": "\"#%&'(*+-<=>@[\\^_`{|~" + _LETTERS,  # digits: see _BREAK_AFTER_HYPHEN
    "?": "#$%&(*+-<=>@[\\^_`{|~" + _LETTERS + _DIGITS,
    **dict.fromkeys('!"#%&)*+,.:;=>\\]|}~', "(<[{"),
}
_BREAK_AFTER_HYPHEN = _LETTERS + _DIGITS  # "x-1" breaks before the digit, "(-1" does not
# where a row of the table meets a printable ASCII character: the only pairs it may break
_CANDIDATE = re.compile(r"(?<=[-?!\"#%&)*+,.:;=>\\\]|}~])(?=[!-\x7f])")


def _ascii_pair(text: str, at: int) -> bool:
    """Whether the characters on both sides of `at` are printable ASCII (spaces excluded)."""
    return "!" <= text[at - 1] <= "\x7f" and "!" <= text[at] <= "\x7f"


def _ascii_breaks(text: str, at: int) -> bool:
    """Blink's verdict on the printable ASCII pair around `at`."""
    before, after = text[at - 1], text[at]
    if before == "-" and after in _DIGITS:
        return at >= 2 and text[at - 2] in _BREAK_AFTER_HYPHEN
    return after in _BREAK_AFTER.get(before, "")


@lru_cache(maxsize=4096)
def line_opportunities(text: str) -> tuple[int, ...]:
    """Positions before which a line may start, the text's length included (`()` for empty):
    ICU's, but between two printable ASCII characters Blink's table decides."""
    if not text:
        return ()
    end = len(text)
    icu = [b for b in _ends(LineBreaker(text, _ROOT)) if b == end or not _ascii_pair(text, b)]
    table = [m.start() for m in _CANDIDATE.finditer(text) if _ascii_breaks(text, m.start())]
    return tuple(sorted({*icu, *table})) if table else tuple(icu)
