"""Line breaking: a shaped paragraph and a frame width in, lines as character ranges out.

Break opportunities come from Unicode UAX #14 as ICU implements it (`segment.py`): Latin breaks
after spaces and hyphens, CJK between ideographs, Thai and its neighbours between dictionary words.
Its classes carry the common kinsoku rules (small kana and the prolonged sound mark resolved
strictly): no line starts with closing punctuation (、。，）」！？…), small kana or ー, none ends
with an opening bracket (（「). Greedy filling: each line
takes as many segments as fit; trailing spaces hang (they do not count against the frame). A
segment wider than the frame on its own is cut between grapheme clusters, so no line is wider than
the frame unless a single cluster is.
"""

from __future__ import annotations

from dataclasses import dataclass

from .segment import line_opportunities
from .shaping import ShapedText

__all__ = ["LineSpan", "break_lines", "min_content"]

_EPSILON = 1e-6  # px: rounding slack so text exactly as wide as its frame still fits


@dataclass(frozen=True, slots=True)
class LineSpan:
    start: int  # first character
    end: int  # one past the last visible character (trailing spaces excluded)
    width: float  # px, of the visible characters
    cut: bool = False  # ends inside a word that was too wide for the frame


def _visible_end(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def span(
    shaped: ShapedText, start: int, end: int, cut: bool = False, frame: float | None = None
) -> LineSpan:
    """The visible part of [start, end); a closing bracket at its end gives back half its
    advance when that is what makes the line fit `frame`."""
    visible = _visible_end(shaped.text, start, end)
    width = sum(shaped.char_advance[start:visible])
    if frame is not None and visible > start and width > frame + _EPSILON:
        width -= shaped.end_trim[visible - 1]
    return LineSpan(start, visible, width, cut)


def _fit_width(shaped: ShapedText, start: int, end: int) -> float:
    """Width of [start, end) as a line end: trailing spaces hang, a closing bracket gives back."""
    visible = _visible_end(shaped.text, start, end)
    if visible == start:
        return 0.0
    return sum(shaped.char_advance[start:visible]) - shaped.end_trim[visible - 1]


def break_lines(shaped: ShapedText, frame: float | None) -> list[LineSpan]:
    """Lines of one paragraph; `frame=None` keeps it on one line."""
    text, adv = shaped.text, shaped.char_advance
    if frame is None or not text:
        return [span(shaped, 0, len(text))]
    lines: list[LineSpan] = []
    start = prev = 0
    width = 0.0  # of the current line, trailing spaces included
    for boundary in line_opportunities(text):
        if boundary <= prev:
            continue
        seg_width = sum(adv[prev:boundary])
        seg_visible = _fit_width(shaped, prev, boundary)
        if prev > start and width + seg_visible > frame + _EPSILON:
            lines.append(span(shaped, start, prev, frame=frame))
            start, width = prev, 0.0
        if prev == start and seg_visible > frame + _EPSILON:
            start, width = _cut(shaped, prev, boundary, frame, lines)
        else:
            width += seg_width
        prev = boundary
    lines.append(span(shaped, start, len(text), frame=frame))
    return lines


def _cut(
    shaped: ShapedText, start: int, end: int, frame: float, lines: list[LineSpan]
) -> tuple[int, float]:
    """Emit full lines of one over-wide segment; returns the start and width of its remainder."""
    adv = shaped.char_advance
    width = 0.0
    for i in range(start, end):
        if i > start and shaped.cluster_start[i] and width + adv[i] > frame + _EPSILON:
            lines.append(span(shaped, start, i, cut=True))
            start, width = i, 0.0
        width += adv[i]
    return start, width


def min_content(shaped: ShapedText) -> float:
    """The widest piece of the paragraph no line may break inside (its min-content width,
    px): what a word wider than the frame would otherwise be cut from."""
    widest, prev = 0.0, 0
    for boundary in line_opportunities(shaped.text):
        widest = max(widest, _fit_width(shaped, prev, boundary))
        prev = boundary
    return widest
