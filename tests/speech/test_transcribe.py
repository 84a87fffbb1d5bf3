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
        transcribe_wav(
            media / "speech" / "jfk.wav", TranscribeOptions(model="tiny.en", language="de")
        )


def test_missing_model_is_a_clear_error(media, tmp_path):
    with pytest.raises(ModelNotFound, match="not found .looked in"):
        transcribe_wav(media / "speech" / "jfk.wav", TranscribeOptions(model="large-v9"))
    with pytest.raises(ModelNotFound, match="model.bin"):
        transcribe_wav(media / "speech" / "jfk.wav", TranscribeOptions(model=str(tmp_path)))


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


def test_normaliser_reads_letter_digit_forms_as_spoken():
    assert normalise("Set white with P2 soon.") == normalise("set white with p two soon")
    assert normalise("A1") == normalise("a one")


def test_only_16k_speech_audio_is_accepted(media):
    with pytest.raises(UsageError, match="16000 Hz"):
        transcribe_wav(media / "speech" / "jfk.flac", TranscribeOptions())


def test_batched_decoding_gives_the_same_words(media):
    """The GPU path (batched VAD chunks), exercised on the CPU with the same code."""
    result = transcribe_wav(media / "speech" / "jfk.wav", TranscribeOptions(batch_size=4))
    reference = (media / "speech" / "jfk.txt").read_text()
    assert wer([reference], [" ".join(s.text for s in result.segments)]) < 0.10
    assert all(w.start <= w.end for w in result.words) and len(result.words) >= 20


def test_lines_never_outgrow_a_subtitle(media):
    result = transcribe_wav(
        media / "speech" / "notld_1968" / "30s_i_wont_open_this_door_again.wav", TranscribeOptions()
    )
    assert len(result.segments) >= 3
    for line in result.segments:
        assert len(line.text) <= 84 and line.end - line.start <= 7.0 + 1e-6
        assert line.text == " ".join(w.text for w in line.words)


def tiny_random_checkpoint(path):
    """An openai-whisper checkpoint with random weights (no weights ship offline)."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(0)
    dims = ModelDimensions(
        n_mels=80,
        n_audio_ctx=1500,
        n_audio_state=64,
        n_audio_head=2,
        n_audio_layer=2,
        n_vocab=51864,
        n_text_ctx=448,
        n_text_state=64,
        n_text_head=2,
        n_text_layer=2,
    )
    model = Whisper(dims)
    with torch.no_grad():  # a small, transformer-style init keeps random logits finite
        for name, param in model.named_parameters():
            if "ln" in name:
                continue
            param.normal_(0.0, 0.02)
    torch.save({"dims": dims.__dict__, "model_state_dict": model.state_dict()}, path)
    return path


@pytest.mark.slow
def test_openai_whisper_engine_runs_from_a_checkpoint_path(media, tmp_path, to_wav):
    """Plumbing only (random weights): the checkpoint loads from a path, the VAD clips are
    honoured, and whatever comes out is on the film's clock with word times. Random weights
    say nothing at temperature 0, so the (seeded) sampling fallback makes them talk, the
    same way twice."""
    checkpoint = tiny_random_checkpoint(tmp_path / "tiny-random.pt")
    wav = to_wav(media / "speech" / "jfk.flac", tmp_path / "jfk.wav")
    options = TranscribeOptions(
        engine="openai-whisper", model=str(checkpoint), beam_size=1, fallback=True
    )
    result = transcribe_wav(wav, options)
    assert transcribe_wav(wav, options).segments == result.segments
    assert result.engine == "openai-whisper" and result.model_path == str(checkpoint)
    assert result.language == "en" and result.device == "cpu"
    assert result.segments  # random weights still decode something: the checks below bite
    for line in result.segments:
        assert 0.0 <= line.start <= line.end <= result.duration + 0.5
        assert all(line.start <= w.start <= w.end <= line.end for w in line.words)


def test_openai_whisper_names_where_it_looked(media, model_cache):
    options = TranscribeOptions(engine="openai-whisper", model="tiny.en")
    with pytest.raises(ModelNotFound, match=str(model_cache / "whisper" / "tiny.en.pt")):
        transcribe_wav(media / "speech" / "jfk.wav", options)


@pytest.mark.slow
def test_multilingual_model_detects_german_and_translates_it(media, tmp_path, to_wav):
    # multilingual.mp3: a licence read in English, then (from about 46 s) in German.
    german = to_wav(media / "speech" / "multilingual.mp3", tmp_path / "de.wav", start_s=46.0)
    heard = transcribe_wav(german, TranscribeOptions(model="base"))
    assert heard.language == "de" and heard.language_probability > 0.8
    said = " ".join(s.text for s in heard.segments).lower()
    assert "software" in said and ("zu" in said.split() or "und" in said.split())
    translated = transcribe_wav(german, TranscribeOptions(model="base", task="translate"))
    english = " ".join(s.text for s in translated.segments).lower()
    assert "software" in english and ("the" in english.split() or "to" in english.split())
    assert "und" not in english.split() and "zu" not in english.split()


def test_english_only_model_cannot_translate(media):
    with pytest.raises(UsageError, match="English-only"):
        transcribe_wav(
            media / "speech" / "jfk.wav", TranscribeOptions(model="tiny.en", task="translate")
        )


@pytest.mark.slow
def test_no_drift_across_windows_on_a_long_input(media, tmp_path):
    """About 2.5 minutes of different real speech with JFK at the start, the middle and the
    end, read in 40 s windows: JFK's words land at the same offsets every time. (The same
    clip repeated back to back would look like a decoder loop and trigger its fallbacks.)"""
    notld = media / "speech" / "notld_1968"
    pieces = [
        "jfk",
        "60s_i_dont_want_anyones_life_on_my_hands",
        "jfk",
        "30s_i_wont_open_this_door_again",
        "15s_there_are_two_of_them_out_there",
        "10s_back_down_the_road",
        "jfk",
    ]
    audio, starts = [], []
    gap = np.zeros(int(1.3 * 16000), np.float32)
    for name in pieces:
        path = media / "speech" / "jfk.wav" if name == "jfk" else notld / f"{name}.wav"
        samples, rate = sf.read(path, dtype="float32")
        assert rate == 16000
        if name == "jfk":
            starts.append(sum(len(a) for a in audio) / 16000)
        audio += [samples, gap]
    sf.write(tmp_path / "long.wav", np.concatenate(audio), 16000)
    result = transcribe_wav(tmp_path / "long.wav", TranscribeOptions(window_s=40.0))
    assert result.duration > 140 and len(starts) == 3
    offsets = []
    for start in starts:
        said = [
            w
            for w in result.words
            if start <= w.start < start + 11.0 and w.text.lower().strip(".,;").startswith("country")
        ]
        assert len(said) == 2, (
            start,
            [w.text for w in result.words if start <= w.start < start + 11.0],
        )
        offsets.append([w.start - start for w in said])
    offsets = np.array(offsets)
    drift = offsets - offsets[0]
    assert np.abs(drift).max() <= 0.25  # word times jitter; a drift would grow with time
    slope = np.polyfit(starts, drift.mean(axis=1), 1)[0]
    assert abs(slope) * 150 <= 0.15


def test_grid_sentences_wer_bound(media, tmp_path, to_wav, corpus):
    """Six GRID speakers; the sentence is in the file name. tiny.en measures 0.167 here
    (docs/benchmarks.md); the issue's 0.05 target is not met by tiny.en (nor by base: 0.250)."""
    refs, hyps = [], []
    tiny = TranscribeOptions(model="tiny.en")
    for clip in sorted((media / "faces" / "grid").glob("*.mpg")):
        refs.append(corpus.grid_sentence(clip.stem))
        result = transcribe_wav(to_wav(clip, tmp_path / f"{clip.stem}.wav"), tiny)
        hyps.append(" ".join(s.text for s in result.segments))
    assert wer(refs, hyps) <= 0.20, list(zip(refs, hyps, strict=True))


def test_word_boundaries_on_the_aligned_grid_clip(media, tmp_path, to_wav):
    align = [
        line.split()
        for line in (media / "faces" / "grid" / "swwp2s.align").read_text().splitlines()
        if line.strip()
    ]
    truth = [(int(a) / 25000, int(b) / 25000) for a, b, w in align if w != "sil"]
    wav = to_wav(media / "faces" / "grid" / "id2_vcd_swwp2s.mpg", tmp_path / "sw.wav")
    words = transcribe_wav(wav, TranscribeOptions()).words
    errors, queue = [], list(truth)
    for word in words:  # "P2" is two spoken words: it spans both reference intervals
        spoken = 2 if word.text[0].isalpha() and any(c.isdigit() for c in word.text) else 1
        covered, queue = queue[:spoken], queue[spoken:]
        errors += [abs(word.start - covered[0][0]), abs(word.end - covered[-1][1])]
    assert not queue and len(errors) == 10
    assert np.mean(errors) <= 0.15


def test_two_speaker_phone_call_wer_bound(media, tmp_path, to_wav):
    stm = (media / "diarization" / "pyannote_sample.stm").read_text().splitlines()
    reference = " ".join(line.split(maxsplit=5)[5] for line in stm if line.strip())
    wav = to_wav(media / "diarization" / "pyannote_sample.wav", tmp_path / "call.wav")
    result = transcribe_wav(wav, TranscribeOptions())
    assert wer([reference], [" ".join(s.text for s in result.segments)]) <= 0.20


def test_dialogue_that_repeats_its_lines_gives_the_same_text_every_run(media, tmp_path, to_wav):
    """Two speakers trading the same two lines (LRRLRL) trip Whisper's loop check; its
    sampling fallback then gave different text and line times on each run (a CI failure).
    Sampling is now seeded per window, and off by default."""
    grid = media / "faces" / "grid"
    left, _ = sf.read(to_wav(grid / "lrwp9a.mpg", tmp_path / "l.wav"), dtype="float32")
    right, _ = sf.read(to_wav(grid / "brbk7n.mpg", tmp_path / "r.wav"), dtype="float32")
    gap = np.zeros(int(0.6 * 16000), np.float32)
    talk = np.concatenate([x for side in "LRRLRL" for x in (gap, left if side == "L" else right)])
    sf.write(tmp_path / "talk.wav", talk, 16000, subtype="FLOAT")
    for fallback in (False, True):
        options = TranscribeOptions(fallback=fallback)
        runs = [transcribe_wav(tmp_path / "talk.wav", options) for _ in range(3)]
        texts = {tuple((s.start, s.text) for s in run.segments) for run in runs}
        assert len(texts) == 1, texts
    plain = transcribe_wav(tmp_path / "talk.wav", TranscribeOptions())
    assert len(plain.segments) == 6  # one line per turn: none merged, none dropped


class _LoopsOnce:
    """An engine that loops on the whole window, then decodes the stretch given again."""

    name, model_path, device, compute_type, multilingual = "scripted", "-", "cpu", "int8", False

    def __init__(self, second: str) -> None:
        self.calls: list[tuple[float, float, bool]] = []
        self.second = second

    def transcribe(self, audio, offset, language, options, regions=None):
        from speech.types import Segment, Word

        seconds = len(audio) / 16000
        self.calls.append((offset, round(seconds, 3), options.fallback))
        words = tuple(
            Word(offset + 1.0 + 0.4 * i, offset + 1.3 + 0.4 * i, w, 0.9)
            for i, w in enumerate(self.second.split())
        )
        if len(self.calls) == 1:
            stop = (Word(offset + 0.5, offset + 1.0, "Stop.", 0.9),)
            spoken = Segment(offset + 0.5, offset + 1.0, "Stop.", stop)
            loop = Segment(offset + 9.0, offset + 9.1, "Prabababababababababababab", stop)
            return [spoken, loop], "en", 1.0
        return [Segment(words[0].start, words[-1].end, self.second, words)], "en", 1.0


@pytest.mark.parametrize("second", ["They are coming to get you.", "ha" + "ba" * 40])
def test_a_stretch_a_loop_swallowed_is_decoded_again(tmp_path, monkeypatch, second):
    import speech.transcribe

    engine = _LoopsOnce(second)
    monkeypatch.setitem(speech.transcribe.ENGINES, "scripted", lambda options: engine)
    sf.write(tmp_path / "speech.wav", np.zeros(12 * 16000, np.float32), 16000)
    options = TranscribeOptions(engine="scripted", window_s=60.0)
    result = transcribe_wav(tmp_path / "speech.wav", options)
    # the loop swallowed everything after "Stop." to the window's end: that stretch, alone,
    # with Whisper's seeded fallback
    assert engine.calls == [(0.0, 12.0, False), (1.0, 11.0, True)]
    if second.startswith("ha"):  # the second decode loops too: nothing is invented
        assert [s.text for s in result.segments] == ["Stop."]
    else:
        assert " ".join(s.text for s in result.segments) == f"Stop. {second}"
        assert result.words[1].start == 2.0  # on the film's clock
    assert dict(result.dropped)["too fast"] >= 1
    off = TranscribeOptions(engine="scripted", window_s=60.0, retry_lost=False)
    engine.calls.clear()
    assert [s.text for s in transcribe_wav(tmp_path / "speech.wav", off).segments] == ["Stop."]
    assert len(engine.calls) == 1


@pytest.mark.slow
def test_speech_a_real_decoder_loop_swallowed_comes_back(media, tmp_path):
    """tiny.en loops on this cut of the 1968 film (at "Barbra"), and the loop swallows the
    20 s of newscast after it; decoded again on its own, the stretch comes back. The loop
    comes with the VAD's regions joined end to end (the default, ``vad_regions=False``);
    decoded region by region the newscast is not swallowed in the first place (114 words)."""
    clip = media / "speech" / "notld_1968" / "60s_i_dont_want_anyones_life_on_my_hands.wav"
    audio, rate = sf.read(clip, dtype="float32")
    sf.write(tmp_path / "cut.wav", audio[12 * rate :], rate)
    result = transcribe_wav(tmp_path / "cut.wav", TranscribeOptions(vad_regions=False))
    text = normalise(" ".join(s.text for s in result.segments))
    assert len(result.words) >= 90
    assert all(w in text.split() for w in ("hysteria", "murder", "flesh", "victims"))
    plain = transcribe_wav(
        tmp_path / "cut.wav", TranscribeOptions(vad_regions=False, retry_lost=False)
    )
    if not plain.dropped:
        pytest.skip("this CPU's decoder does not loop on the cut: nothing to bring back")
    assert len(plain.words) < len(result.words) - 40


@pytest.mark.slow
def test_the_default_model_reads_film_dialogue_better_than_tiny_en(media):
    """Why base is the default (docs/benchmarks.md, tests/bench/models.py): on 60 s of 1968
    film dialogue it agrees with the reference far better than tiny.en (0.120 against
    0.234 measured), keeping the negation tiny.en drops ("I want everyone's life")."""
    wav = media / "speech" / "notld_1968" / "60s_i_dont_want_anyones_life_on_my_hands.wav"
    reference = [wav.with_suffix(".asr_ref.txt").read_text()]
    default = TranscribeOptions()
    assert default.model == "base"
    scores = {}
    for options in (default, TranscribeOptions(model="tiny.en")):
        text = " ".join(s.text for s in transcribe_wav(wav, options).segments)
        scores[options.model] = wer(reference, [text])
    assert scores["base"] <= 0.16 and scores["base"] < scores["tiny.en"] - 0.05, scores
