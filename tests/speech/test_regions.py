"""Speech decoded VAD region by region: every turn of a hissy dialogue is heard.

The dialogue is composed from two real GRID speakers' sound (each says their own
sentence four times, as in tests/bench/speakers.py), with 0.6 s of silence between
turns and white hiss over all of it. Decoded as one stream of joined speech
regions, tiny.en skipped three of its eight turns; region by region, none.
"""

from __future__ import annotations

import numpy as np
import soundfile as sf

from speech.options import TranscribeOptions
from speech.transcribe import transcribe_wav
from speech.vad import pairs, speech_regions

RATE = 16000


def hissy_dialogue(media, to_wav, tmp_path) -> tuple[np.ndarray, list[tuple[float, float]]]:
    voices = {
        side: sf.read(to_wav(media / "faces" / "grid" / f"{stem}.mpg", tmp_path / f"{side}.wav"))[
            0
        ][: 3 * RATE]
        for side, stem in (("L", "bbaf2n"), ("R", "id2_vcd_swwp2s"))
    }
    parts, turns, t = [], [], 0.0
    for side in "LRRLRLLR":
        parts += [
            np.zeros(int(0.6 * RATE)),
            np.pad(voices[side], (0, 3 * RATE - len(voices[side]))),
        ]
        turns.append((t + 0.6, t + 3.6))
        t += 3.6
    sound = np.concatenate(parts) + np.random.default_rng(7).normal(0, 0.01, int(t * RATE))
    return sound.astype(np.float32), turns


def test_every_turn_of_a_hissy_repetitive_dialogue_is_heard(media, to_wav, tmp_path):
    sound, turns = hissy_dialogue(media, to_wav, tmp_path)
    wav = tmp_path / "dialogue.wav"
    sf.write(wav, sound, RATE, subtype="FLOAT")
    words = transcribe_wav(wav, TranscribeOptions()).words
    heard = [any(a <= (w.start + w.end) / 2 < b for w in words) for a, b in turns]
    assert all(heard), heard


def test_speech_regions_cover_the_turns_and_skip_the_silences(media, to_wav, tmp_path):
    sound, turns = hissy_dialogue(media, to_wav, tmp_path)
    edges = speech_regions(sound)
    regions = pairs(edges)
    assert regions and all(a < b for a, b in regions)
    for a, b in turns:  # each turn's middle second is inside a region
        middle = (a + b) / 2
        assert any(s <= middle - 0.5 and middle + 0.5 <= e for s, e in regions)
    assert sum(e - s for s, e in regions) < 0.9 * len(sound) / RATE
