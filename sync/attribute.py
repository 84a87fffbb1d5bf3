"""Who says each line: lip movement against the sound (active-speaker detection).

For every word, each face on screen is scored by audio-visual synchrony over
``window_s`` around the word (kept within its line, plus ``context_s``): the
correlation between the rises of the face's mouth opening and the loudness of
the voice band (1-4 kHz), both band-passed to the syllable rhythm (1-6
Hz), with the sound taken MOUTH_LEAD_S after the mouth (plus any known
sound-to-picture offset), blended with the opening's own correlation
(``onset_weight``); the voice envelope is first floored 45 dB under the film's
loud speech, so what is left in the pauses does not count as syllables. Two
people can both be moving their mouths; the one in time with the syllables
wins. (Taking away the same measure at lags well out of time, as SyncNet
does, cost two turns on composed dialogues and let more of an off-screen
voice through: measured, not kept.)

The lag is fixed, not searched per line: searching +-0.2 s per line let the
out-of-time face find its best lag too (turns right fell from 92 % to 84 % on
composed dialogues), and a whole-film estimate from 8-line dialogues was off
by up to 0.2 s. The words' best faces are smoothed with a Viterbi pass
(changing speaker costs ``switch_cost``) within each stretch of speech between
pauses (``pause_s``: a recogniser segment can straddle a pause where the turn
changes, and one turn can come as two segments), lines are split where the
speaker changes, and a line whose synchrony stays under ``min_sync`` gets no speaker
(speaker, evidence and confidence null) rather than a guess. Figures:
docs/benchmarks.md (tests/bench/speakers.py).
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
SPEECH_BAND = (1000.0, 4000.0)
"""The band whose loudness the mouths are compared with: the second and third formants'
region, which follows how far the lips are open more closely than the first formant's
(Grant and Seitz, JASA 2000) and lies above the rumble and hum a film's sound keeps. On the
composed dialogues (offline cache), 300-3000 Hz got clean 116 and aged 110 turns right,
1000-4000 Hz 120 and 117 (docs/benchmarks.md)."""
MOUTH_LEAD_S = 0.08
"""The sound of a syllable peaks this long after the mouth starts opening for it (the best
lag on composed GRID dialogues: docs/benchmarks.md)."""


@dataclass(frozen=True)
class AttributionOptions:
    av_offset_s: float = 0.0
    """Sound-to-picture offset applied when comparing (positive: the sound is late). Not
    estimated by default: over whole tracks, where each face speaks only part of the
    time, the estimate was off by up to 0.2 s on composed dialogues and cost turns."""
    window_s: float = 3.0
    """Each word is judged on this much context around it (a single word is too short).
    On the aged composed dialogues, 3 s got 113 of 120 turns right, 2 s 110; clean 114 and
    115 (docs/benchmarks.md)."""
    context_s: float = 0.5
    """How far past its first and last word a line's evidence may reach."""
    min_sync: float = 0.2
    """Below this synchrony, a face is not shown to be speaking. A trade: a generated voice
    off screen against two talking faces got 12 % of its words attributed at 0.3, 38 % at
    0.2 and 55 % at 0.15, but at 0.3 the real talking heads (faces/talking) lost two of
    five lines to nobody and the composed dialogues 17 turns more."""
    switch_cost: float = 1.5
    """What changing speaker between neighbouring words costs, in correlation units."""
    min_frames: int = 8
    """Observations a face needs inside a word's window to be scored."""
    pause_s: float | None = 0.3
    """Evidence is gathered, and smoothed, within speech between pauses this long, across
    segment boundaries (None: within each recogniser segment). A segment that straddles a
    pause where the speaker changes then splits at the pause."""
    smooth_frames: int = 1
    """Median filter over the mouth opening (frames) before its rises are taken. Off: over 3
    frames it blunted the syllables' rises (composed dialogues, clean 114 -> 110 turns)."""
    jaw_weight: float = 0.0
    """The jaw-opening blendshape's share in the mouth signal (each standardised per track),
    a second reading of the same movement. Off: at 1.0, aged 104 -> 105 turns but clean
    114 -> 110 (docs/benchmarks.md)."""
    onset_weight: float = 0.5
    """The share of the mouth's rises in a face's synchrony; the opening itself gets the
    rest. On the composed dialogues (offline cache, with the 1-4 kHz band and the floor),
    0.5 got clean 120 and aged 117 turns right, 0.6 119 and 116, 0.7 117 and 115 (with the
    300-3000 Hz band 0.6 did better: docs/benchmarks.md)."""
    evidence: str = "auto"
    """``auto``: the active-speaker model's scores where the face stage computed them
    (faces/speaking.py), the classical lip synchrony otherwise; ``model`` or ``sync`` to
    insist on one."""
    speaking_window_s: float = 0.6
    """The model's per-frame scores are averaged over at least this much around a word."""
    speaking_floor: float = 0.0
    """A face whose mean model score over a stretch stays under this is not speaking: the
    "nobody on screen" state's score in the smoothing (the model's logit; 0 is even odds)."""
    speaking_switch: float = 1.0
    """What changing speaker between neighbouring words costs, in the model's logit units."""
    sync_weight: float = 0.0
    """With the model's evidence, the lips' synchrony (as without it, in correlation units)
    is added at this weight: the model tells a talking face from a still one, the synchrony
    which of two talking faces the voice follows."""
    envelope_range_db: float | None = 45.0
    """The voice envelope is floored this far under the film's loud speech (its 95th
    percentile), so that what is left in pauses (hiss, a denoiser's residue, digital
    silence) does not pass for syllables (None: no floor). Offline, with the 1-4 kHz band:
    clean 119 -> 120 turns, aged 117 either way (docs/benchmarks.md)."""


def speech_envelope(wav: str | Path, band: tuple[float, float] = SPEECH_BAND) -> np.ndarray:
    """Log energy of the voice band (SPEECH_BAND, 1-4 kHz) of the speech audio, at
    ENVELOPE_RATE per second, read block by block. A band, not the whole spectrum: rumble,
    hum and hiss move the full-band energy without any mouth moving."""
    import soundfile as sf
    from scipy.signal import butter, sosfilt, sosfilt_zi

    with sf.SoundFile(str(wav)) as handle:
        rate = handle.samplerate
        hop = rate // ENVELOPE_RATE
        sos = butter(4, [band[0], min(band[1], 0.45 * rate)], btype="band", fs=rate, output="sos")
        state = sosfilt_zi(sos) * 0.0
        parts, carry = [], np.zeros(0, np.float32)
        for block in handle.blocks(blocksize=hop * 6000, dtype="float32", always_2d=True):
            voice, state = sosfilt(sos, block.mean(axis=1), zi=state)
            voice = np.concatenate([carry, voice])
            count = len(voice) // hop
            frames = voice[: count * hop].reshape(count, hop)
            carry = voice[count * hop :]
            parts.append(np.sqrt(np.mean(frames**2, axis=1)))
    rms = np.concatenate(parts) if parts else np.zeros(0)
    return np.log10(rms + 1e-4)


def floor_envelope(envelope: np.ndarray, range_db: float | None) -> np.ndarray:
    """A log10 voice envelope (``speech_envelope``) floored ``range_db`` under its loud speech
    (the 95th percentile): speech spans about 40-50 dB, and below that the log of a pause
    swings with whatever noise is left, which no mouth follows."""
    if range_db is None or not len(envelope):
        return envelope
    return np.maximum(envelope, np.percentile(envelope, 95) - range_db / 20)


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
    """One track's mouth, ready to compare: a uniform time grid and the opening onsets."""

    track: FaceTrack
    times: np.ndarray
    onsets: np.ndarray  # the mouth opening's rises, band-passed to the syllable rhythm
    opening: np.ndarray  # the mouth opening, band-passed to the syllable rhythm


def _mouth_signal(
    track: FaceTrack, options: AttributionOptions = AttributionOptions()
) -> _Signal | None:
    times = np.asarray(track.times)
    if len(times) < 2:
        return None
    opening = np.asarray(track.mouth, dtype=float)
    if not np.isfinite(opening).any():
        opening = np.asarray(track.jaw, dtype=float)  # MTCNN-only faces have no lips
    if not np.isfinite(opening).any():
        return None
    opening = np.where(np.isfinite(opening), opening, np.nanmedian(opening))
    jaw = np.asarray(track.jaw, dtype=float)
    if options.jaw_weight > 0 and np.isfinite(jaw).all() and len(jaw) == len(opening):
        opening = _standard(opening) + options.jaw_weight * _standard(jaw)
    # A uniform 25 Hz grid: variable frame rates (and frames the detector missed) would
    # otherwise bend the filter's idea of time.
    grid = np.arange(times[0], times[-1] + 1e-9, 1 / MOUTH_RATE)
    uniform = np.interp(grid, times, opening)
    if options.smooth_frames > 1 and len(uniform) >= options.smooth_frames:
        from scipy.signal import medfilt

        uniform = medfilt(uniform, options.smooth_frames)
    rises = np.maximum(np.gradient(uniform), 0.0)
    return _Signal(
        track, grid, syllable_band(rises, MOUTH_RATE), syllable_band(uniform, MOUTH_RATE)
    )


def _standard(values: np.ndarray) -> np.ndarray:
    spread = float(np.std(values))
    return (values - np.median(values)) / spread if spread > 1e-9 else values - np.median(values)


def attribute(
    segments: Sequence[Segment],
    faces: FaceResult | None,
    envelope: np.ndarray | None,
    options: AttributionOptions = AttributionOptions(),
) -> tuple[Line, ...]:
    """Lines with speakers: one speaker per line, split where the speaker changes."""
    if faces is None or envelope is None or not faces.tracks or not len(envelope):
        return lines_from_segments(segments)
    if _use_model(faces, options):
        return _attribute_learned(segments, faces, envelope, options)
    signals, band = _sync_inputs(faces, envelope, options)
    if not signals:
        return lines_from_segments(segments)
    words = _words(segments)
    scores: list[dict[str, float]] = []
    path: list[str | None] = []
    for run in _utterances(words, options):
        span = (run[0][1].start - options.context_s, run[-1][1].end + options.context_s)
        run_scores = [_word_scores(w, span, signals, band, options) for _, w in run]
        scores += run_scores
        path += _viterbi(run_scores, options.switch_cost)
    return _lines(segments, words, path, scores, options)


def _words(segments: Sequence[Segment]) -> list[tuple[int, Word]]:
    """Every word with its segment's index (a segment without words stands as one)."""
    return [
        (index, word)
        for index, segment in enumerate(segments)
        for word in (segment.words or (Word(segment.start, segment.end, segment.text, 1.0),))
    ]


def _lines(segments, words, path, scores, options, learned: bool = False) -> tuple[Line, ...]:
    """Each segment's words split into lines where the chosen speaker changes."""
    lines: list[Line] = []
    at = 0
    for index, segment in enumerate(segments):
        count = sum(1 for i, _ in words[at:] if i == index)
        own = tuple(w for _, w in words[at : at + count])
        part = slice(at, at + count)
        lines.extend(_split(segment, own, path[part], scores[part], options, learned))
        at += count
    return tuple(lines)


def _sync_inputs(faces: FaceResult, envelope: np.ndarray, options: AttributionOptions):
    """Each named track's mouth signal, and the voice band's syllable rhythm."""
    signals = [s for s in (_mouth_signal(t, options) for t in faces.tracks) if s is not None]
    signals = [s for s in signals if s.track.character is not None]
    band = syllable_band(floor_envelope(envelope, options.envelope_range_db), ENVELOPE_RATE)
    return signals, band


def _use_model(faces: FaceResult, options: AttributionOptions) -> bool:
    named = [t for t in faces.tracks if t.character is not None]
    scored = bool(named) and all(t.speaking is not None for t in named)
    if options.evidence == "model" and not scored:
        raise ValueError("attribution by the model needs face tracks with speaking scores")
    return options.evidence != "sync" and scored


def _attribute_learned(
    segments: Sequence[Segment],
    faces: FaceResult,
    envelope: np.ndarray,
    options: AttributionOptions,
) -> tuple[Line, ...]:
    """Lines from the active-speaker model's per-frame scores: each word's score per face
    is the mean over ``speaking_window_s`` around it; within each stretch of speech a
    Viterbi pass picks a face or nobody (scored ``speaking_floor``), changing at a cost."""
    tracks = [
        (t.character, np.asarray(t.times), np.asarray(t.speaking, float))
        for t in faces.tracks
        if t.character is not None and t.speaking is not None and len(t.times)
    ]
    words = _words(segments)
    signals, band = _sync_inputs(faces, envelope, options) if options.sync_weight else ([], None)
    scores: list[dict[str, float]] = []
    path: list[str | None] = []
    for run in _utterances(words, options):
        run_scores = [_word_speaking(w, tracks, options) for _, w in run]
        if signals:
            span = (run[0][1].start - options.context_s, run[-1][1].end + options.context_s)
            for (_, word), own in zip(run, run_scores, strict=True):
                sync = _word_scores(word, span, signals, band, options)
                for character in own:
                    own[character] += options.sync_weight * sync.get(character, 0.0)
        scores += run_scores
        path += _viterbi(run_scores, options.speaking_switch, nobody=options.speaking_floor)
    return _lines(segments, words, path, scores, options, learned=True)


def _word_speaking(word: Word, tracks, options: AttributionOptions) -> dict[str, float]:
    middle = (word.start + word.end) / 2
    half = max(options.speaking_window_s, word.end - word.start) / 2
    scores: dict[str, float] = {}
    for character, times, values in tracks:
        inside = (times >= middle - half) & (times <= middle + half)
        if inside.sum() < 3:
            continue
        score = float(values[inside].mean())
        scores[character] = max(score, scores.get(character, -1e9))
    return scores


def _utterances(words: list[tuple[int, Word]], options: AttributionOptions) -> list[list]:
    """Runs of words judged together: without ``pause_s``, each recogniser segment; with it,
    speech between pauses of at least ``pause_s``, across segment boundaries (a segment is
    the recogniser's window, not a turn: it can straddle a pause where the speaker changes,
    and one turn can come as two segments)."""
    runs: list[list] = []
    for index, word in words:
        if runs:
            last_index, last = runs[-1][-1]
            if options.pause_s is None:
                joined = last_index == index
            else:
                joined = word.start - last.end < options.pause_s
            if joined:
                runs[-1].append((index, word))
                continue
        runs.append([(index, word)])
    return runs


def _word_scores(word: Word, span, signals, band, options) -> dict[str, float]:
    """The synchrony of each character on screen around one word: how well the rises of
    its mouth opening follow the syllables heard, over ``window_s`` around the word, kept
    inside its segment (and ``context_s`` either side, for Whisper's loose word times)."""
    middle = (word.start + word.end) / 2
    half = max(options.window_s, word.end - word.start) / 2
    start, end = max(span[0], middle - half), min(span[1], middle + half)
    scores: dict[str, float] = {}
    for signal in signals:
        inside = (signal.times >= start) & (signal.times <= end)
        if inside.sum() < options.min_frames:
            continue
        times = signal.times[inside]
        score = _sync(signal, inside, times, band, options)
        character = signal.track.character
        scores[character] = max(score, scores.get(character, -1.0))
    return scores


def _sync(signal: _Signal, inside, times, band, options: AttributionOptions) -> float:
    """Two views of one question: do the mouth's openings rise MOUTH_LEAD_S before the
    syllables' loudness peaks, and is it open while they are loud? (weighed by
    ``onset_weight``)"""
    offset = options.av_offset_s
    onsets = _corr(signal.onsets[inside], _envelope_at(band, times + MOUTH_LEAD_S + offset))
    opening = _corr(signal.opening[inside], _envelope_at(band, times + offset))
    return options.onset_weight * onsets + (1 - options.onset_weight) * opening


def _viterbi(
    scores: list[dict[str, float]], switch: float, nobody: float | None = None
) -> list[str | None]:
    """The speaker sequence over a run's words that best fits their scores, changing
    speaker only where the evidence pays for it (``switch``). With ``nobody`` (the model's
    evidence), nobody (None) is a state too, scored ``nobody`` a word, and a face without a
    score for a word (off screen) scores 2 under it: a face off screen, or on screen and
    silent, leaves the word to nobody."""
    faces = sorted({c for s in scores for c in s})
    states: list[str | None] = faces if nobody is None else [None, *faces]
    if not states:
        return [None] * len(scores)
    absent = 0.0 if nobody is None else nobody - 2.0
    value = {s: 0.0 for s in states}
    back: list[dict] = []
    for word_scores in scores:
        step, choice = {}, {}
        for state in states:
            gain = nobody if state is None else word_scores.get(state, absent)
            best_prev = max(states, key=lambda p: value[p] - (switch if p != state else 0.0))
            step[state] = gain + value[best_prev] - (switch if best_prev != state else 0.0)
            choice[state] = best_prev
        back.append(choice)
        value = step
    state = max(states, key=lambda s: value[s])
    path = [state]
    for choice in reversed(back[1:]):
        state = choice[state]
        path.append(state)
    return list(reversed(path))


def _split(segment, words, path, scores, options, learned: bool = False) -> list[Line]:
    """One line per run of words with one speaker; a run whose speaker's mean synchrony
    stays under ``min_sync`` (``speaking_floor`` for the model) goes to nobody."""
    lines: list[Line] = []
    start = 0
    for i in range(1, len(words) + 1):
        if i == len(words) or path[i] != path[start]:
            chunk = words[start:i]
            speaker = path[start]
            if speaker is not None:
                own = float(np.mean([scores[k].get(speaker, 0.0) for k in range(start, i)]))
                if own < (options.speaking_floor if learned else options.min_sync):
                    speaker = None
            text = " ".join(w.text for w in chunk) if segment.words else segment.text
            confidence = None
            if speaker is not None:
                run_scores = [scores[k] for k in range(start, i)]
                confidence = (
                    _learned_confidence(run_scores, speaker, options)
                    if learned
                    else _confidence(run_scores, speaker, options)
                )
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


def margin(word_scores: list[dict[str, float]], speaker: str, options) -> float:
    """How far the speaker's mean synchrony stands above the best other face's (above
    ``min_sync`` when the speaker is alone on screen)."""
    own = np.mean([s.get(speaker, 0.0) for s in word_scores])
    others = [
        max([v for k, v in s.items() if k != speaker], default=options.min_sync)
        for s in word_scores
    ]
    return float(own - np.mean(others))


CALIBRATION = (5.34, 0.74)
"""confidence = logistic(a * margin + b), fitted (Platt scaling) to whether each line went to
the right face on the composed dialogues and single-speaker clips of
tests/bench/speakers.py, which prints the fit
and how accuracy varies with confidence (docs/benchmarks.md)."""


def _confidence(word_scores: list[dict[str, float]], speaker: str, options) -> float:
    a, b = CALIBRATION
    return round(1 / (1 + math.exp(-(a * margin(word_scores, speaker, options) + b))), 3)


SPEAKING_CALIBRATION = (1.0, 0.0)
"""confidence = logistic(a * margin + b) for the model's evidence, where the margin is the
speaker's mean logit above the best other face's (or ``speaking_floor``); fitted on the
tuning people's film dialogues by tests/bench/films.py."""


def speaking_margin(word_scores: list[dict[str, float]], speaker: str, options) -> float:
    own = np.mean([s.get(speaker, options.speaking_floor) for s in word_scores])
    others = [
        max([v for k, v in s.items() if k != speaker] + [options.speaking_floor])
        for s in word_scores
    ]
    return float(own - np.mean(others))


def _learned_confidence(word_scores, speaker: str, options) -> float:
    a, b = SPEAKING_CALIBRATION
    value = a * speaking_margin(word_scores, speaker, options) + b
    return round(1 / (1 + math.exp(-value)), 3)


def lines_from_segments(segments: Sequence[Segment]) -> tuple[Line, ...]:
    """Lines with nobody attributed (no faces, or no picture)."""
    return tuple(
        Line(start=s.start, end=s.end, text=s.text, words=s.words, speaker=None, evidence=None)
        for s in segments
    )
