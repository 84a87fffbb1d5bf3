"""Off-screen lines by voice (sync/voices.py) on the film-like dialogues of
tests/bench/films.py, tuned on one group of people and judged on another.

Each cached film (``films.py build``; nothing is rebuilt here) is attributed as the
product does by default (the lips' classical synchrony), then its lines left to nobody
are given by voice (``give_by_voice``, CAM++ on the film's speech sound, the same samples
``attribute_by_voice`` reads from the wav). Each line's embedding is kept on disk beside
the film (``NAME.voice.pkl``): the lines depend on the lips only, so every voice setting
is scored offline.

Off-screen turns (reaction, still: the listener on screen, the speaker off it): given by
voice to their speaker, partly (the rest null), to the visible listener (by the lips or
by voice), to another wrong character, left null. On-screen turns: the lines the lips
left null that voice filled, rightly or wrongly, and the turns right before and after.
Lines the lips gave that voice gave to another character (``recheck_below``): from wrong
to right, from right to wrong, from wrong to another wrong.

    PYTHONPATH=. python tests/bench/films_voice.py [--sweep] [--sweep-recheck]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import pickle
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from local import bench_module  # noqa: E402  (tests/bench, the script's own folder)

bench = bench_module("films")
films = bench.films

from sync.attribute import AttributionOptions, attribute  # noqa: E402
from sync.transcript import Line  # noqa: E402
from sync.voices import (  # noqa: E402
    VOICE_CALIBRATION,
    VoiceOptions,
    build_profiles,
    give_by_voice,
    heard_again,
    silent_on_screen,
    voice_confidence,
)

OFF_SCREEN = ("reaction", "still")
BEFORE = VoiceOptions(
    min_similarity=0.45, min_margin=0.08, profile_confidence=0.8, recheck_below=None
)
"""VoiceOptions' defaults before the tuning on these films (set by hand, pyannote call)."""
NULL_ONLY = dataclasses.replace(VoiceOptions(), recheck_below=None)
"""The tuned thresholds, voice judging only the lines the lips left null (as before the
lips' unsure lines were heard again)."""
RATE = 16000  # the speech sound's rate in the cache (that of the wav attribution reads)


class Embeddings:
    """``embed(line)`` for one film, as attribute_by_voice reads it, kept on disk."""

    def __init__(self, name: str, sound: np.ndarray, cache: Path) -> None:
        self.path = cache / f"{name}.voice.pkl"
        self.sound = sound
        self.known: dict = pickle.loads(self.path.read_bytes()) if self.path.exists() else {}
        self.dirty = False

    def __call__(self, line: Line):
        key = (round(line.start, 3), round(line.end, 3))
        if key not in self.known:
            from speech.voice import load_voice_model

            first = max(0, int(line.start * RATE))
            self.known[key] = load_voice_model().embed(self.sound[first : int(line.end * RATE)])
            self.dirty = True
        return self.known[key]

    def save(self) -> None:
        if self.dirty:
            partial = self.path.with_suffix(".part")
            partial.write_bytes(pickle.dumps(self.known))
            partial.rename(self.path)
            self.dirty = False


@dataclass
class Film:
    name: str
    aged: bool
    turns: list
    faces: object
    lines: tuple[Line, ...]  # the lips' attribution
    names: dict[str, str]  # character id -> person
    embed: Embeddings


def prepare(group: str, cache: Path, lips: AttributionOptions | None = None) -> list[Film]:
    """Every cached film of a group, attributed by the lips as ``reelscribe run`` does
    (or with ``lips``)."""
    lips = lips or AttributionOptions()
    out = []
    for name, item in bench.load(group, cache).items():
        faces = bench.faces_with(name, item, None, cache)
        lines = attribute(item["speech"].segments, faces, item["envelope"], lips)
        embed = Embeddings(name, item["sound"], cache)
        for line in lines:  # every line's voice once, so that sweeps read the disk only
            if line.end - line.start >= 0.5:
                embed(line)
        embed.save()
        names = films.character_names(faces, item["turns"])
        out.append(Film(name, item["aged"], item["turns"], faces, lines, names, embed))
    return out


def _turn_of(line: Line, turns) -> object | None:
    """The turn holding most of a line's words (judge()'s rule: a word's middle)."""
    words = line.words or (line,)
    held = [
        next((t for t in turns if t.start <= (w.start + w.end) / 2 <= t.end), None) for w in words
    ]
    held = [t for t in held if t is not None]
    return max(held, key=held.count) if held else None  # a tie: the earlier turn


def evaluate(prepared: list[Film], options: VoiceOptions):
    """Per "shot.version": verdict counts (see the docstring), and every voice decision as
    (margin, confidence, right, shot)."""
    tally: dict[str, Counter] = {}
    decisions = []
    for film in prepared:
        out = give_by_voice(film.lines, film.faces, film.embed, options)
        before = [v["verdict"] for v in films.judge(film.lines, film.turns, film.names)]
        for lips, verdict in zip(before, films.judge(out, film.turns, film.names), strict=True):
            turn, kind = verdict["turn"], verdict["verdict"]
            row = tally.setdefault(f"{turn.shot}.{'aged' if film.aged else 'clean'}", Counter())
            row["turns"] += 1
            if turn.on_screen:
                row[f"lips {lips}"] += 1
                row[f"after {kind}"] += 1
            elif kind in ("listener", "wrong"):
                # by voice when a line voice gave is the listener's (another's, for "wrong")
                by_voice = any(
                    ln.evidence == "voice"
                    and film.names.get(ln.speaker) != turn.speaker
                    and (film.names.get(ln.speaker) in turn.seen) == (kind == "listener")
                    for ln in verdict["lines"]
                )
                row[f"{kind} {'voice' if by_voice else 'lips'}"] += 1
            else:
                row[kind] += 1
        profiles = build_profiles(film.lines, film.embed, options)
        for index, (lips, line) in enumerate(zip(film.lines, out, strict=True)):
            turn = _turn_of(line, film.turns) if line.evidence == "voice" else None
            if turn is None:
                continue
            exclude = silent_on_screen(film.faces, line.start, line.end, 0.0)
            heard = profiles if lips.speaker is None else profiles.leaving_out(index)
            _, _, margin = heard.nearest(film.embed(line), options, exclude)  # never None
            right = film.names.get(line.speaker) == turn.speaker
            row = tally[f"{turn.shot}.{'aged' if film.aged else 'clean'}"]
            if lips.speaker is not None:
                was = film.names.get(lips.speaker) == turn.speaker
                row[
                    "overruled "
                    + ("wrong to right" if right else "right to wrong" if was else "wrong to wrong")
                ] += 1
            elif turn.on_screen:
                row["filled right" if right else "filled wrong"] += 1
            decisions.append((margin, line.confidence, right, turn.shot))
    return tally, decisions


def totals(tally) -> dict[str, int]:
    out: dict[str, int] = {}
    for kind, row in tally.items():
        where = "off" if kind.split(".")[0] in OFF_SCREEN else "on"
        for key, value in row.items():
            out[f"{where} {key}"] = out.get(f"{where} {key}", 0) + value
    return out


OFF_COLUMNS = (
    "right",
    "partly",
    "listener lips",
    "listener voice",
    "wrong lips",
    "wrong voice",
    "none",
)
ON_COLUMNS = (
    "lips right",
    "after right",
    "lips wrong",
    "after wrong",
    "filled right",
    "filled wrong",
)


def table(title: str, tally) -> None:
    print(f"\n#### {title}\n")
    print(
        "| shot | turns | by voice, right | partly | to listener (lips) | to listener (voice) "
        "| other wrong (lips) | other wrong (voice) | null | unheard |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    _rows(tally, OFF_SCREEN, (*OFF_COLUMNS, "unheard"))
    print(
        "\n| shot | turns | right (lips) | right (lips + voice) | wrong (lips) "
        "| wrong (lips + voice) | filled right | filled wrong |"
    )
    print("|---|---|---|---|---|---|---|---|")
    _rows(tally, [shot for shot in bench.SHOTS if shot not in OFF_SCREEN], ON_COLUMNS)


def _rows(tally, shots, columns) -> None:
    """One table row per shot and version: its turns, then each column's count."""
    for shot in shots:
        for version in ("clean", "aged"):
            row = tally.get(f"{shot}.{version}", {})
            cells = [row.get("turns", 0), *(row.get(k, 0) for k in columns)]
            print(f"| {shot} {version} | " + " | ".join(map(str, cells)) + " |")


def summary(tally, decisions) -> str:
    c = totals(tally)
    off = c.get("off turns", 0) - c.get("off unheard", 0)
    listener = c.get("off listener lips", 0) + c.get("off listener voice", 0)
    sure = [right for _, conf, right, _ in decisions if conf >= 0.8]
    return (
        f"off screen ({off} heard): {c.get('off right', 0)} right by voice "
        f"({c.get('off right', 0) / max(1, off):.1%}), {c.get('off partly', 0)} partly, "
        f"{listener} to the listener ({listener / max(1, off):.1%}; "
        f"{c.get('off listener voice', 0)} by voice), {c.get('off wrong lips', 0)} + "
        f"{c.get('off wrong voice', 0)} other wrong (lips + voice), "
        f"{c.get('off none', 0)} null; on screen: {c.get('on lips right', 0)} -> "
        f"{c.get('on after right', 0)} right, {c.get('on lips wrong', 0)} -> "
        f"{c.get('on after wrong', 0)} wrong, filled {c.get('on filled right', 0)} right / "
        f"{c.get('on filled wrong', 0)} wrong; the lips' lines given to another voice: "
        f"{_overruled(c)}; voice lines {sum(r for *_, r, _ in decisions)}"
        f"/{len(decisions)} right, at confidence >= 0.8: {sum(sure)}/{len(sure)}"
    )


def _overruled(c: dict[str, int]) -> str:
    """The lips' lines voice gave to another character: wrong to right, right to wrong,
    wrong to wrong, on and off screen together."""
    return "/".join(
        str(c.get(f"on overruled {k}", 0) + c.get(f"off overruled {k}", 0))
        for k in ("wrong to right", "right to wrong", "wrong to wrong")
    )


def objective(tally, decisions) -> float:
    """What a setting is chosen by on the tuning films: voice lines right, less five times
    those wrong (a wrong name costs more than a line left null)."""
    right = sum(r for *_, r, _ in decisions)
    return right - 5 * (len(decisions) - right)


def candidates(prepared: list[Film], options: VoiceOptions):
    """Every line the lips left null, long enough, against its nearest profile, whatever
    ``min_similarity`` and ``min_margin`` say: (margin, confidence, right, shot). What the
    calibration is fitted on: the lines that pass the thresholds alone were all right on
    the tuning films, from which no logistic can be fitted. With ``recheck_below``, also
    the lips' unsure lines whose nearest profile (leaving the line out) is another
    character's: the ones voice would take from the lips."""
    out = []
    for film in prepared:
        profiles = build_profiles(film.lines, film.embed, options)
        if not profiles.vectors:
            continue
        for index, line in enumerate(film.lines):
            if (line.speaker is not None and not heard_again(line, options)) or (
                line.end - line.start < options.min_seconds
            ):
                continue
            vector, turn = film.embed(line), _turn_of(line, film.turns)
            exclude = silent_on_screen(film.faces, line.start, line.end, 0.0)
            heard = profiles if line.speaker is None else profiles.leaving_out(index)
            if heard is None or vector is None:
                continue
            found = heard.nearest(vector, options, exclude)
            if found is None or turn is None or found[0] == line.speaker:
                continue
            character, _, margin = found
            right = film.names.get(character) == turn.speaker
            out.append((margin, voice_confidence(margin), right, turn.shot))
    return out


def platt(decisions) -> tuple[float, float]:
    """Logistic fit of right against margin (Newton's method, a small ridge)."""
    x = np.array([m for m, *_ in decisions], float)
    y = np.array([r for _, _, r, _ in decisions], float)
    w = np.zeros(2)
    design = np.stack([x, np.ones_like(x)], axis=1)
    for _ in range(100):
        p = 1 / (1 + np.exp(-design @ w))
        gradient = design.T @ (p - y) + 1e-3 * w
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + 1e-3 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return float(w[0]), float(w[1])


def reliability(decisions, a: float, b: float) -> str:
    """Right decisions per band of the confidence that (a, b) would give, those at 0.8 or
    more, and the Brier score (mean squared gap between confidence and right)."""
    confidence = [1 / (1 + math.exp(-(a * m + b))) for m, *_ in decisions]
    right = [r for _, _, r, _ in decisions]
    cells = []
    for low, high in ((0.0, 0.5), (0.5, 0.8), (0.8, 0.9), (0.9, 1.01), (0.8, 1.01)):
        inside = [r for c, r in zip(confidence, right, strict=True) if low <= c < high]
        label = f">= {low}" if (low, high) == (0.8, 1.01) else f"{low}-{min(high, 1.0)}"
        cells.append(f"{label}: {sum(inside)}/{len(inside)}")
    brier = np.mean([(c - r) ** 2 for c, r in zip(confidence, right, strict=True)])
    return ", ".join(cells) + f"; Brier {brier:.3f}"


GRID = {
    "min_similarity": (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7),
    "min_margin": (0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2),
    "profile_confidence": (0.5, 0.6, 0.7, 0.8, 0.9),
}


def sweep(prepared: list[Film], top: int = 25):
    """Every setting of GRID (``recheck_below`` at its default) on ``prepared``, best first
    by objective(); among equals, the more cautious (the larger margin, then the larger
    cosine), then the lips' confidence nearest the one before the tuning."""
    rows = []
    default = BEFORE.profile_confidence
    for similarity in GRID["min_similarity"]:
        for margin in GRID["min_margin"]:
            for sure in GRID["profile_confidence"]:
                options = VoiceOptions(
                    min_similarity=similarity, min_margin=margin, profile_confidence=sure
                )
                tally, decisions = evaluate(prepared, options)
                value = objective(tally, decisions)
                rows.append(
                    ((value, margin, similarity, -abs(sure - default)), options, tally, decisions)
                )
    rows.sort(key=lambda r: r[0], reverse=True)
    print(
        "| min cosine | min margin | lips sure at | score | voice lines right | wrong "
        "| off screen right | to listener | null | on-screen filled right | wrong |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for key, o, tally, decisions in rows[:top]:
        right = sum(r for *_, r, _ in decisions)
        c = totals(tally)
        listener = c.get("off listener lips", 0) + c.get("off listener voice", 0)
        print(
            f"| {o.min_similarity} | {o.min_margin} | {o.profile_confidence} | {key[0]} | "
            f"{right} | {len(decisions) - right} | {c.get('off right', 0)} | {listener} | "
            f"{c.get('off none', 0)} | {c.get('on filled right', 0)} | "
            f"{c.get('on filled wrong', 0)} |"
        )
    return rows


RECHECK = (None, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0)


def sweep_recheck(prepared: list[Film]):
    """``recheck_below`` over RECHECK on ``prepared``, the other constants at their tuned
    defaults; the same objective, ties to the more cautious (the lower threshold)."""
    print(
        "| re-check the lips under | score | voice lines right | wrong | off screen right "
        "| to listener | null | lips' lines to another: wrong->right / right->wrong / "
        "wrong->wrong |"
    )
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for below in RECHECK:
        options = dataclasses.replace(VoiceOptions(), recheck_below=below)
        tally, decisions = evaluate(prepared, options)
        right = sum(r for *_, r, _ in decisions)
        c = totals(tally)
        listener = c.get("off listener lips", 0) + c.get("off listener voice", 0)
        rows.append((objective(tally, decisions), -(below or 0), below))
        print(
            f"| {below} | {rows[-1][0]} | {right} | {len(decisions) - right} | "
            f"{c.get('off right', 0)} | {listener} | {c.get('off none', 0)} | {_overruled(c)} |"
        )
    best = max(rows)
    print(f"\nbest on this set: recheck_below = {best[2]} (score {best[0]})")
    return rows


def sweep_lips(group: str, cache: Path, values=(0.1, 0.15, 0.2, 0.25)) -> None:
    """The lips' ``min_sync`` with voice after them (the defaults): a lower floor gives the
    lips more lines, more of them wrong, and voice may put those right. Scored as turns
    right less twice those wrong or to the listener, on screen and off."""
    print(
        "| min_sync | evidence | score | on-screen right | wrong | off-screen right | to listener |"
    )
    print("|---|---|---|---|---|---|---|")
    for floor in values:
        c: Counter = Counter()
        for film in prepare(group, cache, AttributionOptions(min_sync=floor)):
            for label, out in (
                ("lips", film.lines),
                ("lips + voice", give_by_voice(film.lines, film.faces, film.embed, VoiceOptions())),
            ):
                for v in films.judge(out, film.turns, film.names):
                    c[label, v["turn"].on_screen, v["verdict"]] += 1
        for label in ("lips", "lips + voice"):
            wrong = c[label, True, "wrong"] + c[label, False, "wrong"]
            listener = c[label, False, "listener"]
            right = c[label, True, "right"] + c[label, False, "right"]
            print(
                f"| {floor} | {label} | {right - 2 * (wrong + listener)} | "
                f"{c[label, True, 'right']} | {c[label, True, 'wrong']} | "
                f"{c[label, False, 'right']} | {listener} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=bench.CACHE)
    parser.add_argument("--sweep", action="store_true", help="sweep VoiceOptions on tune")
    parser.add_argument(
        "--sweep-recheck", action="store_true", help="sweep recheck_below alone on tune"
    )
    parser.add_argument("--recheck-below", type=float)
    parser.add_argument(
        "--sweep-lips", action="store_true", help="sweep the lips' min_sync, voice after, on tune"
    )
    parser.add_argument("--no-clean", action="store_true", help="profiles keep every sure line")
    parser.add_argument(
        "--any-voice", action="store_true", help="voice overrules the lips however sure they were"
    )
    parser.add_argument("--tune-only", action="store_true", help="the tuning films alone")
    parser.add_argument("--min-similarity", type=float)
    parser.add_argument("--min-margin", type=float)
    parser.add_argument("--profile-confidence", type=float)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    names = ("tune",) if args.tune_only else ("tune", "judge")
    groups = {g: prepare(g, args.cache) for g in names}
    for group, prepared in groups.items():
        print(f"{len(prepared)} films of group {group}")
    if args.sweep:
        sweep(groups["tune"])
    if args.sweep_recheck:
        sweep_recheck(groups["tune"])
    if args.sweep_lips:
        sweep_lips("tune", args.cache)
    chosen = {
        k: v
        for k, v in (
            ("min_similarity", args.min_similarity),
            ("min_margin", args.min_margin),
            ("profile_confidence", args.profile_confidence),
            ("recheck_below", args.recheck_below),
        )
        if v is not None
    }
    settings = {"before": BEFORE, "null lines only": NULL_ONLY, "default": VoiceOptions()}
    if args.no_clean:
        chosen["clean_profiles"] = False
    if args.any_voice:
        chosen["surer_than_lips"] = False
    if chosen:
        settings["chosen"] = dataclasses.replace(VoiceOptions(), **chosen)
    given = {}
    for label, options in settings.items():
        for group, prepared in groups.items():
            tally, decisions = evaluate(prepared, options)
            table(f"{group}, {label}: {options}", tally)
            print("\n" + summary(tally, decisions))
            given[(label, group)] = decisions
    a, b = VOICE_CALIBRATION
    print(f"\nright per band of confidence (VOICE_CALIBRATION = {a}, {b}):")
    for label in settings:
        for group in groups:
            print(f"  {label}, {group}, lines given: {reliability(given[(label, group)], a, b)}")
    for label, options in settings.items():
        pool = candidates(groups["tune"], options)
        a, b = platt(pool)
        wrong = sum(not r for _, _, r, _ in pool)
        print(
            f"\n{label}: Platt fit on tune's {len(pool)} null (and reheard) lines against "
            f"their nearest profile ({wrong} wrong): a = {a:.2f}, b = {b:.2f}"
        )
        for group in groups:
            every = reliability(candidates(groups[group], options), a, b)
            print(f"  {group}, every null line: {every}")
            print(f"  {group}, lines given: {reliability(given[(label, group)], a, b)}")


if __name__ == "__main__":
    main()
