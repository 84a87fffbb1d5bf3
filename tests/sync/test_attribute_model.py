"""Attribution from the active-speaker model's per-frame scores (faces/speaking.py), on
generated tracks whose scores say who speaks when: the smoothing, nobody for a silent or
absent face, the split at a change of speaker, confidence, and the fallback to the lips'
synchrony where no scores were computed."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from faces.types import Character, FaceResult, FaceTrack
from speech.types import Segment, Word
from sync.attribute import AttributionOptions, attribute

FPS = 25.0


def scored_track(ident: int, character: str, start: float, end: float, speaking) -> FaceTrack:
    """A face seen from ``start`` to ``end`` whose model score at time t is speaking(t)."""
    times = np.arange(start, end, 1 / FPS)
    return FaceTrack(
        id=ident,
        shot=0,
        times=tuple(times),
        boxes=tuple((100.0 + 300 * ident, 50.0, 100.0, 120.0) for _ in times),
        mouth=tuple(0.05 for _ in times),
        jaw=tuple(0.1 for _ in times),
        character=character,
        speaking=tuple(float(speaking(t)) for t in times),
    )


def result(*tracks: FaceTrack) -> FaceResult:
    characters = tuple(
        Character(t.character, t.character, (t.id,), (100, 50, 100, 120), 8.0, "order")
        for t in tracks
    )
    return FaceResult(tracks, characters, (), 200, 200, "generated")


def words(start: float, end: float, step: float = 0.4) -> list[Word]:
    return [
        Word(t, t + step * 0.8, f"w{i}", 0.9) for i, t in enumerate(np.arange(start, end, step))
    ]


def segment(ws: list[Word]) -> Segment:
    return Segment(ws[0].start, ws[-1].end, " ".join(w.text for w in ws), tuple(ws))


ENVELOPE = np.zeros(1000)


def test_the_speaking_face_gets_its_words_and_the_line_splits_where_the_turn_changes():
    def left(t):
        return 3.0 if t < 4.0 else -3.0

    def right(t):
        return -3.0 if t < 4.0 else 3.0

    faces = result(scored_track(0, "S1", 0, 8, left), scored_track(1, "S2", 0, 8, right))
    lines = attribute([segment(words(0.5, 7.6))], faces, ENVELOPE)
    assert [ln.speaker for ln in lines] == ["S1", "S2"]
    assert all(ln.evidence == "lips" for ln in lines)
    assert lines[0].end <= 4.2 and lines[1].start >= 3.8
    assert all(ln.confidence > 0.9 for ln in lines)


def test_a_listener_on_screen_who_is_not_speaking_gets_nothing():
    """A reaction shot: the only face on screen scores under the floor, so the line (spoken
    off screen) is left to nobody rather than given to the face that is seen."""
    faces = result(scored_track(0, "S1", 0, 8, lambda t: -1.5))
    lines = attribute([segment(words(0.5, 7.6))], faces, ENVELOPE)
    assert [ln.speaker for ln in lines] == [None]
    assert lines[0].evidence is None and lines[0].confidence is None


def test_a_face_off_screen_for_part_of_a_line_leaves_that_part_to_nobody():
    faces = result(scored_track(0, "S1", 0, 4, lambda t: 2.5))
    lines = attribute([segment(words(0.5, 7.6))], faces, ENVELOPE)
    assert [ln.speaker for ln in lines] == ["S1", None]


def test_one_stray_word_does_not_change_the_speaker():
    """A single word's score flips for one frame-window: the switch cost keeps the speaker."""

    def left(t):
        return -1.0 if 2.0 <= t < 2.3 else 2.0

    def right(t):
        return 0.5 if 2.0 <= t < 2.3 else -2.0

    faces = result(scored_track(0, "S1", 0, 5, left), scored_track(1, "S2", 0, 5, right))
    lines = attribute([segment(words(0.5, 4.6))], faces, ENVELOPE)
    assert [ln.speaker for ln in lines] == ["S1"]


def test_confidence_grows_with_the_margin_over_the_other_face():
    def close(t):
        return 0.6

    def far(t):
        return 4.0

    other = scored_track(1, "S2", 0, 5, lambda t: 0.3)
    near = attribute(
        [segment(words(0.5, 4.6))], result(scored_track(0, "S1", 0, 5, close), other), ENVELOPE
    )
    sure = attribute(
        [segment(words(0.5, 4.6))], result(scored_track(0, "S1", 0, 5, far), other), ENVELOPE
    )
    assert near[0].speaker == sure[0].speaker == "S1"
    assert sure[0].confidence > near[0].confidence


def test_without_scores_the_lips_synchrony_decides_and_model_evidence_is_refused():
    track = scored_track(0, "S1", 0, 5, lambda t: 3.0)
    bare = dataclasses.replace(track, speaking=None)
    lines = attribute([segment(words(0.5, 4.6))], result(bare), ENVELOPE)
    assert [ln.speaker for ln in lines] == [None]  # flat mouth, flat sound: no synchrony
    with pytest.raises(ValueError, match="speaking scores"):
        attribute(
            [segment(words(0.5, 4.6))], result(bare), ENVELOPE, AttributionOptions(evidence="model")
        )
