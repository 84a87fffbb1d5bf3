"""Each picture step on generated frames with the answer built in."""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from restore.colour import Colour
from restore.deflicker import Deflicker
from restore.denoise import Denoise
from restore.dust import Dust
from restore.errors import UsageError
from restore.media import Frame
from restore.scratch import Scratch
from restore.stabilise import Stabilise

H, W = 120, 160


def texture(seed: int = 0, size: tuple[int, int] = (H, W)) -> np.ndarray:
    """A smooth random picture (a scene with detail at several scales), RGB uint8."""
    rng = np.random.default_rng(seed)
    noise = rng.random((size[0], size[1])).astype(np.float32)
    fine = cv2.GaussianBlur(noise, (0, 0), 1.5)
    coarse = cv2.GaussianBlur(noise, (0, 0), 6)
    gray = (fine - fine.mean()) / fine.std() * 25 + (coarse - coarse.mean()) / coarse.std() * 30
    gray = np.clip(gray + 128, 0, 255).astype(np.uint8)
    return np.stack([gray] * 3, axis=-1)


def scene(count: int, step: int = 3) -> list[np.ndarray]:
    """A textured background with a dark square moving right ``step`` pixels a frame."""
    background = texture()
    frames = []
    for i in range(count):
        rgb = background.copy()
        x = 20 + step * i
        rgb[50:70, x : x + 20] = 30
        frames.append(rgb)
    return frames


def as_frames(arrays: list[np.ndarray]) -> list[Frame]:
    return [
        Frame(i, i, Fraction(1, 25), av.VideoFrame.from_ndarray(a, format="rgb24"))
        for i, a in enumerate(arrays)
    ]


def run(step, arrays: list[np.ndarray]) -> list[np.ndarray]:
    out = [f.rgb() for f in step.process(iter(as_frames(arrays)))]
    assert len(out) == len(arrays)  # never drop or add a frame
    return out


def test_dust_specks_removed_and_moving_object_untouched():
    clean = scene(9)
    dirty = [f.copy() for f in clean]
    rng = np.random.default_rng(1)
    specks = []
    for i in range(1, 8):  # the first and last frames have a neighbour on one side only
        for _ in range(3):
            y, x = int(rng.integers(5, H - 8)), int(rng.integers(5, W - 8))
            if 45 <= y <= 75:  # keep the specks off the square's row
                y += 35
            value = 0 if rng.random() < 0.5 else 255
            dirty[i][y : y + 3, x : x + 3] = value
            specks.append((i, y, x))
    step = Dust()
    out = run(step, dirty)
    left = [
        np.abs(out[i][y : y + 3, x : x + 3].astype(int) - clean[i][y : y + 3, x : x + 3]).max()
        for i, y, x in specks
    ]
    assert np.mean(np.array(left) < 12) >= 0.9, left
    for i in range(9):  # the moving square, and everything else not dirt, is left as it was
        x = 20 + 3 * i
        assert np.array_equal(out[i][48:72, x - 2 : x + 22], clean[i][48:72, x - 2 : x + 22])
    assert np.array_equal(out[8], dirty[8])
    report = step.report()
    assert report["specks_repaired"] >= 0.9 * len(specks)
    assert 0 < report["share_of_pixels_changed"] < 0.02


def test_dust_leaves_a_clean_film_alone():
    out = run(Dust(), scene(6))
    assert all(np.array_equal(a, b) for a, b in zip(out, scene(6), strict=True))


def test_scratch_found_and_filled_but_a_one_frame_line_is_not_a_scratch():
    clean = [texture(seed=2)] * 8
    scratched = []
    for i, rgb in enumerate(clean):
        rgb = rgb.copy()
        x = 70 + i // 3  # drifting slowly
        rgb[:, x : x + 2] = np.minimum(rgb[:, x : x + 2].astype(int) + 80, 255)
        scratched.append(rgb)
    step = Scratch()
    out = run(step, scratched)
    for i in range(8):
        x = 70 + i // 3
        before = np.abs(scratched[i][:, x : x + 2].astype(int) - clean[i][:, x : x + 2]).mean()
        after = np.abs(out[i][:, x : x + 2].astype(int) - clean[i][:, x : x + 2]).mean()
        assert after < before / 4
    assert step.report()["frames_with_scratches"] == 8
    once = [c.copy() for c in clean]
    once[4][:, 40:42] = 250
    out = run(Scratch(), once)
    assert np.array_equal(out[4], once[4])


def test_flicker_std_drops_and_a_cut_keeps_its_level():
    base, other = texture(3), np.clip(texture(4).astype(int) + 40, 0, 255).astype(np.uint8)
    gains = 1 + 0.15 * np.sin(np.arange(30) * 1.7)
    frames = [
        np.clip((base if i < 15 else other) * g, 0, 255).astype(np.uint8)
        for i, g in enumerate(gains)
    ]
    step = Deflicker()
    out = run(step, frames)
    before = np.std([f.mean() for f in frames[:15]])
    after = np.std([f.mean() for f in out[:15]])
    assert after < 0.25 * before
    # the second shot is brighter, and stays so
    assert np.mean([f.mean() for f in out[15:]]) - np.mean([f.mean() for f in out[:15]]) > 30
    report = step.report()
    assert report["shots"] == 2 and report["flicker_after"] < report["flicker_before"]


def test_denoise_removes_noise_and_strength_keeps_grain():
    clean = scene(7, step=2)
    rng = np.random.default_rng(5)
    noisy = [np.clip(c + rng.normal(0, 10, c.shape), 0, 255).astype(np.uint8) for c in clean]

    def error(out):
        return np.mean(
            [np.std(o.astype(float) - c) for o, c in zip(out[1:-1], clean[1:-1], strict=True)]
        )

    full, half = run(Denoise(strength=1.0), noisy), run(Denoise(strength=0.5), noisy)
    assert error(full) < 0.75 * error(noisy)
    assert error(full) < error(half) < error(noisy)  # archival keeps part of the grain


def _shift(rgb: np.ndarray, dx: float, dy: float) -> np.ndarray:
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(rgb, matrix, (rgb.shape[1], rgb.shape[0]), borderMode=cv2.BORDER_REFLECT)


def _moves(frames: list[np.ndarray]) -> np.ndarray:
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32)[20:-20, 20:-20] for f in frames]
    return np.array([cv2.phaseCorrelate(a, b)[0] for a, b in zip(gray, gray[1:], strict=False)])


def test_stabilise_removes_jitter_and_keeps_a_steady_pan():
    big = texture(6, size=(H + 80, W + 200))
    rng = np.random.default_rng(7)
    jitter = rng.uniform(-4, 4, size=(30, 2))
    frames = [
        np.ascontiguousarray(_shift(big, -2.0 * i + jx, jy)[40 : 40 + H, 20 : 20 + W])
        for i, (jx, jy) in enumerate(jitter)
    ]
    step = Stabilise()
    out = run(step, frames)
    assert all(o.shape == frames[0].shape for o in out)  # the size never changes
    before, after = _moves(frames), _moves(out)
    pan = np.array([-2.0, 0.0])
    assert np.median(after[5:-5], axis=0) == pytest.approx(pan, abs=0.5)  # the pan stays
    shake_before = np.sqrt(np.mean(np.sum((before - pan) ** 2, axis=1)))
    shake_after = np.sqrt(np.mean(np.sum((after[5:-5] - pan) ** 2, axis=1)))
    assert shake_after < 0.4 * shake_before
    assert step.report()["borders"].startswith("filled")


def test_stabilise_auto_leaves_a_steady_shot_alone():
    frames = [texture(8)] * 10
    step = Stabilise(mode="auto")
    out = run(step, frames)
    assert all(np.array_equal(a, b) for a, b in zip(out, frames, strict=True))
    assert step.report()["frames_changed"] == 0


def test_colour_cast_and_fading_corrected_grey_left_alone():
    grey = texture(9)
    faded = grey.astype(np.float32) * 0.5 + 70  # lifted blacks, dull whites
    faded = np.clip(faded * np.array([1.0, 0.75, 0.85]) + np.array([35, 0, 10]), 0, 255)
    frames = [faded.astype(np.uint8)] * 5
    step = Colour(mode="auto")
    out = run(step, frames)
    spread_before = np.ptp(frames[2].reshape(-1, 3).mean(axis=0))
    spread_after = np.ptp(out[2].reshape(-1, 3).mean(axis=0))
    assert spread_after < 0.3 * spread_before
    assert np.percentile(out[2], 99) - np.percentile(out[2], 1) > 1.4 * (
        np.percentile(frames[2], 99) - np.percentile(frames[2], 1)
    )
    assert step.report()["cast_measured"] > 0.05
    untouched = run(Colour(mode="auto"), [grey] * 5)  # full-range black and white
    assert all(np.array_equal(a, grey) for a in untouched)


def test_bad_settings_name_the_step():
    with pytest.raises(UsageError, match="dust"):
        Dust(threshold=-1)
    with pytest.raises(UsageError, match="stabilise"):
        Stabilise(borders="stretch")
