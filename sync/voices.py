"""Lines nobody was seen saying, given by voice to the character who sounds like them.

After the lips (sync/attribute.py) have given what they can, each character gets a voice
profile: the mean CAM++ embedding (speech/voice.py) of its lines the lips gave it surely
(``profile_confidence``). A line left to nobody (its speaker off screen, or not seen to
move) then goes to the character whose profile its voice is nearest, with ``evidence:
"voice"``, when that is near enough and clearly nearer than the next (``min_similarity``,
``min_margin``); otherwise it stays with nobody. A character seen during the line whose
face the model finds silent is not a candidate: the listener in a reaction shot is on
screen, so the line is not theirs.

The lips are heard again where they were unsure (``recheck_below``): a line they gave with
less confidence whose voice is surely another character's (the same thresholds, against
profiles that leave the line itself out) goes to that character by voice. In a reaction
shot the listener's moving mouth can win the lips' vote for a line said off screen; the
voice is the off-screen speaker's.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from faces.types import FaceResult
from sync.transcript import Line

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VoiceOptions:
    profile_confidence: float = 0.7
    """Lines the lips gave with at least this confidence build a character's voice."""
    profile_lines: int = 30
    """At most this many lines per character (its surest) go into its profile."""
    min_similarity: float = 0.6
    """Under this cosine to the nearest profile, the line stays with nobody."""
    min_margin: float = 0.04
    """The nearest profile must be this much nearer than the next (or than
    ``min_similarity`` when only one character has a profile).

    These three were chosen on the tuning people's film dialogues
    (tests/bench/films_voice.py --sweep), before the lips were heard again, against the
    hand-set 0.45, 0.08 and 0.8; swept again with the re-check and the cleaning, 70
    settings tie at the top with them (docs/benchmarks.md). Those dialogues repeat one
    recording per person, so their cosines run higher than a film's different lines
    would; the pyannote call is the real check (9 right, 4 null, 0 wrong)."""
    min_seconds: float = 0.8
    """Shorter lines are not judged by voice (too little of it)."""
    recheck_below: float | None = 1.0
    """A line the lips gave under this confidence goes to another character when its voice
    is surely theirs; None: the lips' lines are left as they are. 1.0 (every line) scored
    best on the tuning people's film dialogues, against none and 0.7-0.95
    (tests/bench/films_voice.py --sweep-recheck; docs/benchmarks.md)."""
    surer_than_lips: bool = True
    """A lips line goes to another voice only when the voice is surer than the lips were
    (its confidence above theirs). Without it, on the pyannote call as the lips might
    leave it, 12 sure, right turns went to the other voice (tests/bench/voice.py)."""
    clean_profiles: bool = True
    """A line the lips gave surely enough to build a voice, whose voice is surely another
    character's, is left out of its character's profile (build_profiles)."""
    device: str = "cpu"


VOICE_CALIBRATION = (15.23, -0.28)
"""confidence = logistic(a * margin + b), margin the nearest profile's cosine above the
next's (above ``min_similarity`` when alone). Platt-fitted by tests/bench/films_voice.py on
the tuning people's film dialogues: every line the lips left null against its nearest
profile, thresholds aside (78 lines, 5 wrong; resampling the 12 films, a 11-23 and b
-1.6-0.8), before the lips were heard again. With the re-check, on the judged people,
the lines voice gave at 0.9 or more were right 101 of 107: it says more than it knows
where a profile holds another's voice. Refitted on the tuning films' lines it did no
better on the judged (Brier 0.058 against 0.061), so it was kept (docs/benchmarks.md)."""


@dataclass(frozen=True)
class Profiles:
    """Each character's voice: a unit vector."""

    vectors: dict[str, np.ndarray]
    members: dict[int, tuple[str, np.ndarray]] = field(default_factory=dict)
    """The lines (by index) whose voices make a profile: their character and embedding."""
    sums: dict[str, np.ndarray] = field(default_factory=dict)
    """Each profile's sum of its members' embeddings, to take one out again."""

    def leaving_out(self, index: int) -> Profiles | None:
        """The profiles as they would be without line ``index``'s own voice: a line heard
        again is judged against the others' lines, not against itself. None when the line
        is all its character's profile: without it there is no voice of theirs to compare
        it with, and the next character's nearness alone is no evidence against them."""
        if index not in self.members:
            return self
        character, vector = self.members[index]
        rest = self.sums[character] - vector
        norm = float(np.linalg.norm(rest))
        if sum(c == character for c, _ in self.members.values()) == 1 or norm < 1e-9:
            return None
        return Profiles({**self.vectors, character: rest / norm})

    def nearest(
        self, vector: np.ndarray, options: VoiceOptions, exclude: frozenset[str] = frozenset()
    ) -> tuple[str, float, float] | None:
        """The nearest character to ``vector``, its cosine, and its margin: how much nearer
        it is than the next (than ``min_similarity`` when it is the only candidate); None
        when no character is a candidate."""
        scored = sorted(
            ((float(np.dot(vector, v)), c) for c, v in self.vectors.items() if c not in exclude),
            reverse=True,
        )
        if not scored:
            return None
        best, character = scored[0]
        runner = scored[1][0] if len(scored) > 1 else options.min_similarity
        return character, best, best - runner

    def match(
        self, vector: np.ndarray, options: VoiceOptions, exclude: frozenset[str] = frozenset()
    ) -> tuple[str, float] | None:
        """The character whose voice ``vector`` is, and the confidence; None if unsure."""
        found = self.nearest(vector, options, exclude)
        if found is None:
            return None
        character, best, margin = found
        if best < options.min_similarity or margin < options.min_margin:
            return None
        return character, voice_confidence(margin)


def voice_confidence(margin: float) -> float:
    a, b = VOICE_CALIBRATION
    return round(1 / (1 + math.exp(-(a * margin + b))), 3)


def build_profiles(lines: Sequence[Line], embed, options: VoiceOptions) -> Profiles:
    """``embed(line) -> unit vector | None``; the lips' surest lines of each character,
    less those whose voice is surely another character's (heard against the others'
    lines, as a reheard line is): a line the lips gave the wrong face would otherwise
    lend its speaker's voice to the listener.

    This is more eager than hearing a line again: however sure the lips were, and even
    when the line is all its character's voice. Leaving a line out of a profile costs one
    line's evidence; another's voice kept in it misleads every line it then judges. On
    the tuning films, sparing the lines the lips were surer of, or a character's only
    line, scored 70 and 67 against 75 (tests/bench/films_voice.py)."""
    sure: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        if _builds(line, options):
            sure.setdefault(line.speaker, []).append(index)
    members = {}
    for character, own in sure.items():
        own = sorted(own, key=lambda i: lines[i].confidence, reverse=True)[: options.profile_lines]
        for index in own:
            vector = embed(lines[index])
            if vector is not None:
                members[index] = (character, vector)
    profiles = _profiles(members)
    # A line let go changes the profiles the others are heard against: hear them again.
    for _ in range(3 if options.clean_profiles else 0):
        kept = {}
        for index, (character, vector) in members.items():
            heard = profiles.leaving_out(index)
            if heard is None:  # all its character's voice: heard against the others alone
                heard = Profiles({c: v for c, v in profiles.vectors.items() if c != character})
            found = heard.match(vector, options)
            if found is None or found[0] == character:
                kept[index] = (character, vector)
        if len(kept) == len(members):
            break
        log.debug("voice: %d profile lines sound like another character", len(members) - len(kept))
        members, profiles = kept, _profiles(kept)
    return profiles


def _builds(line: Line, options: VoiceOptions) -> bool:
    """A line the lips gave surely enough, and long enough, to build its character's voice."""
    return (
        line.evidence == "lips"
        and line.confidence is not None
        and line.confidence >= options.profile_confidence
        and line.end - line.start >= options.min_seconds
    )


def _profiles(members: dict[int, tuple[str, np.ndarray]]) -> Profiles:
    sums: dict[str, np.ndarray] = {}
    for character, vector in members.values():
        sums[character] = sums.get(character, 0) + vector
    vectors = {c: v / np.linalg.norm(v) for c, v in sums.items() if np.linalg.norm(v) > 1e-9}
    return Profiles(vectors, members, sums)


def silent_on_screen(
    faces: FaceResult | None, start: float, end: float, floor: float
) -> frozenset[str]:
    """Characters seen during [start, end] whose faces the model found not speaking."""
    if faces is None:
        return frozenset()
    out = set()
    for track in faces.tracks:
        if track.character is None or track.speaking is None:
            continue
        times = np.asarray(track.times)
        inside = (times >= start) & (times <= end)
        if inside.sum() >= 3 and float(np.mean(np.asarray(track.speaking)[inside])) < floor:
            out.add(track.character)
    return frozenset(out)


def attribute_by_voice(
    lines: Sequence[Line],
    faces: FaceResult | None,
    wav: str | Path,
    options: VoiceOptions = VoiceOptions(),
    floor: float = 0.0,
) -> tuple[Line, ...]:
    """``lines`` with those left to nobody given by voice where it is sure, and those the
    lips were unsure of given to another character whose voice they surely are."""
    if not any(ln.speaker is None or heard_again(ln, options) for ln in lines) or not any(
        _builds(ln, options) for ln in lines
    ):
        return tuple(lines)  # nothing to judge, or no voice to judge it by: no model loaded
    from speech.voice import load_voice_model, read_span

    model = load_voice_model(options.device)
    heard: dict[tuple[float, float], np.ndarray | None] = {}

    def embed(line: Line) -> np.ndarray | None:
        """Each line's voice once (a profile's line may be heard again)."""
        if (line.start, line.end) not in heard:
            heard[line.start, line.end] = model.embed(read_span(wav, line.start, line.end))
        return heard[line.start, line.end]

    return give_by_voice(lines, faces, embed, options, floor)


def give_by_voice(
    lines: Sequence[Line],
    faces: FaceResult | None,
    embed,
    options: VoiceOptions = VoiceOptions(),
    floor: float = 0.0,
) -> tuple[Line, ...]:
    """attribute_by_voice with the voice read by ``embed(line) -> unit vector | None``."""
    profiles = build_profiles(lines, embed, options)
    if not profiles.vectors:
        return tuple(lines)
    out, given, overruled = [], 0, 0
    for index, line in enumerate(lines):
        found = None
        if line.end - line.start >= options.min_seconds:
            if line.speaker is None:
                found = _heard(line, embed, profiles, faces, floor, options)
                given += found is not None
            elif heard_again(line, options) and (heard := profiles.leaving_out(index)) is not None:
                found = _heard(line, embed, heard, faces, floor, options)
                found = found if _taken(found, line, options) else None
                overruled += found is not None
        if found is not None:
            character, confidence = found
            line = replace(line, speaker=character, evidence="voice", confidence=confidence)
        out.append(line)
    log.info(
        "voice: %d of %d unattributed lines given by voice, %d of the lips' unsure lines "
        "given to another voice",
        given,
        sum(ln.speaker is None for ln in lines),
        overruled,
    )
    return tuple(out)


def _taken(found: tuple[str, float] | None, line: Line, options: VoiceOptions) -> bool:
    """Whether a lips line's voice, ``found`` (character, confidence), takes it from the
    lips: another character's voice, and (``surer_than_lips``) surer than the lips were."""
    return (
        found is not None
        and found[0] != line.speaker
        and not (options.surer_than_lips and found[1] <= line.confidence)
    )


def heard_again(line: Line, options: VoiceOptions) -> bool:
    """A line the lips gave with less confidence than ``recheck_below``: voice may take it."""
    return (
        line.evidence == "lips"
        and options.recheck_below is not None
        and line.confidence is not None
        and line.confidence < options.recheck_below
    )


def _heard(line: Line, embed, profiles: Profiles, faces, floor: float, options: VoiceOptions):
    """The character whose voice ``line`` surely is, and the confidence; None if unsure.
    Characters seen silent during the line are not candidates."""
    vector = embed(line)
    if vector is None:
        return None
    return profiles.match(vector, options, silent_on_screen(faces, line.start, line.end, floor))
