"""Options of the speech stage."""

from __future__ import annotations

from dataclasses import dataclass

SEED = 1234
"""Seeds Whisper's sampling fallback in every engine: the same audio gives the same text."""


@dataclass(frozen=True)
class TranscribeOptions:
    engine: str = "faster-whisper"
    """The recogniser: a key of ``speech.engines.ENGINES`` (faster-whisper, openai-whisper)."""
    model: str = "base"
    """A model name (``base`` and ``tiny.en`` ship with the install) or a path to weights.
    base is the default: on 128 s of 1968 film dialogue it agrees with the reference at
    0.193 WER against tiny.en's 0.284, at 8x realtime on 2 cores against 19x
    (tests/bench/models.py, docs/benchmarks.md)."""
    device: str = "auto"
    """``auto`` (CUDA when the engine sees a GPU), ``cpu`` or ``cuda``."""
    compute_type: str = "default"
    """CTranslate2 precision; ``default`` is int8 on the CPU and float16 on CUDA."""
    language: str = "auto"
    """``auto`` to detect (an English-only model means English), or a code such as ``en``."""
    task: str = "transcribe"
    """``transcribe`` keeps the spoken language; ``translate`` gives English."""
    beam_size: int = 5
    batch_size: int = 0
    """Batched decoding of VAD chunks (faster-whisper); 0 means 16 on CUDA and off on the CPU."""
    vad: bool = True
    """Decode only what the Silero VAD (shipped in faster-whisper) calls speech."""
    vad_regions: bool = False
    """With ``vad``, decode each stretch the VAD calls speech on its own (faster-whisper's
    ``clip_timestamps``) instead of the stretches joined end to end. Joined, tiny.en skipped
    whole turns of hissy dialogue that repeats its lines (composed GRID dialogues: 8 of 120
    turns on the sound as it is, 7 after the sound chain); on its own, none, and WER on the
    real speech was the same or lower. It costs time: 128 s of 1968 film dialogue took 1.45x
    as long to transcribe (docs/benchmarks.md)."""
    fill_missed: bool = True
    """With ``vad``, a stretch the VAD calls speech (0.5 s or more) where the decode gave no
    word is decoded again on its own, and kept if it passes the guard: what decoding region
    by region gains (joined, tiny.en skipped whole turns), paid only where a turn was
    skipped, so speech without skips costs no more than one joined decode."""
    condition_on_previous_text: bool = False
    """Off by default: conditioning lets one error repeat for minutes in a long film."""
    fallback: bool = False
    """Whisper's temperature fallback: re-decode a window by sampling when its text looks
    looped or unlikely. Off by default: dialogue that repeats its lines trips the loop
    check, and the sampled text lost 5 of 8 turns of a composed GRID dialogue (kept with
    the beam search). When on, sampling is seeded per window: reproducible."""
    retry_lost: bool = True
    """A stretch that a looping decode swallowed (the guard drops the loop) is decoded once
    more on its own; what that gives is kept only if it passes the guard too. On 400 s of
    1968 dialogue in 60 s windows one loop had swallowed 24 s of speech."""
    prompt: str | None = None
    """Vocabulary or names to expect (character names, period words), given to the decoder."""
    window_s: float = 120.0
    """The longest window of film decoded at once (cut at a pause): memory stays bounded
    however long the film or sparse its dialogue."""
    window_speech_s: float | None = 75.0
    """With ``vad``, a window ends at the first pause once it holds this much speech.
    Whisper decodes 30 s of speech at a time and each window's last chunk is part-filled,
    so windows measured in film cost encoder passes: on 128 s of 1968 dialogue, 60 s
    windows made 6 passes where one plain faster-whisper call made 4, and ran at 0.85x its
    speed; measured in speech, 4 passes and 0.93x (same run; docs/benchmarks.md). The VAD
    runs once per window and its regions serve the decode and the skipped-stretch fill.
    Peak memory of a whole run, 20 min against 2 min: 1.079. None: windows of
    ``window_s`` of film, each cut at its quietest moment."""
    max_line_chars: int = 84
    """A line never holds more than a subtitle can carry (two lines of 42)."""
    max_line_s: float = 7.0
    pause_s: float = 0.8
    """A silence this long between words ends a line."""
    threads: int = 0
    """CPU threads for the engine; 0 lets it choose."""
    allow_download: bool = False
    """Let an engine fetch a missing model (into the cache, checked); never by default."""

    @property
    def temperatures(self) -> tuple[float, ...]:
        """Whisper's own schedule with the fallback; greedy/beam only without."""
        return (0.0, 0.2, 0.4, 0.6, 0.8, 1.0) if self.fallback else (0.0,)
