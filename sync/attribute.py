"""Who says each line: lip movement against the sound (active-speaker detection).

For every word, each face on screen is scored by audio-visual synchrony: the
correlation, over a second around the word, between that face's mouth opening
and the loudness of the speech, both band-passed to the syllable rhythm (1-6
Hz), at the film's sound-to-picture offset (an option; 0 by default), averaged
with a coarser view (is the mouth busy while the sound is loud). Two people
can both be moving their mouths through the same stretch of speech; the one
whose openings rise and fall with the syllables heard should win. On composed
dialogues this gets 26 of 32 turns right and 1 wrong (docs/benchmarks.md); the
coarse view alone got 10 wrong, a lag searched per word up to half.

The words' best faces are then smoothed with a Viterbi pass (changing speaker
costs something, so one noisy word does not flip a line), lines are split
where the speaker changes, and a line whose evidence is weak gets no speaker
(speaker, evidence and confidence null) rather than a guess.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faces.types import FaceResult, FaceTrack
from speech.types import Segment, Word
from sync.transcript import Line

ENVELOPE_RATE = 100  # envelope samples per second
MOUTH_RATE = 25.0  # mouth signals are compared on this uniform grid


@dataclass(frozen=True)
class AttributionOptions:
    av_offset_s: float = 0.0
    """Sound-to-picture offset applied when comparing (positive: the sound is late). Not
    estimated by default: over whole tracks, where each face speaks only part of the
    time, the estimate was off by up to 0.2 s on composed dialogues and cost turns."""
    window_s: float = 1.0
    """Each word is judged on this much context around it (a single word is too short)."""
    min_sync: float = 0.15
    """Below this correlation, a face is not shown to be speaking."""
    switch_cost: float = 0.6
    """What changing speaker between neighbouring words costs, in correlation units."""
    min_frames: int = 8
    """Observations a face needs inside a word's window to be scored."""


def speech_envelope(wav: str | Path) -> np.ndarray:
    """Log energy of the speech audio at ENVELOPE_RATE per second, read block by block."""
    import soundfile as sf

    with sf.SoundFile(str(wav)) as handle:
        hop = handle.samplerate // ENVELOPE_RATE
        parts = []
        for block in handle.blocks(blocksize=hop * 6000, dtype="float32", always_2d=True):
            mono = block.mean(axis=1)
            count = len(mono) // hop
            frames = mono[: count * hop].reshape(count, hop)
            parts.append(np.sqrt(np.mean(frames**2, axis=1)))
    rms = np.concatenate(parts) if parts else np.zeros(0)
    return np.log10(rms + 1e-4)


def syllable_band(values: np.ndarray, rate: float, band=(1.0, 6.0)) -> np.ndarray:
    """Keep the syllable rhythm (1-6 Hz): a mouth that merely moves during a stretch of
    speech is not enough; its openings must rise and fall with the syllables heard."""
    from scipy.signal import butter, sosfiltfilt

    high = min(band[1], 0.45 * rate)
    if len(values) < 16 or high <= band[0]:
        return values - values.mean() if len(values) else values
    sos = butter(2, [band[0], high], btype="band", fs=rate, output="sos")
    return sosfiltfilt(sos, values)


def _envelope_at(envelope: np.ndarray, times: np.ndarray) -> np.ndarray:
    grid = np.arange(len(envelope)) / ENVELOPE_RATE
    if not len(envelope):
        return np.zeros(len(times))
    return np.interp(times, grid, envelope, left=envelope[0], right=envelope[-1])


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denominator = math.sqrt(float((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 1e-9 else 0.0


@dataclass(frozen=True)
class _Signal:
    """One track's mouth, ready to compare: observation times and the band-passed opening."""

    track: FaceTrack
    times: np.ndarray
    mouth: np.ndarray  # opening, band-passed to the syllable rhythm
    activity: np.ndarray  # how much the mouth is moving (FaceTrack.mouth_activity)


def _mouth_signal(track: FaceTrack) -> _Signal | None:
    times = np.asarray(track.times)
    if len(times) < 2:
        return None
    opening = np.asarray(track.mouth, dtype=float)
    if not np.isfinite(opening).any():
        opening = np.asarray(track.jaw, dtype=float)  # MTCNN-only faces have no lips
    if not np.isfinite(opening).any():
        return None
    opening = np.where(np.isfinite(opening), opening, np.nanmedian(opening))
    # A uniform 25 Hz grid: variable frame rates (and frames the detector missed) would
    # otherwise bend the filter's idea of time.
    grid = np.arange(times[0], times[-1] + 1e-9, 1 / MOUTH_RATE)
    uniform = np.interp(grid, times, opening)
    activity = np.interp(grid, times, track.mouth_activity())
    return _Signal(track, grid, syllable_band(uniform, MOUTH_RATE), activity)


def attribute(
    segments: Sequence[Segment],
    faces: FaceResult | None,
    envelope: np.ndarray | None,
    options: AttributionOptions = AttributionOptions(),
) -> tuple[Line, ...]:
    """Lines with speakers: one speaker per line, split where the speaker changes."""
    if faces is None or envelope is None or not faces.tracks or not len(envelope):
        return lines_from_segments(segments)
    signals = [s for s in map(_mouth_signal, faces.tracks) if s is not None]
    signals = [s for s in signals if s.track.character is not None]
    if not signals:
        return lines_from_segments(segments)
    lag = options.av_offset_s
    band = syllable_band(envelope, ENVELOPE_RATE)
    lines: list[Line] = []
    for segment in segments:
        words = segment.words or (Word(segment.start, segment.end, segment.text, 1.0),)
        scores = [_word_scores(w, signals, band, envelope, lag, options) for w in words]
        path = _viterbi(scores, options)
        lines.extend(_split(segment, words, path, scores, options))
    return tuple(lines)


def _word_scores(word: Word, signals, band, envelope, lag, options) -> dict[str, float]:
    """The synchrony of each character on screen around one word."""
    middle = (word.start + word.end) / 2
    half = max(options.window_s, word.end - word.start) / 2
    start, end = middle - half, middle + half
    scores: dict[str, float] = {}
    for signal in signals:
        inside = (signal.times >= start) & (signal.times <= end)
        if inside.sum() < options.min_frames:
            continue
        times = signal.times[inside]
        # Two views of the same question, averaged: do the openings follow the syllables
        # (fine timing), and is the mouth busy while the sound is loud (coarse timing)?
        # Each alone failed one of the composed dialogues (docs/benchmarks.md).
        fine = _corr(signal.mouth[inside], _envelope_at(band, times + lag))
        coarse = _corr(signal.activity[inside], _envelope_at(envelope, times + lag))
        score = (fine + coarse) / 2
        character = signal.track.character
        scores[character] = max(score, scores.get(character, -1.0))
    return scores


def _viterbi(scores: list[dict[str, float]], options: AttributionOptions) -> list[str | None]:
    """The speaker sequence over a line's words that best fits their scores, changing
    speaker only where the evidence pays for it (``switch_cost``)."""
    states = sorted({c for s in scores for c in s})
    if not states:
        return [None] * len(scores)
    value = {s: 0.0 for s in states}
    back: list[dict] = []
    for word_scores in scores:
        step, choice = {}, {}
        for state in states:
            gain = word_scores.get(state, 0.0)
            cost = {p: options.switch_cost if p != state else 0.0 for p in states}
            best_prev = max(states, key=lambda p: value[p] - cost[p])
            step[state] = gain + value[best_prev] - cost[best_prev]
            choice[state] = best_prev
        back.append(choice)
        value = step
    state = max(states, key=lambda s: value[s])
    path = [state]
    for choice in reversed(back[1:]):
        state = choice[state]
        path.append(state)
    return list(reversed(path))


def _split(segment, words, path, scores, options) -> list[Line]:
    """One line per run of words with one speaker; a run whose speaker's mean synchrony
    stays under ``min_sync`` goes to nobody (no guess)."""
    lines: list[Line] = []
    start = 0
    for i in range(1, len(words) + 1):
        if i == len(words) or path[i] != path[start]:
            chunk = words[start:i]
            speaker = path[start]
            if speaker is not None:
                own = float(np.mean([scores[k].get(speaker, 0.0) for k in range(start, i)]))
                if own < options.min_sync:
                    speaker = None
            text = " ".join(w.text for w in chunk) if segment.words else segment.text
            confidence = None
            if speaker is not None:
                confidence = _confidence([scores[k] for k in range(start, i)], speaker, options)
            if lines and lines[-1].speaker == speaker and speaker is None:
                previous = lines.pop()  # two unattributed runs side by side are one line
                chunk = previous.words + tuple(chunk)
                text = previous.text + " " + text
            lines.append(
                Line(
                    start=chunk[0].start if segment.words else segment.start,
                    end=chunk[-1].end if segment.words else segment.end,
                    text=text,
                    words=tuple(chunk) if segment.words else (),
                    speaker=speaker,
                    evidence="lips" if speaker is not None else None,
                    confidence=confidence,
                )
            )
            start = i
    return lines


def _confidence(word_scores: list[dict[str, float]], speaker: str, options) -> float:
    """From the speaker's mean synchrony and its margin over the best other face."""
    own = np.mean([s.get(speaker, 0.0) for s in word_scores])
    others = [
        max([v for k, v in s.items() if k != speaker], default=options.min_sync)
        for s in word_scores
    ]
    margin = own - np.mean(others)
    return round(float(1 / (1 + math.exp(-6 * margin))), 3)


def lines_from_segments(segments: Sequence[Segment]) -> tuple[Line, ...]:
    """Lines with nobody attributed (no faces, or no picture)."""
    return tuple(
        Line(start=s.start, end=s.end, text=s.text, words=s.words, speaker=None, evidence=None)
        for s in segments
    )
