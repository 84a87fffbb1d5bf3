"""Lines nobody was seen saying, given by voice to the character who sounds like them.

After the lips (sync/attribute.py) have given what they can, each character gets a voice
profile: the mean CAM++ embedding (speech/voice.py) of its lines the lips gave it surely
(``profile_confidence``). A line left to nobody (its speaker off screen, or not seen to
move) then goes to the character whose profile its voice is nearest, with ``evidence:
"voice"``, when that is near enough and clearly nearer than the next (``min_similarity``,
``min_margin``); otherwise it stays with nobody. A character seen during the line whose
face the model finds silent is not a candidate: the listener in a reaction shot is on
screen, so the line is not theirs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
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
    (tests/bench/films_voice.py --sweep): 71 voice lines right and none wrong, against 68
    and 2 with the hand-set 0.45, 0.08 and 0.8 before; on the judged people 64 right and
    3 wrong against 57 and 3, and on the pyannote call 9 right, 4 null, 0 wrong either
    way (docs/benchmarks.md). Those dialogues repeat one recording per person, so their
    cosines run higher than a film's different lines would; the call is the real check."""
    min_seconds: float = 0.8
    """Shorter lines are not judged by voice (too little of it)."""
    device: str = "cpu"


VOICE_CALIBRATION = (15.23, -0.28)
"""confidence = logistic(a * margin + b), margin the nearest profile's cosine above the
next's (above ``min_similarity`` when alone). Platt-fitted by tests/bench/films_voice.py on
the tuning people's film dialogues: every line the lips left null against its nearest
profile, thresholds aside (78 lines, 5 wrong; resampling the 12 films, a 11-23 and b
-1.6-0.8). On the judged people, of the lines voice gave at 0.8 or more, 53 of 53 were
right; at 0.5-0.8, 11 of 14 (docs/benchmarks.md)."""


@dataclass(frozen=True)
class Profiles:
    """Each character's voice: a unit vector."""

    vectors: dict[str, np.ndarray]

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
    """``embed(line) -> unit vector | None``; the lips' surest lines of each character."""
    sure: dict[str, list[Line]] = {}
    for line in lines:
        if (
            line.evidence == "lips"
            and line.confidence is not None
            and line.confidence >= options.profile_confidence
            and line.end - line.start >= options.min_seconds
        ):
            sure.setdefault(line.speaker, []).append(line)
    vectors = {}
    for character, own in sure.items():
        own = sorted(own, key=lambda ln: ln.confidence, reverse=True)[: options.profile_lines]
        found = [v for v in (embed(ln) for ln in own) if v is not None]
        if found:
            mean = np.mean(found, axis=0)
            vectors[character] = mean / np.linalg.norm(mean)
    return Profiles(vectors)


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
    """``lines`` with those left to nobody given by voice where it is sure."""
    if not any(ln.speaker is None for ln in lines) or not any(
        ln.evidence == "lips" for ln in lines
    ):
        return tuple(lines)
    from speech.voice import load_voice_model, read_span

    model = load_voice_model(options.device)
    return give_by_voice(
        lines, faces, lambda ln: model.embed(read_span(wav, ln.start, ln.end)), options, floor
    )


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
    out, given = [], 0
    for line in lines:
        if line.speaker is None and line.end - line.start >= options.min_seconds:
            vector = embed(line)
            exclude = silent_on_screen(faces, line.start, line.end, floor)
            found = profiles.match(vector, options, exclude) if vector is not None else None
            if found is not None:
                character, confidence = found
                line = replace(line, speaker=character, evidence="voice", confidence=confidence)
                given += 1
        out.append(line)
    log.info("voice: %d of %d unattributed lines given by voice", given, len(lines))
    return tuple(out)
