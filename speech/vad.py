"""Where there is speech: the Silero VAD that ships in faster-whisper, for every engine."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from restore.tap import SPEECH_RATE


def speech_regions(audio: np.ndarray, rate: int = SPEECH_RATE) -> list[float]:
    """Where the Silero VAD hears speech (its defaults, as ``vad_filter`` uses them), as
    Whisper's ``clip_timestamps``: start, end, start, end ... in seconds."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return [
        round(edge / rate, 3)
        for region in get_speech_timestamps(audio, VadOptions(), sampling_rate=rate)
        for edge in (region["start"], region["end"])
    ]


def pairs(edges: Sequence[float]) -> list[tuple[float, float]]:
    """``speech_regions``' flat start, end, start, end ... as (start, end) pairs."""
    return list(zip(edges[::2], edges[1::2], strict=True))
