"""Speech recognisers, one module each, registered by name."""

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
    multilingual: bool

    def transcribe(
        self, audio: np.ndarray, offset: float, language: str | None, options: TranscribeOptions
    ) -> tuple[list[Segment], str, float]:
        """Segments (times from the source's start), the language, and its probability."""


def _faster_whisper(options: TranscribeOptions) -> Engine:
    from speech.engines.faster import load

    return load(options.model, options.device, options.compute_type, options.threads)


ENGINES: dict[str, Callable[[TranscribeOptions], Engine]] = {"faster-whisper": _faster_whisper}
