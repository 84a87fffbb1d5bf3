"""Word ends held to the sound: Whisper lets a word that ends a phrase run on into the pause.

Whisper places a phrase's last word by its attention, which often drifts on into the
silence after it (a half-second is common, more on denoised sound). A subtitle then
stays up over nothing, and a cue seems to cross a shot change that the speech did not.
The sound says where the voice stops: a word followed by a pause ends where, after its
peak, its loudness first falls below halfway (in dB) between the pause's and its own
peak for ``QUIET_S``, plus a little release.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from speech.types import Segment, Word

HOP_S = 0.01
RELEASE_S = 0.06
"""Kept after the last loud frame: the tail of a consonant, and the frame's own length."""
MIN_WORD_S = 0.1
PAUSE_S = 0.15
QUIET_S = 0.15
"""A word holds no silence this long: quiet after its peak for this long is its end."""
"""Only a word followed by at least this much before the next one (or none) is trimmed."""


def loudness_db(audio: np.ndarray, rate: int) -> np.ndarray:
    """Frame loudness (dB, 25 ms frames every 10 ms) of a mono window."""
    hop, size = int(HOP_S * rate), int(0.025 * rate)
    if len(audio) < size:
        return np.full(1, -120.0)
    count = 1 + (len(audio) - size) // hop
    index = np.arange(size)[None, :] + hop * np.arange(count)[:, None]
    power = np.square(audio[index].astype(np.float64)).mean(axis=1)
    return 10 * np.log10(power + 1e-12)


def trim_word_ends(
    segments: Sequence[Segment], audio: np.ndarray, rate: int, offset: float
) -> list[Segment]:
    """Segments whose phrase-final words end where the voice does. Only ends move, only
    earlier, and a word keeps at least ``MIN_WORD_S``. ``offset``: the window's start (s)."""
    db = loudness_db(audio, rate)
    if len(db) < 10:
        return list(segments)
    floor = float(np.percentile(db, 10))
    words = [w for seg in segments for w in seg.words]
    starts = sorted(w.start for w in words)
    out = []
    for seg in segments:
        fixed = []
        for word in seg.words:
            after = bisect_left(starts, word.end - 1e-6)
            if after < len(starts) and starts[after] - word.end < PAUSE_S:
                fixed.append(word)
                continue
            fixed.append(_trim(word, db, floor, offset))
        if fixed:
            seg = replace(seg, words=tuple(fixed), end=max(seg.start, fixed[-1].end))
        out.append(seg)
    return out


def _trim(word: Word, db: np.ndarray, floor: float, offset: float) -> Word:
    first = max(0, int((word.start - offset) / HOP_S))
    stop = min(len(db), int(np.ceil((word.end - offset) / HOP_S)))
    if stop - first < 2:
        return word
    inside = db[first:stop]
    peak = float(inside.max())
    if peak - floor < 12:  # the word barely stands above the pause: nothing to go by
        return word
    # halfway (in dB) between the pause and the word's loudest: a background that stands
    # well above the window's quietest frames (hiss, room tone) is not taken for voice
    threshold = (peak + floor) / 2
    loud = inside >= threshold
    last = int(np.flatnonzero(loud)[-1])
    # the voice ends at the first stretch of quiet after the word's loudest moment: sound
    # after that (the room tone of the next shot, a breath) is not this word
    quiet_run = round(QUIET_S / HOP_S)
    run = 0
    for k in range(int(np.argmax(inside)), len(inside)):
        run = 0 if loud[k] else run + 1
        if run >= quiet_run:
            last = k - run
            break
    # frame k covers [k*HOP, k*HOP + 25 ms): the voice lasts to the end of the last loud one
    voice_end = offset + (first + last) * HOP_S + 0.025 + RELEASE_S
    end = max(word.start + MIN_WORD_S, min(word.end, round(voice_end, 3)))
    return word if word.end - end < 2 * HOP_S else replace(word, end=round(end, 3))
