"""Word ends held to the sound, on generated voices with known edges."""

from __future__ import annotations

import numpy as np
import pytest

from speech.timing import MIN_WORD_S, RELEASE_S, trim_word_ends
from speech.types import Segment, Word

RATE = 16000


def voice(spans, seconds=4.0, noise_db=-50.0, level_db=-20.0, seed=0):
    """Room noise at ``noise_db`` with a voiced buzz (150 Hz + harmonics) in each span."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    audio = rng.normal(0, 10 ** (noise_db / 20), t.size)
    buzz = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 8))
    buzz *= 10 ** (level_db / 20) / np.sqrt(np.mean(buzz**2))
    for start, end in spans:
        inside = (t >= start) & (t < end)
        audio[inside] += buzz[inside]
    return audio.astype(np.float32)


def segment(*words):
    return Segment(
        words[0][0],
        words[-1][1],
        " ".join(w[2] for w in words),
        tuple(Word(*w, 0.9) for w in words),
    )


def test_a_phrase_end_that_runs_into_the_pause_is_pulled_back_to_the_voice():
    audio = voice([(0.5, 1.0), (1.0, 1.6)])
    seg = segment((0.5, 1.0, "hello"), (1.0, 2.4, "there."))  # Whisper ran 0.8 s on
    (fixed,) = trim_word_ends([seg], audio, RATE, 0.0)
    end = fixed.words[-1].end
    assert 1.6 <= end <= 1.6 + RELEASE_S + 0.04
    assert fixed.end == end and fixed.words[0] == seg.words[0]  # the inner word is left alone


def test_ends_only_move_earlier_and_a_word_keeps_its_voice():
    audio = voice([(0.5, 1.6)])
    seg = segment((0.5, 1.55, "long"))  # ends inside the voice: nothing to trim
    assert trim_word_ends([seg], audio, RATE, 0.0) == [seg]
    short = segment((1.58, 2.5, "oh."))  # only its first 20 ms are voiced
    (fixed,) = trim_word_ends([short], audio, RATE, 0.0)
    assert fixed.words[0].end == pytest.approx(1.58 + MIN_WORD_S)


def test_a_word_followed_closely_by_the_next_is_not_trimmed():
    audio = voice([(0.5, 0.9), (1.3, 1.8)])
    first = segment((0.5, 1.25, "one"))  # a 50 ms gap: not a pause
    second = segment((1.3, 1.8, "two."))
    out = trim_word_ends([first, second], audio, RATE, 0.0)
    assert out[0] == first


def test_times_follow_the_window_offset():
    audio = voice([(0.5, 1.0)])
    seg = segment((600.5, 601.8, "late."))  # the window starts 600 s into the film
    (fixed,) = trim_word_ends([seg], audio, RATE, 600.0)
    assert 601.0 <= fixed.words[0].end <= 601.0 + RELEASE_S + 0.04


def test_a_voice_that_hardly_stands_above_the_noise_is_left_as_decoded():
    audio = voice([(0.5, 1.0)], noise_db=-30.0, level_db=-25.0)
    seg = segment((0.5, 2.0, "mumble."))
    assert trim_word_ends([seg], audio, RATE, 0.0) == [seg]


def test_loud_room_tone_after_the_word_is_not_taken_for_voice():
    """A background 25 dB under the voice, but well above the quietest moments of the
    window (as in the GRID recordings): the end still comes back to the voice."""
    audio = voice([(0.5, 1.2)], noise_db=-60.0)
    t = np.arange(audio.size) / RATE
    room = (t > 1.2) & (t < 2.6)
    audio[room] += np.random.default_rng(1).normal(0, 10 ** (-45 / 20), room.sum()).astype("f4")
    seg = segment((0.5, 2.5, "now."))
    (fixed,) = trim_word_ends([seg], audio, RATE, 0.0)
    assert fixed.words[0].end <= 1.2 + RELEASE_S + 0.04


def test_sound_after_a_silence_inside_the_word_is_not_its_voice():
    """The next shot's room tone (or a breath) starts before Whisper's stretched end: the
    word still ends where its voice did, before the silence."""
    audio = voice([(0.5, 1.1), (1.6, 1.75)], noise_db=-65.0, level_db=-20.0)
    seg = segment((0.5, 1.9, "now."))  # voice to 1.1, 0.5 s of quiet, a blip at 1.6
    (fixed,) = trim_word_ends([seg], audio, RATE, 0.0)
    assert 1.1 <= fixed.words[0].end <= 1.1 + RELEASE_S + 0.04
