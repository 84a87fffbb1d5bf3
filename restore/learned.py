"""Learned from references: a small model trained on the film's own frames paired with
better versions of them (hand-coloured stills, a telecine, a better print), then applied
to every frame.

The PAIRS folder (the contract): reference images named by the film frame they show
(``000123.png``), or any names plus ``pairs.tsv`` (reference file, frame index). The
degraded side is read from the film at those frames. A reference may differ in size and
framing: it is registered onto the film frame (OpenCV's ECC, an affine fit on luma) and
only the part it covers is learned from. The model is a small convolutional network
(about 15 pixels of context) that predicts a correction of the frame's colours and
detail; it trains on random crops of the pairs in a minute or so on the CPU (the GPU
when there is one) and is applied frame by frame.
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

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LearnedOptions:
    pairs: str = ""
    """The folder of reference images (see the module's docstring)."""
    film: str = ""
    """The film the degraded side is read from (the CLI sets it to the input)."""
    fps: str = ""
    """Frame rate, when the film is an image sequence."""
    steps: int = 400
    """Training steps (batches of crops)."""
    crop: int = 64
    """Side of the square training crops, in pixels."""
    device: str = "auto"
    """auto (CUDA when there is one), cpu or cuda."""
    seed: int = 0

    def __post_init__(self) -> None:
        check(10 <= self.steps <= 100_000, "learned", "steps must be 10 to 100000")
        check(16 <= self.crop <= 512, "learned", "crop must be 16 to 512 pixels")
        check(self.device in ("auto", "cpu", "cuda"), "learned", "device must be auto, cpu or cuda")


@dataclass(frozen=True)
class Pair:
    index: int  # the film frame
    degraded: np.ndarray  # the film frame, RGB uint8
    reference: np.ndarray  # the reference, registered onto the film frame, RGB uint8
    valid: np.ndarray  # where the reference covers the frame (bool H x W)


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
    warped = cv2.warpAffine(scaled, matrix, (width, height), flags=flags)
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
    for frame in iter_frames(source):
        if frame.index in by_index:
            frames[frame.index] = frame.rgb()
        if len(frames) == len(by_index):
            break
    pairs = []
    for index, path in sorted(by_index.items()):
        if index not in frames:
            raise UsageError(f"--learn-from: {path.name} names frame {index}, past the film's end")
        reference = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if reference is None:
            raise MediaError(path, "is not an image OpenCV can read")
        warped, valid = register(reference[..., ::-1].copy(), frames[index])
        pairs.append(Pair(index, frames[index], warped, valid))
    return pairs


def _network(torch):
    nn = torch.nn

    class Corrector(nn.Module):
        """Frame in, frame out: the frame plus a learned correction (colour and detail)."""

        def __init__(self, width: int = 24) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(3, width, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(width, width, 3, padding=2, dilation=2),
                nn.ReLU(),
                nn.Conv2d(width, width, 3, padding=4, dilation=4),
                nn.ReLU(),
                nn.Conv2d(width, 3, 1),
            )

        def forward(self, x):
            return x + self.body(x)

    return Corrector()


def _tensor(torch, rgb: np.ndarray, device):
    return torch.from_numpy(rgb).to(device).permute(2, 0, 1).float().unsqueeze(0) / 255.0


class Model:
    """A trained corrector, ready to apply to frames."""

    def __init__(self, options: LearnedOptions) -> None:
        import torch

        self.torch = torch
        want_cuda = options.device in ("auto", "cuda") and torch.cuda.is_available()
        if options.device == "cuda" and not want_cuda:
            raise UsageError("picture step learned: --device cuda, but no CUDA device is seen")
        self.device = torch.device("cuda" if want_cuda else "cpu")
        self.options = options
        self.net = _network(torch).to(self.device)
        self.loss = float("nan")

    def train(self, pairs: list[Pair]) -> None:
        torch, o = self.torch, self.options
        torch.manual_seed(o.seed)
        rng = np.random.default_rng(o.seed)
        crops = []
        for pair in pairs:
            height, width = pair.degraded.shape[:2]
            size = min(o.crop, height, width)
            crops.append((pair, size, height, width))
        optimiser = torch.optim.Adam(self.net.parameters(), lr=2e-3)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, o.steps)
        self.net.train()
        for _ in range(o.steps):
            xs, ys, ms = [], [], []
            for _ in range(8):
                pair, size, height, width = crops[int(rng.integers(len(crops)))]
                top, left = (
                    int(rng.integers(height - size + 1)),
                    int(rng.integers(width - size + 1)),
                )
                window = (slice(top, top + size), slice(left, left + size))
                flip = rng.random() < 0.5
                x, y, m = pair.degraded[window], pair.reference[window], pair.valid[window]
                if flip:
                    x, y, m = x[:, ::-1], y[:, ::-1], m[:, ::-1]
                xs.append(x)
                ys.append(y)
                ms.append(m)
            x = torch.from_numpy(np.stack(xs)).to(self.device).permute(0, 3, 1, 2).float() / 255
            y = torch.from_numpy(np.stack(ys)).to(self.device).permute(0, 3, 1, 2).float() / 255
            m = torch.from_numpy(np.stack(ms)).to(self.device).unsqueeze(1).float()
            loss = ((self.net(x) - y).abs() * m).sum() / (m.sum() * 3 + 1e-6)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            self.loss = float(loss.detach())
        self.net.eval()

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        torch = self.torch
        with torch.no_grad():
            out = self.net(_tensor(torch, rgb, self.device))[0].clamp(0, 1)
        return (out.permute(1, 2, 0).mul(255).add(0.5).byte().cpu().numpy()).copy()


class Learned(PictureStep):
    name = "learned"
    Options = LearnedOptions

    def __init__(self, **settings: object) -> None:
        super().__init__(**settings)
        self._trained: dict[str, object] = {}

    def run(self, items: Iterator[Picture]) -> Iterator[Picture]:
        started = time.perf_counter()
        pairs = load_pairs(self.options)
        model = Model(self.options)
        model.train(pairs)
        self._trained = {
            "pairs": [p.index for p in pairs],
            "device": str(model.device),
            "final_loss": round(model.loss, 5),
            "training_seconds": round(time.perf_counter() - started, 1),
        }
        log.info(
            "learned from %d reference pair(s) in %.0f s", len(pairs), time.perf_counter() - started
        )
        for picture in items:
            yield self.changed(picture, model.apply(picture.rgb))

    def measures(self) -> dict:
        return dict(self._trained)
