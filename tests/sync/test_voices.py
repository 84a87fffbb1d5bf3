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
from sync.voices import Profiles, VoiceOptions, attribute_by_voice

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
