"""Learned from references: a small model trained on the film's own frames paired with
better versions of them (hand-coloured stills, a telecine, a better print), then applied
to every frame.

The PAIRS folder (the contract): reference images named by the film frame they show
(``000123.png``), or any names plus ``pairs.tsv`` (reference file, frame index). The
degraded side is read from the film at those frames. A reference may differ in size and
framing: it is registered onto the film frame (OpenCV's ECC, an affine fit on luma) and
only the part it covers is learned from (a reference whose luma, registered, does not
match its frame is left out and the manifest says so).

What is learned is colour only. A small network (two hidden layers of 16) predicts the
chroma (Cr, Cb) of each pixel, at a quarter of the frame's size, from the frame's own luma
content: brightness and local contrast at three scales, edges, height in the frame. The
frame's luma (its grain and detail) is kept exactly as it is; only colour is added. It is
trained with mirrored frames, brightness jitter and weight decay, so that a handful of
references teach colours of *kinds* of content (sky, skin, scrub) rather than of these
frames, in well under a minute on the CPU (the same code on the GPU with
``device=cuda``), seeded so two runs give the same output.

The step runs first in the chain (the CLI puts it there), so it learns from the frames as
it sees them: the film as decoded. The classic steps then repair the coloured frames.
"""

from __future__ import annotations

import csv
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from restore.errors import MediaError, UsageError
from restore.media import iter_frames, open_source
from restore.picture import Picture, PictureStep, check
from restore.propagate import Carrier, Source, blend, shot_spans
from restore.shots import CutDetector

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LearnedOptions:
    pairs: str = ""
    """The folder of reference images (see the module's docstring)."""
    film: str = ""
    """The film the degraded side is read from (the CLI sets it to the input)."""
    fps: str = ""
    """Frame rate, when the film is an image sequence."""
    steps: int = 600
    """Training steps (batches of pixels)."""
    batch: int = 1024
    """Pixels (at a quarter of the frame's size) per training step."""
    hidden: int = 16
    """Width of the two hidden layers (few parameters: a few references are not learnt by rote)."""
    decay: float = 0.01
    """Weight decay (AdamW)."""
    jitter: float = 0.15
    """Brightness jitter of the luma features in training (share, either way)."""
    device: str = "auto"
    """auto (CUDA when there is one), cpu or cuda."""
    seed: int = 0
    min_agreement: float = 0.8
    """A reference whose luma, registered, correlates less than this with its film frame
    is left out (a wrong frame number, or a registration that failed)."""
    learn: str = "auto"
    """What to learn: chroma (colour for a monochrome film), detail (luma detail from a
    better source), both, or auto: chroma when the film's frames are grey and the
    references coloured; detail when the references are at least as large as the film's
    frames (about: 0.9 of the width) and the model, checked on a strip of the pairs it
    did not learn from, brings it closer to the references."""
    carry: bool = True
    """Carry each reference's own colours along its shot by optical flow, blended with the
    learned mapping by how well the flow matches (restore/propagate.py)."""
    carry_tolerance: float = 0.5
    """Levelled luma mismatch (in standard deviations) at which carried colour is no
    longer trusted."""
    detail_steps: int = 1000
    """Training steps of the detail model (batches of 16 crops of 48 px)."""
    detail_limit: float = 0.12
    """The most the detail model may change a pixel's luma (share of the full range)."""

    def __post_init__(self) -> None:
        check(10 <= self.steps <= 100_000, "learned", "steps must be 10 to 100000")
        check(64 <= self.batch <= 65_536, "learned", "batch must be 64 to 65536")
        check(4 <= self.hidden <= 256, "learned", "hidden must be 4 to 256")
        check(0 <= self.decay <= 1, "learned", "decay must be 0 to 1")
        check(0 <= self.jitter < 1, "learned", "jitter must be at least 0 and below 1")
        check(self.device in ("auto", "cpu", "cuda"), "learned", "device must be auto, cpu or cuda")
        check(
            self.learn in ("auto", "chroma", "detail", "both"),
            "learned",
            "learn must be auto, chroma, detail or both",
        )
        check(0 < self.carry_tolerance <= 5, "learned", "carry_tolerance must be above 0, to 5")
        check(10 <= self.detail_steps <= 100_000, "learned", "detail_steps must be 10 to 100000")
        check(0 < self.detail_limit <= 1, "learned", "detail_limit must be above 0, to 1")
        if self.pairs:
            read_pairs(Path(self.pairs))  # a bad folder is told before any frame is read


@dataclass(frozen=True, eq=False)
class Pair:
    index: int  # the film frame
    degraded: np.ndarray  # the film frame, RGB uint8
    reference: np.ndarray  # the reference, registered onto the film frame, RGB uint8
    valid: np.ndarray  # where the reference covers the frame (bool H x W)
    agreement: float  # correlation of the two lumas where covered, after registration
    shot: tuple[int, int] | None = None  # first and last frame of the reference's shot
    scale: float = 1.0  # the reference's width over the film frame's, before registration


def read_pairs(folder: Path) -> list[tuple[Path, int]]:
    """(reference image, film frame index) for each reference in the PAIRS folder."""
    if not folder.is_dir():
        raise UsageError(f"--learn-from {folder}: not a folder of reference images")
    table = folder / "pairs.tsv"
    pairs: list[tuple[Path, int]] = []
    if table.exists():
        with table.open(newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle, delimiter="\t"):
                if len(row) < 2 or not row[1].strip().isdigit():
                    continue  # the header, or a blank line
                pairs.append((folder / row[0].strip(), int(row[1])))
    else:
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"):
                digits = re.findall(r"\d+", path.stem)
                if digits:
                    pairs.append((path, int(digits[-1])))
    if not pairs:
        raise UsageError(
            f"--learn-from {folder}: no reference images named by frame number, and no pairs.tsv"
        )
    for path, _ in pairs:
        if not path.exists():
            raise UsageError(f"--learn-from {folder}: pairs.tsv names {path.name}, not there")
    return pairs


def register(reference: np.ndarray, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The reference warped onto the frame's geometry, and where it covers the frame."""
    height, width = frame.shape[:2]
    scaled = cv2.resize(reference, (width, height), interpolation=cv2.INTER_AREA)
    target = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    moving = cv2.cvtColor(scaled, cv2.COLOR_RGB2GRAY).astype(np.float32)
    matrix = _matched(target.astype(np.uint8), moving.astype(np.uint8))
    try:
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5)
        _, matrix = cv2.findTransformECC(
            target, moving, matrix, cv2.MOTION_AFFINE, criteria, None, 5
        )
    except cv2.error:
        log.warning("a reference could not be registered; used as scaled")
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    # cubic, so that a sharper reference keeps its detail through a sub-pixel shift
    warped = cv2.warpAffine(
        scaled, matrix, (width, height), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP
    )
    cover = cv2.warpAffine(np.ones((height, width), np.uint8), matrix, (width, height), flags=flags)
    return warped, cv2.erode(cover, np.ones((5, 5), np.uint8)) > 0


def _matched(frame: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """A first guess for ECC: frame -> reference coordinates from matched ORB features
    (identity when too few match)."""
    orb = cv2.ORB_create(1500)
    kf, df = orb.detectAndCompute(frame, None)
    kr, dr = orb.detectAndCompute(reference, None)
    if df is None or dr is None or len(kf) < 8 or len(kr) < 8:
        return np.eye(2, 3, dtype=np.float32)
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(df, dr)
    if len(matches) < 8:
        return np.eye(2, 3, dtype=np.float32)
    a = np.float32([kf[m.queryIdx].pt for m in matches])
    b = np.float32([kr[m.trainIdx].pt for m in matches])
    matrix, inliers = cv2.estimateAffinePartial2D(a, b, method=cv2.RANSAC)
    if matrix is None or inliers is None or inliers.sum() < 8:
        return np.eye(2, 3, dtype=np.float32)
    return matrix.astype(np.float32)


def load_pairs(options: LearnedOptions) -> list[Pair]:
    wanted = read_pairs(Path(options.pairs))
    if not options.film:
        raise UsageError("picture step learned: the film to learn from is not set")
    source = open_source(options.film, fps=options.fps or None)
    by_index = {index: path for path, index in wanted}
    frames: dict[int, np.ndarray] = {}
    cuts: list[int] = []
    detector, last = CutDetector(), 0
    for frame in iter_frames(source):
        if frame.index > max(by_index) and len(cuts) and cuts[-1] > max(by_index):
            break  # every reference's shot has ended: the rest of the film is not needed
        last = frame.index
        rgb = frame.rgb()
        if detector.push(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)):
            cuts.append(frame.index)
        if frame.index in by_index:
            frames[frame.index] = rgb
    spans = shot_spans(cuts, list(frames), last)
    pairs = []
    for index, path in sorted(by_index.items()):
        if index not in frames:
            raise UsageError(f"--learn-from: {path.name} names frame {index}, past the film's end")
        reference = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if reference is None:
            raise MediaError(path, "is not an image OpenCV can read")
        warped, valid = register(reference[..., ::-1].copy(), frames[index])
        fit = agreement(warped, frames[index], valid)
        scale = reference.shape[1] / frames[index].shape[1]
        pairs.append(Pair(index, frames[index], warped, valid, fit, spans[index], scale))
    return pairs


def trusted(pairs: list[Pair], options: LearnedOptions) -> list[Pair]:
    """The pairs whose registration can be trusted (the others are logged)."""
    kept = [p for p in pairs if p.agreement >= options.min_agreement]
    for pair in pairs:
        if pair.agreement < options.min_agreement:
            log.warning(
                "the reference for frame %d matches it with luma correlation %.2f only: "
                "not learned from (a wrong frame number, or another picture?)",
                pair.index,
                pair.agreement,
            )
    if not kept:
        raise UsageError(
            f"--learn-from {options.pairs}: no reference matches its film frame "
            f"(luma correlation below {options.min_agreement} after registration)"
        )
    return kept


def agreement(reference: np.ndarray, frame: np.ndarray, valid: np.ndarray) -> float:
    """How well a registered reference matches its film frame: correlation of the lumas."""
    if valid.sum() < 16:
        return 0.0
    a = cv2.cvtColor(reference, cv2.COLOR_RGB2GRAY)[valid].astype(np.float64)
    b = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)[valid].astype(np.float64)
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def lumas(pair: Pair) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the detail model learns from: the film's luma, the reference's (registered),
    and where the two can be trusted to show the same thing."""
    from restore.detail import confident

    film = cv2.cvtColor(pair.degraded, cv2.COLOR_RGB2GRAY)
    better = cv2.cvtColor(pair.reference, cv2.COLOR_RGB2GRAY)
    return film, better, confident(film, better, pair.valid)


_SCALE = 4
"""Chroma is predicted at a quarter of the frame's size (colour is smooth; the detail is
the film's luma, kept as it is)."""


def features(rgb: np.ndarray) -> np.ndarray:
    """Per-pixel content at a quarter of the frame's size, from luma only: brightness at
    three scales, local contrast at three scales, edges, and height in the frame."""
    luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    height, width = luma.shape
    small = cv2.resize(
        luma, (max(width // _SCALE, 1), max(height // _SCALE, 1)), interpolation=cv2.INTER_AREA
    )
    planes = [small]
    for sigma in (1, 3, 9):
        mean = cv2.GaussianBlur(small, (0, 0), sigma)
        spread = cv2.GaussianBlur(small * small, (0, 0), sigma) - mean * mean
        planes += [mean, np.sqrt(np.maximum(spread, 0))]
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1)
    planes.append(cv2.GaussianBlur(np.hypot(gx, gy), (0, 0), 2))
    rows = np.linspace(0, 1, small.shape[0], dtype=np.float32)[:, None]
    planes.append(np.broadcast_to(rows, small.shape))
    return np.stack(planes, axis=-1).astype(np.float32)


FEATURES = 9


def chroma(rgb: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The image's Cr, Cb (centred on 0, in [-0.5, 0.5]) at the features' size."""
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb).astype(np.float32) / 255 - 0.5
    return cv2.resize(ycc[..., 1:], (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def coloured(rgb: np.ndarray, crcb: np.ndarray) -> np.ndarray:
    """The frame with its own luma, untouched, and the given chroma (quarter size, upsampled
    smoothly)."""
    height, width = rgb.shape[:2]
    smooth = cv2.GaussianBlur(crcb, (0, 0), 1)
    full = cv2.resize(smooth, (width, height), interpolation=cv2.INTER_LINEAR)
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    ycc[..., 1:] = np.clip((full + 0.5) * 255 + 0.5, 0, 255).astype(np.uint8)
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)


def samples(pairs: list[Pair]) -> tuple[np.ndarray, np.ndarray]:
    """Training samples: features of each film frame (and its mirror image) and the
    reference's chroma, where the reference covers the frame."""
    xs, ys = [], []
    for pair in pairs:
        for flip in (False, True):
            degraded = pair.degraded[:, ::-1] if flip else pair.degraded
            reference = pair.reference[:, ::-1] if flip else pair.reference
            valid = pair.valid[:, ::-1] if flip else pair.valid
            f = features(np.ascontiguousarray(degraded))
            y = chroma(np.ascontiguousarray(reference), f.shape[:2])
            size = (f.shape[1], f.shape[0])
            covered = cv2.resize(valid.astype(np.float32), size, interpolation=cv2.INTER_AREA)
            keep = covered > 0.99
            xs.append(f[keep])
            ys.append(y[keep])
    return np.concatenate(xs), np.concatenate(ys)


def _network(torch, hidden: int):
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(FEATURES, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, 2),
    )


class Model:
    """A trained chroma predictor, ready to colour frames."""

    def __init__(self, options: LearnedOptions) -> None:
        import torch

        self.torch = torch
        self.device = self.pick_device(options.device)
        self.options = options
        torch.manual_seed(options.seed)
        self.net = _network(torch, options.hidden).to(self.device)
        self.loss = float("nan")

    @staticmethod
    def pick_device(device: str):
        import torch

        want_cuda = device in ("auto", "cuda") and torch.cuda.is_available()
        if device == "cuda" and not want_cuda:
            raise UsageError("picture step learned: --device cuda, but no CUDA device is seen")
        return torch.device("cuda" if want_cuda else "cpu")

    def train(self, pairs: list[Pair]) -> None:
        torch, o = self.torch, self.options
        rng = np.random.default_rng(o.seed)
        x_all, y_all = samples(pairs)
        if len(x_all) == 0:
            raise UsageError("--learn-from: no reference covers enough of its film frame")
        x_all = torch.from_numpy(x_all).to(self.device)
        y_all = torch.from_numpy(y_all).to(self.device)
        optimiser = torch.optim.AdamW(self.net.parameters(), lr=3e-3, weight_decay=o.decay)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, o.steps)
        self.net.train()
        losses = []
        for _ in range(o.steps):
            pick = torch.from_numpy(rng.integers(0, len(x_all), o.batch)).to(self.device)
            x = x_all[pick].clone()
            # exposure differs from shot to shot: jitter the brightness of the luma features
            gain = rng.uniform(1 - o.jitter, 1 + o.jitter, (o.batch, 1)).astype(np.float32)
            x[:, :-1] *= torch.from_numpy(gain).to(self.device)
            loss = torch.nn.functional.smooth_l1_loss(self.net(x), y_all[pick], beta=0.02)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(float(loss.detach()))
        self.loss = float(np.mean(losses[-max(len(losses) // 10, 1) :]))
        self.net.eval()

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        """The frame's chroma as the model sees it (Cr, Cb at a quarter of its size)."""
        torch = self.torch
        f = features(rgb)
        with torch.no_grad():
            x = torch.from_numpy(f.reshape(-1, FEATURES)).to(self.device)
            return self.net(x).cpu().numpy().reshape(*f.shape[:2], 2)

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        return coloured(rgb, self.predict(rgb))


def scores(image: np.ndarray, reference: np.ndarray, valid: np.ndarray) -> tuple[float, ...]:
    """PSNR (RGB), PSNR (luma), mean delta E (CIE76), mean chroma error: image vs reference."""

    def psnr(a: np.ndarray, b: np.ndarray) -> float:
        mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
        return 10 * np.log10(255**2 / max(mse, 1e-10))

    def luma(rgb: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[..., 0]

    def lab(rgb: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)

    a, b = lab(image)[valid], lab(reference)[valid]
    delta_e = float(np.sqrt(((a - b) ** 2).sum(-1)).mean())
    chroma = float(np.sqrt(((a[:, 1:] - b[:, 1:]) ** 2).sum(-1)).mean())
    return (
        psnr(image[valid], reference[valid]),
        psnr(luma(image)[valid], luma(reference)[valid]),
        delta_e,
        chroma,
    )


def colourfulness(rgb: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean distance of the pixels' chroma from grey (Cr, Cb in 8-bit levels)."""
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    distance = np.hypot(ycc[..., 1] - 128, ycc[..., 2] - 128)
    return float(distance[mask].mean() if mask is not None and mask.any() else distance.mean())


def luma_difference(pair: Pair) -> float:
    """Mean luma difference (8-bit levels) of a reference and its film frame, where the
    registration is sure: near 0 when the reference is the film's own picture, coloured."""
    film, better, sure = lumas(pair)
    if not sure.any():
        return 0.0
    return float(np.abs(film[sure].astype(np.float32) - better[sure]).mean())


def what_to_learn(pairs: list[Pair], learn: str) -> tuple[set[str], str]:
    """Chroma, detail or both, as asked, or (auto) as the references show; and why."""
    if learn != "auto":
        return ({"chroma", "detail"} if learn == "both" else {learn}), f"asked for ({learn})"
    film = max(colourfulness(p.degraded) for p in pairs)
    references = min(colourfulness(p.reference, p.valid) for p in pairs)
    scale = min(p.scale for p in pairs)
    wanted, why = set(), []
    if film < 3 and references > 6:
        wanted.add("chroma")
        why.append(
            f"the film is grey (chroma {film:.1f}) and the references coloured ({references:.1f})"
        )
    elif film >= 3:
        why.append(f"no colour: the film has its own (chroma {film:.1f})")
    else:
        why.append(f"no colour: the references are grey too (chroma {references:.1f})")
    if scale < 0.9:
        why.append(f"no detail: the references are smaller than the film's frames ({scale:.2f})")
    elif (difference := min(luma_difference(p) for p in pairs)) < 2:
        why.append(f"no detail: the references' luma is the film's ({difference:.1f} levels apart)")
    else:
        wanted.add("detail")
        why.append(
            f"the references are as large as the film's frames ({scale:.2f} of the width) and "
            f"their luma differs from it ({difference:.1f} levels)"
        )
    return wanted, "; ".join(why)


def model_size(rgb: np.ndarray) -> tuple[int, int]:
    """(height, width) of the chroma model's planes for a frame."""
    return max(rgb.shape[0] // _SCALE, 1), max(rgb.shape[1] // _SCALE, 1)


class Learned(PictureStep):
    name = "learned"
    Options = LearnedOptions

    def __init__(self, **settings: object) -> None:
        super().__init__(**settings)
        self._trained: dict[str, object] = {}
        self._carrier: Carrier | None = None

    def run(self, items: Iterator[Picture]) -> Iterator[Picture]:
        started = time.perf_counter()
        o = self.options
        loaded = load_pairs(o)
        pairs = trusted(loaded, o)
        learns, why = what_to_learn(pairs, o.learn)
        model = detail = None
        if "chroma" in learns:
            model = Model(o)
            model.train(pairs)
        self._trained = {
            "left_out": [
                {"frame": p.index, "registration_agreement": round(p.agreement, 4)}
                for p in loaded
                if p.agreement < o.min_agreement
            ],
            "pairs": [
                {
                    "frame": p.index,
                    "registration_agreement": round(p.agreement, 4),
                    "share_covered": round(float(p.valid.mean()), 4),
                    "shot": list(p.shot) if p.shot else None,
                }
                for p in pairs
            ],
        }
        if "detail" in learns:
            from restore.detail import DetailModel

            device = model.device if model else Model.pick_device(o.device)
            detail = DetailModel(device, o.detail_steps, limit=o.detail_limit, seed=o.seed)
            detail.train([lumas(p) for p in pairs])
            self._trained["detail_check"] = detail.validation
            if not detail.useful:
                why += "; detail not applied: on a strip of the pairs held back from learning, "
                why += "it did not bring the film closer to the references"
                log.warning("the references' detail did not improve the film: not applied")
                learns.discard("detail")
                detail = None
        if not learns:
            raise UsageError(f"--learn-from {o.pairs}: the references teach nothing here ({why})")
        if model is not None and o.carry:
            self._carrier = Carrier(
                [
                    Source(
                        p.index,
                        p.shot,
                        p.degraded,
                        chroma(p.reference, model_size(p.degraded)),
                        p.valid,
                    )
                    for p in pairs
                    if p.shot is not None
                ],
                tolerance=o.carry_tolerance,
            )
        self._trained.update(
            {
                "learns": sorted(learns),
                "why": why,
                "device": str(model.device if model else detail.device),
                "training_loss": round(model.loss, 6) if model else None,
                "training_seconds": round(time.perf_counter() - started, 1),
            }
        )
        log.info(
            "learned %s from %d reference pair(s) in %.0f s",
            " and ".join(sorted(learns)),
            len(pairs),
            time.perf_counter() - started,
        )
        for picture in items:
            out = picture.rgb
            if model is not None:
                crcb = model.predict(out)
                if self._carrier is not None:
                    size = (crcb.shape[1], crcb.shape[0])
                    crcb = blend(crcb, self._carrier.carry(picture.original.index, out, size))
                out = coloured(out, crcb)
            if detail is not None:
                out = detail.apply(out)
            yield self.changed(picture, out)

    def measures(self) -> dict:
        entry = dict(self._trained)
        if self._carrier is not None:
            carried = self._carrier.frames_carried
            entry["carried"] = {
                "frames": carried,
                "mean_weight": round(self._carrier.weight_sum / carried, 4) if carried else 0.0,
            }
        return entry
