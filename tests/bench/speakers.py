"""Who speaks: turns attributed to the right face on composed dialogues (clean and aged),
single-speaker real clips, and a cue-rule report.

    .venv/bin/python tests/bench/speakers.py
"""

from __future__ import annotations

import itertools
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
MEDIA = ROOT.parent / "shared" / "media"

from local import tests_module  # noqa: E402  (tests/bench, the script's own folder)

from sync.cues import CueRules  # noqa: E402
from sync.pipeline import Pipeline  # noqa: E402

compose_dialogue = tests_module("conftest").compose_dialogue

CLIPS = sorted(p.stem for p in (MEDIA / "faces" / "grid").glob("*.mpg"))
PAIRS = tuple(itertools.combinations(CLIPS, 2))  # every pair of the six GRID speakers
TURNS = "LRRLRLLR"
BINS = ((0.0, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.01))


def judge(transcript, truth) -> tuple[tuple[int, int, int], list[tuple[float, bool]], list]:
    """Turns right / unattributed / wrong, (confidence, right) for every attributed line, and
    the missed turns as (index, "wrong" | "none" | "unheard").

    A turn is judged by the lines holding its words (a word belongs to the turn its middle
    falls in): right when all go to the face whose sound it is, unattributed when none has
    a speaker (or Whisper heard nothing there: "unheard"), wrong otherwise."""
    side = {s.id: ("L" if s.face_box[0] < 360 else "R") for s in transcript.speakers}
    ok = none = wrong = 0
    lines, misses = [], []
    for index, (start, end, who) in enumerate(truth):
        said = [
            ln
            for ln in transcript.lines
            if any(start <= (w.start + w.end) / 2 < end for w in ln.words)
        ]
        speakers = {ln.speaker for ln in said}
        if not said or speakers == {None}:
            none += 1
            misses.append((index, "none" if said else "unheard"))
        elif all(s is not None and side.get(s) == who for s in speakers):
            ok += 1
        else:
            wrong += 1
            misses.append((index, "wrong"))
        lines += [(ln.confidence, side.get(ln.speaker) == who) for ln in said if ln.speaker]
    return (ok, none, wrong), lines, misses


def platt(confidence: np.ndarray, right: np.ndarray) -> tuple[float, float]:
    """Refit sync.attribute.CALIBRATION from the lines' margins (recovered from confidence)."""
    from scipy.optimize import minimize

    from sync.attribute import CALIBRATION

    a, b = CALIBRATION
    p = np.clip(confidence, 1e-4, 1 - 1e-4)
    margin = (np.log(p / (1 - p)) - b) / a
    sign = 2 * right.astype(float) - 1
    fit = minimize(lambda w: np.logaddexp(0, -sign * (w[0] * margin + w[1])).sum(), [a, b])
    return float(fit.x[0]), float(fit.x[1])


def cue_report(cues, rules: CueRules, fps: float) -> tuple[int, list[str]]:
    bad = []
    for i, cue in enumerate(cues):
        problems = []
        if len(cue.lines) > rules.max_lines:
            problems.append("lines")
        if any(len(line) > rules.max_chars_per_line for line in cue.lines):
            problems.append("chars")
        duration = cue.end - cue.start
        if len(cue.text) / duration > rules.max_cps + 1e-6:
            problems.append("reading speed")
        if duration < rules.min_duration - 1e-3 or duration > rules.max_duration + 1e-3:
            problems.append(f"duration {duration:.2f}s")
        if i + 1 < len(cues) and cues[i + 1].start - cue.end < rules.min_gap_frames / fps - 1e-3:
            problems.append("gap")
        if problems:
            bad.append(f"{cue.text!r}: {', '.join(problems)}")
    return len(cues) - len(bad), bad


def main() -> None:
    from sync.cues import build_cues
    from sync.transcript import Transcript

    print(
        f"## {time.strftime('%Y-%m-%d')} · {platform.machine()}, {os.cpu_count()} cores · "
        "tests/bench/speakers.py"
    )
    print("\n### Composed dialogues: turns attributed to the right face\n")
    print("| pair | version | turns | right | unattributed | wrong |")
    print("|---|---|---|---|---|---|")
    all_cues, exceptions = [0, 0], []
    totals = {False: np.zeros(3, int), True: np.zeros(3, int)}
    scored: list[tuple[float, bool]] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for left, right in PAIRS:
            for aged in (False, True):
                film = tmp / f"{left}_{right}_{int(aged)}.mkv"
                truth = compose_dialogue(
                    film,
                    MEDIA / "faces" / "grid" / f"{left}.mpg",
                    MEDIA / "faces" / "grid" / f"{right}.mpg",
                    TURNS,
                    aged,
                )
                transcript = Pipeline().run(film, tmp / film.stem).transcript
                counts, lines, _ = judge(transcript, truth)
                totals[aged] += counts
                scored += lines
                ok, none, wrong = counts
                print(
                    f"| {left} + {right} | {'aged' if aged else 'clean'} | {len(truth)} | "
                    f"{ok} | {none} | {wrong} |"
                )
                cues = build_cues(transcript.lines, CueRules(), 25.0)
                good, bad = cue_report(cues, CueRules(), 25.0)
                all_cues[0] += good
                all_cues[1] += len(cues)
                exceptions += bad
        for aged, (ok, none, wrong) in totals.items():
            turns = ok + none + wrong
            print(
                f"| **all {len(PAIRS)} pairs** | {'aged' if aged else 'clean'} | {turns} | "
                f"{ok} ({ok / turns:.1%}) | {none} | {wrong} |"
            )
        confidence = np.array([c for c, _ in scored])
        right = np.array([r for _, r in scored])
        print("\n### Confidence against accuracy (attributed lines of the composed dialogues)\n")
        print("| confidence | lines | right | mean confidence |")
        print("|---|---|---|---|")
        for low, high in BINS:
            inside = (confidence >= low) & (confidence < high)
            if inside.any():
                print(
                    f"| {low:.2f}-{min(high, 1):.2f} | {inside.sum()} | "
                    f"{right[inside].mean():.1%} | {confidence[inside].mean():.2f} |"
                )
        a, b = platt(confidence, right)
        print(f"\nPlatt refit on these lines: a = {a:.2f}, b = {b:.2f} (CALIBRATION)")
        print("\n### Single-speaker real clips: lines given to the one face\n")
        print("| clip | lines | to the face | unattributed | mean confidence |")
        print("|---|---|---|---|---|")
        clips = [MEDIA / "faces" / "talking" / f"face_{i}.mp4" for i in (1, 2, 3)]
        clips += sorted((MEDIA / "faces" / "grid").glob("*.mpg"))
        for clip in clips:
            transcript: Transcript = Pipeline().run(clip, tmp / clip.stem).transcript
            lines = transcript.lines
            to_face = [ln for ln in lines if ln.speaker is not None]
            confidence = sum(ln.confidence for ln in to_face) / max(1, len(to_face))
            print(
                f"| {clip.relative_to(MEDIA)} | {len(lines)} | {len(to_face)} | "
                f"{len(lines) - len(to_face)} | {confidence:.2f} |"
            )
            cues = build_cues(lines, CueRules(), 25.0)
            good, bad = cue_report(cues, CueRules(), 25.0)
            all_cues[0] += good
            all_cues[1] += len(cues)
            exceptions += bad
    print(
        f"\n### Cue rules (42 chars x 2 lines, <= 20 cps, 5/6-7 s, 2-frame gaps)\n\n"
        f"{all_cues[0]} of {all_cues[1]} cues meet every rule."
    )
    for line in exceptions:
        print(f"- {line}")


if __name__ == "__main__":
    main()
