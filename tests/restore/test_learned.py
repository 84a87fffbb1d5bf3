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
