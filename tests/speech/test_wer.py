"""The WER normaliser: one spoken form, one score, however it is written."""

from __future__ import annotations

import pytest

from speech.wer import normalise, wer


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("Set white with P2 soon.", "set white with p two soon"),
        ("A1", "a one"),
        ("K-7", "k seven"),
        ("C.2", "c two"),
        ("X4 now.", "x four now"),
        # digits said one by one: GRID's letter o and digit zero, a phone number, a film agent
        ("Set white at O4 now.", "set white at o four now"),
        ("at O4 now", "at oh four now"),
        ("Z0", "z zero"),
        ("04", "zero four"),
        ("007", "double oh seven"),
        ("Room 09", "room zero nine"),
    ],
)
def test_letter_and_digit_forms_score_alike(written, spoken):
    assert normalise(written) == normalise(spoken)
    assert wer([spoken], [written]) == 0.0


@pytest.mark.parametrize(
    ("said", "heard"),
    [
        ("c two again", "C to again"),  # a homophone is another word
        ("c two again", "C too again"),
        ("b", "be"),
        ("bin red", "Been read"),
        ("in 2004", "in 204"),  # a number is not a run of digits
        ("0.5", "5"),
    ],
)
def test_other_words_stay_errors(said, heard):
    assert normalise(said) != normalise(heard)
    assert wer([said], [heard]) > 0


def test_numbers_and_decimals_are_kept_whole():
    assert normalise("in 2004") == normalise("in two thousand and four") == "in 2004"
    assert normalise("0.5 percent") == normalise("zero point five percent")
    assert normalise("twenty five") == normalise("25")
