"""Speech recognisers, one module each, registered by name.

An engine turns one window of 16 kHz mono audio into raw segments with word
times (offset to the film's clock); the speech stage does the rest (guards,
line splitting) the same way for every engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from speech.options import TranscribeOptions
from speech.types import Segment


class Engine(Protocol):
    name: str
    model_path: str
    device: str
    compute_type: str

    @property
    def multilingual(self) -> bool: ...

    def transcribe(
        self,
        audio: np.ndarray,
        offset: float,
        language: str | None,
        options: TranscribeOptions,
        regions: tuple[float, ...] | None = None,
    ) -> tuple[list[Segment], str, float]:
        """Segments (times from the source's start), the language, and its probability.

        ``regions``: where the stage's VAD heard speech in ``audio`` (seconds from its
        start: start, end, start, end ...), when it ran; without them an engine asked for
        VAD runs it itself."""


def _faster_whisper(options: TranscribeOptions) -> Engine:
    from speech.engines.faster import load

    return load(options)


def _openai_whisper(options: TranscribeOptions) -> Engine:
    from speech.engines.openai import load

    return load(options)


ENGINES: dict[str, Callable[[TranscribeOptions], Engine]] = {
    "faster-whisper": _faster_whisper,
    "openai-whisper": _openai_whisper,
}
