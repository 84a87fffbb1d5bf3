"""faster-whisper (CTranslate2): the default engine."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from restore.errors import UsageError
from speech.models import resolve_ctranslate2
from speech.options import TranscribeOptions
from speech.types import Segment, Word

log = logging.getLogger(__name__)


def pick_device(device: str) -> str:
    """``auto`` means CUDA when CTranslate2 sees a GPU (no torch import for this)."""
    if device not in ("auto", "cpu", "cuda"):
        raise UsageError(f"--device {device}: expected auto, cpu or cuda")
    if device == "cpu":
        return device
    import ctranslate2

    gpus = ctranslate2.get_cuda_device_count()
    if device == "cuda" and gpus == 0:
        raise UsageError(
            "--device cuda: CTranslate2 sees no CUDA device here; use --device auto or cpu"
        )
    return "cuda" if gpus > 0 else "cpu"


def pick_compute_type(device: str, compute_type: str) -> str:
    if compute_type != "default":
        return compute_type
    return "float16" if device == "cuda" else "int8"


@dataclass
class FasterWhisper:
    name = "faster-whisper"
    model: object
    model_path: str
    device: str
    compute_type: str

    @property
    def multilingual(self) -> bool:
        return bool(self.model.model.is_multilingual)

    def transcribe(
        self, audio: np.ndarray, offset: float, language: str | None, options: TranscribeOptions
    ) -> tuple[list[Segment], str, float]:
        segments, info = self.model.transcribe(
            audio,
            language=language,
            task=options.task,
            beam_size=options.beam_size,
            word_timestamps=True,
            vad_filter=options.vad,
        )
        out = []
        for seg in segments:
            words = tuple(
                Word(
                    start=round(float(offset + w.start), 3),
                    end=round(float(offset + w.end), 3),
                    text=w.word.strip(),
                    prob=round(float(w.probability), 4),
                )
                for w in (seg.words or ())
                if w.word.strip()
            )
            text = seg.text.strip()
            if not text:
                continue
            out.append(
                Segment(
                    start=round(float(offset + seg.start), 3),
                    end=round(float(offset + seg.end), 3),
                    text=text,
                    words=words,
                    avg_logprob=float(seg.avg_logprob),
                    no_speech_prob=float(seg.no_speech_prob),
                )
            )
        return out, info.language, float(info.language_probability)


def load(model: str, device: str, compute_type: str, threads: int = 0) -> FasterWhisper:
    path = resolve_ctranslate2(model)
    device = pick_device(device)
    compute_type = pick_compute_type(device, compute_type)
    return _load(str(path), device, compute_type, threads)


@lru_cache(maxsize=2)
def _load(path: str, device: str, compute_type: str, threads: int) -> FasterWhisper:
    from faster_whisper import WhisperModel

    log.info("loading faster-whisper model %s on %s (%s)", path, device, compute_type)
    model = WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=threads)
    return FasterWhisper(model, path, device, compute_type)
