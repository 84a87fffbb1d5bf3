"""Options of the speech stage."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TranscribeOptions:
    engine: str = "faster-whisper"
    """Which recogniser runs: a key of ``speech.engines.ENGINES``."""
    model: str = "tiny.en"
    """A model name known offline (``tiny.en``) or a path to a CTranslate2 Whisper folder."""
    device: str = "auto"
    """``auto`` (CUDA when the engine sees a GPU), ``cpu`` or ``cuda``."""
    compute_type: str = "default"
    """CTranslate2 precision; ``default`` is int8 on the CPU and float16 on CUDA."""
    language: str = "auto"
    """``auto`` to detect (an English-only model means English), or a code such as ``en``."""
    task: str = "transcribe"
    """``transcribe`` keeps the spoken language; ``translate`` gives English."""
    beam_size: int = 5
    vad: bool = True
    """Skip non-speech with the Silero VAD that ships in faster-whisper (music, silence)."""
    window_s: float = 600.0
    """Audio is decoded in windows this long (cut at a quiet moment): memory stays bounded."""
    threads: int = 0
    """CPU threads for the engine; 0 lets it choose."""
