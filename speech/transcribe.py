"""The speech stage: sound in, words with times out."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

import soundfile as sf

from restore.errors import UsageError
from restore.tap import SPEECH_RATE
from speech.engines import ENGINES
from speech.lines import clamp, guard, lost_spans, split_lines
from speech.options import TranscribeOptions
from speech.timing import trim_word_ends
from speech.types import SpeechResult
from speech.vad import pairs, speech_regions
from speech.windows import iter_windows

log = logging.getLogger(__name__)


Progress = Callable[[str, float, float | None], None]


def no_progress(stage: str, done: float, total: float | None) -> None:
    pass


def transcribe_wav(
    path: str | Path, options: TranscribeOptions, progress: Progress = no_progress
) -> SpeechResult:
    """Transcribe a 16 kHz WAV (the pipeline's speech tap) window by window.

    Engines see one window at a time; segments are guarded against invented text
    and split into lines; every time is on the film's clock.
    """
    if options.engine not in ENGINES:
        raise UsageError(f"--engine {options.engine}: choose one of {', '.join(ENGINES)}")
    if options.task not in ("transcribe", "translate"):
        raise UsageError(f"--task {options.task}: expected transcribe or translate")
    engine = ENGINES[options.engine](options)
    language = None if options.language in ("auto", "", None) else options.language
    if options.task == "translate" and not engine.multilingual:
        raise UsageError(
            f"--task translate: the model {options.model} is English-only; "
            "give a multilingual model with --model (e.g. base)"
        )
    if not engine.multilingual:
        if language not in (None, "en"):
            raise UsageError(
                f"--language {language}: the model {options.model} understands English only; "
                "give a multilingual model with --model (e.g. base)"
            )
        language = "en"
    info = sf.info(str(path))
    if info.samplerate != SPEECH_RATE:
        raise UsageError(
            f"{path}: speech audio must be {SPEECH_RATE} Hz (got {info.samplerate}); "
            "decode it with restore.tap.SpeechTap first"
        )
    duration = info.duration
    segments, probability = [], 1.0
    dropped: dict[str, int] = {}
    progress("speech", 0.0, duration)
    windows = iter_windows(
        path,
        options.window_s,
        regions=speech_regions if options.vad else None,
        speech_s=options.window_speech_s,
    )
    for window in windows:
        audio, rate, offset, regions = window.audio, window.rate, window.offset, window.regions
        found, detected, prob = engine.transcribe(audio, offset, language, options, regions)
        if language is None:  # detect once, on the first window with speech, then hold it
            if found:
                language, probability = detected, prob
                log.info("detected language %s (p=%.2f)", language, prob)
        found, outside = clamp(found, round(offset + len(audio) / rate, 3))
        kept, removed = guard(found)
        if options.retry_lost:
            kept = _retry_lost(engine, found, kept, audio, rate, offset, language, options)
        if options.vad and options.fill_missed and not options.vad_regions:
            kept = _fill_missed(engine, kept, audio, rate, offset, regions, language, options)
        kept = trim_word_ends(kept, audio, rate, offset)
        if outside:
            removed["beyond the audio"] = outside
        for reason, count in removed.items():
            dropped[reason] = dropped.get(reason, 0) + count
        segments.extend(kept)
        progress("speech", min(duration, offset + len(audio) / rate), duration)
    language = language or "en"
    if dropped:
        log.info("dropped invented text: %s", ", ".join(f"{n} {k}" for k, n in dropped.items()))
    lines = split_lines(
        segments, options.max_line_chars, options.max_line_s, options.pause_s, language
    )
    return SpeechResult(
        language=language,
        language_probability=round(probability, 4),
        duration=round(duration, 3),
        segments=tuple(lines),
        engine=engine.name,
        model=options.model,
        model_path=engine.model_path,
        device=engine.device,
        compute_type=engine.compute_type,
        dropped=tuple(sorted(dropped.items())),
    )


def _retry_lost(engine, found, kept, audio, rate, offset, language, options) -> list:
    """Decode again, each on its own, the stretches a looping decode swallowed; keep what
    passes the guard. Once: a stretch that loops again stays empty."""
    end = offset + len(audio) / rate
    # the same beam search would loop again: Whisper's own way out, seeded sampling when the
    # text looks looped, for these stretches only
    options = dataclasses.replace(options, fallback=True)
    for left, right in lost_spans(found, offset, end):
        again = _decode_again(engine, audio, rate, offset, (left, right), language, options)
        log.info(
            "a decoder loop had swallowed %.1f-%.1f s: decoded again, %d segments back",
            left,
            right,
            len(again),
        )
        kept = sorted([*kept, *(s for s in again if s.start >= left - 0.01)], key=lambda s: s.start)
    return kept


def _decode_again(engine, audio, rate, offset, span, language, options) -> list:
    """One stretch (seconds on the film's clock) of a window decoded on its own, kept inside
    the stretch and guarded like every decode."""
    left, right = span
    piece = audio[int(round((left - offset) * rate)) : int(round((right - offset) * rate))]
    again, _, _ = engine.transcribe(piece, left, language, options)
    again, _ = clamp(again, round(right, 3))
    return guard(again)[0]


def _fill_missed(engine, kept, audio, rate, offset, regions, language, options) -> list:
    """Decode on its own each stretch the VAD calls speech where no kept word lies: a joined
    decode can skip a whole turn (tiny.en did, on hissy dialogue that repeats its lines)."""
    edges = list(regions) if regions is not None else speech_regions(audio, rate)
    words = [w for s in kept for w in s.words]
    for start, end in pairs(edges):
        left, right = offset + start, offset + end
        # a word heard there lies mostly inside it (joined decoding can stretch a word over
        # the stretches it skipped: 16.3-26.4 s for one "said")
        if right - left < MISSED_MIN_S or any(
            min(w.end, right) - max(w.start, left) >= 0.5 * (w.end - w.start) for w in words
        ):
            continue
        again = _decode_again(engine, audio, rate, offset, (left, right), language, options)
        log.info(
            "the decode skipped speech at %.1f-%.1f s: decoded on its own, %d segments back",
            left,
            right,
            len(again),
        )
        kept = sorted([*kept, *again], key=lambda s: s.start)
    return kept


MISSED_MIN_S = 0.5
"""Shorter VAD stretches (a breath, a cough) are not worth a decode of their own."""
