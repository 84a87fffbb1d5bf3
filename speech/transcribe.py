"""The speech stage: sound in, words with times out."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import soundfile as sf

from restore.errors import UsageError
from speech.engines import ENGINES
from speech.options import TranscribeOptions
from speech.types import SpeechResult
from speech.windows import iter_windows

log = logging.getLogger(__name__)

SPEECH_RATE = 16000
Progress = Callable[[str, float, float | None], None]


def _no_progress(stage: str, done: float, total: float | None) -> None:
    pass


def transcribe_wav(
    path: str | Path, options: TranscribeOptions, progress: Progress = _no_progress
) -> SpeechResult:
    """Transcribe a 16 kHz mono WAV (the speech tap of the pipeline) window by window."""
    if options.engine not in ENGINES:
        raise UsageError(f"--engine {options.engine}: choose one of {', '.join(ENGINES)}")
    if options.task not in ("transcribe", "translate"):
        raise UsageError(f"--task {options.task}: expected transcribe or translate")
    engine = ENGINES[options.engine](options)
    language = None if options.language in ("auto", "", None) else options.language
    if not engine.multilingual:
        if language not in (None, "en"):
            raise UsageError(
                f"--language {language}: the model {options.model} understands English only; "
                "give a multilingual model with --model"
            )
        language = "en"
    duration = sf.info(str(path)).duration
    segments, probability = [], 1.0
    progress("speech", 0.0, duration)
    for start, rate, audio in iter_windows(path, options.window_s):
        offset = start / rate
        found, detected, prob = engine.transcribe(audio, offset, language, options)
        if language is None:  # detect once, on the first window, then hold it for the film
            language, probability = detected, prob
            log.info("detected language %s (p=%.2f)", language, prob)
        segments.extend(found)
        progress("speech", min(duration, offset + len(audio) / rate), duration)
    return SpeechResult(
        language=language or "en",
        language_probability=round(probability, 4),
        duration=round(duration, 3),
        segments=tuple(segments),
        engine=engine.name,
        model=options.model,
        model_path=engine.model_path,
        device=engine.device,
        compute_type=engine.compute_type,
    )
