"""Light-ASD (faces/asd.py): its input contract checked against the authors' own rules
(Columbia_test.py's crop_video and evaluate_network, written out here as references), and
its scores on real talking faces whose answer is known: the visible face is the speaker.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from faces import asd
from restore.errors import ModelNotFound

MEDIA = Path(__file__).resolve().parents[2].parent / "shared" / "media"
ROOT = Path(__file__).resolve().parents[2]


# -- references: the authors' code, as they wrote it (numpy/cv2 parts) -----------------------
def reference_crop(grey: np.ndarray, box, scale: float = 1.0) -> np.ndarray:
    """crop_video on an (x, y, w, h) box, then evaluate_network's resize and centre cut."""
    x, y, w, h = box
    det = (x, y, x + w, y + h)  # S3FD's x1, y1, x2, y2
    cs = 0.40
    bs = max((det[3] - det[1]), (det[2] - det[0])) / 2 * scale
    my0, mx0 = (det[1] + det[3]) / 2, (det[0] + det[2]) / 2
    bsi = int(bs * (1 + 2 * cs))
    frame = np.pad(grey, ((bsi, bsi), (bsi, bsi)), "constant", constant_values=(110, 110))
    my, mx = my0 + bsi, mx0 + bsi
    face = frame[
        int(my - bs) : int(my + bs * (1 + 2 * cs)),
        int(mx - bs * (1 + cs)) : int(mx + bs * (1 + cs)),
    ]
    face = cv2.resize(face, (224, 224))
    face = cv2.resize(face, (224, 224))
    return face[
        int(112 - (112 / 2)) : int(112 + (112 / 2)), int(112 - (112 / 2)) : int(112 + (112 / 2))
    ]


def reference_scores(model: asd.ActiveSpeakerModel, audio: np.ndarray, video: np.ndarray):
    """evaluate_network's loop, one window at a time, unrounded."""
    import torch

    length = min((audio.shape[0] - audio.shape[0] % 4) / 100, video.shape[0] / 25)
    audio = audio[: int(round(length * 100)), :]
    video = video[: int(round(length * 25)), :, :]
    every = []
    for duration in {1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6}:  # noqa: B033 (the authors' literal)
        scores = []
        with torch.no_grad():
            for i in range(int(math.ceil(length / duration))):
                a = torch.FloatTensor(audio[i * duration * 100 : (i + 1) * duration * 100, :])
                v = torch.FloatTensor(video[i * duration * 25 : (i + 1) * duration * 25, :, :])
                out = model._net(a.unsqueeze(0), v.unsqueeze(0))
                scores.extend(model._head(out).numpy())
        every.append(scores)
    return np.mean(np.array(every), axis=0)


# -- crops -------------------------------------------------------------------------------------
def test_import_does_not_load_torch():
    code = "import sys, faces.asd; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_face_crop_shows_the_lower_face_where_light_asd_looks():
    # box (100, 50, 40, 40): half-size 20, centre (120, 70); the crop is the square
    # x 106..134, y 64..92 of the frame (0.7 half-sizes around a point 0.4 below centre)
    grey = np.zeros((200, 300), np.uint8)
    grey[74:82, 116:124] = 255  # 8 px at the crop's centre: 32 px there
    crop = asd.face_crop(grey, (100, 50, 40, 40))
    assert crop.shape == (112, 112) and crop.dtype == np.uint8
    assert (crop[44:68, 44:68] == 255).all()
    mask = np.ones_like(crop, bool)
    mask[36:76, 36:76] = False
    assert (crop[mask] == 0).all()
    bright = np.argwhere(crop > 127)
    assert np.allclose(bright.mean(axis=0), (55.5, 55.5), atol=1.0)


def test_face_crop_pads_with_grey_110_past_the_frame():
    grey = np.full((100, 100), 255, np.uint8)
    # centred on the frame's corner: the crop's left half and top rows lie outside it
    crop = asd.face_crop(grey, (-20, -20, 40, 40))
    assert (crop[:20, :] == 110).all()
    assert (crop[:, :50] == 110).all()
    assert (crop[30:, 62:] == 255).all()
    # wholly outside: all padding
    assert (asd.face_crop(grey, (400, 400, 30, 30)) == 110).all()
    # nothing to crop
    assert (asd.face_crop(grey, (10, 10, 0, 0)) == 110).all()


@pytest.mark.parametrize(
    "box",
    [(100.3, 50.7, 40.2, 52.9), (0, 0, 60, 80), (250.5, 150.2, 70, 64), (-30, 170, 45, 40)],
)
@pytest.mark.parametrize("scale", [1.0, 0.8, 1.2])
def test_face_crop_equals_the_authors_padded_slice(box, scale):
    rng = np.random.default_rng(3)
    grey = rng.integers(0, 256, (200, 300), dtype=np.uint8)
    assert np.array_equal(asd.face_crop(grey, box, scale=scale), reference_crop(grey, box, scale))


def test_scale_scales_the_half_size_about_the_centre():
    rng = np.random.default_rng(4)
    grey = rng.integers(0, 256, (240, 320), dtype=np.uint8)
    a = asd.face_crop(grey, (120, 80, 60, 40), scale=0.5)
    b = asd.face_crop(grey, (135, 85, 30, 30))  # same centre (150, 100), half of max(w, h)
    assert np.array_equal(a, b)


# -- box smoothing ---------------------------------------------------------------------------
def test_smooth_boxes_is_crop_videos_median_filter():
    from scipy import signal

    rng = np.random.default_rng(5)
    n = 40
    boxes = np.stack(
        [
            100 + rng.normal(0, 2, n),
            50 + rng.normal(0, 2, n),
            60 + rng.normal(0, 3, n),
            70 + rng.normal(0, 3, n),
        ],
        axis=1,
    )
    boxes[20] = (300, 300, 10, 10)  # one wild detection
    out = asd.smooth_boxes(boxes)
    assert out.shape == (n, 4)
    half = signal.medfilt(np.maximum(boxes[:, 2], boxes[:, 3]) / 2, kernel_size=13)
    cx = signal.medfilt(boxes[:, 0] + boxes[:, 2] / 2, kernel_size=13)
    cy = signal.medfilt(boxes[:, 1] + boxes[:, 3] / 2, kernel_size=13)
    assert np.allclose(out, np.stack([cx - half, cy - half, 2 * half, 2 * half], axis=1))
    assert abs(out[20, 0] + out[20, 2] / 2 - 130) < 5  # the outlier is gone
    # a smoothed box crops as Light-ASD crops its smoothed centre and size
    grey = rng.integers(0, 256, (300, 400), dtype=np.uint8)
    assert np.array_equal(asd.face_crop(grey, out[20]), reference_crop(grey, out[20]))


def test_smooth_boxes_leaves_very_short_tracks_unfiltered():
    boxes = np.array([[10.0, 20, 30, 40], [12, 20, 30, 40]])
    out = asd.smooth_boxes(boxes)
    assert np.allclose(out, [[5, 20, 40, 40], [7, 20, 40, 40]])  # square, same centre
    assert asd.smooth_boxes(np.zeros((0, 4))).shape == (0, 4)


# -- sound -----------------------------------------------------------------------------------
def test_audio_features_are_python_speech_features_on_16_bit_samples():
    import python_speech_features

    rng = np.random.default_rng(6)
    t = np.arange(16000 * 2) / 16000
    sound = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    sound += rng.normal(0, 0.01, len(sound)).astype(np.float32)
    features = asd.audio_features(sound)
    pcm = np.clip(np.rint(sound * 32768.0), -32768, 32767).astype(np.int16)
    direct = python_speech_features.mfcc(pcm, 16000, numcep=13, winlen=0.025, winstep=0.010)
    assert features.dtype == np.float32 and features.shape == (199, 13)  # 1 + ceil((n - 400) / 160)
    assert np.allclose(features, direct, rtol=1e-5, atol=1e-4)


def test_audio_features_resample_other_rates():
    t = np.arange(44100 * 3) / 44100
    sound = (0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    features = asd.audio_features(sound, 44100)
    assert abs(len(features) - 300) <= 2  # 100 a second
    same = asd.audio_features(sound[::1], 44100)
    assert np.array_equal(features, same)
    at16 = asd.audio_features(
        (0.2 * np.sin(2 * np.pi * 300 * np.arange(48000) / 16000)).astype(np.float32)
    )
    assert np.allclose(features[5:-5].mean(axis=0), at16[5:-5].mean(axis=0), atol=0.1)
    with pytest.raises(ValueError, match="mono"):
        asd.audio_features(np.zeros((2, 100), np.float32))


# -- the model -------------------------------------------------------------------------------
def test_both_weight_files_load_strictly():
    for name, path in asd.WEIGHTS.items():
        assert path.is_file(), name
        model = asd.ActiveSpeakerModel(name)
        assert not model._net.training and not model._head.training
    assert asd.load_model("ava") is asd.load_model("ava")
    with pytest.raises(ModelNotFound, match="'ava', 'talkset'"):
        asd.ActiveSpeakerModel("/nowhere/lightasd.model")


def test_score_checks_its_inputs():
    model = asd.load_model("ava")
    with pytest.raises(ValueError, match="uint8 crops"):
        model.score(np.zeros((10, 64, 64), np.uint8), np.zeros((40, 13), np.float32))
    with pytest.raises(ValueError, match="at least 40 rows"):
        model.score(np.zeros((10, 112, 112), np.uint8), np.zeros((39, 13), np.float32))
    assert model.score(np.zeros((0, 112, 112), np.uint8), np.zeros((0, 13))).shape == (0,)


def test_batched_windows_equal_the_authors_window_loop(monkeypatch):
    # 7.2 s: every window length 1..6 s has full windows and a shorter last one
    rng = np.random.default_rng(7)
    n = 180
    base = rng.integers(60, 200, (1, 112, 112))
    crops = np.clip(base + rng.normal(0, 20, (n, 112, 112)), 0, 255).astype(np.uint8)
    features = rng.normal(0, 1, (4 * n + 3, 13)).astype(np.float32) * 5
    model = asd.load_model("ava")
    expected = reference_scores(model, features[: 4 * n], crops)
    got = model.score(crops, features, exact=True)
    assert got.shape == (n,) and got.dtype == np.float32
    assert np.abs(got - expected).max() < 1e-4
    monkeypatch.setattr(asd, "MAX_BATCH_FRAMES", 60)  # batches split inside one length
    assert np.abs(model.score(crops, features, exact=True) - expected).max() < 1e-4


def test_shared_front_ends_stay_close_to_the_authors_window_loop():
    """The default path runs the front ends once per track, not per window: only frames
    near a window's edge see other context (measured here: mean and largest difference)."""
    rng = np.random.default_rng(7)
    n = 180
    base = rng.integers(60, 200, (1, 112, 112))
    crops = np.clip(base + rng.normal(0, 20, (n, 112, 112)), 0, 255).astype(np.uint8)
    features = rng.normal(0, 1, (4 * n, 13)).astype(np.float32) * 5
    model = asd.load_model("ava")
    exact = model.score(crops, features, exact=True)
    shared = model.score(crops, features)
    assert shared.shape == exact.shape
    assert np.abs(shared - exact).mean() < 0.1
    assert np.abs(shared - exact).max() < 0.6


# -- real talking faces ----------------------------------------------------------------------
CLIPS = (
    "grid/bbaf2n.mpg",
    "grid/id2_vcd_swwp2s.mpg",
    "grid/lrwp9a.mpg",
    "talking/face_2.mp4",
    "talking/face_3.mp4",
)
# another clip's sound for each (a different person saying something else)
OTHER = {
    "grid/bbaf2n.mpg": "grid/lrwp9a.mpg",
    "grid/id2_vcd_swwp2s.mpg": "grid/bbaf2n.mpg",
    "grid/lrwp9a.mpg": "grid/id2_vcd_swwp2s.mpg",
    "talking/face_1.mp4": "talking/face_2.mp4",
    "talking/face_2.mp4": "talking/face_3.mp4",
    "talking/face_3.mp4": "talking/face_1.mp4",
}


def read_clip(path: Path):
    """The clip at 25 fps (nearest frame), grey, with the one face's box in every frame
    (MediaPipe; gaps filled linearly, as Light-ASD's tracker fills them) and its sound."""
    from faces.detect import MediaPipeFaces
    from restore.media import iter_audio, iter_frames, open_source

    source = open_source(path)
    frames = list(iter_frames(source))
    times = np.array([float(f.time) for f in frames])
    count = int(source.duration * 25 + 1e-6)
    pick = [int(np.argmin(np.abs(times - k / 25))) for k in range(count)]
    rgbs = [frames[i].rgb() for i in pick]
    detector = MediaPipeFaces(max_faces=1)
    try:
        found = [detector.detect(rgb, k / 25, 1.0) for k, rgb in enumerate(rgbs)]
    finally:
        detector.close()
    boxes = np.array([f[0].box if f else (np.nan,) * 4 for f in found], float)
    seen = ~np.isnan(boxes[:, 0])
    assert seen.mean() > 0.9, f"{path.name}: face found in {seen.mean():.0%} of frames"
    k = np.arange(count)
    boxes = np.stack([np.interp(k, k[seen], boxes[seen, j]) for j in range(4)], axis=1)
    blocks = list(iter_audio(source))
    assert blocks[0].start == 0
    sound = np.concatenate([b.samples for b in blocks], axis=1).mean(axis=0)
    grey = [cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) for rgb in rgbs]
    return grey, boxes, asd.audio_features(sound, blocks[0].rate)


@pytest.fixture(scope="module")
def clips():
    if not MEDIA.is_dir():
        pytest.fail(f"real test media not found at {MEDIA}")
    return {rel: read_clip(MEDIA / "faces" / rel) for rel in sorted(set(CLIPS) | set(OTHER))}


def crops_of(clip, scale: float = 1.0) -> np.ndarray:
    grey, boxes, features = clip
    n = min(len(grey), len(features) // 4)
    smooth = asd.smooth_boxes(boxes)
    return np.stack(
        [asd.face_crop(g, b, scale=scale) for g, b in zip(grey[:n], smooth[:n], strict=True)]
    )


def sound_for(features: np.ndarray, frames: int) -> np.ndarray:
    """4 rows a frame; a shorter sound is repeated."""
    reps = -(-4 * frames // len(features))
    return np.concatenate([features] * reps)[: 4 * frames]


@pytest.mark.slow
@pytest.mark.parametrize("rel", CLIPS)
def test_the_talking_face_scores_as_speaking(clips, rel):
    crops = crops_of(clips[rel])
    scores = asd.load_model("talkset").score(crops, clips[rel][2])
    assert scores.mean() > 0.5
    assert np.mean(scores > 0) > 0.8


@pytest.mark.slow
@pytest.mark.xfail(
    reason="measured 2026-12-07: with our MediaPipe boxes the model scores another clip's "
    "sound about as high as the face's own (bbaf2n 3.09 against 3.36, TalkSet weights): it "
    "reads a moving mouth, not synchrony; why is still open (docs/benchmarks.md, issue 15)",
    strict=False,
)
@pytest.mark.parametrize("rel", CLIPS)
def test_the_wrong_sound_lowers_the_score(clips, rel):
    crops = crops_of(clips[rel])
    n = len(crops)
    features = clips[rel][2][: 4 * n]
    model = asd.load_model("talkset")
    own = model.score(crops, features).mean()
    other = model.score(crops, sound_for(clips[OTHER[rel]][2], n)).mean()
    shifted = model.score(crops, np.roll(features, 100, axis=0)).mean()  # 1 s late
    reversed_ = model.score(crops, features[::-1].copy()).mean()
    for name, value in (("other clip", other), ("shifted 1 s", shifted), ("reversed", reversed_)):
        assert value < own - 1.0, f"{rel}: {name} {value:.2f} vs own sound {own:.2f}"


def grid_words(align: Path) -> list[tuple[float, float, str]]:
    out = []
    for line in align.read_text().split("\n"):
        if line.strip():
            start, end, word = line.split()
            out.append((int(start) / 25000, int(end) / 25000, word))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("weights", ["ava", "talkset"])
def test_grid_silences_score_below_the_words(clips, weights):
    rel = "grid/id2_vcd_swwp2s.mpg"
    crops = crops_of(clips[rel])
    scores = asd.load_model(weights).score(crops, clips[rel][2])
    times = (np.arange(len(scores)) + 0.5) / asd.VIDEO_RATE
    silent = np.zeros(len(scores), bool)
    for start, end, word in grid_words(MEDIA / "faces" / "grid" / "swwp2s.align"):
        if word == "sil":
            silent |= (times >= start) & (times < end)
    assert silent.sum() > 10 and (~silent).sum() > 30
    assert scores[silent].mean() < scores[~silent].mean() - 0.5


@pytest.mark.slow
@pytest.mark.parametrize("rel", CLIPS)
def test_the_score_needs_a_voice_and_a_moving_face(clips, rel):
    # What the model does read, measured on these clips (2026-12-07): take the voice away
    # (digital silence) or freeze the face on its first frame and the mean score falls by
    # 2.5 to 4.5 (AVA weights); TalkSet's weights barely hear silence (-0.7 to +1.1) but
    # fall by 4.4 or more on a still face. (A wrong voice is another matter:
    # test_the_wrong_sound_lowers_the_score.)
    crops = crops_of(clips[rel])
    n = len(crops)
    features = clips[rel][2][: 4 * n]
    silence = asd.audio_features(np.zeros(640 * n, np.float32))
    frozen = np.repeat(crops[:1], n, axis=0)
    ava, talkset = asd.load_model("ava"), asd.load_model("talkset")
    own = ava.score(crops, features).mean()
    assert ava.score(crops, sound_for(silence, n)).mean() < own - 1.5
    assert ava.score(frozen, features).mean() < own - 1.5
    own = talkset.score(crops, features).mean()
    assert talkset.score(frozen, features).mean() < own - 3.0
