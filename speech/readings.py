"""Two readings of the same speech, kept stretch by stretch: the one Whisper was surer of.

Speech recognition can hear two copies of a film's sound: one without the
broadband denoiser, one with it. Neither is better everywhere
(tests/bench/sound_wer.py, docs/benchmarks.md): where speech stands well above
the hiss, the hiss hides consonants that the denoiser gives back (JFK aged to
20 dB SNR: "fellow America" in 8 of 8 seeds without it, "fellow Americans" in
8 of 8 with it); where speech hardly stands above the hiss, the denoiser takes
speech away with the hiss and Whisper drops words. Whisper's own confidence
says which copy it read better: the mean log-probability of the words it read
in a stretch.

The readings are compared stretch by stretch. A stretch is a run of segments,
from either reading, that overlap in time; stretches are split where neither
reading has a segment, so the words kept never overlap and none is kept twice.
The first reading is the transcript; the second only replaces stretches of it.
A stretch that only the second copy heard is left out: on all the real speech
aged at 10, 20 and 30 dB (10 seeds), such stretches cost more words than they
gave (pooled 3,211 errors of 14,010 words with them, 3,203 without; on the
call, whose pauses the denoiser leaves as musical noise, 435 against 408).
Within a stretch the second reading is taken whole, even where its segments
reach past the first's, and even with fewer words: trimming it to the first's
segments (within 0.25 s) cost 17 words on the same speech, asking it for at
least 70 % of the first's words 34 (docs/benchmarks.md).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from speech.types import Segment, SpeechResult


@dataclass(frozen=True)
class Stretch:
    """Segments of the two readings over the same stretch of the film."""

    first: tuple[Segment, ...]
    second: tuple[Segment, ...]

    @property
    def start(self) -> float:
        return min(s.start for s in (*self.first, *self.second))

    @property
    def end(self) -> float:
        return max(s.end for s in (*self.first, *self.second))


def stretches(first: tuple[Segment, ...], second: tuple[Segment, ...]) -> list[Stretch]:
    """The two readings' segments grouped into stretches that overlap, in time order."""
    tagged = sorted([(s, 0) for s in first] + [(s, 1) for s in second], key=lambda t: t[0].start)
    groups: list[tuple[list[Segment], list[Segment]]] = []
    end = float("-inf")
    for segment, which in tagged:
        if not groups or segment.start >= end:
            groups.append(([], []))
        groups[-1][which].append(segment)
        end = max(end, segment.end)
    return [Stretch(tuple(a), tuple(b)) for a, b in groups]


def sureness(segments: tuple[Segment, ...]) -> float:
    """Whisper's mean log-probability of the words it read in the segments. (A segment's own
    ``avg_logprob`` is that of the whole 30 s chunk it was decoded in, the same for every
    segment of the chunk, so it cannot tell two stretches of one chunk apart.)"""
    words = [w for s in segments for w in s.words]
    if not words:
        return float("-inf")
    return sum(math.log(max(w.prob, 1e-6)) for w in words) / len(words)


def keep_surer(first: SpeechResult, second: SpeechResult) -> tuple[SpeechResult, int, int]:
    """``first`` with each of its stretches that ``second`` read more surely taken from
    ``second`` (on a tie ``first``'s is kept); also how many stretches ``first`` has and how
    many of them came from ``second``. What the guards dropped is ``first``'s."""
    kept: list[Segment] = []
    groups = [g for g in stretches(first.segments, second.segments) if g.first]
    taken = 0
    for group in groups:
        if sureness(group.second) > sureness(group.first):
            kept.extend(group.second)
            taken += 1
        else:
            kept.extend(group.first)
    return dataclasses.replace(first, segments=tuple(kept)), len(groups), taken
