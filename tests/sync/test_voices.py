"""Lines given by voice (sync/voices.py, CAM++ in speech/voice.py) on a real call.

The pyannote sample (../shared/media/diarization) has 13 turns by two named people. Some
turns stand in for lines the lips gave (evidence "lips", sure), the others for lines said
off screen (speaker None): each of those must go to its own speaker or stay with nobody.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sync.transcript import Line
from sync.voices import Profiles, VoiceOptions, attribute_by_voice, give_by_voice, voice_confidence

CALL = Path(__file__).resolve().parents[2].parent / "shared" / "media" / "diarization"


def turns() -> list[tuple[str, float, float]]:
    rows = [ln.split(maxsplit=5) for ln in open(CALL / "pyannote_sample.stm") if ln.strip()]
    return [(row[2], float(row[3]), float(row[4])) for row in rows]


def test_profiles_decide_only_when_one_voice_is_clearly_nearer():
    a, b = np.eye(3)[0], np.eye(3)[1]
    profiles = Profiles({"S1": a, "S2": b})
    options = VoiceOptions()
    assert profiles.match(a, options)[0] == "S1"
    between = (a + b) / np.linalg.norm(a + b)
    assert profiles.match(between, options) is None  # equally near both: nobody
    assert profiles.match(np.eye(3)[2], options) is None  # near neither
    assert profiles.match(a, options, exclude=frozenset({"S1"})) is None  # seen, silent


def test_only_sure_long_lines_build_voices_and_only_null_lines_are_given():
    e = np.eye(4)
    options = VoiceOptions()
    sure, unsure = options.profile_confidence + 0.1, options.profile_confidence - 0.1
    voices = {0: e[0], 3: e[1], 6: e[0], 9: e[0], 12: e[1], 13: e[2], 16: e[1]}

    def line(start, length, speaker=None, confidence=None):
        evidence = "lips" if speaker else None
        return Line(start, start + length, "x", (), speaker, evidence, confidence)

    lines = [
        line(0, 2, "S1", sure),
        line(3, 2, "S2", sure),
        line(6, 2, "S3", unsure),  # S1's voice: had it made S3's, the line at 9 would tie
        line(9, 2),  # S1's voice, off screen
        line(12, options.min_seconds / 2),  # S2's voice, too short to judge
        line(13, 2),  # nobody's voice
        line(16, 2, "S1", unsure),  # S2's voice, but the lips' line is left alone
    ]
    out = give_by_voice(lines, None, lambda ln: voices[int(ln.start)], options)
    assert out[3].speaker == "S1" and out[3].evidence == "voice"
    assert out[3].confidence == voice_confidence(1.0)  # cosine 1 against 0 for S2
    assert [ln.speaker for ln in out[4:6]] == [None, None]
    assert out[:3] == tuple(lines[:3]) and out[6] == lines[6]


@pytest.mark.slow
def test_off_screen_lines_of_a_real_call_go_to_their_own_speaker_or_nobody():
    spans = turns()
    ids = {"Diane": "S1", "Sheila": "S2"}
    lines, truth = [], []
    for index, (who, start, end) in enumerate(spans):
        seen = index % 2 == 0  # every other turn stands for a line the lips gave
        lines.append(
            Line(
                start=start,
                end=end,
                text=f"turn {index}",
                words=(),
                speaker=ids[who] if seen else None,
                evidence="lips" if seen else None,
                confidence=0.95 if seen else None,
            )
        )
        truth.append(None if seen else ids[who])
    out = attribute_by_voice(lines, None, CALL / "pyannote_sample.wav")
    judged = [(line, want) for line, want in zip(out, truth, strict=True) if want is not None]
    given = [(line, want) for line, want in judged if line.speaker is not None]
    assert all(line.evidence == "voice" for line, _ in given)
    assert all(line.speaker == want for line, want in given), [
        (line.start, line.speaker, want) for line, want in given
    ]
    assert len(given) >= len(judged) // 2  # most of them are given, none wrongly
    assert all(0.5 <= line.confidence <= 1 for line, _ in given)
