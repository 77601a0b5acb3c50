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

import math
from dataclasses import dataclass

from .segment import line_opportunities
from .shaping import ShapedText

__all__ = ["LineSpan", "break_lines", "min_content"]

_EPSILON = 1e-6  # px: rounding slack so text exactly as wide as its frame still fits


@dataclass(frozen=True, slots=True)
class LineSpan:
    """One line as the breaker chose it: character offsets into the paragraph, so placement
    can slice the shaped glyphs."""

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
        width -= max(0.0, shaped.end_trim[visible - 1])  # (a soft hyphen's is drawn apart)
    return LineSpan(start, visible, width, cut)


def _fit_width(shaped: ShapedText, start: int, end: int) -> float:
    """Width of [start, end) as a line end: trailing spaces hang, a closing bracket gives back,
    a soft hyphen takes its hyphen's width."""
    visible = _visible_end(shaped.text, start, end)
    if visible == start:
        return 0.0
    return sum(shaped.char_advance[start:visible]) - shaped.end_trim[visible - 1]


def break_lines(
    shaped: ShapedText, frame: float | None, mode: str = "wrap", font_size: float = 16.0
) -> list[LineSpan]:
    """Lines of one paragraph; `frame=None` keeps it on one line. `mode` is CSS `text-wrap`:
    "wrap" fills each line greedily; "balance" and "pretty" then choose among the same break
    opportunities as Chromium's score line breaker does (`_optimal`), whose penalties scale
    with the block's `font_size` (px)."""
    lines = _greedy(shaped, frame)
    if frame is None or mode == "wrap" or len(lines) < 2 or any(ln.cut for ln in lines):
        return lines
    return _optimal(shaped, frame, lines, font_size, balance=mode == "balance")


def _greedy(shaped: ShapedText, frame: float | None) -> list[LineSpan]:
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
    """Emit full lines of one over-wide segment; returns the start and width of its remainder.
    No cut falls before a space: spaces hang at the end of the line they follow, as at any
    line end, where a cut before them would start the next line with a space (or, after the
    segment's last letter, make a line of nothing but one)."""
    adv, text = shaped.char_advance, shaped.text
    width = 0.0
    for i in range(start, end):
        # a soft hyphen ending the segment needs its hyphen's room (negative trim)
        need = adv[i] - min(0.0, shaped.end_trim[i]) if i == end - 1 else adv[i]
        if (
            i > start
            and shaped.cluster_start[i]
            and not text[i].isspace()
            and width + need > frame + _EPSILON
        ):
            lines.append(span(shaped, start, i, cut=True))
            start, width = i, 0.0
        width += adv[i]
    return start, width


# Chromium's score line breaker (Blink `ScoreLineBreaker`, after Minikin's optimal breaker):
# the lines it reconsiders at a paragraph's end, and its penalties.
_BALANCE_LINES = 6  # kMaxLinesForBalance: a longer paragraph is not balanced
_PRETTY_LINES = 4  # kMaxLinesForOptimal: "pretty" reconsiders the last four lines
_SHORT_LINE = 3  # kShortLineDenominator: a last line under a third of the width is short
_MIN_CANDIDATES = 3  # kMinCandidates: fewer break opportunities leave nothing to choose
_ORPHANS_PENALTY = 10_000.0  # on the last break opportunity: a lone last word costs this
_LAST_LINE_PENALTY = 4.0  # kLastLinePenaltyMultiplier
_OVERFULL = 1e12  # kScoreOverfull
_FIT = 1 / 64  # LayoutUnit::Epsilon(): how far past the width a line still fits


def _optimal(
    shaped: ShapedText, frame: float, lines: list[LineSpan], font_size: float, *, balance: bool
) -> list[LineSpan]:
    """`lines` re-broken to minimize the sum of each line's squared slack (plus a penalty per
    line and one for a lone last word), as Blink scores them; the greedy lines when the rule
    does not apply. Balance scores every line of a paragraph of at most six; "pretty" only a
    short last line of one word, the last four lines, not scoring the last line's slack."""
    if balance:
        if len(lines) > _BALANCE_LINES:
            return lines
        head: list[LineSpan] = []
    else:
        last = lines[-1]
        single_word = not any(last.start < b < last.end for b in line_opportunities(shaped.text))
        if not (last.width < frame / _SHORT_LINE and single_word):
            return lines
        head = lines[:-_PRETTY_LINES] if len(lines) > _PRETTY_LINES else []
    start = lines[len(head)].start
    candidates = _candidates(shaped, start)
    if len(candidates) < _MIN_CANDIDATES + 2:
        return lines
    breaks = _scored_breaks(candidates, frame, font_size, balance)
    out = list(head)
    prev = start
    for b in breaks:
        out.append(span(shaped, prev, b, frame=frame))
        prev = b
    return out


def _candidates(shaped: ShapedText, start: int) -> list[tuple[int, float, float, float]]:
    """(offset, x if not broken there, x if broken there, penalty) of every break opportunity
    after `start`, with sentinels at `start` and at the paragraph's end; x from `start`, px."""
    adv = shaped.char_advance
    out = [(start, 0.0, 0.0, 0.0)]
    x = 0.0
    prev = start
    for boundary in line_opportunities(shaped.text):
        if boundary <= start:
            continue
        x += sum(adv[prev:boundary])
        out.append(
            (boundary, x, x - sum(adv[prev:boundary]) + _fit_width(shaped, prev, boundary), 0.0)
        )
        prev = boundary
    if len(out) >= 4:  # typographic orphans: breaking before the last word costs
        offset, no_break, if_break, penalty = out[-2]
        out[-2] = (offset, no_break, if_break, penalty + _ORPHANS_PENALTY)
    return out


def _scored_breaks(
    candidates: list[tuple[int, float, float, float]],
    frame: float,
    font_size: float,
    balance: bool,
) -> list[int]:
    """The line ends (offsets) of the best-scoring way to break, as Blink's `ComputeScores`:
    each line scores its squared slack (but a "pretty" last line), plus a penalty per line
    (four times the width times the block's font size) and its end's penalty."""
    line_penalty = 4 * frame * font_size
    fit = frame + _FIT
    scores: list[tuple[float, int]] = [(0.0, 0)]  # (score, previous candidate)
    active = 0
    last = len(candidates) - 1
    for end in range(1, len(candidates)):
        _, _, end_if_break, end_penalty = candidates[end]
        start_edge = end_if_break - fit
        best, best_prev, best_hope = math.inf, 0, 0.0
        for start in range(active, end):
            score = scores[start][0]
            if score + best_hope >= best:
                continue
            delta = candidates[start][1] - start_edge
            extra = 0.0
            if delta < 0:
                width_score = _OVERFULL
            elif end == last and not balance:
                width_score = 0.0
                extra = _LAST_LINE_PENALTY * candidates[start][3]
            else:
                width_score = delta * delta
            if delta < 0:
                active = start + 1
            else:
                best_hope = width_score
            total = score + width_score + extra
            if total <= best:
                best, best_prev = total, start
        scores.append((best + end_penalty + line_penalty, best_prev))
    ends: list[int] = []
    i = last
    while i > 0:
        ends.append(candidates[i][0])
        i = scores[i][1]
    return ends[::-1]


def min_content(shaped: ShapedText) -> float:
    """The widest piece of the paragraph no line may break inside (its min-content width,
    px): what a word wider than the frame would otherwise be cut from."""
    widest, prev = 0.0, 0
    for boundary in line_opportunities(shaped.text):
        widest = max(widest, _fit_width(shaped, prev, boundary))
        prev = boundary
    return widest
