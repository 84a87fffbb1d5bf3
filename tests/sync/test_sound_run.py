"""Sound restoration through the command line: real speech aged, restored into the master,
transcribed from the restored sound, and every step's figures in the manifest."""

from __future__ import annotations

import json

import numpy as np
import pytest

from restore.loudness import measure
from restore.media import iter_audio, open_source
from speech.wer import wer
from sync.cli import main


@pytest.mark.slow
def test_run_restores_the_sound_and_records_every_step(aged_jfk, media, tmp_path):
    film, rate, clicks = aged_jfk
    assert main(["run", str(film), "-o", str(tmp_path), "--quiet", "--no-faces"]) == 0
    manifest = json.loads((tmp_path / "jfk_aged.manifest.json").read_text())
    steps = {s["step"]: s for s in manifest["restoration"]["sound"]}
    assert list(steps) == ["clicks", "hum", "denoise", "loudness"]
    assert steps["hum"]["mains_hz"] == pytest.approx(50.0, abs=0.3)
    assert steps["hum"]["removed_db"] >= 30
    assert 0.8 * clicks <= steps["clicks"]["clicks_repaired"] <= 3 * clicks
    assert steps["loudness"]["after"]["lufs"] == pytest.approx(-23.0, abs=0.5)

    master = open_source(tmp_path / "jfk_aged.master.mkv")
    assert master.audio[0].sample_rate == rate and master.audio[0].channels == 2
    sound = np.concatenate([b.samples for b in iter_audio(master)], axis=1)
    lufs, peak = measure(sound, rate, "stereo")
    assert lufs == pytest.approx(-23.0, abs=0.5) and peak < -1.0

    # speech read two copies (the second denoised) and kept the surer reading of each stretch
    speech = manifest["restoration"]["speech"]
    assert "denoise" not in speech["hears"] and "denoise" in speech["second_copy"]["hears"]
    readings = manifest["speech"]["readings"]
    assert 1 <= readings["stretches"] and 0 <= readings["from_second_copy"] <= readings["stretches"]
    transcript = json.loads((tmp_path / "jfk_aged.transcript.json").read_text())
    text = " ".join(line["text"] for line in transcript["lines"])
    assert wer([(media / "speech" / "jfk.txt").read_text()], [text]) < 0.15


def test_sound_none_keeps_the_sound_sample_for_sample(aged_jfk, tmp_path):
    film, rate, _ = aged_jfk
    master = tmp_path / "m.mkv"
    assert main(["restore", str(film), "-o", str(master), "--quiet", "--sound", "none"]) == 0
    original = np.concatenate([b.samples for b in iter_audio(open_source(film))], axis=1)
    kept = np.concatenate([b.samples for b in iter_audio(open_source(master))], axis=1)
    assert np.array_equal(original, kept)


def test_unknown_sound_step_is_a_usage_error(aged_jfk, tmp_path, capsys):
    film, _, _ = aged_jfk
    code = main(["restore", str(film), "-o", str(tmp_path / "m.mkv"), "--sound", "clicks,reverb"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "reverb" in err[0] and "clicks" in err[0]
    assert not list(tmp_path.iterdir())


def test_loudness_target_from_the_command_line(aged_jfk, tmp_path):
    film, rate, _ = aged_jfk
    master = tmp_path / "m.mkv"
    args = ["restore", str(film), "-o", str(master), "--quiet", "--sound", "loudness"]
    assert main([*args, "--loudness", "-16"]) == 0
    sound = np.concatenate([b.samples for b in iter_audio(open_source(master))], axis=1)
    lufs, peak = measure(sound, rate, "stereo")
    assert lufs == pytest.approx(-16.0, abs=0.5) and peak < -1.0
