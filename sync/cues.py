"""Shaping subtitle cues from timed words, to the rules caption editors work to.

The rules (``CueRules``, with presets for Netflix-style and BBC-style delivery):
at most two lines of at most 42 characters, a reading speed a viewer can keep up
with, a duration between 5/6 s and 7 s, at least two frames between cues, lines
broken at natural phrase boundaries, and no cue across a shot change unless the
speech itself runs across it. ``check`` names every cue that breaks a rule, and why.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from speech.types import Word
from sync.transcript import Line

_SENTENCE_END = (".", "?", "!", "…")
_PHRASE_END = (",", ";", ":", "—", "-")
# A line should not end on a word that leans on the next one (article, preposition, ...).
_LEANING = frozenset(
    "a an the to of in on at by for from with and or but if that this my your his her our "
    "their its i we you he she they is are was were be".split()
)


@dataclass(frozen=True)
class CueRules:
    max_chars_per_line: int = 42
    max_lines: int = 2
    max_cps: float | None = 20.0
    """Reading speed: characters per second a viewer can read (None: not checked)."""
    max_wpm: float | None = None
    """Reading speed in words per minute, as BBC guidelines state it (None: not checked)."""
    min_duration: float = 5 / 6
    max_duration: float = 7.0
    min_gap_frames: int = 2
    max_word_gap: float = 1.5
    """A pause this long inside a line starts a new cue."""
    cut_pause: float = 0.2
    """Speech runs across a shot change when a word spans it or the words either side are
    closer than this (s); otherwise a cue ends at the shot change."""
    dialogue_span: float = 3.0
    """Two speakers' short lines within this many seconds share one cue, each line with a
    dialogue dash (0: never)..."""
    dialogue_gap: float = 0.5
    """... when the second speaker answers within this many seconds."""

    def reading_time(self, text: str) -> float:
        """The shortest time ``text`` can stay on screen and still be read."""
        need = 0.0
        if self.max_cps:
            need = len(text) / self.max_cps
        if self.max_wpm:
            need = max(need, len(text.split()) * 60.0 / self.max_wpm)
        return need


PRESETS: dict[str, CueRules] = {
    # Netflix English timed-text style guide: 42 characters, 20 cps (adult), 5/6 s to 7 s,
    # two frames between cues.
    "netflix": CueRules(),
    # BBC subtitle guidelines: 37 characters (about 68% of the width), 160-180 words a minute.
    "bbc": CueRules(max_chars_per_line=37, max_cps=None, max_wpm=180.0),
}


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]
    speaker: str | None
    words: tuple[Word, ...]
    voices: tuple[str | None, ...] = ()
    """For a dialogue cue (two speakers share it): the speaker of each line; else empty."""

    @property
    def text(self) -> str:
        return " ".join(self.lines)

    @property
    def dialogue(self) -> bool:
        return len(self.voices) > 1


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
        leaning = 15 if words[i - 1].lower() in _LEANING else 0
        score = over + abs(len(first) - len(second)) - bonus + leaning
        if best_score is None or score < best_score:
            best, best_score = (first, second), score
    return best if best is not None else (text,)


def fits(text: str, rules: CueRules) -> bool:
    lines = wrap(text, rules.max_chars_per_line, rules.max_lines)
    return len(lines) <= rules.max_lines and all(
        len(line) <= rules.max_chars_per_line for line in lines
    )


def _cut_between(before: Word, after: Word, cuts: Sequence[float], rules: CueRules) -> bool:
    """A shot change in the pause between two words (speech does not run across it)."""
    if after.start - before.end < rules.cut_pause:
        return False
    i = bisect.bisect_left(cuts, before.end)
    return i < len(cuts) and cuts[i] <= after.start


def _groups(words: Sequence[Word], rules: CueRules, cuts: Sequence[float]) -> list[list[Word]]:
    groups: list[list[Word]] = []
    current: list[Word] = []
    capacity = rules.max_chars_per_line * rules.max_lines
    for word in words:
        if current:
            text = " ".join(w.text for w in current + [word])
            too_long = not fits(text, rules) or word.end - current[0].start > rules.max_duration
            paused = word.start - current[-1].end > rules.max_word_gap
            said = len(" ".join(w.text for w in current))
            sentence_break = current[-1].text.endswith(_SENTENCE_END) and said > capacity * 0.4
            cut = _cut_between(current[-1], word, cuts, rules)
            if too_long or paused or sentence_break or cut:
                groups.append(current)
                current = []
        current.append(word)
    if current:
        groups.append(current)
    return groups


def build_cues(
    lines: Sequence[Line],
    rules: CueRules = CueRules(),
    fps: float = 25.0,
    cuts: Sequence[float] = (),
) -> list[Cue]:
    """Cues for every line, timed from word times; one speaker per cue, or two with dashes.

    ``cuts`` are the film's shot-change times (s): no cue runs across one unless the
    speech does."""
    cuts = sorted(cuts)
    cues: list[Cue] = []
    for line in lines:
        words = line.words or (Word(line.start, line.end, line.text, 1.0),)
        for group in _groups(words, rules, cuts):
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
    cues = _join_unreadable(_dialogues(cues, rules, cuts), rules, fps, cuts)
    return _retime(cues, rules, fps, cuts)


def _join_unreadable(
    cues: list[Cue], rules: CueRules, fps: float, cuts: Sequence[float]
) -> list[Cue]:
    """A cue that cannot stay up long enough to be read before the next one starts takes the
    next one in, where the two fit in one cue (same speaker, or one line each as a dialogue)."""
    gap = rules.min_gap_frames / fps
    out: list[Cue] = []
    i = 0
    while i < len(cues):
        cue = cues[i]
        while i + 1 < len(cues):
            nxt = cues[i + 1]
            room = nxt.start - gap - cue.start
            if room >= max(rules.min_duration, rules.reading_time(cue.text)) - 1e-6:
                break
            joined = _join(cue, nxt, rules, cuts)
            if joined is None:
                break
            cue, i = joined, i + 1
        out.append(cue)
        i += 1
    return out


def _join(a: Cue, b: Cue, rules: CueRules, cuts: Sequence[float]) -> Cue | None:
    if not a.words or not b.words or b.words[-1].end - a.words[0].start > rules.max_duration:
        return None
    if b.words[0].start - a.words[-1].end > rules.max_word_gap:
        return None
    if _cut_between(a.words[-1], b.words[0], cuts, rules) or a.dialogue or b.dialogue:
        return None
    if a.speaker == b.speaker:
        text = f"{a.text} {b.text}"
        if not fits(text, rules):
            return None
        lines = wrap(text, rules.max_chars_per_line, rules.max_lines)
        return Cue(a.start, b.end, lines, a.speaker, a.words + b.words)
    width = rules.max_chars_per_line - 2
    if rules.dialogue_span <= 0 or rules.max_lines < 2:  # no dialogue cues wanted
        return None
    if len(a.lines) > 1 or len(b.lines) > 1 or len(a.text) > width or len(b.text) > width:
        return None
    return Cue(
        a.start, b.end, (a.text, b.text), a.speaker, a.words + b.words, (a.speaker, b.speaker)
    )


def _dialogues(cues: list[Cue], rules: CueRules, cuts: Sequence[float]) -> list[Cue]:
    """Join a quick exchange (two speakers, one short line each) into one dialogue cue."""
    if rules.dialogue_span <= 0 or rules.max_lines < 2:
        return cues
    out: list[Cue] = []
    i = 0
    while i < len(cues):
        a = cues[i]
        b = cues[i + 1] if i + 1 < len(cues) else None
        width = rules.max_chars_per_line - 2  # room for the dash
        if (
            b is not None
            and a.speaker != b.speaker
            and len(a.lines) == 1
            and len(b.lines) == 1
            and len(a.text) <= width
            and len(b.text) <= width
            and b.words[-1].end - a.words[0].start <= rules.dialogue_span
            and 0 <= b.words[0].start - a.words[-1].end <= rules.dialogue_gap
            and not _cut_between(a.words[-1], b.words[0], cuts, rules)
        ):
            out.append(
                Cue(
                    a.start,
                    b.end,
                    (a.text, b.text),
                    a.speaker,
                    a.words + b.words,
                    (a.speaker, b.speaker),
                )
            )
            i += 2
        else:
            out.append(a)
            i += 1
    return out


def _next_cut(cue: Cue, cuts: Sequence[float]) -> float | None:
    i = bisect.bisect_right(cuts, cue.words[-1].end if cue.words else cue.end)
    return cuts[i] if i < len(cuts) else None


def _retime(cues: list[Cue], rules: CueRules, fps: float, cuts: Sequence[float]) -> list[Cue]:
    """Stretch short cues to be readable, without running into the next cue, its gap, or a cut."""
    gap = rules.min_gap_frames / fps
    out = []
    for i, cue in enumerate(cues):
        spoken = cue.end - cue.start
        want = max(rules.min_duration, rules.reading_time(cue.text), spoken)
        end_ms = math.ceil((cue.start + min(want, max(rules.max_duration, spoken))) * 1000 - 1e-6)
        if i + 1 < len(cues):
            limit_ms = math.floor((cues[i + 1].start - gap) * 1000 + 1e-6)
            end_ms = min(end_ms, limit_ms)
        cut = _next_cut(cue, cuts)
        if cut is not None:
            end_ms = min(end_ms, max(math.floor(cut * 1000 + 1e-6), math.ceil(cue.end * 1000)))
        start_ms = round(cue.start * 1000)
        end_ms = max(end_ms, start_ms + max(1, round(1000 / fps)))  # never empty, even in overlap
        out.append(replace(cue, start=start_ms / 1000, end=end_ms / 1000))
    return out


# -- the rule report ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Breach:
    """One cue breaking one rule, and why it could not be helped."""

    cue: int  # 0-based index
    rule: str  # "lines" | "chars" | "speed" | "short" | "long" | "gap" | "shot"
    why: str


def check(
    cues: Sequence[Cue], rules: CueRules = CueRules(), fps: float = 25.0, cuts: Sequence[float] = ()
) -> list[Breach]:
    """Every rule every cue breaks, each with the reason in words."""
    cuts = sorted(cuts)
    gap = rules.min_gap_frames / fps
    out: list[Breach] = []
    for i, cue in enumerate(cues):
        following = cues[i + 1] if i + 1 < len(cues) else None
        long_words = [w.text for w in cue.words if len(w.text) > rules.max_chars_per_line]
        duration = cue.end - cue.start
        limit = _limit(cue, following, cuts, rules, fps)
        if len(cue.lines) > rules.max_lines:
            out.append(Breach(i, "lines", f"{len(cue.lines)} lines"))
        for line in cue.lines:
            if len(line) > rules.max_chars_per_line:
                why = (
                    f"the word {long_words[0]!r} ({len(long_words[0])} characters) is longer "
                    f"than a line of {rules.max_chars_per_line}"
                    if long_words
                    else f"a line of {len(line)} characters"
                )
                out.append(Breach(i, "chars", why))
                break
        need = rules.reading_time(cue.text)
        if need > duration + 1e-3:
            rate = (
                f"{len(cue.text) / duration:.1f} characters a second"
                if rules.max_cps
                else f"{len(cue.text.split()) * 60 / duration:.0f} words a minute"
            )
            out.append(
                Breach(
                    i, "speed", f"said too fast to be read ({rate} over {duration:.2f} s): {limit}"
                )
            )
        if duration < rules.min_duration - 1e-3:
            out.append(Breach(i, "short", f"{duration:.2f} s on screen: {limit}"))
        if duration > rules.max_duration + 1e-3:
            out.append(
                Breach(i, "long", f"one stretch of speech of {duration:.2f} s without a break")
            )
        if following is not None and following.start - cue.end < gap - 1e-3:
            out.append(
                Breach(
                    i,
                    "gap",
                    f"speech overlaps: the next cue starts {following.start - cue.start:.2f} s "
                    "after this one",
                )
            )
        for cut in cuts:
            if cue.start < cut < cue.end and not _speech_crosses(cue, cut, rules):
                out.append(Breach(i, "shot", f"runs across the shot change at {cut:.2f} s"))
                break
    return out


def _speech_crosses(cue: Cue, cut: float, rules: CueRules) -> bool:
    words = cue.words
    if any(w.start < cut < w.end for w in words):
        return True
    return any(
        a.end <= cut <= b.start and b.start - a.end < rules.cut_pause
        for a, b in zip(words, words[1:], strict=False)
    )


def _limit(
    cue: Cue, following: Cue | None, cuts: Sequence[float], rules: CueRules, fps: float
) -> str:
    """What stopped the cue from staying longer."""
    gap = rules.min_gap_frames / fps
    if following is not None and cue.end >= following.start - gap - 2e-3:
        return f"the next cue starts {following.start - cue.start:.2f} s after this one"
    cut = _next_cut(cue, cuts)
    if cut is not None and abs(cue.end - cut) < 2e-3:
        return f"a shot change follows at {cut:.2f} s"
    return f"it would need more than the {rules.max_duration:g} s limit"


def summary(cues: Sequence[Cue], breaches: Sequence[Breach]) -> str:
    bad = {b.cue for b in breaches}
    lines = [f"{len(cues) - len(bad)} of {len(cues)} cues meet every rule."]
    for breach in breaches:
        lines.append(
            f"- cue {breach.cue + 1} {cues[breach.cue].text!r}: {breach.rule}: {breach.why}"
        )
    return "\n".join(lines)
