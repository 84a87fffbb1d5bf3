"""Who says each line on dialogues cut like films (tests/films.py), tuned on one group of
people and judged on another.

Every scene of a group (each pair of its people, a third for the wide shots; twelve
turns: side by side, shot/reverse-shot, a reaction shot with the listener moving their
mouth, one with the listener still, wide shots of three, small faces, faces turned away),
clean and aged, goes once through the Pipeline (``reelscribe run``'s defaults, no access
copy). What attribution reads is cached (faces with the active-speaker scores of every
model variant, the transcript, the speech sound), so variants are scored offline:

    PYTHONPATH=. python tests/bench/films.py build --group tune
    PYTHONPATH=. python tests/bench/films.py score [--group judge]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from local import tests_module  # noqa: E402  (tests/bench, the script's own folder)

films = tests_module("films")
CACHE = Path("/tmp/films-cache")

from faces.stage import FaceOptions  # noqa: E402
from sync.attribute import AttributionOptions, attribute, speech_envelope  # noqa: E402
from sync.pipeline import Pipeline, RunOptions  # noqa: E402

SHOTS = ("side", "shot", "reaction", "still", "wide", "small", "turned")


class _Capture:
    """Stands in for the model during the film pass: keeps what it is given (each track's
    crops and sound features), so that every variant is scored offline."""

    def __init__(self) -> None:
        self.inputs: list[tuple[np.ndarray, np.ndarray]] = []

    def score(self, crops, features, exact=False):
        self.inputs.append((crops.copy(), features[: 4 * len(crops)].copy()))
        return np.zeros(len(crops), np.float32)


class _BenchPipeline(Pipeline):
    """``reelscribe run``'s Pipeline, keeping what attribution reads."""

    def __init__(self) -> None:
        # The model runs (its inputs are what is kept), though the default runs none.
        super().__init__(RunOptions(access=None, voice=None, faces=FaceOptions(speaking="ava")))
        self.captured: dict = {}

    def _face_analyser(self, source):
        analyser = super()._face_analyser(source)
        capture = _Capture()
        analyser._speaking.model = capture
        original = analyser._speaking._score_piece
        inputs: dict[int, list] = {}

        def piece(track_id, pending, final):
            times = list(pending.times)
            original(track_id, pending, final)
            inputs.setdefault(track_id, []).append((times, *capture.inputs[-1]))

        analyser._speaking._score_piece = piece
        self.captured["inputs"] = inputs
        return analyser

    def _attribute(self, speech, faces, wav):
        import soundfile as sf

        self.captured.update(speech=speech, faces=faces, sound=sf.read(wav, dtype="float32")[0])
        self.captured["envelope"] = speech_envelope(wav)
        return super()._attribute(speech, faces, wav)


def names(group: str) -> list[str]:
    people = films.TUNE if group == "tune" else films.JUDGE
    return [
        f"{group}.{'+'.join(cast)}.{version}"
        for cast in films.scenes(people)
        for version in ("clean", "aged")
    ]


def build(group: str, cache: Path) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    for name in names(group):
        target = cache / f"{name}.pkl"
        if target.exists():
            continue
        _, cast, version = name.split(".")
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            film = Path(tmp) / "scene.mkv"
            turns = films.compose(film, tuple(cast.split("+")), aged=version == "aged")
            pipeline = _BenchPipeline()
            result = pipeline.run(film, Path(tmp) / "out")
        got = pipeline.captured
        faces = got["faces"]
        item = {
            "turns": turns,
            "speech": got["speech"],
            "faces": faces,
            "sound": got["sound"],
            "envelope": got["envelope"],
            "inputs": {t.id: got["inputs"].get(t.id) for t in faces.tracks},
            "timings": result.manifest["timings"],
            "duration": turns[-1].end + films.GAP_S,
        }
        partial = target.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(pickle.dumps(item))
        partial.rename(target)
        print(f"{name}: {time.perf_counter() - started:.0f} s", flush=True)


SHIFTS = (10, 15, 20, 25, -10, -15, -20, -25)  # frames: 0.4-1 s either way


def _embeddings(model, crops: np.ndarray, features: np.ndarray, shifts=()):
    """The model's fused front-end output (N, 128) for the sound as it is, and for the
    sound shifted by each of ``shifts`` frames (circularly, within the track)."""
    import torch

    net = model._net
    with torch.inference_mode():
        seen = net.forward_visual_frontend(torch.from_numpy(crops)[None].float())
        out = []
        for shift in (0, *shifts):
            heard = np.ascontiguousarray(np.roll(features, 4 * shift, axis=0))
            out.append((seen + net.forward_audio_frontend(torch.from_numpy(heard)[None]))[0])
    return out


def _backend(model, fused) -> np.ndarray:
    """The per-window GRU and score head over 1-6 s windows, averaged (faces/asd.py)."""
    import torch

    from faces.asd import DURATIONS

    net, total = model._net, torch.zeros(len(fused), dtype=torch.float64)
    with torch.inference_mode():
        for duration in DURATIONS:
            step = duration * 25
            full = len(fused) // step
            parts = []
            if full:
                windows = fused[: full * step].reshape(full, step, -1)
                parts.append(model._head(net.GRU(windows).reshape(-1, 128)))
            if full * step < len(fused):
                parts.append(model._head(net.GRU(fused[full * step :][None]).reshape(-1, 128)))
            total += torch.cat(parts).double()
    return (total / len(DURATIONS)).numpy()


_scored: dict[tuple, dict] = {}


def variant_scores(name: str, item: dict, weights: str, cache: Path) -> dict:
    """Per track: (own, shifted) per observation, own the model's score on the sound as it
    is and shifted the mean over SHIFTS (kept on disk per weights)."""
    import torch

    from faces.asd import load_model

    key = (name, weights)
    if key in _scored:
        return _scored[key]
    path = cache / f"{name}.scores.{weights}.pkl"
    if path.exists():
        _scored[key] = pickle.loads(path.read_bytes())
        return _scored[key]
    torch.set_num_threads(1)
    model = load_model(weights)
    out = {}
    for track_id, pieces in item["inputs"].items():
        if not pieces:
            continue
        assert len(pieces) == 1, "a track longer than one piece"
        times, crops, features = pieces[0]
        fused = _embeddings(model, crops, features, SHIFTS)
        own = _backend(model, fused[0])
        shifted = np.mean([_backend(model, f) for f in fused[1:]], axis=0)
        times = np.asarray(times)
        at = np.clip(np.round((times - times[0]) * 25).astype(int), 0, len(own) - 1)
        out[track_id] = (own[at], shifted[at])
    path.write_bytes(pickle.dumps(out))
    _scored[key] = out
    return out


VARIANTS = {
    # name: (weights, how own and shifted scores combine)
    "ava": ("ava", lambda own, shifted: own),
    "talkset": ("talkset", lambda own, shifted: own),
    "ava-contrast": ("ava", lambda own, shifted: own - shifted),
    "ava-halfcontrast": ("ava", lambda own, shifted: own - 0.5 * shifted),
}


def faces_with(name: str, item: dict, variant: str | None, cache: Path):
    """The cached faces with one variant's speaking scores (None: none, classical)."""
    if variant is None:
        tracks = tuple(dataclasses.replace(t, speaking=None) for t in item["faces"].tracks)
    else:
        weights, combine = VARIANTS[variant]
        scores = variant_scores(name, item, weights, cache)
        tracks = tuple(
            dataclasses.replace(
                t,
                speaking=tuple(float(v) for v in combine(*scores[t.id]))
                if t.id in scores
                else None,
            )
            for t in item["faces"].tracks
        )
    return dataclasses.replace(item["faces"], tracks=tracks)


def score(items: dict[str, dict], variant: str | None, options: AttributionOptions, cache: Path):
    """Verdicts per shot kind, and (confidence, right, shot) of every attributed line."""
    tally: dict[str, dict[str, int]] = {}
    lines_seen = []
    for name, item in items.items():
        faces = faces_with(name, item, variant, cache)
        evidence = "sync" if variant is None else "model"
        lines = attribute(
            item["speech"].segments,
            faces,
            item["envelope"],
            dataclasses.replace(options, evidence=evidence),
        )
        names_of = films.character_names(faces, item["turns"])
        for verdict in films.judge(lines, item["turns"], names_of):
            turn = verdict["turn"]
            kind = f"{turn.shot}.{'aged' if item['aged'] else 'clean'}"
            row = tally.setdefault(kind, {})
            row[verdict["verdict"]] = row.get(verdict["verdict"], 0) + 1
            for line in verdict["lines"]:
                if line.speaker is not None:
                    right = names_of.get(line.speaker) == turn.speaker
                    lines_seen.append((line.confidence, right, turn.shot))
    return tally, lines_seen


def load(group: str, cache: Path) -> dict[str, dict]:
    items = {}
    for name in names(group):
        path = cache / f"{name}.pkl"
        if path.exists():
            item = pickle.loads(path.read_bytes())
            item["aged"] = name.endswith(".aged")
            items[name] = item
    return items


def table(title: str, tally: dict[str, dict[str, int]]) -> None:
    print(f"\n#### {title}\n")
    print("| shot | turns | right | partly | none | listener | wrong | unheard |")
    print("|---|---|---|---|---|---|---|---|")
    for shot in SHOTS:
        for version in ("clean", "aged"):
            row = tally.get(f"{shot}.{version}")
            if not row:
                continue
            total = sum(row.values())
            cells = [row.get(k, 0) for k in ("right", "partly", "none", "listener", "wrong")]
            print(
                f"| {shot} {version} | {total} | "
                + " | ".join(str(c) for c in cells)
                + f" | {row.get('unheard', 0)} |"
            )


def counts(tally) -> dict[str, int]:
    """On-screen turns right / wrong / total; off-screen turns to the listener, left null,
    given by voice to their speaker / total (judge() calls a turn "listener" only when its
    speaker is off screen)."""
    out = {"right": 0, "wrong": 0, "on": 0, "listener": 0, "none": 0, "off": 0, "voice": 0}
    for kind, row in tally.items():
        heard = sum(v for k, v in row.items() if k != "unheard")
        if kind.split(".")[0] in ("reaction", "still"):
            out["off"] += heard
            out["listener"] += row.get("listener", 0)
            out["none"] += row.get("none", 0)
            out["voice"] += row.get("right", 0)
        else:
            out["on"] += heard
            out["right"] += row.get("right", 0)
            out["wrong"] += row.get("wrong", 0) + row.get("listener", 0)
    return out


def summary(tally) -> str:
    c = counts(tally)
    return (
        f"on screen {c['right']}/{c['on']} right ({c['right'] / max(1, c['on']):.1%}), "
        f"{c['wrong']} wrong; off screen: {c['listener']}/{c['off']} to the listener, "
        f"{c['none']} left null"
    )


def sweep(items, cache: Path, variants: list[str]) -> None:
    """Every combination of the model variant and the learned path's constants."""
    print("| variant | sync weight | floor | switch | on screen right | wrong | to listener |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for variant in variants:
        for weight in (0.0, 2.0, 4.0, 8.0):
            for floor in (-1.0, -0.5, 0.0, 0.5):
                for switch in (0.5, 1.0, 2.0):
                    options = AttributionOptions(
                        sync_weight=weight, speaking_floor=floor, speaking_switch=switch
                    )
                    c = counts(score(items, variant, options, cache)[0])
                    rows.append(
                        (
                            c["right"] - 2 * c["wrong"] - 2 * c["listener"],
                            variant,
                            weight,
                            floor,
                            switch,
                            c,
                        )
                    )
    rows.sort(key=lambda r: r[0], reverse=True)
    for _, variant, weight, floor, switch, c in rows[:25]:
        print(
            f"| {variant} | {weight} | {floor} | {switch} | {c['right']}/{c['on']} | "
            f"{c['wrong']} | {c['listener']}/{c['off']} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("build", "score", "sweep"))
    parser.add_argument("--group", choices=("tune", "judge"), default="tune")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--cache", type=Path, default=CACHE)
    args = parser.parse_args()
    if args.command == "build":
        build(args.group, args.cache)
        return
    items = load(args.group, args.cache)
    print(f"{len(items)} films of group {args.group}")
    if args.command == "sweep":
        sweep(items, args.cache, args.variants.split(","))
        return
    for variant in [None, *args.variants.split(",")]:
        tally, _ = score(items, variant, AttributionOptions(), args.cache)
        label = variant or "classical lip synchrony"
        table(label, tally)
        print("\n" + summary(tally))


if __name__ == "__main__":
    main()
