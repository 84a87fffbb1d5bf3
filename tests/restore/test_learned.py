"""The learned-from-references step: reading the PAIRS folder and registering references.

(Training itself takes minutes on two cores; tests/bench/picture.py's notes say how it
did on the a-bomb clip's references.)
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from restore.errors import UsageError
from restore.learned import read_pairs, register


def test_pairs_from_the_table_or_from_names(media, tmp_path):
    pairs = read_pairs(media / "film" / "a-bomb_references")
    assert [(p.name, i) for p, i in pairs][:2] == [("0000874_out.png", 5), ("0000968_out.png", 99)]
    (tmp_path / "000012.png").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not a reference")
    assert read_pairs(tmp_path) == [(tmp_path / "000012.png", 12)]
    with pytest.raises(UsageError):
        read_pairs(tmp_path / "missing")


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
