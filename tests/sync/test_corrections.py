"""A caption editor's corrections and renames come back into the transcript (unit level;
the commands on a real run's output are tested in test_cli.py)."""

from __future__ import annotations

import pytest

from restore.errors import UsageError
from speech.types import Word
from sync.corrections import (
    CorrectedCue,
    corrected,
    parse_speakers,
    read_corrected,
    renamed,
)
from sync.cues import build_cues
from sync.transcript import Line, Speaker, Transcript
from sync.writers import to_srt, to_vtt


def line(text: str, start: float, speaker: str | None, step: float = 0.5) -> Line:
    words = tuple(
        Word(start + i * step, start + i * step + 0.4, w, 0.8) for i, w in enumerate(text.split())
    )
    return Line(words[0].start, words[-1].end, text, words, speaker, "lips", 0.9)


TRANSCRIPT = Transcript(
    source="film.mkv",
    duration=30.0,
    language="en",
    speakers=(Speaker("S1", "S1"), Speaker("S2", "S2")),
    lines=(line("They are coming to get you Barbara", 1.0, "S1"), line("Stop it", 6.0, "S2")),
)


def test_a_corrected_word_keeps_its_time_and_new_words_are_spread_in_the_cue():
    cues = [
        CorrectedCue(1.0, 4.5, tuple("They're coming to get you, Barbra!".split())),
        CorrectedCue(6.0, 8.0, tuple("Stop it, Johnny, please.".split())),
    ]
    out = corrected(TRANSCRIPT, cues)
    first, second = out.lines
    assert first.text == "They're coming to get you, Barbra!" and first.speaker == "S1"
    # "They are" became one new word: it fills the cue up to "coming" (kept at 2.0-2.4)
    they, coming = first.words[:2]
    assert (they.start, they.end) == (1.0, 2.0) and (coming.start, coming.end) == (2.0, 2.4)
    assert coming.prob == 0.8  # a kept word keeps its probability
    barbra = first.words[-1]  # one-for-one correction: Barbara's time
    assert (barbra.start, barbra.end) == (4.0, 4.4) and barbra.prob == 1.0
    assert second.text == "Stop it, Johnny, please." and second.speaker == "S2"
    stop, it, johnny, please = second.words
    assert (stop.start, it.end) == (6.0, 6.9)
    assert johnny.start == 6.9 and please.end == 8.0 and johnny.end == please.start
    assert second.evidence == "lips" and second.confidence == 0.9  # attribution kept


def test_moved_cue_times_clip_the_words_and_a_deleted_cue_drops_its_words():
    cues = [CorrectedCue(2.0, 3.0, tuple("coming to get".split()))]
    (only,) = corrected(TRANSCRIPT, cues).lines
    assert only.text == "coming to get"
    assert all(2.0 <= w.start <= w.end <= 3.0 for w in only.words)
    assert [w.start for w in only.words] == sorted(w.start for w in only.words)


def test_a_cue_with_no_old_words_becomes_a_line_with_no_speaker():
    cues = [CorrectedCue(20.0, 21.0, ("Help!",))]
    (new,) = corrected(TRANSCRIPT, cues).lines
    assert new.speaker is None and new.words[0].start == 20.0 and new.words[0].end == 21.0


def test_labels_and_dashes_the_writers_added_are_not_read_as_words(tmp_path):
    named = renamed(TRANSCRIPT, {"S1": "Ben", "S2": "Barbra"})
    cues = build_cues(named.lines)
    for suffix, writer in (("srt", to_srt), ("vtt", to_vtt)):
        path = tmp_path / f"film.en.{suffix}"
        path.write_text(writer(cues, named), encoding="utf-8")
        read = read_corrected(path, named)
        said = [w for cue in read for w in cue.words]
        assert said == "They are coming to get you Barbara Stop it".split()
        assert corrected(named, read).lines == named.lines  # nothing changed: nothing moves


def test_rename_by_id_or_name_and_refuse_unknown_ones():
    out = renamed(TRANSCRIPT, {"S1": "Ben"})
    assert [s.name for s in out.speakers] == ["Ben", "S2"]
    assert [s.name for s in renamed(out, {"Ben": "Benjamin"}).speakers] == ["Benjamin", "S2"]
    with pytest.raises(UsageError, match="no speaker 'S9'.*S1 \\(S1\\)"):
        renamed(TRANSCRIPT, {"S9": "Ben"})
    with pytest.raises(UsageError, match="empty name"):
        renamed(TRANSCRIPT, {"S1": "  "})


def test_speakers_files_in_the_shapes_people_edit():
    assert parse_speakers({"S1": "Ben"}) == {"S1": "Ben"}
    edited = {"schema": "x", "speakers": [{"id": "S1", "name": "Ben", "face_box": None}]}
    assert parse_speakers(edited) == {"S1": "Ben"}
    assert parse_speakers({"speaker": [{"id": "S2", "name": "Barbra"}]}) == {"S2": "Barbra"}
    with pytest.raises(UsageError):
        parse_speakers({"S1": 3})


def test_a_long_film_is_aligned_in_stretches_without_losing_words_at_their_seams():
    lines = tuple(line(f"line {i} says hello there", i * 4.0, "S1") for i in range(130))
    film = Transcript("film.mkv", 600.0, "en", (Speaker("S1", "S1"),), lines)
    cues = [CorrectedCue(ln.start, ln.end, tuple(ln.text.split())) for ln in lines]
    for k in (49, 50, 99):  # either side of the seams between stretches of 50 cues
        cues[k] = CorrectedCue(cues[k].start, cues[k].end, ("Line", f"{k}", "says", "goodbye"))
    out = corrected(film, cues)
    assert len(out.lines) == 130
    for k in (49, 50, 99):
        fixed = out.lines[k]
        assert fixed.text == f"Line {k} says goodbye"
        kept = lines[k].words[:3]
        # "line" -> "Line", "49", "says": the editor's text, the old times
        assert [(w.start, w.end) for w in fixed.words[:3]] == [(w.start, w.end) for w in kept]
        # "hello there" -> "goodbye": a new word fills the rest of the cue
        assert fixed.words[3].start == kept[-1].end
        assert fixed.words[-1].end == lines[k].words[-1].end
    assert [ln.words for i, ln in enumerate(out.lines) if i not in (49, 50, 99)] == [
        ln.words for i, ln in enumerate(lines) if i not in (49, 50, 99)
    ]
