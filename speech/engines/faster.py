"""faster-whisper (CTranslate2), the default engine: int8 on the CPU, float16 and batches on GPU."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from restore.errors import UsageError
from speech.models import resolve_ctranslate2
from speech.options import SEED, TranscribeOptions
from speech.types import Segment, Word
from speech.vad import pairs, speech_regions

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


def pick_batch_size(device: str, batch_size: int) -> int:
    if batch_size > 0:
        return batch_size
    return 16 if device == "cuda" else 1


def to_segments(raw, offset: float) -> list[Segment]:
    """faster-whisper's segments as ours: stripped word texts, times on the film's clock."""
    out = []
    for seg in raw:
        text = seg.text.strip()
        if not text:
            continue
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
        out.append(
            Segment(
                start=round(float(offset + seg.start), 3),
                end=round(float(offset + seg.end), 3),
                text=text,
                words=words,
                avg_logprob=float(seg.avg_logprob),
                no_speech_prob=float(seg.no_speech_prob),
                compression_ratio=float(seg.compression_ratio),
            )
        )
    return out


@dataclass
class FasterWhisper:
    name = "faster-whisper"
    model: object
    model_path: str
    device: str
    compute_type: str
    batch_size: int

    @property
    def multilingual(self) -> bool:
        return bool(self.model.model.is_multilingual)

    def transcribe(
        self,
        audio: np.ndarray,
        offset: float,
        language: str | None,
        options: TranscribeOptions,
        regions: tuple[float, ...] | None = None,
    ) -> tuple[list[Segment], str, float]:
        if options.fallback:
            _reseed(self.model)
        common = dict(
            language=language,
            task=options.task,
            beam_size=options.beam_size,
            word_timestamps=True,
            vad_filter=options.vad,
            condition_on_previous_text=options.condition_on_previous_text,
            initial_prompt=options.prompt,
            temperature=options.temperatures,
        )
        if self.batch_size > 1:
            from faster_whisper import BatchedInferencePipeline

            # Batches need chunks: without VAD, fixed 30 s clips stand in for speech regions.
            if not options.vad:
                common["clip_timestamps"] = [
                    {"start": s, "end": min(s + 30.0, len(audio) / 16000)}
                    for s in np.arange(0, len(audio) / 16000, 30.0)
                ]
            segments, info = BatchedInferencePipeline(self.model).transcribe(
                audio, batch_size=self.batch_size, without_timestamps=False, **common
            )
        elif options.vad and options.vad_regions:
            clips = list(regions) if regions is not None else speech_regions(audio)
            if not clips:
                return [], language or "en", 0.0
            common.update(vad_filter=False, clip_timestamps=clips)
            segments, info = self.model.transcribe(audio, **common)
        elif options.vad and regions is not None:
            # the stage's VAD already ran on this audio: its regions joined end to end, as
            # vad_filter joins its own, so that one VAD pass serves the window
            if not regions:
                return [], language or "en", 0.0
            from faster_whisper.transcribe import restore_speech_timestamps
            from faster_whisper.vad import collect_chunks

            chunks = [
                {"start": int(round(a * 16000)), "end": int(round(b * 16000))}
                for a, b in pairs(regions)
            ]
            joined = np.concatenate(collect_chunks(audio, chunks)[0])
            common.update(vad_filter=False)
            segments, info = self.model.transcribe(joined, **common)
            segments = restore_speech_timestamps(segments, chunks, 16000)
        else:
            segments, info = self.model.transcribe(audio, **common)
        return to_segments(segments, offset), info.language, float(info.language_probability)


def load(options: TranscribeOptions) -> FasterWhisper:
    path = resolve_ctranslate2(options.model, options.allow_download)
    device = pick_device(options.device)
    compute_type = pick_compute_type(device, options.compute_type)
    model = _load(str(path), device, compute_type, options.threads)
    return FasterWhisper(
        model, str(path), device, compute_type, pick_batch_size(device, options.batch_size)
    )


@lru_cache(maxsize=2)
def _load(path: str, device: str, compute_type: str, threads: int):
    import ctranslate2
    from faster_whisper import WhisperModel

    log.info("loading faster-whisper model %s on %s (%s)", path, device, compute_type)
    ctranslate2.set_random_seed(SEED)
    model = WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=threads)
    model._reelscribe = dict(path=path, device=device, compute_type=compute_type, threads=threads)
    model._reelscribe_fresh = True
    return model


def _reseed(model) -> None:
    """Whisper's fallback samples when a window's text looks looped or unlikely. CTranslate2
    seeds a decoder thread's generator once, when it first samples, so the same audio would
    get other text on the next call. A decoder loaded after seeding (a fraction of a second;
    once per window) makes every window's sampling start from the same seed: the same film
    gives the same transcript on every run."""
    import ctranslate2

    if model._reelscribe_fresh:
        model._reelscribe_fresh = False
        return
    how = model._reelscribe
    ctranslate2.set_random_seed(SEED)
    model.model = None  # the old decoder goes first: two at once doubled the engine's peak
    model.model = ctranslate2.models.Whisper(
        how["path"],
        device=how["device"],
        compute_type=how["compute_type"],
        intra_threads=how["threads"],
    )
