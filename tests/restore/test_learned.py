"""The learned-from-references step: reading the PAIRS folder, registering references, and
learning colour from content (a generated film whose true colours are a known function of
its content; the real a-bomb clip's leave-one-out is measured by tests/bench/learned.py).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from restore.errors import UsageError
from restore.learned import LearnedOptions, Model, Pair, coloured, read_pairs, register
from sync.cli import main


def test_pairs_from_the_table_or_from_names(media, tmp_path):
    pairs = read_pairs(media / "film" / "a-bomb_references")
    assert [(p.name, i) for p, i in pairs][:2] == [("0000874_out.png", 5), ("0000968_out.png", 99)]
    (tmp_path / "000012.png").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not a reference")
    assert read_pairs(tmp_path) == [(tmp_path / "000012.png", 12)]
    with pytest.raises(UsageError):
        read_pairs(tmp_path / "missing")
    (tmp_path / "pairs.tsv").write_text("reference\tclip_frame_index\ngone.png\t3\n")
    with pytest.raises(UsageError, match="gone.png"):
        read_pairs(tmp_path)


def test_a_reference_of_another_size_and_framing_is_registered():
    rng = np.random.default_rng(3)
    noise = cv2.GaussianBlur(rng.random((240, 320)).astype(np.float32), (0, 0), 3)
    gray = cv2.normalize(noise, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    frame = np.stack([gray] * 3, axis=-1)
    # the reference: framed tighter (10 % cropped off each side), smaller, and coloured
    crop = frame[24:216, 32:288]
    reference = cv2.resize(crop, (200, 150), interpolation=cv2.INTER_AREA)
    reference = np.clip(reference * np.array([1.1, 0.9, 0.7]), 0, 255).astype(np.uint8)
    warped, valid = register(reference, frame)
    assert warped.shape == frame.shape and 0.5 < valid.mean() < 0.9

    def agreement(image, mask):
        a = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[mask].astype(float)
        return np.corrcoef(a, gray[mask].astype(float))[0, 1]

    naive = cv2.resize(reference, (320, 240))
    assert agreement(warped, valid) > 0.95 > agreement(naive, valid)


def _scene(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A monochrome frame and its true colouring: the colour is a known function of the
    content (bright, smooth areas are blue like a sky; dark, grainy ones orange like earth)."""
    rng = np.random.default_rng(seed)
    height, width = 96, 128
    blobs = cv2.GaussianBlur(rng.random((height, width)).astype(np.float32), (0, 0), 8)
    blobs = cv2.normalize(blobs, None, 0.15, 0.85, cv2.NORM_MINMAX)
    grain = rng.normal(0, 0.08, (height, width)).astype(np.float32) * (blobs < 0.5)
    luma = np.clip(blobs + grain, 0, 1)
    gray = np.stack([(luma * 255).astype(np.uint8)] * 3, axis=-1)
    bright = cv2.resize(blobs, (width // 4, height // 4), interpolation=cv2.INTER_AREA) - 0.5
    truth = coloured(gray, np.stack([-0.25 * bright, 0.25 * bright], axis=-1))
    return gray, truth


def _chroma_error(image: np.ndarray, truth: np.ndarray) -> float:
    a = cv2.cvtColor(image, cv2.COLOR_RGB2Lab).astype(float)[..., 1:]
    b = cv2.cvtColor(truth, cv2.COLOR_RGB2Lab).astype(float)[..., 1:]
    return float(np.sqrt(((a - b) ** 2).sum(-1)).mean())


def test_colour_is_learned_from_two_references_and_given_to_an_unseen_frame():
    options = LearnedOptions(steps=300, device="cpu")
    pairs = []
    for seed in (1, 2):
        gray, truth = _scene(seed)
        pairs.append(Pair(seed, gray, truth, np.ones(gray.shape[:2], bool), 1.0))
    model = Model(options)
    model.train(pairs)
    gray, truth = _scene(7)
    out = model.apply(gray)
    assert out.shape == gray.shape and out.dtype == np.uint8
    # the film's luma is kept: only colour is added
    luma = cv2.cvtColor(out, cv2.COLOR_RGB2YCrCb)[..., 0].astype(int)
    assert np.abs(luma - gray[..., 0]).max() <= 2
    # closer to the true colours than the grey frame, by far
    assert _chroma_error(out, truth) < 0.4 * _chroma_error(gray, truth)
    # seeded: a second training gives the same frame
    again = Model(options)
    again.train(pairs)
    assert np.array_equal(again.apply(gray), out)


def test_a_bad_pairs_folder_is_one_clear_line(tmp_path, clip, capsys):
    clip(tmp_path / "in.mkv", frames=5)
    out = tmp_path / "m.mkv"
    code = main(
        [
            "restore",
            str(tmp_path / "in.mkv"),
            "-o",
            str(out),
            "--learn-from",
            str(tmp_path / "none"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert "--learn-from" in err and not out.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (
        main(["restore", str(tmp_path / "in.mkv"), "-o", str(out), "--learn-from", str(empty)]) == 2
    )
    assert "no reference images" in capsys.readouterr().err


def test_the_step_learns_from_a_film_and_its_pairs_folder(tmp_path):
    """A monochrome image-sequence film, two of its frames coloured (one smaller, as a
    reference from another source often is), and a third under a wrong frame number:
    every frame comes out, in order, coloured; the wrong one is left out; the manifest
    says what was learned."""
    from restore.learned import Learned, load_pairs, trusted
    from restore.media import iter_frames, open_source

    film, refs = tmp_path / "film", tmp_path / "refs"
    film.mkdir()
    refs.mkdir()
    truths = {}
    for index in range(6):
        gray, truths[index] = _scene(10 + index)
        cv2.imwrite(str(film / f"{index:04d}.png"), gray[..., ::-1])
    cv2.imwrite(str(refs / "a.png"), truths[1][..., ::-1])
    small = cv2.resize(truths[3], (102, 77), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(refs / "b.png"), small[..., ::-1])
    # a third names the wrong frame: it shows frame 0, not 4
    cv2.imwrite(str(refs / "c.png"), truths[0][..., ::-1])
    (refs / "pairs.tsv").write_text("reference\tframe\na.png\t1\nb.png\t3\nc.png\t4\n")

    step = Learned(pairs=str(refs), film=str(film), fps="24", steps=200, device="cpu")
    out = list(step.process(iter_frames(open_source(film, fps="24"))))
    assert [frame.index for frame in out] == list(range(6))
    held_out = out[5].rgb()
    grey = np.stack([cv2.imread(str(film / "0005.png"), cv2.IMREAD_GRAYSCALE)] * 3, axis=-1)
    assert _chroma_error(held_out, truths[5]) < 0.5 * _chroma_error(grey, truths[5])
    report = step.report()
    assert [p["frame"] for p in report["pairs"]] == [1, 3]
    # (the smaller reference lost the grain, so it matches less closely)
    assert all(p["registration_agreement"] > 0.9 for p in report["pairs"])
    assert [p["frame"] for p in report["left_out"]] == [4]
    assert report["training_loss"] > 0 and report["training_seconds"] >= 0
    assert report["frames"] == 6
    loaded = load_pairs(LearnedOptions(pairs=str(refs), film=str(film), fps="24"))
    with pytest.raises(UsageError, match="no reference matches"):
        trusted([p for p in loaded if p.index == 4], LearnedOptions())


@pytest.mark.slow
def test_a_bomb_leave_one_out_colours_unseen_frames_closer(media):
    """The real test: each of the a-bomb clip's 4 hand-coloured references held out in
    turn, learned from the other 3. On the mean, the held-out frames' colour error drops
    and luma is untouched (one fold, a close-up unlike the others, gets worse: see
    docs/benchmarks.md, so no fold is asserted alone)."""
    from restore.learned import load_pairs, scores

    options = LearnedOptions(
        pairs=str(media / "film" / "a-bomb_references"),
        film=str(media / "film" / "a-bomb_blast_effects_part.mp4"),
        device="cpu",
    )
    pairs = load_pairs(options)
    assert len(pairs) == 4 and min(p.agreement for p in pairs) > 0.95
    before, after = [], []
    for held in pairs:
        model = Model(options)
        model.train([p for p in pairs if p is not held])
        before.append(scores(held.degraded, held.reference, held.valid))
        after.append(scores(model.apply(held.degraded), held.reference, held.valid))
    before, after = np.mean(before, axis=0), np.mean(after, axis=0)
    assert after[2] < before[2] - 1.5  # mean delta E, measured 16.6 -> 13.5
    assert after[0] > before[0] + 0.5  # PSNR, measured 20.9 -> 22.6 dB
    assert abs(after[1] - before[1]) < 0.1  # luma PSNR: the film's luma is kept
