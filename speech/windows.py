"""Long audio in bounded windows, each cut at a quiet moment so no word is split."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf


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


def iter_windows(
    path: str | Path, window_s: float, search_s: float = 15.0
) -> Iterator[tuple[int, int, np.ndarray]]:
    """(start sample, rate, mono float32 audio) windows covering the whole file, in order."""
    with sf.SoundFile(str(path)) as handle:
        rate, total = handle.samplerate, handle.frames
        window = max(int(window_s * rate), int(2 * search_s * rate))
        start = 0
        while start < total:
            handle.seek(start)
            audio = handle.read(min(window, total - start), dtype="float32", always_2d=True)
            audio = audio.mean(axis=1) if audio.shape[1] > 1 else audio[:, 0]
            if start + len(audio) < total:
                audio = audio[: quietest_cut(audio, rate, search_s)]
            yield start, rate, audio
            start += len(audio)
