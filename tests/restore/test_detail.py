"""Detail from a better source (restore/detail.py): generated pictures whose better version
is known, the step deciding from the pairs what to learn, and real clean footage with a
worse print made of it (tests/prints.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from restore.detail import DetailModel, confident
from restore.learned import Learned, Pair, lumas, what_to_learn

_spec = importlib.util.spec_from_file_location(
    "reelscribe_tests_prints", Path(__file__).parents[1] / "prints.py"
)
prints = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(prints)


def _picture(seed: int, size: int = 96) -> np.ndarray:
    """A sharp grey picture: edges of random rectangles and fine stripes."""
    rng = np.random.default_rng(seed)
    image = np.full((size, size), 128, np.float32)
    for _ in range(14):
        y, x = rng.integers(0, size - 8, 2)
        h, w = rng.integers(6, 40, 2)
        image[y : y + h, x : x + w] = rng.uniform(30, 225)
    stripes = 20 * np.sin(np.arange(size) * rng.uniform(0.6, 1.2))[None, :]
    image[size // 2 :] += stripes
    return np.clip(image, 0, 255).astype(np.uint8)


def _worse(gray: np.ndarray, seed: int) -> np.ndarray:
    """The picture as a soft, slightly grainy print."""
    rng = np.random.default_rng(seed)
    soft = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 1.1)
    return np.clip(soft + rng.normal(0, 3, gray.shape), 0, 255).astype(np.uint8)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255**2 / np.mean((a.astype(float) - b.astype(float)) ** 2)))


def _sure(gray):
    return np.ones(gray.shape, bool)


def test_detail_is_learned_from_pairs_and_given_to_an_unseen_picture():
    import torch

    pairs = []
    for seed in (1, 2, 3):
        sharp = _picture(seed)
        pairs.append((_worse(sharp, seed), sharp, _sure(sharp)))
    model = DetailModel(torch.device("cpu"), steps=200, limit=0.12)
    model.train(pairs)
    assert model.useful
    v = model.validation
    assert v["held_back_l1_after"] < v["held_back_l1_before"]
    sharp = _picture(9)
    worse = _worse(sharp, 9)
    better = model.luma(worse)
    assert _psnr(better, sharp) > _psnr(worse, sharp) + 1.5
    # the residual is held to the limit, and colour passes through untouched
    assert np.abs(better.astype(int) - worse).max() <= 0.12 * 255 + 1
    rgb = cv2.cvtColor(np.stack([worse] * 3, -1), cv2.COLOR_RGB2YCrCb)
    rgb[..., 1] = 140
    rgb = cv2.cvtColor(rgb, cv2.COLOR_YCrCb2RGB)
    out = model.apply(rgb)
    chroma = cv2.cvtColor(out, cv2.COLOR_RGB2YCrCb)[..., 1:].astype(int)
    before = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[..., 1:].astype(int)
    assert np.percentile(np.abs(chroma - before), 99) <= 1  # (a few clip at white)
    # seeded: the same pairs give the same model
    once, again = (DetailModel(torch.device("cpu"), steps=20) for _ in range(2))
    once.train(pairs)
    again.train(pairs)
    assert np.array_equal(again.luma(worse), once.luma(worse))


def test_references_no_better_than_the_film_are_not_applied():
    """When the 'better' source is the film itself with fresh grain, there is nothing to
    learn: the check on the held-back strips says so."""
    import torch

    pairs = []
    for seed in (1, 2, 3):
        worse = _worse(_picture(seed), seed)
        noise = np.random.default_rng(50 + seed).normal(0, 3, worse.shape)
        pairs.append((worse, np.clip(worse + noise, 0, 255).astype(np.uint8), _sure(worse)))
    model = DetailModel(torch.device("cpu"), steps=60)
    model.train(pairs)
    assert not model.useful


def test_learning_only_where_the_registration_is_sure():
    sharp = _picture(4)
    worse = _worse(sharp, 4)
    other = sharp.copy()
    squares = (np.indices((40, 40)) // 8).sum(0) % 2
    other[:40, :40] = np.where(squares, 220, 40)  # a part the better source shows otherwise
    sure = confident(worse, other, np.ones(sharp.shape, bool))
    assert sure[60:, 60:].mean() > 0.9 and sure[5:35, 5:35].mean() < 0.3


def _pair(film: np.ndarray, reference: np.ndarray, scale: float = 1.0) -> Pair:
    return Pair(0, film, reference, np.ones(film.shape[:2], bool), 1.0, (0, 0), scale)


def test_the_pairs_decide_what_is_learned():
    sharp = np.stack([_picture(5)] * 3, -1)
    worse = np.stack([_worse(_picture(5), 5)] * 3, -1)
    tinted = cv2.cvtColor(sharp, cv2.COLOR_RGB2YCrCb)
    tinted[..., 1] = 160
    coloured = cv2.cvtColor(tinted, cv2.COLOR_YCrCb2RGB)  # the film's own luma, coloured
    assert what_to_learn([_pair(sharp, coloured)], "auto")[0] == {"chroma"}
    # grey like the film, but sharper: detail
    assert what_to_learn([_pair(worse, sharp)], "auto")[0] == {"detail"}
    # a smaller coloured still (as the a-bomb clip's are): colour only
    coloured_sharp = coloured
    assert what_to_learn([_pair(worse, coloured_sharp, 0.79)], "auto")[0] == {"chroma"}
    # coloured and sharper: both
    wanted, why = what_to_learn([_pair(worse, coloured_sharp)], "auto")
    assert wanted == {"chroma", "detail"} and "grey" in why
    # a colour film and a colour reference of the same luma: nothing to learn
    assert what_to_learn([_pair(coloured, coloured)], "auto")[0] == set()
    assert what_to_learn([_pair(coloured, coloured)], "detail")[0] == {"detail"}
    assert lumas(_pair(worse, sharp))[2].all()


def test_the_step_adds_detail_to_a_film_from_a_better_print(tmp_path):
    """A grey image-sequence film (a soft print) and two frames of it from a sharper
    source: the step learns detail only, and the film's other frames come out sharper."""
    from restore.media import iter_frames, open_source

    film, refs = tmp_path / "film", tmp_path / "refs"
    film.mkdir()
    refs.mkdir()
    sharp = {index: _picture(20 + index) for index in range(4)}
    for index, picture in sharp.items():
        cv2.imwrite(str(film / f"{index:04d}.png"), _worse(picture, index))
    for index in (0, 1):
        cv2.imwrite(str(refs / f"{index:06d}.png"), sharp[index])
    step = Learned(pairs=str(refs), film=str(film), fps="24", detail_steps=150, device="cpu")
    out = [f.rgb()[..., 0] for f in step.process(iter_frames(open_source(film, fps="24")))]
    report = step.report()
    assert report["learns"] == ["detail"] and "detail_check" in report
    for index in (2, 3):
        worse = cv2.imread(str(film / f"{index:04d}.png"), cv2.IMREAD_GRAYSCALE)
        assert _psnr(out[index], sharp[index]) > _psnr(worse, sharp[index]) + 1.0


@pytest.mark.slow
def test_real_footage_from_a_worse_print_gets_closer_to_the_clean_one(media):
    """Real clean footage (a talking-head clip) and a worse print of it: learned from 4
    frame pairs, held-out frames of the print come out closer to the clean frames than
    as is and than a plain unsharp mask (tests/bench/learned_detail.py measures it, with
    FFmpeg's unsharp)."""
    import torch

    from restore.learned import agreement, register

    clip = media / "faces" / "talking" / "face_1.mp4"
    clean = prints.clip_frames(clip, {0, 40, 80, 120, 60}, width=320)
    pairs = []
    for index in (0, 40, 80, 120):
        worse = prints.worse_print(clean[index], seed=index)
        warped, valid = register(clean[index], worse)
        pairs.append(Pair(index, worse, warped, valid, agreement(warped, worse, valid)))
    assert min(p.agreement for p in pairs) > 0.9
    model = DetailModel(torch.device("cpu"), steps=250)
    model.train([lumas(p) for p in pairs])
    assert model.useful
    worse = prints.worse_print(clean[60], seed=1060)
    out = model.apply(worse)
    truth = cv2.cvtColor(clean[60], cv2.COLOR_RGB2GRAY)

    def luma(rgb):
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)

    sharpened = cv2.addWeighted(worse, 2.0, cv2.GaussianBlur(worse, (5, 5), 0), -1.0, 0)
    assert _psnr(luma(out), truth) > _psnr(luma(worse), truth) + 2.0
    assert _psnr(luma(out), truth) > _psnr(luma(sharpened), truth) + 2.0


def test_references_that_teach_nothing_are_one_clear_line(tmp_path, clip, capsys):
    """A colour film, and a reference that is one of its own frames: no colour to add and
    no detail to learn; the command says so in one line, exit 2, and leaves no master."""
    from restore.media import iter_frames, open_source
    from sync.cli import main

    film = tmp_path / "in.mkv"
    clip(film, frames=6, size=(128, 96))
    refs = tmp_path / "refs"
    refs.mkdir()
    frame = next(f.rgb() for f in iter_frames(open_source(film)) if f.index == 2)
    cv2.imwrite(str(refs / "000002.png"), frame[..., ::-1])
    out = tmp_path / "m.mkv"
    code = main(["restore", str(film), "-o", str(out), "--learn-from", str(refs), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "Traceback" not in err
    assert len(err.splitlines()) == 1 and "teach nothing" in err and "no colour" in err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
