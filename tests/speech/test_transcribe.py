"""Transcription on real speech, scored by WER against the references."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import soundfile as sf

from restore.errors import ModelNotFound, UsageError
from speech.options import TranscribeOptions
from speech.transcribe import transcribe_wav
from speech.wer import normalise, wer
from speech.windows import iter_windows, quietest_cut


def test_jfk_is_transcribed_with_word_times(media):
    result = transcribe_wav(media / "speech" / "jfk.wav", TranscribeOptions())
    reference = (media / "speech" / "jfk.txt").read_text()
    hypothesis = " ".join(s.text for s in result.segments)
    assert wer([reference], [hypothesis]) < 0.10
    assert result.language == "en" and result.engine == "faster-whisper"
    words = result.words
    assert len(words) >= 20
    starts = [w.start for w in words]
    assert starts == sorted(starts)
    assert all(0 <= w.start <= w.end <= result.duration + 0.05 for w in words)
    # "country" is the last word, said in the final 1.5 s of the 11 s excerpt
    assert words[-1].text.strip(".").lower() == "country"
    assert 9.0 <= words[-1].start <= 11.0


def test_librispeech_wer(media):
    folder = media / "speech" / "librispeech"
    with open(folder / "REFERENCE.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    refs, hyps = [], []
    for row in rows:
        result = transcribe_wav(folder / row["file"], TranscribeOptions())
        refs.append(row["reference_transcript"])
        hyps.append(" ".join(s.text for s in result.segments))
    assert wer(refs, hyps) < 0.25, list(zip(refs, hyps, strict=True))


def test_normaliser_treats_case_punctuation_and_numbers_alike():
    assert normalise("Ask not, what YOUR country...") == normalise("ask not what your country")
    assert normalise("twenty five") == normalise("25")


def test_english_only_model_refuses_another_language(media):
    with pytest.raises(UsageError, match="English only"):
        transcribe_wav(media / "speech" / "jfk.wav", TranscribeOptions(language="de"))


def test_missing_model_is_a_clear_error(media, tmp_path):
    with pytest.raises(ModelNotFound, match="no such model"):
        transcribe_wav(media / "speech" / "jfk.wav", TranscribeOptions(model="large-v9"))
    with pytest.raises(ModelNotFound, match="model.bin"):
        transcribe_wav(media / "speech" / "jfk.wav", TranscribeOptions(model=str(tmp_path)))


def test_quietest_cut_lands_in_the_pause():
    rate = 16000
    rng = np.random.default_rng(0)
    audio = rng.normal(0, 0.3, 40 * rate).astype(np.float32)
    audio[int(31.0 * rate) : int(31.6 * rate)] = 0.0  # the only pause, 9 s before the end
    cut = quietest_cut(audio, rate, search_s=15)
    assert 31.0 * rate <= cut <= 31.6 * rate


def test_windows_cover_the_file_exactly_and_cut_in_pauses(tmp_path):
    rate = 16000
    rng = np.random.default_rng(1)
    audio = rng.normal(0, 0.3, 100 * rate).astype(np.float32)
    pauses = [(28.0, 28.5), (57.0, 57.5), (85.0, 85.5)]
    for a, b in pauses:
        audio[int(a * rate) : int(b * rate)] = 0.0
    sf.write(tmp_path / "long.wav", audio, rate, subtype="FLOAT")
    windows = list(iter_windows(tmp_path / "long.wav", window_s=30, search_s=10))
    joined = np.concatenate([w for _, _, w in windows])
    assert np.array_equal(joined, audio)  # nothing lost, nothing repeated
    assert [s for s, _, _ in windows] == [0] + list(np.cumsum([len(w) for _, _, w in windows])[:-1])
    for start, _, _ in windows[1:]:
        assert any(a * rate <= start <= b * rate for a, b in pauses), start / rate


def test_device_choice():
    import ctranslate2

    from speech.engines.faster import pick_compute_type, pick_device

    assert pick_device("cpu") == "cpu"
    has_gpu = ctranslate2.get_cuda_device_count() > 0
    assert pick_device("auto") == ("cuda" if has_gpu else "cpu")
    assert pick_compute_type("cpu", "default") == "int8"
    assert pick_compute_type("cuda", "default") == "float16"
    if not has_gpu:
        with pytest.raises(UsageError, match="no CUDA device"):
            pick_device("cuda")
    with pytest.raises(UsageError):
        pick_device("tpu")
