"""Faces: detection on every real clip, mouth signal, identity on composed clips, speed.

    .venv/bin/python tests/bench/faces.py

Prints markdown tables for docs/benchmarks.md.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
MEDIA = ROOT.parent / "shared" / "media"

from local import tests_module  # noqa: E402  (tests/bench, the script's own folder)

from faces.stage import FaceAnalyser, FaceOptions  # noqa: E402
from restore.media import iter_frames, open_source  # noqa: E402


def frames_of(path: Path, fps=None) -> list[np.ndarray]:
    return [f.rgb() for f in iter_frames(open_source(path, fps=fps))]


age = tests_module("conftest").age_frames  # the same ageing as the tests


def run(clips, detector="auto", fps=25.0):
    with FaceAnalyser(FaceOptions(detector=detector)) as analyser:
        t, started = 0.0, time.perf_counter()
        for frames in clips:
            for rgb in frames:
                analyser.analyse(rgb, t)
                t += 1 / fps
        elapsed = time.perf_counter() - started
        return analyser.result()[0], elapsed


def detection_table() -> None:
    clips = sorted((MEDIA / "faces").glob("*/*.m*")) + [
        MEDIA / "film" / "bofb_001",
        MEDIA / "film" / "bofb_003.mkv",
    ]
    print("\n### Faces found (frames with a face / frames; longest track's share)\n")
    print("| clip | size | frames | auto | mediapipe | mtcnn | longest track (auto) |")
    print("|---|---|---|---|---|---|---|")
    for clip in clips:
        fps = 24 if clip.is_dir() else None
        frames = frames_of(clip, fps)
        row = [
            str(clip.relative_to(MEDIA)),
            f"{frames[0].shape[1]}x{frames[0].shape[0]}",
            str(len(frames)),
        ]
        longest = 0
        for detector in ("auto", "mediapipe", "mtcnn"):
            result, _ = run([frames], detector, fps or 25.0)
            row.append(f"{result.frames_with_faces}/{result.frames_analysed}")
            if detector == "auto" and result.tracks:
                longest = max(len(t.times) for t in result.tracks)
        row.append(f"{longest / len(frames):.0%}")
        print("| " + " | ".join(row) + " |")


def mouth_table() -> None:
    from sklearn.metrics import roc_auc_score

    frames = frames_of(MEDIA / "faces" / "grid" / "id2_vcd_swwp2s.mpg")
    (track,) = run([frames])[0].tracks
    align = [
        line.split()
        for line in (MEDIA / "faces" / "grid" / "swwp2s.align").read_text().splitlines()
        if line.strip()
    ]
    words = [(int(a) / 25000, int(b) / 25000) for a, b, w in align if w != "sil"]
    speaking = [any(a <= t < b for a, b in words) for t in track.times]
    print("\n### Mouth signal on GRID id2_vcd_swwp2s (AUC, speech frames vs silence frames)\n")
    print("| signal | AUC |")
    print("|---|---|")
    signals = {
        "inner-lip opening": np.nan_to_num(np.array(track.mouth)),
        "jawOpen blendshape": np.nan_to_num(np.array(track.jaw)),
        "opening change, frame to frame": track.mouth_motion(),
        "mouth activity (change averaged over 0.2 s; used)": track.mouth_activity(),
    }
    for name, signal in signals.items():
        print(f"| {name} | {roc_auc_score(speaking, signal):.3f} |")


def identity_table() -> None:
    grid = {
        n: frames_of(MEDIA / "faces" / "grid" / f"{n}.mpg")
        for n in ("bbaf2n", "lbax4n", "lrwp9a", "brbk7n", "lbbc2a")
    }
    compositions = {
        "A, B, A again, C (cuts)": (
            [grid["bbaf2n"][:50], grid["lbax4n"][:50], grid["bbaf2n"][25:], grid["lrwp9a"][:50]],
            ["A", "B", "A", "C"],
        ),
        "two side by side": (
            [
                [
                    np.concatenate([x, y], axis=1)
                    for x, y in zip(grid["lbax4n"], grid["brbk7n"], strict=True)
                ]
            ],
            None,
        ),
        "five people, one after another": ([grid[n][:40] for n in grid], list("ABCDE")),
    }
    print(
        "\n### Identity on composed real clips (purity: tracks whose character holds only "
        "their person)\n"
    )
    print("| composition | version | people | characters | purity | split people |")
    print("|---|---|---|---|---|---|")
    for name, (shots, people) in compositions.items():
        for version in ("clean", "aged"):
            clips = shots if version == "clean" else [age(s, i) for i, s in enumerate(shots)]
            result, _ = run(clips)
            tracks = sorted(result.tracks, key=lambda t: t.start)
            if people is None:  # side by side: the person is the side of the frame
                labels = ["L" if t.boxes[0][0] < 360 else "R" for t in tracks]
            else:
                bounds = np.cumsum([len(s) / 25 for s in shots])
                labels = [
                    people[int(np.searchsorted(bounds, t.start, side="right"))] for t in tracks
                ]
            by_char: dict[str, set] = {}
            by_person: dict[str, set] = {}
            for track, person in zip(tracks, labels, strict=True):
                by_char.setdefault(track.character, set()).add(person)
                by_person.setdefault(person, set()).add(track.character)
            pure = sum(len(by_char[t.character]) == 1 for t in tracks) / max(1, len(tracks))
            split = sum(len(c) > 1 for c in by_person.values())
            print(
                f"| {name} | {version} | {len(by_person)} | {len(result.characters)} | "
                f"{pure:.0%} | {split} |"
            )


def speed_table() -> None:
    frames = frames_of(MEDIA / "faces" / "talking" / "face_2.mp4")  # 844x844, scaled to 640
    print("\n### Speed at 640 px (face_2.mp4, 844x844 scaled to 640; 125 frames)\n")
    print("| detector | frames analysed per s | film seconds per s at 25 fps analysis |")
    print("|---|---|---|")
    for detector in ("auto", "mediapipe", "mtcnn"):
        run([frames[:10]], detector)  # models loaded outside the timing
        _, elapsed = run([frames], detector)
        fps = len(frames) / elapsed
        print(f"| {detector} | {fps:.1f} | {fps / 25:.2f}x |")


def main() -> None:
    print(
        f"## {time.strftime('%Y-%m-%d')} · {platform.machine()}, {os.cpu_count()} cores · "
        "tests/bench/faces.py"
    )
    detection_table()
    mouth_table()
    identity_table()
    speed_table()


if __name__ == "__main__":
    main()
