"""Two readings of the same speech, kept stretch by stretch by Whisper's own confidence."""

from __future__ import annotations

import math

import pytest

from speech.readings import keep_surer, stretches, sureness
from speech.types import Segment, SpeechResult, Word


def seg(start: float, end: float, text: str, prob: float) -> Segment:
    """A segment whose words Whisper read with probability ``prob`` each."""
    words = text.split()
    step = (end - start) / len(words)
    return Segment(
        start,
        end,
        text,
        tuple(Word(start + i * step, start + (i + 1) * step, w, prob) for i, w in enumerate(words)),
        avg_logprob=-0.3,  # the chunk's, the same whichever copy: not what decides
    )


def result(*segments: Segment, dropped=()) -> SpeechResult:
    return SpeechResult(
        "en", 1.0, 30.0, segments, "faster", "tiny.en", "/m", "cpu", "int8", dropped
    )


def test_stretches_join_what_overlaps_across_the_readings_and_split_where_neither_speaks():
    first = (seg(0.0, 2.0, "a b", 0.9), seg(2.5, 4.0, "c", 0.9), seg(10.0, 11.0, "d", 0.9))
    second = (seg(0.5, 3.0, "a bc", 0.95), seg(6.0, 7.0, "x", 0.95))
    got = stretches(first, second)
    # 0-2 and 2.5-4 of the first are joined by the second's 0.5-3; 6-7 only the second heard
    assert [(g.start, g.end) for g in got] == [(0.0, 4.0), (6.0, 7.0), (10.0, 11.0)]
    assert [(len(g.first), len(g.second)) for g in got] == [(2, 1), (0, 1), (1, 0)]


def test_sureness_is_the_mean_log_probability_of_the_words():
    sure, unsure = seg(0.0, 1.0, "a b c", 0.9), seg(1.0, 9.0, "d", 0.1)
    # each word counts once, however long its segment
    assert sureness((sure, unsure)) == pytest.approx((3 * math.log(0.9) + math.log(0.1)) / 4)
    assert sureness((sure,)) > sureness((sure, unsure)) > sureness((unsure,))
    assert sureness(()) == float("-inf")


def test_each_stretch_comes_from_the_reading_whisper_was_surer_of():
    first = result(
        seg(0.0, 2.0, "my fellow america", 0.5),  # unsure: the second is kept
        seg(5.0, 6.0, "ask not", 0.9),  # sure: kept
        seg(9.0, 10.0, "only here", 0.8),  # the second heard nothing: kept
        dropped=(("repetition", 1),),
    )
    second = result(
        seg(0.1, 2.1, "my fellow americans", 0.8),
        seg(5.0, 6.2, "ask knot", 0.6),
        seg(12.0, 13.0, "only there", 0.99),  # the first heard nothing: left out, however sure
        seg(20.0, 21.0, "late", 0.7),
    )
    kept, groups, taken = keep_surer(first, second)
    assert [s.text for s in kept.segments] == [
        "my fellow americans",
        "ask not",
        "only here",
    ]
    assert (groups, taken) == (3, 1)
    assert kept.dropped == first.dropped and kept.language == first.language
    # the words kept never overlap and run in time order
    words = kept.words
    assert all(a.end <= b.start for a, b in zip(words, words[1:], strict=False))


def test_on_a_tie_the_first_reading_is_kept():
    first = result(seg(0.0, 1.0, "one", 0.7))
    second = result(seg(0.0, 1.0, "won", 0.7))
    kept, groups, taken = keep_surer(first, second)
    assert [s.text for s in kept.segments] == ["one"] and (groups, taken) == (1, 0)


def test_readings_that_agree_on_nothing_heard_give_nothing():
    kept, groups, taken = keep_surer(result(), result())
    assert kept.segments == () and (groups, taken) == (0, 0)
