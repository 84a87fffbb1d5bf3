"""The speech tap: 16 kHz mono on the film's clock, levels kept."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from restore.media import AudioBlock
from restore.tap import SpeechTap


def tone_blocks(rate=48000, seconds=2.0, start_s=0.0, amplitude=0.5, block=4800):
    t = np.arange(int(seconds * rate)) / rate
    mono = (amplitude * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    stereo = np.stack([mono, mono])
    first = int(start_s * rate)
    for i in range(0, stereo.shape[1], block):
        yield AudioBlock(first + i, rate, "stereo", stereo[:, i : i + block])


def test_tap_passes_blocks_through_and_writes_16k_mono_at_the_same_level(tmp_path):
    blocks = list(tone_blocks())
    passed = list(SpeechTap(tmp_path / "s.wav").process(iter(blocks)))
    assert passed == blocks  # the master gets exactly what came in
    audio, rate = sf.read(tmp_path / "s.wav", dtype="float32")
    assert rate == 16000 and audio.ndim == 1
    assert len(audio) == pytest.approx(32000, abs=64)
    middle = audio[1600:-1600]
    assert np.abs(middle).max() == pytest.approx(0.5, abs=0.02)  # not +3 dB from the downmix


def test_sound_that_starts_late_is_padded_so_times_match_the_film(tmp_path):
    for _ in SpeechTap(tmp_path / "s.wav").process(tone_blocks(start_s=1.5)):
        pass
    audio, _ = sf.read(tmp_path / "s.wav", dtype="float32")
    onset = int(np.argmax(np.abs(audio) > 0.05))
    assert onset / 16000 == pytest.approx(1.5, abs=0.01)
