"""Long audio in bounded windows, each cut at a quiet moment so no word is split.

Whisper decodes speech 30 s at a time, and each window's speech ends in a part-filled
30 s chunk that costs a whole encoder pass. Windows are therefore measured in speech, not
in film: a window ends at the first pause after ``speech_s`` of what the VAD calls speech,
so that its chunks are nearly full, and never later than ``window_s`` of film, so that
memory stays bounded however sparse the dialogue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from speech.vad import pairs

Regions = Callable[[np.ndarray, int], list[float]]


@dataclass(frozen=True)
class Window:
    start: int
    """First sample, on the file's clock."""
    rate: int
    audio: np.ndarray
    """Mono float32."""
    regions: tuple[float, ...] | None
    """Where the VAD heard speech, seconds from the window's start (start, end, start, end
    ...), or None when windows were cut without a VAD."""

    @property
    def offset(self) -> float:
        return self.start / self.rate


def quietest_cut(audio: np.ndarray, rate: int, search_s: float, frame_s: float = 0.1) -> int:
    """Sample index of the quietest ``frame_s`` frame in the last ``search_s`` of ``audio``."""
    frame = max(1, int(frame_s * rate))
    lo = max(0, len(audio) - int(search_s * rate))
    tail = audio[lo:]
    count = len(tail) // frame
    if count < 2:
        return len(audio)
    energy = np.square(tail[: count * frame].reshape(count, frame)).mean(axis=1)
    best = int(np.argmin(energy[:-1]))  # never the very end: the cut must leave audio behind
    return lo + best * frame + frame // 2


def speech_cut(regions: list[float], seconds: float, speech_s: float) -> float | None:
    """Where to end a window of ``seconds`` (in seconds) so that it holds at most
    ``speech_s`` of speech and not much less: the middle of the last pause between regions
    before that much speech is heard, or of the silence after the last region when all of
    it fits. None when no pause comes after at least half of ``speech_s`` (speech without a
    pause the VAD keeps): cutting there would leave Whisper a part-filled chunk."""
    heard, cut, heard_at_cut = 0.0, None, 0.0
    nexts = [*regions[2::2], seconds]  # what follows each region: the next one, or the end
    for (start, end), after in zip(pairs(regions), nexts, strict=True):
        heard += end - start
        if heard > speech_s:
            break
        if after - end > 0.2:  # a pause, not the read's end running into speech
            cut, heard_at_cut = (end + after) / 2, heard
    if cut is None or heard_at_cut < speech_s / 2 < heard:
        return None
    return cut


def when_heard(regions: list[float], speech_s: float) -> float:
    """The moment (seconds) by which ``speech_s`` of speech has been heard (the end of the
    last region if it never is)."""
    heard = 0.0
    for start, end in pairs(regions):
        if heard + end - start >= speech_s:
            return start + speech_s - heard
        heard += end - start
    return regions[-1] if regions else 0.0


def iter_windows(
    path: str | Path,
    window_s: float,
    search_s: float = 15.0,
    regions: Regions | None = None,
    speech_s: float | None = None,
) -> Iterator[Window]:
    """Windows covering the whole file, in order, none longer than ``window_s``.

    Without ``regions`` (a VAD), each window is ``window_s`` long, cut at the quietest
    moment of its last ``search_s``. With it, a window ends at a pause once it holds
    ``speech_s`` of speech (or at the quietest moment before that much, when the speech has
    no pause); the VAD runs once on each stretch read, and its regions come with the window.
    """
    with sf.SoundFile(str(path)) as handle:
        rate, total = handle.samplerate, handle.frames
        window = max(int(window_s * rate), int(2 * search_s * rate))
        start = 0
        while start < total:
            handle.seek(start)
            audio = handle.read(min(window, total - start), dtype="float32", always_2d=True)
            audio = audio.mean(axis=1) if audio.shape[1] > 1 else audio[:, 0]
            edges = list(regions(audio, rate)) if regions is not None else None
            if start + len(audio) < total:
                audio = audio[: _cut(audio, rate, search_s, edges, speech_s)]
            if edges is not None:
                edges = _within(edges, len(audio) / rate)
            yield Window(start, rate, audio, None if edges is None else tuple(edges))
            start += len(audio)


def _cut(audio, rate, search_s, edges, speech_s) -> int:
    if not edges or speech_s is None:  # measured in film, or no speech: the quietest moment
        return quietest_cut(audio, rate, search_s)
    cut = speech_cut(edges, len(audio) / rate, speech_s)
    if cut is not None:
        return int(round(cut * rate))
    # one long stretch of speech: its quietest moment before speech_s of it is heard
    enough = max(int(when_heard(edges, speech_s) * rate), int(2 * search_s * rate))
    return quietest_cut(audio[: min(enough, len(audio))], rate, search_s)


def _within(edges: list[float], seconds: float) -> list[float]:
    """The regions that start before ``seconds``, the last one ended there if it runs on."""
    out = []
    for start, end in pairs(edges):
        if start >= seconds:
            break
        out += [start, min(end, round(seconds, 3))]
    return out
