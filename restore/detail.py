"""Detail from a better source: a small convolutional network learns, from a few film
frames paired with the same frames from a better source (a sharper print, a telecine),
what the film's luma lacks, and adds it to every frame.

It predicts a residual (better minus film) from the film's luma around each pixel, so that
what the film already has passes through; the residual is held to ``limit`` either way so
that a frame unlike the references cannot be repainted. It learns only where the
registration of the better source is sure (the two lumas, smoothed and levelled for
flicker, agree there), and checks itself on a strip of each pair it did not train on: if
the residual does not bring that strip closer to the better source, nothing is applied
and the manifest says so. Chroma passes through untouched (colour is the chroma model's
business, ``restore/learned.py``).
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

log = logging.getLogger(__name__)

_CROP = 48


def confident(film: np.ndarray, better: np.ndarray, valid: np.ndarray, tolerance: float = 0.35):
    """Where a registered better source can be learned from: covered, and its luma at a
    coarse scale (levelled for flicker) within ``tolerance`` standard deviations of the
    film's. Both lumas as H x W uint8."""

    def levelled(gray):
        smooth = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 2.5)
        inside = smooth[valid] if valid.any() else smooth
        return (smooth - inside.mean()) / max(float(inside.std()), 1.0)

    sure = valid & (np.abs(levelled(film) - levelled(better)) < tolerance)
    return cv2.erode(sure.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0


def _network(torch, width: int):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, width, 5, padding=2),
        nn.ReLU(),
        nn.Conv2d(width, width, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(width, width, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(width, 1, 3, padding=1),
    )


class DetailModel:
    """Learns a luma residual from (film luma, better luma, where sure) pairs; adds it to
    frames. ``device`` is a torch device; the same code runs on the CPU and on CUDA."""

    def __init__(
        self, device, steps: int = 1000, width: int = 16, limit: float = 0.12, seed: int = 0
    ) -> None:
        import torch

        self.torch = torch
        self.device = device
        self.steps = steps
        self.limit = limit
        self.seed = seed
        torch.manual_seed(seed)
        self.net = _network(torch, width).to(device)
        self.useful = False
        self.validation: dict[str, float] = {}

    def _tensor(self, gray: np.ndarray):
        return self.torch.from_numpy(gray.astype(np.float32) / 255 - 0.5)[None, None]

    def _crops(self, lumas, rng):
        """Random crops (film, residual, mask) from the training parts of the pairs."""
        films, targets, masks = [], [], []
        while len(films) < 16:
            film, better, sure = lumas[int(rng.integers(len(lumas)))]
            height, width = film.shape
            y = int(rng.integers(0, height - _CROP + 1))
            x = int(rng.integers(0, width - _CROP + 1))
            window = np.s_[y : y + _CROP, x : x + _CROP]
            if sure[window].mean() < 0.5:
                continue
            f = film[window].astype(np.float32) / 255 - 0.5
            r = (better[window].astype(np.float32) - film[window]) / 255
            m = sure[window].astype(np.float32)
            if rng.random() < 0.5:
                f, r, m = f[:, ::-1], r[:, ::-1], m[:, ::-1]
            films.append(f.copy())
            targets.append(r.copy())
            masks.append(m.copy())
        torch = self.torch
        return tuple(
            torch.from_numpy(np.stack(v)[:, None]).to(self.device) for v in (films, targets, masks)
        )

    def train(self, pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
        """``pairs``: (film luma, better luma registered onto it, where sure), uint8/bool.
        The right fifth of each pair is kept back to check the model on."""
        torch = self.torch
        rng = np.random.default_rng(self.seed)
        train, held = [], []
        for film, better, sure in pairs:
            cut = film.shape[1] * 4 // 5
            if cut >= _CROP and sure[:, :cut].mean() > 0.05:
                train.append((film[:, :cut], better[:, :cut], sure[:, :cut]))
            held.append((film[:, cut:], better[:, cut:], sure[:, cut:]))
        if not train:
            self.validation = {"pairs_usable": 0}
            return
        optimiser = torch.optim.Adam(self.net.parameters(), lr=2e-3)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, self.steps)
        self.net.train()
        for _ in range(self.steps):
            film, target, mask = self._crops(train, rng)
            error = (self._residual(film) - target).abs() * mask
            loss = error.sum() / mask.sum().clamp(min=1)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
        self.net.eval()
        before = after = count = 0.0
        for film, better, sure in held:
            if sure.sum() == 0:
                continue
            improved = self.luma(film)
            before += np.abs(better[sure].astype(np.float32) - film[sure]).sum()
            after += np.abs(better[sure].astype(np.float32) - improved[sure]).sum()
            count += sure.sum()
        if count:
            self.validation = {
                "held_back_l1_before": round(before / count, 3),
                "held_back_l1_after": round(after / count, 3),
            }
            self.useful = after < 0.95 * before
        else:  # nothing to check on: trust the training
            self.useful = True

    def _residual(self, film):
        return self.limit * self.torch.tanh(self.net(film) / self.limit)

    def luma(self, gray: np.ndarray) -> np.ndarray:
        """The luma (H x W uint8) with the learned detail added."""
        torch = self.torch
        with torch.no_grad():
            x = self._tensor(gray).to(self.device)
            out = (x + 0.5 + self._residual(x)).clamp(0, 1)[0, 0].cpu().numpy()
        return (out * 255 + 0.5).astype(np.uint8)

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """The frame with the learned detail added to its luma (its chroma kept)."""
        ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
        ycc[..., 0] = self.luma(np.ascontiguousarray(ycc[..., 0]))
        return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)
