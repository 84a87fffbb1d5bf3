"""From recogniser segments to dialogue lines: guards against known failures, then splitting.

Whisper's segments can span a pause, two sentences and two speakers, and can be
invented (text on silence, a phrase looping). Lines here end at pauses and
sentence ends and never hold more than a subtitle can carry; the subtitle stage
shapes the final cues from their word times.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from speech.types import Segment, Word

_SENTENCE_END = (".", "?", "!", "…", "。", "？", "！")
_PHRASE_END = (",", ";", ":", "—", "–", "，", "、")
_ABBREVIATIONS = {
    "mr.",
    "mrs.",
    "ms.",
    "dr.",
    "st.",
    "jr.",
    "sr.",
    "vs.",
    "prof.",
    "mt.",
    "lt.",
    "col.",
    "gen.",
    "capt.",
    "sgt.",
    "rev.",
    "e.g.",
    "i.e.",
    "etc.",
}
# ("No." is left out: in dialogue it is far more often a whole sentence than "number".)
# Scripts written without spaces between words.
_NO_SPACES = {"zh", "ja", "th", "lo", "km", "my", "yue", "bo"}

# Whisper's own thresholds (compression ratio, log-probability, no-speech probability).
LOOP_RATIO, LOW_LOGPROB, NO_SPEECH = 2.4, -1.0, 0.6
MAX_CPS = 50.0
"""Letters a second no one speaks: fast dialogue runs at 15-25."""
LOOP_PHRASE = 3
"""A phrase of at least this many words said three times running inside one segment is
Whisper looping ("see you in the next video, see you in the next video, ..."), however
sure of itself the decoder is: laughter ("ha ha ha") repeats shorter units."""


def joiner(language: str) -> str:
    return "" if language in _NO_SPACES else " "


def _normal(text: str) -> str:
    return re.sub(r"[^\w]+", " ", text.lower()).strip()


def verdicts(segments: Sequence[Segment]) -> list[str | None]:
    """Why the guard drops each segment ("repetition", "too fast", "silence"), or None."""
    out: list[str | None] = []
    last: Segment | None = None
    run = 0
    for seg in segments:
        reason = None
        letters = len(re.sub(r"\W", "", seg.text))
        if seg.compression_ratio > LOOP_RATIO and seg.avg_logprob < LOW_LOGPROB:
            reason = "repetition"
        elif _loops(seg.text):
            reason = "repetition"
        elif letters >= 12 and letters > MAX_CPS * max(seg.end - seg.start, 0.0):
            reason = "too fast"
        elif seg.no_speech_prob > NO_SPEECH and seg.avg_logprob < LOW_LOGPROB:
            reason = "silence"
        else:
            same = last is not None and _normal(seg.text) == _normal(last.text) != ""
            run = run + 1 if same else 0
            if run >= 2:  # a line said twice can be real dialogue; a third time is a loop
                reason = "a third time"
            else:
                last = seg
        out.append(reason)
    return out


def guard(segments: Sequence[Segment]) -> tuple[list[Segment], dict[str, int]]:
    """Drop what Whisper invents: loops, text on silence, and runs of the same line."""
    dropped: dict[str, int] = {}
    kept: list[Segment] = []
    for seg, reason in zip(segments, verdicts(segments), strict=True):
        if reason is None:
            kept.append(seg)
        else:
            reason = "repetition" if reason == "a third time" else reason
            dropped[reason] = dropped.get(reason, 0) + 1
    return kept, dropped


LOST = ("repetition", "too fast")
"""A decoder caught in a loop (or squeezing a window's text into a moment) has skipped
what was said around it: that stretch gets a second decode on its own."""


def lost_spans(
    segments: Sequence[Segment], start: float, end: float, min_s: float = 0.5
) -> list[tuple[float, float]]:
    """Stretches of a window that a looping decode lost: each dropped loop's gap between the
    kept segments around it (from ``start``/``end`` at the window's edges).

    A loop's own times are not where the speech it swallowed was (the decoder stamps it
    anywhere in the stretch it consumed), so the whole gap between the kept neighbours is
    decoded again."""
    marks = list(zip(segments, verdicts(segments), strict=True))
    kept = sorted((s.start, s.end) for s, reason in marks if reason is None)
    spans: list[tuple[float, float]] = []
    for seg, reason in marks:
        if reason not in LOST:
            continue
        left = max([e for s, e in kept if s <= seg.start], default=start)
        right = min([s for s, _ in kept if s > seg.start], default=end)
        left, right = max(start, min(left, seg.start)), min(end, max(right, left))
        if right - left >= min_s and (left, right) not in spans:
            spans.append((left, right))
    return spans


def _loops(text: str) -> bool:
    """Some phrase of ``LOOP_PHRASE`` or more words said three times in a row."""
    words = _normal(text).split()
    for size in range(LOOP_PHRASE, len(words) // 3 + 1):
        for start in range(len(words) - 3 * size + 1):
            phrase = words[start : start + size]
            if (
                phrase
                == words[start + size : start + 2 * size]
                == words[start + 2 * size : start + 3 * size]
            ):
                return True
    return False


def clamp(segments: Sequence[Segment], end: float) -> tuple[list[Segment], int]:
    """Keep segments inside the audio: a decoder can emit times in a window's padding."""
    kept, dropped = [], 0
    for seg in segments:
        if seg.start >= end:
            dropped += 1
            continue
        words = tuple(
            replace(w, start=min(w.start, end), end=min(w.end, end))
            for w in seg.words
            if w.start < end
        )
        kept.append(replace(seg, end=min(seg.end, end), words=words))
    return kept, dropped


def _ends_sentence(word: Word) -> bool:
    text = word.text.lower()
    return (
        text.endswith(_SENTENCE_END)
        and text not in _ABBREVIATIONS
        and not re.fullmatch(r"[a-z]\.", text)
    )


def _make(seg: Segment, words: Sequence[Word], glue: str) -> Segment:
    return replace(
        seg,
        start=words[0].start,
        end=words[-1].end,
        words=tuple(words),
        text=glue.join(w.text for w in words),
    )


def split_lines(
    segments: Sequence[Segment],
    max_chars: int = 84,
    max_s: float = 7.0,
    pause_s: float = 0.8,
    language: str = "en",
) -> list[Segment]:
    """Split segments at pauses, sentence ends and phrase ends so no line outgrows a subtitle."""
    glue = joiner(language)
    out: list[Segment] = []
    for seg in segments:
        if not seg.words:
            out.append(seg)
            continue
        current: list[Word] = []
        for word in seg.words:
            if current:
                text = glue.join(w.text for w in current + [word])
                paused = word.start - current[-1].end >= pause_s
                full = len(text) > max_chars or word.end - current[0].start > max_s
                if paused or _ends_sentence(current[-1]):
                    out.append(_make(seg, current, glue))
                    current = []
                elif full:
                    cut = _phrase_cut(current)
                    out.append(_make(seg, current[:cut], glue))
                    current = current[cut:]
            current.append(word)
        if current:
            out.append(_make(seg, current, glue))
    return out


def _phrase_cut(words: Sequence[Word]) -> int:
    """Where to end an overfull line: after its last phrase end past the first third, else at
    its longest pause past the first third, else before the word that overflowed."""
    half = max(1, len(words) // 3)
    for i in range(len(words) - 1, half - 1, -1):
        if words[i].text.endswith(_PHRASE_END):
            return i + 1
    gaps = [(words[i + 1].start - words[i].end, i + 1) for i in range(half - 1, len(words) - 1)]
    if gaps:
        best_gap, index = max(gaps)
        if best_gap > 0.15:
            return index
    return len(words)
