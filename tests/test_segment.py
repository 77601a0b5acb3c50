"""Segmentation: grapheme clusters and line-break opportunities, as ICU finds them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from icu4py.breakers import CharacterBreaker
from icu4py.locale import Locale

import renderer
from renderer.text.segment import grapheme_boundaries, line_opportunities


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40))
def test_ascii_shortcut_agrees_with_icu(text: str) -> None:
    """Printable ASCII skips ICU: every character is its own cluster, exactly as ICU says."""
    expected = [0]
    for piece in CharacterBreaker(text, Locale("")) if text else ():
        expected.append(expected[-1] + len(piece))
    assert grapheme_boundaries(text) == expected


def test_clusters_hold_marks_emoji_sequences_and_conjuncts() -> None:
    assert grapheme_boundaries("e\u0301a") == [0, 2, 3]
    assert grapheme_boundaries("\U0001f468\u200d\U0001f469\u200d\U0001f467!") == [0, 5, 6]
    assert grapheme_boundaries("\U0001f1ef\U0001f1f5\U0001f1ef") == [0, 2, 3]
    assert grapheme_boundaries("\u0915\u094d\u0937\u093f") == [0, 4]  # क्षि: one (GB9c)
    assert grapheme_boundaries("") == [0]


def test_one_long_cluster_is_one_cluster() -> None:
    """A letter with 4,999 combining accents is one cluster (and cheap: issue 11, row 3)."""
    assert grapheme_boundaries("a" + "\u0301" * 4999) == [0, 5000]


def test_line_opportunities_follow_uax14() -> None:
    assert line_opportunities("hello world") == (6, 11)
    assert line_opportunities("漢字です。") == (1, 2, 3, 5)  # 。 never starts a line
    assert line_opportunities("") == ()


def test_thai_breaks_between_dictionary_words() -> None:
    """Thai has no spaces between words; ICU's dictionary finds the words, as Chromium does."""
    assert line_opportunities("ภาษาไทยง่ายนิดเดียว") == (4, 7, 11, 14, 19)


def test_thai_text_wraps_between_words() -> None:
    text = "ภาษาไทยง่ายนิดเดียว"
    spec = {
        "width": 300,
        "height": 200,
        "components": [{"type": "text", "text": text, "frameWidth": 90, "fontSize": 20}],
    }
    lines = renderer.lay_out_spec(spec).boxes[0].text.lines  # type: ignore[union-attr]
    assert len(lines) > 1
    assert "".join(line.text for line in lines) == text
    words = {"ภาษา", "ไทย", "ง่าย", "นิด", "เดียว"}
    for line in lines:  # every line is whole words
        rest = line.text
        while rest:
            word = next(w for w in words if rest.startswith(w))
            rest = rest[len(word) :]


def test_ascii_pairs_break_where_browsers_break_them() -> None:
    """Between two printable ASCII characters Blink's table decides, not UAX #14: no break
    after "/" (URLs, paths, "and/or"), "!" or "|" before a letter; a break after "-" and "?",
    and before an opening bracket after closing punctuation."""
    assert line_opportunities("and/or") == (6,)  # UAX #14: (4, 6)
    assert line_opportunities("https://example.com/a") == (21,)  # UAX #14: (8, 20, 21)
    assert line_opportunities("a!b x|y") == (4, 7)  # UAX #14: (2, 4, 6, 7)
    assert line_opportunities("well-known ok?yes") == (5, 11, 14, 17)
    assert line_opportunities("e.g.(1)") == (4, 7)
    assert line_opportunities("(ok)[1]") == (4, 7)


def test_a_hyphen_breaks_before_a_digit_only_after_a_letter_or_digit() -> None:
    """ "ABCD-1234" and "1234-5678" (parts of long URLs) break; "-5" and "(-3" are numbers."""
    assert line_opportunities("ABCD-1234") == (5, 9)  # UAX #14 (LB25): (9,)
    assert line_opportunities("5-10") == (2, 4)
    assert line_opportunities("-5") == (2,)
    assert line_opportunities("(-3)") == (4,)


def test_ascii_beside_other_characters_follows_icu() -> None:
    """Only a pair of ASCII characters leaves ICU: "ï/" and "中/" are ICU's, "/a" the table's."""
    assert line_opportunities("naïve/ascii") == (11,)
    assert line_opportunities("中文/English") == (1, 10)  # UAX #14: (1, 3, 10)
    assert line_opportunities("日本語-テスト") == (1, 2, 4, 5, 6, 7)
