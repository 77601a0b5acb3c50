"""Line breaking: a shaped paragraph and a frame width in, lines as character ranges out.

Break opportunities come from Unicode UAX #14 (uniseg), so Latin breaks after spaces and hyphens
and CJK between ideographs. Greedy filling: each line takes as many segments as fit; trailing
spaces hang (they do not count against the frame). A segment wider than the frame on its own is
cut between characters, so no line is wider than the frame unless one character is.
"""

from __future__ import annotations

from dataclasses import dataclass

from uniseg.linebreak import line_break_boundaries

from .shaping import ShapedText

__all__ = ["LineSpan", "break_lines"]

_EPSILON = 1e-6  # px: rounding slack so text exactly as wide as its frame still fits


@dataclass(frozen=True, slots=True)
class LineSpan:
    start: int  # first character
    end: int  # one past the last visible character (trailing spaces excluded)
    width: float  # px, of the visible characters


def _visible_end(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def _span(shaped: ShapedText, start: int, end: int) -> LineSpan:
    visible = _visible_end(shaped.text, start, end)
    return LineSpan(start, visible, sum(shaped.char_advance[start:visible]))


def break_lines(shaped: ShapedText, frame: float | None) -> list[LineSpan]:
    """Lines of one paragraph; `frame=None` keeps it on one line."""
    text, adv = shaped.text, shaped.char_advance
    if frame is None or not text:
        return [_span(shaped, 0, len(text))]
    lines: list[LineSpan] = []
    start = prev = 0
    width = 0.0  # of the current line, trailing spaces included
    for boundary in line_break_boundaries(text):
        if boundary <= prev:
            continue
        seg_width = sum(adv[prev:boundary])
        seg_visible = sum(adv[prev : _visible_end(text, prev, boundary)])
        if prev > start and width + seg_visible > frame + _EPSILON:
            lines.append(_span(shaped, start, prev))
            start, width = prev, 0.0
        if prev == start and seg_visible > frame + _EPSILON:
            start, width = _cut(shaped, prev, boundary, frame, lines)
        else:
            width += seg_width
        prev = boundary
    lines.append(_span(shaped, start, len(text)))
    return lines


def _cut(
    shaped: ShapedText, start: int, end: int, frame: float, lines: list[LineSpan]
) -> tuple[int, float]:
    """Emit full lines of one over-wide segment; returns the start and width of its remainder."""
    adv = shaped.char_advance
    width = 0.0
    for i in range(start, end):
        if i > start and adv[i] and width + adv[i] > frame + _EPSILON:
            lines.append(_span(shaped, start, i))
            start, width = i, 0.0
        width += adv[i]
    return start, width
