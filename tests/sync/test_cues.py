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
    first = Line(1.0, 1.2, "Yes.", (Word(1.0, 1.2, "Yes.", 0.9),), "S1")
    reply = "No, never, not while there is a chance out there."  # too long to share a cue
    second = Line(1.5, 2.5, reply, words_of(reply, 1.5), "S2")
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


# -- presets, shot changes, dialogue cues and the rule report ----------------------------------
from sync.cues import PRESETS, check, summary  # noqa: E402


def test_a_shot_change_in_a_pause_ends_the_cue_there():
    words = words_of("Get back in the car", 0.0) + words_of("they are coming", 2.0)
    line = Line(0.0, words[-1].end, "Get back in the car they are coming", words, "S1")
    (whole,) = build_cues([line])  # no cut: one cue
    first, second = build_cues([line], cuts=[1.8])
    assert first.text == "Get back in the car" and second.text == "they are coming"
    assert first.end <= 1.8  # stretched to be readable, but not across the cut
    assert check([first, second], cuts=[1.8]) == []


def test_speech_running_across_a_shot_change_keeps_its_cue():
    line = line_of("I told you they would come", 0.0)  # words 0.05 s apart
    (cue,) = build_cues([line], cuts=[0.9])
    assert cue.text == "I told you they would come"
    assert check([cue], cuts=[0.9]) == []  # not a breach: the speech crosses the cut


def test_reading_speed_stretches_a_fast_cue_and_the_report_names_what_stopped_it():
    fast = Line(0.0, 1.0, "", words_of("Absolutely everybody understands that perfectly", 0.0, 0.2))
    (alone,) = build_cues([fast])
    assert len(alone.text) / (alone.end - alone.start) <= 20 + 1e-6
    answer = line_of("No.", 1.3, "S2")
    cues = build_cues([fast, answer])
    breaches = check(cues)
    assert [(b.cue, b.rule) for b in breaches] == [(0, "speed")]
    assert "next cue starts 1.30 s after" in breaches[0].why
    assert summary(cues, breaches).startswith("1 of 2 cues meet every rule.")


def test_a_word_longer_than_a_line_is_named_in_the_report():
    word = "Pneumonoultramicroscopicsilicovolcanoconiosis-like"
    line = Line(0.0, 3.0, word, (Word(0.0, 3.0, word, 0.9),))
    breaches = check(build_cues([line]))
    assert [b.rule for b in breaches] == ["chars"]
    assert word in breaches[0].why and "longer than a line of 42" in breaches[0].why


def test_bbc_preset_uses_shorter_lines_and_words_per_minute():
    bbc = PRESETS["bbc"]
    text = "They're coming to get you, Barbra, they're coming for you, look, there comes one"
    words = words_of(text, 0.0, 0.4)  # 150 words a minute
    cues = build_cues([Line(0.0, words[-1].end, text, words)], bbc)
    assert all(len(part) <= 37 for cue in cues for part in cue.lines)
    assert any(len(part) > 37 for part in wrap(text, 42))  # Netflix lines would not fit
    assert check(cues, bbc) == []
    assert bbc.reading_time("one two three") == 1.0  # 3 words at 180 a minute


def test_a_line_break_does_not_leave_an_article_hanging():
    first, second = wrap("I want you to go down to the cellar and bring the lamp", 42)
    assert first.split()[-1].lower() not in {"the", "to"}  # not "... down to the / cellar"
    assert max(len(first), len(second)) <= 42


def test_a_quick_exchange_shares_one_cue_with_both_speakers():
    cues = build_cues([line_of("Is he dead?", 0.0, "S1"), line_of("Yes.", 0.9, "S2")])
    (cue,) = cues
    assert cue.lines == ("Is he dead?", "Yes.") and cue.voices == ("S1", "S2")
    assert check(cues) == []
    apart = build_cues([line_of("Is he dead?", 0.0, "S1"), line_of("Yes.", 2.5, "S2")])
    assert len(apart) == 2  # a slow answer keeps its own cue


def test_every_cue_of_a_long_speech_meets_the_rules():
    text = " ".join(["and then we ran down to the cellar, all of us, and waited"] * 8)
    cues = build_cues([line_of(text, 0.0, "S1")])
    assert len(cues) > 4 and check(cues) == []


def test_a_cue_too_short_to_read_takes_in_the_next_one():
    first = Line(1.0, 1.5, "It's all right.", words_of("It's all right.", 1.0, 0.15), "S1")
    second = Line(1.6, 2.2, "It's all.", words_of("It's all.", 1.6, 0.2), "S1")
    (cue,) = build_cues([first, second])
    assert cue.text == "It's all right. It's all." and check([cue]) == []
