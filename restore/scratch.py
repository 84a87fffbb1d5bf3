"""Scratches: thin vertical lines that run down most of the frame and persist across frames.

Each frame's bright and dark thin vertical structure is the residue of a horizontal
morphological opening (closing); a column whose residue is strong down most of the
frame's height is a candidate. A candidate is a scratch when the previous or the next
frame has one within a couple of pixels (scratches drift slowly; a pole in one frame that
is gone in the next is not one). Scratch columns are filled, on the rows where the line
shows, by interpolating between the clean columns on either side.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from restore.picture import Picture, PictureStep, check, window


@dataclass(frozen=True)
class ScratchOptions:
    contrast: float = 8.0
    """Smallest mean difference (0-255 levels) of a scratch column from its surroundings."""
    coverage: float = 0.6
    """Share of the frame's height the line must show on."""
    max_width: int = 4
    """Widest scratch, in pixels."""
    drift: int = 2
    """Pixels a scratch may move from one frame to the next."""

    def __post_init__(self) -> None:
        check(self.contrast > 0, "scratch", "contrast must be above 0")
        check(0 < self.coverage <= 1, "scratch", "coverage must be between 0 and 1")
        check(1 <= self.max_width <= 16, "scratch", "max_width must be 1 to 16 pixels")
        check(0 <= self.drift <= 16, "scratch", "drift must be 0 to 16 pixels")


@dataclass(frozen=True)
class _Lines:
    residue: np.ndarray  # |thin vertical structure|, float32 H x W
    columns: np.ndarray  # candidate columns (sorted ints)


class Scratch(PictureStep):
    name = "scratch"
    Options = ScratchOptions

    def __init__(self, **settings: object) -> None:
        super().__init__(**settings)
        width = 2 * self.options.max_width + 1
        self._kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (width, 1))
        self.scratch_frames = 0
        self.columns_filled = 0

    def _found(self, items: Iterator[Picture]) -> Iterator[tuple[Picture, _Lines]]:
        o = self.options
        for picture in items:
            gray = cv2.cvtColor(picture.rgb, cv2.COLOR_RGB2GRAY)
            bright = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, self._kernel)
            dark = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, self._kernel)
            residue = np.maximum(bright, dark)
            strength = np.maximum(bright.mean(axis=0), dark.mean(axis=0))
            baseline = float(np.median(strength))
            candidates = np.flatnonzero(strength > baseline + o.contrast)
            if candidates.size:
                shown = (residue[:, candidates] > max(o.contrast, 2 * baseline)).mean(axis=0)
                candidates = candidates[shown >= o.coverage]
            yield picture, _Lines(residue, candidates)

    def run(self, items: Iterator[Picture]) -> Iterator[Picture]:
        o = self.options
        for (picture, lines), past, future in window(self._found(items), 1, 1):
            others = [ln.columns for _, ln in (*past, *future)]
            confirmed = [
                c for c in lines.columns if any(_near(c, cols, o.drift) for cols in others)
            ]
            if not confirmed:
                yield self.unchanged(picture)
                continue
            rgb, mask = _fill(picture.rgb, lines.residue, confirmed, o)
            self.scratch_frames += 1
            self.columns_filled += len(confirmed)
            yield self.changed(picture, rgb, mask)

    def measures(self) -> dict:
        return {"frames_with_scratches": self.scratch_frames, "columns_filled": self.columns_filled}


def _near(column: int, columns: np.ndarray, drift: int) -> bool:
    return bool(columns.size) and bool(np.min(np.abs(columns - column)) <= drift)


def _bands(columns: list[int]) -> list[tuple[int, int]]:
    bands: list[tuple[int, int]] = []
    for c in sorted(columns):
        if bands and c <= bands[-1][1] + 1:
            bands[-1] = (bands[-1][0], c)
        else:
            bands.append((c, c))
    return bands


def _fill(rgb: np.ndarray, residue: np.ndarray, columns: list[int], o: ScratchOptions):
    height, width = residue.shape
    out = rgb.copy()
    mask = np.zeros((height, width), bool)
    for first, last in _bands(columns):
        left, right = max(first - 2, 0), min(last + 2, width - 1)  # one pixel of soft edge
        rows = residue[:, first : last + 1].max(axis=1) > o.contrast / 2
        rows = cv2.dilate(rows.astype(np.uint8)[:, None], np.ones((5, 1), np.uint8))[:, 0] > 0
        if not rows.any():
            continue
        a = rgb[rows, left].astype(np.float32)
        b = rgb[rows, right].astype(np.float32)
        span = right - left
        for x in range(left + 1, right):
            t = (x - left) / span
            out[rows, x] = np.clip((1 - t) * a + t * b + 0.5, 0, 255).astype(np.uint8)
            mask[rows, x] = True
    return out, mask
