"""Cue shaping: lines of at most 42 characters, at most two, readable, never overlapping."""

from __future__ import annotations

from speech.types import Word
from sync.cues import CueRules, build_cues, wrap
from sync.transcript import Line


def words_of(text: str, start: float = 0.0, step: float = 0.3) -> tuple[Word, ...]:
    return tuple(
        Word(round(start + i * step, 3), round(start + i * step + 0.25, 3), w, 0.9)
        for i, w in enumerate(text.split())
    )


def line_of(text: str, start: float = 0.0, speaker: str | None = None) -> Line:
    words = words_of(text, start)
    return Line(words[0].start, words[-1].end, text, words, speaker)


def test_short_text_stays_on_one_line():
    assert wrap("Do you live here?", 42) == ("Do you live here?",)


def test_long_text_is_balanced_over_two_lines_within_the_limit():
    text = "They're coming to get you, Barbra, they're coming for you"
    lines = wrap(text, 42)
    assert len(lines) == 2 and all(len(part) <= 42 for part in lines)
    assert " ".join(lines) == text
    assert lines[0].endswith(",")  # broken at a phrase boundary, not mid-phrase


def test_a_long_line_becomes_several_cues_that_respect_the_rules():
    text = (
        "I don't know what's going on out there but I know we have to keep the doors shut "
        "and the windows boarded until morning comes and the men from the town arrive here"
    )
    cues = build_cues([line_of(text)])
    rules = CueRules()
    assert len(cues) >= 2
    assert " ".join(c.text for c in cues) == text  # every word, in order, once
    for cue in cues:
        assert len(cue.lines) <= rules.max_lines
        assert all(len(line) <= rules.max_chars_per_line for line in cue.lines)
        assert cue.end - cue.start <= rules.max_duration + 1e-6
    for a, b in zip(cues, cues[1:], strict=False):
        assert b.start - a.end >= 2 / 25 - 1e-6  # at least two frames apart


def test_cue_times_come_from_word_times():
    line = line_of("Do you live here?", start=12.48)
    (cue,) = build_cues([line])
    assert cue.start == line.words[0].start
    assert cue.end >= line.words[-1].end


def test_a_short_cue_is_stretched_to_be_readable_but_not_into_the_next():
    first = Line(1.0, 1.2, "Yes.", (Word(1.0, 1.2, "Yes.", 0.9),))
    second = Line(1.5, 2.5, "No, never.", words_of("No, never.", 1.5))
    a, b = build_cues([first, second], fps=25)
    assert a.end == round(b.start - 2 / 25, 3)  # as long as possible, gap kept
    (alone,) = build_cues([first])
    assert alone.end - alone.start >= 5 / 6 - 1e-6  # minimum duration


def test_a_long_pause_splits_a_cue():
    words = words_of("Wait for me", 0.0) + words_of("please come back", 5.0)
    line = Line(0.0, words[-1].end, "Wait for me please come back", words)
    cues = build_cues([line])
    assert [c.text for c in cues] == ["Wait for me", "please come back"]


def test_speaker_is_kept_per_cue():
    cues = build_cues([line_of("Hello there.", 0.0, "S1"), line_of("Hi.", 3.0, "S2")])
    assert [c.speaker for c in cues] == ["S1", "S2"]
