"""Shaping subtitle cues from timed words, to the rules caption editors work to."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from speech.types import Word
from sync.transcript import Line

_SENTENCE_END = (".", "?", "!", "…")
_PHRASE_END = (",", ";", ":", "—", "-")


@dataclass(frozen=True)
class CueRules:
    max_chars_per_line: int = 42
    max_lines: int = 2
    max_cps: float = 20.0
    """Reading speed: characters per second a viewer can read."""
    min_duration: float = 5 / 6
    max_duration: float = 7.0
    min_gap_frames: int = 2
    max_word_gap: float = 1.5
    """A pause this long inside a line starts a new cue."""


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]
    speaker: str | None
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(self.lines)


def wrap(text: str, width: int, max_lines: int = 2) -> tuple[str, ...]:
    """Break ``text`` into at most ``max_lines`` balanced lines, preferring phrase boundaries."""
    if len(text) <= width or max_lines < 2:
        return (text,)
    words = text.split()
    best, best_score = None, None
    for i in range(1, len(words)):
        first, second = " ".join(words[:i]), " ".join(words[i:])
        longest = max(len(first), len(second))
        over = max(0, longest - width) * 100
        bonus = 8 if first.endswith(_SENTENCE_END) else 5 if first.endswith(_PHRASE_END) else 0
        score = over + abs(len(first) - len(second)) - bonus
        if best_score is None or score < best_score:
            best, best_score = (first, second), score
    return best if best is not None else (text,)


def _groups(words: Sequence[Word], rules: CueRules) -> list[list[Word]]:
    capacity = rules.max_chars_per_line * rules.max_lines
    groups: list[list[Word]] = []
    current: list[Word] = []
    for word in words:
        if current:
            length = len(" ".join(w.text for w in current + [word]))
            too_long = length > capacity or word.end - current[0].start > rules.max_duration
            paused = word.start - current[-1].end > rules.max_word_gap
            said = len(" ".join(w.text for w in current))
            sentence_break = current[-1].text.endswith(_SENTENCE_END) and said > capacity * 0.4
            if too_long or paused or sentence_break:
                groups.append(current)
                current = []
        current.append(word)
    if current:
        groups.append(current)
    return groups


def build_cues(lines: Sequence[Line], rules: CueRules = CueRules(), fps: float = 25.0) -> list[Cue]:
    """Cues for every line, timed from word times, one speaker per cue."""
    cues: list[Cue] = []
    for line in lines:
        words = line.words or (Word(line.start, line.end, line.text, 1.0),)
        for group in _groups(words, rules):
            text = " ".join(w.text for w in group)
            cues.append(
                Cue(
                    start=group[0].start,
                    end=max(group[-1].end, group[0].start),
                    lines=wrap(text, rules.max_chars_per_line, rules.max_lines),
                    speaker=line.speaker,
                    words=tuple(group),
                )
            )
    cues.sort(key=lambda c: c.start)
    return _retime(cues, rules, fps)


def _retime(cues: list[Cue], rules: CueRules, fps: float) -> list[Cue]:
    """Stretch short cues to be readable, without running into the next cue or its gap."""
    gap = rules.min_gap_frames / fps
    out = []
    for i, cue in enumerate(cues):
        spoken = cue.end - cue.start
        want = max(rules.min_duration, len(cue.text) / rules.max_cps, spoken)
        end_ms = math.ceil((cue.start + min(want, max(rules.max_duration, spoken))) * 1000 - 1e-6)
        if i + 1 < len(cues):
            limit_ms = math.floor((cues[i + 1].start - gap) * 1000 + 1e-6)
            end_ms = min(end_ms, limit_ms)
        start_ms = round(cue.start * 1000)
        end_ms = max(end_ms, start_ms + max(1, round(1000 / fps)))  # never empty, even in overlap
        out.append(Cue(start_ms / 1000, end_ms / 1000, cue.lines, cue.speaker, cue.words))
    return out
