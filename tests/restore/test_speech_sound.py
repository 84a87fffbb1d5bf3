"""What speech recognition hears: the sound chain's first steps, tapped on the way to the master."""

from __future__ import annotations

import numpy as np
import pytest

from restore.chain import Chain, RestoreOptions, speech_steps
from restore.media import AudioBlock


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


@pytest.mark.parametrize(
    ("sound", "speech", "heard"),
    [
        (("clicks", "hum", "denoise", "loudness"), ("clicks", "hum"), ("clicks", "hum")),
        (("clicks", "hum", "denoise", "loudness"), ("hum", "clicks"), ("clicks", "hum")),
        (("hum", "loudness", "clicks"), ("clicks", "hum"), ("hum",)),
        (("denoise", "clicks", "hum"), ("clicks", "hum"), ()),
        (
            ("clicks", "hum", "denoise", "loudness"),
            ("clicks", "hum", "denoise", "loudness"),
            ("clicks", "hum", "denoise", "loudness"),
        ),
        ((), ("clicks", "hum"), ()),
    ],
)
def test_speech_hears_the_leading_run_of_its_steps(sound, speech, heard):
    assert speech_steps(RestoreOptions(sound=sound, speech_sound=speech)) == heard
