"""openai-whisper (PyTorch), the second engine: a checkpoint by path, or by name from the cache.

It has no VAD of its own: the Silero VAD that ships in faster-whisper marks the
speech, and only those stretches are decoded (``clip_timestamps``), as with the
default engine.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from restore.errors import UsageError
from speech.models import cache_dir, resolve_openai_whisper
from speech.options import SEED, TranscribeOptions
from speech.types import Segment, Word
from speech.vad import speech_regions

log = logging.getLogger(__name__)


@dataclass
class OpenAIWhisper:
    name = "openai-whisper"
    model: object
    model_path: str
    device: str
    compute_type: str

    @property
    def multilingual(self) -> bool:
        return bool(self.model.is_multilingual)

    def transcribe(
        self,
        audio: np.ndarray,
        offset: float,
        language: str | None,
        options: TranscribeOptions,
        regions: tuple[float, ...] | None = None,
    ) -> tuple[list[Segment], str, float]:
        import torch
        import whisper

        torch.manual_seed(SEED)  # the fallback samples: same audio, same text
        clips: list[float] | str = "0"
        if options.vad:
            clips = list(regions) if regions is not None else speech_regions(audio)
            if not clips:
                return [], language or "en", 0.0
        probability = 1.0
        if language is None:
            mel = whisper.log_mel_spectrogram(
                whisper.pad_or_trim(audio), self.model.dims.n_mels
            ).to(self.model.device)
            _, probs = self.model.detect_language(mel)
            language = max(probs, key=probs.get)
            probability = float(probs[language])
        result = whisper.transcribe(
            self.model,
            audio,
            language=language,
            task=options.task,
            word_timestamps=True,
            condition_on_previous_text=options.condition_on_previous_text,
            initial_prompt=options.prompt,
            temperature=options.temperatures,
            clip_timestamps=clips,
            fp16=self.device == "cuda",
            beam_size=options.beam_size,
            best_of=options.beam_size,
            verbose=None,
        )
        segments = []
        for seg in result["segments"]:
            text = seg["text"].strip()
            if not text:
                continue
            words = tuple(
                Word(
                    start=round(offset + float(w["start"]), 3),
                    end=round(offset + float(w["end"]), 3),
                    text=w["word"].strip(),
                    prob=round(float(w["probability"]), 4),
                )
                for w in seg.get("words", ())
                if w["word"].strip()
            )
            segments.append(
                Segment(
                    start=round(offset + float(seg["start"]), 3),
                    end=round(offset + float(seg["end"]), 3),
                    text=text,
                    words=words,
                    avg_logprob=float(seg["avg_logprob"]),
                    no_speech_prob=float(seg["no_speech_prob"]),
                    compression_ratio=float(seg["compression_ratio"]),
                )
            )
        return segments, result.get("language") or language, probability


def pick_device(device: str) -> str:
    if device not in ("auto", "cpu", "cuda"):
        raise UsageError(f"--device {device}: expected auto, cpu or cuda")
    import torch

    has_cuda = torch.cuda.is_available()
    if device == "cuda" and not has_cuda:
        raise UsageError("--device cuda: torch sees no CUDA device here; use --device auto or cpu")
    return "cuda" if device == "auto" and has_cuda else ("cpu" if device == "auto" else device)


def load(options: TranscribeOptions) -> OpenAIWhisper:
    checkpoint = resolve_openai_whisper(options.model, options.allow_download)
    device = pick_device(options.device)
    model = _load(checkpoint, device)
    return OpenAIWhisper(model, checkpoint, device, "float16" if device == "cuda" else "float32")


@lru_cache(maxsize=2)
def _load(checkpoint: str, device: str):
    import whisper

    log.info("loading openai-whisper model %s on %s", checkpoint, device)
    return whisper.load_model(checkpoint, device=device, download_root=str(cache_dir() / "whisper"))
