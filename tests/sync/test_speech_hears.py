"""The pipeline feeds speech recognition the sound through the chain's speech steps (by default
clicks, hum and loudness), a second copy with the denoiser too, and the master the whole chain
(chosen by pooled WER in tests/bench/sound_wer.py); on real speech, aged, what recognition
reads from the two copies is no harder to transcribe than the aged sound."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from restore.chain import RestoreOptions, sound_chain
from restore.loudness import measure
from restore.media import iter_audio, open_source
from restore.speechsound import (
    finish_copies,
    finish_speech,
    second_plan,
    second_steps,
    speech_plan,
    speech_steps,
)
from restore.tap import SpeechTap
from sync.pipeline import Pipeline, RunOptions


def test_recognition_hears_the_speech_steps_and_the_master_gets_the_whole_chain(aged_jfk, tmp_path):
    options = RestoreOptions()
    heard = speech_steps(options)
    at, after = speech_plan(options)
    assert heard and heard != options.sound  # the default: a part of the chain, not all of it
    source = open_source(aged_jfk[0])
    master = Pipeline(RunOptions(restore=options, faces=None, access=None))._write_master(
        source, tmp_path / "m.mkv", tmp_path / "speech.wav", restore=True
    )
    assert master.restoration["speech"]["hears"] == list(heard)
    assert [s["step"] for s in master.restoration["speech"]["after_the_tap"]] == list(after)
    assert [s["step"] for s in master.restoration["sound"]] == list(options.sound)

    # what recognition should hear: the speech steps alone, through the same tap
    expected_wav = tmp_path / "expected.wav"
    alone = sound_chain(RestoreOptions(sound=heard[:at]))
    for _ in SpeechTap(expected_wav).process(alone.process(iter_audio(source))):
        pass
    finish_speech(expected_wav, after, options)
    got, _ = sf.read(tmp_path / "speech.wav", dtype="float32")
    want, _ = sf.read(expected_wav, dtype="float32")
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 1e-6
    if "loudness" in heard:
        assert measure(got[None, :], 16000, "mono")[0] == pytest.approx(options.loudness, abs=0.5)

    # the second copy: the same tap, then its own steps (by default the denoiser too)
    second = master.restoration["speech"]["second_copy"]
    assert second["hears"] == list(second_steps(options)) and "denoise" in second["hears"]
    assert [s["step"] for s in second["after_the_tap"]] == list(second_plan(options))
    expected_second = tmp_path / "expected.second.wav"
    for _ in SpeechTap(expected_wav).process(alone.process(iter_audio(source))):
        pass
    finish_speech(expected_wav, second_plan(options), options, out=expected_second)
    got2, _ = sf.read(tmp_path / "speech.second.wav", dtype="float32")
    want2, _ = sf.read(expected_second, dtype="float32")
    assert got2.shape == want2.shape == got.shape
    assert np.abs(got2 - want2).max() < 1e-6
    assert np.abs(got2 - got).max() > 1e-3  # the denoiser changed it

    # the master: every step (FLAC keeps 24 bits of it)
    full = sound_chain(options)
    want_master = np.concatenate([b.samples for b in full.process(iter_audio(source))], axis=1)
    got_master = np.concatenate(
        [b.samples for b in iter_audio(open_source(tmp_path / "m.mkv"))], axis=1
    )
    assert got_master.shape == want_master.shape
    assert np.abs(got_master - want_master).max() < 1e-4
    assert measure(got_master, source.audio[0].sample_rate, "stereo")[0] == pytest.approx(
        options.loudness, abs=0.5
    )


@pytest.mark.slow
def test_pooled_wer_on_what_recognition_hears_is_no_worse_than_on_the_aged_sound(
    media, age_sound_fn, tmp_path, corpus
):
    """JFK, the 3 LibriSpeech utterances and the 6 GRID clips (74 words), each aged at 10 and
    20 dB SNR with 50 Hz hum and clicks: all errors over all words, as the bench pools them
    (tiny.en moves a word or two per clip either way; one clip decides nothing)."""
    import csv

    from speech.options import TranscribeOptions
    from speech.transcribe import transcribe_wav
    from speech.wer import wer

    clips = [(media / "speech" / "jfk.flac", (media / "speech" / "jfk.txt").read_text())]
    with open(media / "speech" / "librispeech" / "REFERENCE.tsv", newline="") as handle:
        clips += [
            (media / "speech" / "librispeech" / row["file"], row["reference_transcript"])
            for row in csv.DictReader(handle, delimiter="\t")
        ]
    grid = sorted(media.glob("faces/grid/*.mpg"))
    clips += [(clip, corpus.grid_sentence(clip.stem)) for clip in grid]
    assert len(clips) == 10

    options = RestoreOptions()
    at = speech_plan(options)[0]

    def hear(samples, rate, layout, restore: bool):
        """Through the tap as the pipeline does: the shared steps, then each speech copy's own,
        and the surer reading of each stretch."""
        from restore.media import AudioBlock
        from speech.readings import keep_surer

        blocks = (
            AudioBlock(i, rate, layout, np.ascontiguousarray(samples[:, i : i + rate]))
            for i in range(0, samples.shape[1], rate)
        )
        if restore:
            blocks = sound_chain(RestoreOptions(sound=options.sound[:at])).process(blocks)
        wav, second = tmp_path / "tap.wav", tmp_path / "tap.second.wav"
        for _ in SpeechTap(wav).process(blocks):
            pass
        if not restore:
            return " ".join(s.text for s in transcribe_wav(wav, TranscribeOptions()).segments)
        finish_copies(wav, options, second)
        kept, _, _ = keep_surer(
            transcribe_wav(wav, TranscribeOptions()), transcribe_wav(second, TranscribeOptions())
        )
        return " ".join(s.text for s in kept.segments)

    refs, aged_text, heard_text = [], [], []
    for path, reference in clips:
        source = open_source(path)
        clean = np.concatenate([b.samples for b in iter_audio(source)], axis=1)
        rate, layout = source.audio[0].sample_rate, source.audio[0].layout
        for snr in (10, 20):
            aged, _ = age_sound_fn(clean, rate, snr_db=snr, hum_hz=50, clicks_per_s=3)
            refs.append(reference)
            aged_text.append(hear(aged, rate, layout, restore=False))
            heard_text.append(hear(aged, rate, layout, restore=True))
    assert wer(refs, heard_text) <= wer(refs, aged_text)


@pytest.mark.parametrize(
    ("given", "heard"),
    [
        ([], ("clicks", "hum", "loudness")),
        (["--speech-sound", "all"], ("clicks", "hum", "denoise", "loudness")),
        (["--speech-sound", "none"], ()),
        (["--speech-sound", "hum, denoise"], ("hum", "denoise")),
        (["--sound", "hum,loudness", "--speech-sound", "all"], ("hum", "loudness")),
    ],
)
def test_the_command_line_chooses_what_speech_hears(given, heard, tmp_path):
    from sync.cli import _restore_options, build_parser

    args = build_parser().parse_args(["run", str(tmp_path / "film.mkv"), *given])
    assert speech_steps(_restore_options(args)) == heard


@pytest.mark.parametrize(
    ("given", "second"),
    [
        ([], ("clicks", "hum", "denoise", "loudness")),
        (["--speech-second", "none"], ()),
        (["--speech-sound", "all"], ()),  # the first copy hears everything already
        (["--speech-second", "denoise,hum"], ("clicks", "hum", "denoise", "loudness")),
        (["--speech-sound", "hum", "--speech-second", "clicks"], ("clicks", "hum")),
        (["--no-restore"], ()),
    ],
)
def test_the_command_line_chooses_what_the_second_copy_hears(given, second, tmp_path):
    from sync.cli import _restore_options, build_parser

    args = build_parser().parse_args(["run", str(tmp_path / "film.mkv"), *given])
    assert second_steps(_restore_options(args)) == second


@pytest.mark.parametrize("flag", ["--speech-sound", "--speech-second"])
def test_an_unknown_speech_step_is_one_line_and_code_2(flag, tmp_path, capsys):
    from sync.cli import main

    film = tmp_path / "film.wav"
    sf.write(film, np.zeros(16000, np.float32), 16000)
    code = main(["run", str(film), "-o", str(tmp_path / "out"), flag, "hiss"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and flag in err and "'hiss'" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_second_copy_is_read_in_the_language_the_first_was_heard_in(monkeypatch, tmp_path):
    """With --language auto, the second reading must not detect a language of its own and
    splice another language's lines into the transcript."""
    from pathlib import Path

    import speech.transcribe
    from speech.types import SpeechResult

    seen = []

    def transcribe_wav(wav, options, progress=None):
        seen.append((Path(wav).name, options.language))
        language = "fr" if options.language == "auto" else options.language
        return SpeechResult(language, 0.9, 1.0, (), "faster", "m", "p", "cpu", "int8")

    monkeypatch.setattr(speech.transcribe, "transcribe_wav", transcribe_wav)
    pipeline = Pipeline(RunOptions(faces=None, access=None))
    result, readings = pipeline._speech(None, tmp_path / "speech.wav", tmp_path / "s2.wav")
    assert seen == [("speech.wav", "auto"), ("s2.wav", "fr")]
    assert result.language == "fr" and readings["stretches"] == 0
    assert set(pipeline.timings) == {"speech", "speech (second copy)"}
