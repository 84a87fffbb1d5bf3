"""What speech recognition hears: the chain's speech steps, tapped on the way to the master."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from restore.chain import Chain, RestoreOptions
from restore.loudness import measure
from restore.media import AudioBlock
from restore.speechsound import (
    finish_speech,
    second_plan,
    second_steps,
    speech_plan,
    speech_steps,
)


class Gain:
    """A step with a known answer: multiplies the sound by ``factor``."""

    def __init__(self, factor: float) -> None:
        self.name, self.factor = f"x{factor:g}", factor

    def process(self, blocks):
        for b in blocks:
            yield AudioBlock(b.start, b.rate, b.layout, b.samples * self.factor)

    def report(self) -> dict:
        return {}


def test_the_tap_sees_the_sound_after_the_first_steps_and_the_master_after_all():
    registry = {"double": lambda: Gain(2.0), "triple": lambda: Gain(3.0), "half": lambda: Gain(0.5)}
    chain = Chain(("double", "triple", "half"), registry, "sound")
    ones = [AudioBlock(i, 8, "mono", np.ones((1, 8), np.float32)) for i in range(0, 24, 8)]
    for at, heard in ((0, 1.0), (1, 2.0), (2, 6.0), (3, 3.0)):
        tapped: list[AudioBlock] = []

        def tap(blocks, into=tapped):
            for b in blocks:
                into.append(b)
                yield b

        out = list(chain.process(iter(ones), tap, at=at))
        assert [b.start for b in tapped] == [b.start for b in out] == [0, 8, 16]
        assert all(np.all(b.samples == heard) for b in tapped)
        assert all(np.all(b.samples == 3.0) for b in out)  # the master: every step


FULL = ("clicks", "hum", "denoise", "loudness")


@pytest.mark.parametrize(
    ("sound", "speech", "heard", "at", "after"),
    [
        (FULL, ("clicks", "hum", "loudness"), ("clicks", "hum", "loudness"), 2, ("loudness",)),
        (FULL, ("loudness", "hum", "clicks"), ("clicks", "hum", "loudness"), 2, ("loudness",)),
        (FULL, ("clicks", "hum"), ("clicks", "hum"), 2, ()),
        (FULL, FULL, FULL, 4, ()),
        (FULL, ("hum",), ("hum",), 0, ("hum",)),
        (("hum", "loudness", "clicks"), ("clicks", "hum"), ("hum", "clicks"), 1, ("clicks",)),
        ((), ("clicks", "hum"), (), 0, ()),
    ],
)
def test_the_tap_sits_after_the_shared_steps_and_the_rest_run_on_its_copy(
    sound, speech, heard, at, after
):
    options = RestoreOptions(sound=sound, speech_sound=speech)
    assert speech_steps(options) == heard
    assert speech_plan(options) == (at, after)


def test_the_speech_copy_gets_its_later_steps_in_place(tmp_path):
    """Loudness on the tap's 16 kHz file: the level lands on the target, the length is kept,
    and no temporary is left beside it."""
    rate = 16000
    t = np.arange(5 * rate) / rate
    quiet = (0.01 * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * 0.5 * t) > 0)).astype(
        np.float32
    )
    wav = tmp_path / "speech.wav"
    sf.write(wav, quiet, rate, subtype="FLOAT")
    report = finish_speech(wav, ("loudness",), RestoreOptions())
    out, got_rate = sf.read(wav, dtype="float32")
    assert got_rate == rate and len(out) == len(quiet)
    assert measure(out[None, :], rate, "mono")[0] == pytest.approx(-23.0, abs=0.5)
    assert report[0]["step"] == "loudness" and report[0]["after"]["lufs"] == pytest.approx(
        -23.0, abs=0.5
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["speech.wav"]
    assert finish_speech(wav, (), RestoreOptions()) == []


def test_by_default_speech_hears_clicks_hum_and_loudness_but_not_the_denoiser():
    options = RestoreOptions()
    assert "denoise" in options.sound
    assert speech_steps(options) == ("clicks", "hum", "loudness")


@pytest.mark.parametrize(
    ("sound", "speech", "second", "heard", "at", "first_after", "second_after"),
    [
        # the default: the second copy adds the denoiser, so both are tapped before it
        (FULL, ("clicks", "hum", "loudness"), ("denoise",), FULL, 2, ("loudness",), FULL[2:]),
        # the first copy hears everything already: no second copy
        (FULL, FULL, ("denoise",), (), 4, (), None),
        # no second copy asked for
        (FULL, ("clicks", "hum", "loudness"), (), (), 2, ("loudness",), None),
        # a step the chain does not run adds nothing
        (("clicks", "hum"), ("clicks", "hum"), ("denoise",), (), 2, (), None),
        # a second copy that differs from the first at the start: the tap comes first
        (
            FULL,
            ("hum", "loudness"),
            ("clicks",),
            ("clicks", "hum", "loudness"),
            0,
            ("hum", "loudness"),
            ("clicks", "hum", "loudness"),
        ),
    ],
)
def test_a_second_copy_for_speech_hears_its_extra_steps_from_the_same_tap(
    sound, speech, second, heard, at, first_after, second_after
):
    options = RestoreOptions(sound=sound, speech_sound=speech, speech_second=second)
    assert second_steps(options) == heard
    assert speech_plan(options) == (at, first_after)
    assert second_plan(options) == second_after


def test_the_second_copy_is_written_beside_the_tap_copy_which_is_left_as_it_was(tmp_path):
    """Loudness into another file: the tap's copy is untouched, the new one is at the target;
    with no steps, the new one is the tap's copy itself."""
    rate = 16000
    t = np.arange(3 * rate) / rate
    quiet = (0.01 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    wav, second, same = tmp_path / "speech.wav", tmp_path / "second.wav", tmp_path / "same.wav"
    sf.write(wav, quiet, rate, subtype="FLOAT")
    report = finish_speech(wav, ("loudness",), RestoreOptions(), out=second)
    assert report[0]["step"] == "loudness"
    assert np.array_equal(sf.read(wav, dtype="float32")[0], quiet)
    louder, got_rate = sf.read(second, dtype="float32")
    assert got_rate == rate and len(louder) == len(quiet)
    assert measure(louder[None, :], rate, "mono")[0] == pytest.approx(-23.0, abs=0.5)
    assert finish_speech(wav, (), RestoreOptions(), out=same) == []
    assert np.array_equal(sf.read(same, dtype="float32")[0], quiet)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same.wav", "second.wav", "speech.wav"]
