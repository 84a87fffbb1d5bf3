"""What the speech stage hands on: words with times, segments of words, and the whole result."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Word:
    start: float  # seconds from the source's start
    end: float
    text: str
    prob: float


@dataclass(frozen=True)
class Segment:
    """A stretch of speech as the recogniser decoded it (may span two speakers)."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 1.0


@dataclass(frozen=True)
class SpeechResult:
    language: str
    language_probability: float
    duration: float  # seconds of audio transcribed
    segments: tuple[Segment, ...]
    engine: str
    model: str  # the name or path the user gave
    model_path: str  # where the weights were loaded from
    device: str
    compute_type: str
    dropped: tuple[tuple[str, int], ...] = ()
    """What the guards removed: (reason, segments), e.g. ("repetition", 3)."""

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for s in self.segments for w in s.words)
