"""Faces on real clips: found, followed, mouths read, and people told apart.

Composed material (two real clips side by side, or one after another) gives an
exact answer for who is who; "aged" versions of it (monochrome, grain, flicker,
dust) check that the answer holds on old-looking film.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faces.cast import read_cast
from faces.identity import cluster, distance, embed
from faces.shots import ShotDetector
from faces.stage import FaceAnalyser, FaceOptions
from faces.track import Tracker, iou
from faces.types import FaceObs
from restore.errors import UsageError
from restore.media import iter_frames, open_source

GRID = ("bbaf2n", "lbax4n", "lrwp9a", "brbk7n")


def frames_of(path: Path, fps=None) -> list[np.ndarray]:
    return [f.rgb() for f in iter_frames(open_source(path, fps=fps))]


def analyse(clips: list[list[np.ndarray]], options=None, fps=25.0):
    with FaceAnalyser(options or FaceOptions()) as analyser:
        t = 0.0
        for frames in clips:
            for rgb in frames:
                analyser.analyse(rgb, t)
                t += 1 / fps
        return analyser.result()[0]


@pytest.fixture(scope="module")
def grid(media):
    return {name: frames_of(media / "faces" / "grid" / f"{name}.mpg") for name in GRID}


@pytest.mark.slow
@pytest.mark.parametrize(
    "clip",
    [
        "grid/bbaf2n.mpg",
        "grid/id2_vcd_swwp2s.mpg",
        "talking/face_1.mp4",
        "talking/face_2.mp4",
        "talking/face_3.mp4",
    ],
)
def test_the_speaker_is_tracked_in_nearly_every_frame(media, clip):
    frames = frames_of(media / "faces" / clip)
    result = analyse([frames])
    assert len(result.characters) == 1
    longest = max(result.tracks, key=lambda t: len(t.times))
    assert len(longest.times) >= 0.95 * len(frames)


def test_old_film_face_is_found_in_every_frame(media):
    frames = frames_of(media / "film" / "bofb_001", fps=24)
    result = analyse([frames], fps=24)
    assert result.frames_with_faces == len(frames) == 24
    assert len(result.characters) == 1 and len(result.tracks) == 1  # grain and flicker: no cut


def test_mouth_moves_in_words_and_rests_in_silences(media):
    from sklearn.metrics import roc_auc_score

    frames = frames_of(media / "faces" / "grid" / "id2_vcd_swwp2s.mpg")
    (track,) = analyse([frames]).tracks
    align = [
        line.split()
        for line in (media / "faces" / "grid" / "swwp2s.align").read_text().splitlines()
        if line.strip()
    ]
    words = [(int(a) / 25000, int(b) / 25000) for a, b, w in align if w != "sil"]
    speaking = [any(a <= t < b for a, b in words) for t in track.times]
    assert 0 < sum(speaking) < len(speaking)
    assert roc_auc_score(speaking, track.mouth_activity()) >= 0.9


@pytest.mark.slow
@pytest.mark.parametrize("aged", [False, True], ids=["clean", "aged"])
def test_one_character_per_person_across_cuts(grid, aged, age):
    """Composed: A, B, A again (another shot of the same person), C."""
    a, b, c = grid["bbaf2n"], grid["lbax4n"], grid["lrwp9a"]
    shots = [a[:50], b[:50], a[25:], c[:50]]
    if aged:
        shots = [age(s, seed) for seed, s in enumerate(shots)]
    result = analyse(shots)
    assert len(result.shots) == 3  # the three cuts
    owners = [t.character for t in sorted(result.tracks, key=lambda t: t.start)]
    assert len(result.characters) == 3  # three people: none split, none merged
    assert owners[0] == owners[2] and len({owners[0], owners[1], owners[3]}) == 3


@pytest.mark.slow
@pytest.mark.parametrize("aged", [False, True], ids=["clean", "aged"])
def test_two_people_side_by_side_are_two_characters(grid, aged, age):
    left, right = grid["lbax4n"], grid["brbk7n"]
    frames = [np.concatenate([x, y], axis=1) for x, y in zip(left, right, strict=True)]
    if aged:
        frames = age(frames)
    result = analyse([frames])
    assert len(result.characters) == 2
    boxes = sorted(c.face_box[0] for c in result.characters)
    assert boxes[0] < 360 <= boxes[1]  # one on each side, in source pixels


def test_cast_names_the_matching_character(grid, tmp_path):
    import cv2

    photo = tmp_path / "cast" / "ann.png"
    photo.parent.mkdir()
    cv2.imwrite(str(photo), cv2.cvtColor(grid["bbaf2n"][70], cv2.COLOR_RGB2BGR))
    other = tmp_path / "cast" / "bob.png"
    cv2.imwrite(str(other), cv2.cvtColor(grid["lrwp9a"][70], cv2.COLOR_RGB2BGR))
    cast = tmp_path / "cast.toml"
    cast.write_text(
        '[[character]]\nname = "Ann"\nphotos = ["cast/ann.png"]\n\n'
        '[[character]]\nname = "Bob"\nphotos = ["cast/bob.png"]\n'
    )
    result = analyse([grid["lbax4n"][:40], grid["bbaf2n"][:40]], FaceOptions(cast=cast))
    names = {c.id: (c.name, c.named_by) for c in result.characters}
    assert names == {"S1": ("S1", "order"), "S2": ("Ann", "cast")}  # Bob never appears


def test_bad_cast_files_are_refused_with_a_reason(tmp_path):
    (tmp_path / "ok.jpg").write_bytes(b"x")
    cases = {
        "not toml [": "not valid TOML",
        '[[character]]\nphotos = ["ok.jpg"]\n': "has no name",
        '[[character]]\nname = "Ben"\nphotos = ["../../etc/passwd"]\n': "outside the cast",
        '[[character]]\nname = "Ben"\nphotos = ["missing.jpg"]\n': "does not exist",
        'title = "no characters"\n': "expected \\[\\[character\\]\\]",
    }
    for text, reason in cases.items():
        cast = tmp_path / "cast.toml"
        cast.write_text(text)
        with pytest.raises(UsageError, match=reason):
            read_cast(cast)


def test_embeddings_tell_people_apart(grid):
    def vector(name, index):
        frames = grid[name]
        with FaceAnalyser(FaceOptions()) as analyser:
            (obs,) = analyser.analyse(frames[index], 0.0)
        return embed(frames[index], obs.box)

    a1, a2, b = vector("bbaf2n", 10), vector("bbaf2n", 60), vector("lbax4n", 10)
    assert distance(a1, a2) < 0.45 < 0.6 < distance(a1, b)


def test_cluster_respects_people_seen_together():
    rng = np.random.default_rng(0)
    base = rng.normal(0, 0.1, 128)
    vectors = [base + rng.normal(0, 0.01, 128) for _ in range(3)]
    assert cluster(vectors, set()) == [0, 0, 0]
    assert cluster(vectors, {(0, 2)}) in ([0, 0, 1], [0, 1, 1])  # 0 and 2 cannot be one


def test_tracker_breaks_on_a_new_face_in_the_same_place():
    faces = {"a": np.zeros(128), "b": np.full(128, 0.2)}
    who = iter(["a", "a", "b", "b"])
    tracker = Tracker(embed=lambda obs: faces[next(who)], embed_every_s=0.0)
    box = (10.0, 10.0, 50.0, 60.0)
    for i in range(4):
        tracker.update(i * 0.04, [FaceObs(i * 0.04, box, 1.0)])
    tracks, _ = tracker.finish(min_obs=1)
    assert [len(t.times) for t in tracks] == [2, 2]


def test_tracker_follows_moving_boxes_and_splits_at_cuts():
    tracker = Tracker()
    for i in range(10):
        if i == 5:
            tracker.cut()
        tracker.update(i * 0.04, [FaceObs(i * 0.04, (10.0 + 2 * i, 20.0, 50.0, 60.0), 1.0)])
    tracks, _ = tracker.finish(min_obs=1)
    assert [len(t.times) for t in tracks] == [5, 5] and [t.shot for t in tracks] == [0, 1]
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(1 / 3)


def test_shot_detector_finds_cuts_not_flicker():
    rng = np.random.default_rng(1)
    scenes = [rng.integers(0, 255, (72, 96, 3), dtype=np.uint8) for _ in range(3)]
    detector = ShotDetector()
    cuts = []
    for i in range(75):
        scene = scenes[i // 25].astype(np.float32) * (1.0 + 0.2 * np.sin(i))  # strong flicker
        noisy = np.clip(scene + rng.normal(0, 8, scene.shape), 0, 255).astype(np.uint8)
        if detector.push(noisy) and i:
            cuts.append(i)
    assert cuts == [25, 50]


@pytest.mark.slow
@pytest.mark.parametrize("aged", [False, True], ids=["clean", "aged"])
def test_five_people_one_after_another_stay_five(grid, media, aged, age):
    extra = frames_of(media / "faces" / "grid" / "lbbc2a.mpg")
    shots = [grid[name][:40] for name in GRID] + [extra[:40]]
    if aged:
        shots = [age(s, seed) for seed, s in enumerate(shots)]
    result = analyse(shots)
    owners = [t.character for t in sorted(result.tracks, key=lambda t: t.start)]
    assert len(result.characters) == 5 and len(set(owners)) == 5 == len(owners)


@pytest.mark.slow
@pytest.mark.parametrize("aged", [False, True], ids=["clean", "aged"])
def test_the_same_person_in_two_places_is_one_character(grid, aged, age):
    """Composed: A on the left, B on the right, then A again on the right (another shot,
    another place in the frame). Three shots, two people."""

    def place(frames, side):
        blank = np.zeros_like(frames[0])
        return [np.concatenate([f, blank] if side == "L" else [blank, f], axis=1) for f in frames]

    shots = [
        place(grid["bbaf2n"][:45], "L"),
        place(grid["lbax4n"][:45], "R"),
        place(grid["bbaf2n"][30:], "R"),
    ]
    if aged:
        shots = [age(s, seed) for seed, s in enumerate(shots)]
    result = analyse(shots)
    owners = [t.character for t in sorted(result.tracks, key=lambda t: t.start)]
    assert len(result.characters) == 2 and owners[0] == owners[2] != owners[1]
