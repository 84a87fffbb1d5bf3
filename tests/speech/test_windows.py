"""Speech windows: bounded, cut in pauses, and measured in speech so Whisper's chunks fill."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from speech.vad import pairs, speech_regions
from speech.windows import iter_windows, quietest_cut, speech_cut, when_heard

RATE = 16000


def test_quietest_cut_lands_in_the_pause():
    rng = np.random.default_rng(0)
    audio = rng.normal(0, 0.3, 40 * RATE).astype(np.float32)
    audio[int(31.0 * RATE) : int(31.6 * RATE)] = 0.0  # the only pause, 9 s before the end
    cut = quietest_cut(audio, RATE, search_s=15)
    assert 31.0 * RATE <= cut <= 31.6 * RATE


def test_windows_cover_the_file_exactly_and_cut_in_pauses(tmp_path):
    rng = np.random.default_rng(1)
    audio = rng.normal(0, 0.3, 100 * RATE).astype(np.float32)
    pauses = [(28.0, 28.5), (57.0, 57.5), (85.0, 85.5)]
    for a, b in pauses:
        audio[int(a * RATE) : int(b * RATE)] = 0.0
    sf.write(tmp_path / "long.wav", audio, RATE, subtype="FLOAT")
    windows = list(iter_windows(tmp_path / "long.wav", window_s=30, search_s=10))
    joined = np.concatenate([w.audio for w in windows])
    assert np.array_equal(joined, audio)  # nothing lost, nothing repeated
    ends = np.cumsum([len(w.audio) for w in windows])
    assert [w.start for w in windows] == [0, *ends[:-1]]
    assert all(w.regions is None for w in windows)  # no VAD asked for
    for window in windows[1:]:
        assert any(a * RATE <= window.start <= b * RATE for a, b in pauses), window.offset


@pytest.mark.parametrize(
    ("regions", "seconds", "speech_s", "cut"),
    [
        # 3 s talk, 1 s pause, repeated: the pause after 9 s (12 would be too much)
        ([0, 3, 4, 7, 8, 11, 12, 15], 20, 10, 11.5),
        # everything fits: cut in the silence after the last region
        ([1, 3, 5, 6], 20, 10, 13.0),
        # the last region runs into the read's end: cut in the pause before it
        ([1, 3, 5, 10, 12, 20], 20, 30, 11.0),
        # ... unless that leaves too little speech: 2 s, with 15 s more running on
        ([1, 3, 5, 20], 20, 30, None),
        # 2 s of speech, then one stretch far longer than the window's share: no pause is
        # worth a cut (2 s would leave Whisper a nearly empty chunk)
        ([0, 2, 3, 40], 40, 10, None),
        # no pause at all
        ([0, 40], 40, 10, None),
    ],
)
def test_speech_cut_ends_a_window_at_the_last_pause_before_its_share(
    regions, seconds, speech_s, cut
):
    assert speech_cut([float(r) for r in regions], seconds, speech_s) == cut


def test_when_heard_counts_speech_not_film():
    assert when_heard([0.0, 3.0, 10.0, 20.0], 5.0) == 12.0
    assert when_heard([0.0, 3.0], 5.0) == 3.0
    assert when_heard([], 5.0) == 0.0


def _loud_regions(audio: np.ndarray, rate: int) -> list[float]:
    """A stand-in VAD with a known answer: speech is where 100 ms frames are loud."""
    frame = rate // 10
    loud = np.square(audio[: len(audio) // frame * frame].reshape(-1, frame)).mean(1) > 1e-3
    edges = np.flatnonzero(np.diff(np.r_[0, loud.astype(int), 0]))
    return [round(e * 0.1, 3) for e in edges]


def test_windows_hold_their_share_of_speech_however_sparse_the_film(tmp_path):
    """Talk 4 s, silence 2 s, for 3 min, then a minute of silence, then talk again: windows
    hold 20 s of speech each (not 20 s of film), cut in the silences, and the silent minute
    does not make a window longer than window_s."""
    rng = np.random.default_rng(2)
    unit = np.r_[rng.normal(0, 0.3, 4 * RATE), np.zeros(2 * RATE)].astype(np.float32)
    audio = np.r_[np.tile(unit, 30), np.zeros(60 * RATE, np.float32), np.tile(unit, 5)]
    sf.write(tmp_path / "talk.wav", audio, RATE, subtype="FLOAT")
    windows = list(
        iter_windows(tmp_path / "talk.wav", 90.0, search_s=5, regions=_loud_regions, speech_s=20)
    )
    assert np.array_equal(np.concatenate([w.audio for w in windows]), audio)
    for window in windows:
        assert len(window.audio) <= 90 * RATE
        assert window.start % (6 * RATE) in range(4 * RATE, 6 * RATE + 1) or window.start == 0
        speech = sum(b - a for a, b in pairs(window.regions))
        assert speech <= 20.0 + 1e-6
        # the regions come with the window, on its own clock
        assert window.regions == tuple(_loud_regions(window.audio, RATE))
    talking = [w for w in windows[:-1] if w.offset + len(w.audio) / RATE <= 180]
    assert len(talking) >= 5
    assert all(sum(np.diff(w.regions)[::2]) == pytest.approx(20.0) for w in talking)


def test_speech_without_pauses_is_cut_at_its_quietest_moment_within_its_share(tmp_path):
    """A stretch the VAD never breaks (here, 100 ms dips only): the window ends at the
    quietest moment before its share of speech is heard, not at the end of the read."""
    rng = np.random.default_rng(3)
    audio = rng.normal(0, 0.3, 100 * RATE).astype(np.float32)
    dips = [12.3, 17.6, 26.1, 33.4, 47.7, 61.2, 78.9]
    for dip in dips:
        audio[int(dip * RATE) : int((dip + 0.1) * RATE)] *= 0.01
    sf.write(tmp_path / "talk.wav", audio, RATE, subtype="FLOAT")
    windows = list(
        iter_windows(tmp_path / "talk.wav", 40.0, search_s=10, regions=_loud_regions, speech_s=30)
    )
    assert np.array_equal(np.concatenate([w.audio for w in windows]), audio)
    # 30 s of speech from 0 s is heard at 30 s: the quietest moment of 20-30 s is the dip
    # at 26.1 s; from there, 56.1 s: the dip at 47.7 s; and so on (the last read reaches
    # the file's end and is not cut)
    for window, dip in zip(windows[1:3], [26.1, 47.7], strict=True):
        assert dip <= window.offset <= dip + 0.1, window.offset
    assert all(len(w.audio) <= 30 * RATE for w in windows[:-1])


def test_real_film_dialogue_windows_fill_whisper_chunks(media, tmp_path):
    """On two minutes of 1968 film dialogue, with the real VAD: every window but the last
    holds at least half its share of speech and at most its share, and ends in a pause the
    VAD heard (no region runs across a cut)."""
    audio = np.concatenate(
        [
            sf.read(p, dtype="float32")[0]
            for p in sorted((media / "speech" / "notld_1968").glob("*.wav"))
        ]
    )
    sf.write(tmp_path / "film.wav", audio, RATE)
    windows = list(iter_windows(tmp_path / "film.wav", 60.0, regions=speech_regions, speech_s=30))
    assert len(windows) >= 3
    whole = pairs(speech_regions(audio, RATE))
    for window in windows[:-1]:
        heard = sum(b - a for a, b in pairs(window.regions))
        assert 15.0 <= heard <= 30.0, (window.offset, heard)
        cut = window.offset + len(window.audio) / RATE
        assert not any(a + 0.3 < cut < b - 0.3 for a, b in whole), cut
