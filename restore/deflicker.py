"""Flicker: each frame's brightness, whole and block by block, brought to a temporal reference.

The reference is the median over a few frames either side within the same shot, so a
real change of light at a cut is kept and a one-frame flash is not. The global gain comes
first; the block-wise gain (a coarse grid, interpolated smoothly) then levels uneven
flicker across the frame, within a narrow limit so that real motion is not taken for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from restore.picture import Picture, PictureStep, check, window
from restore.shots import CutDetector


@dataclass(frozen=True)
class DeflickerOptions:
    radius: int = 6
    """Frames either side that make the temporal reference."""
    max_gain: float = 0.4
    """Largest global correction (0.4: brightness times 0.6 to 1.4)."""
    blocks: int = 4
    """Grid of blocks (blocks x blocks) for local flicker; 0: global only."""
    block_limit: float = 0.08
    """Largest block-wise correction beyond the global one."""

    def __post_init__(self) -> None:
        check(1 <= self.radius <= 50, "deflicker", "radius must be 1 to 50 frames")
        check(0 < self.max_gain < 1, "deflicker", "max_gain must be between 0 and 1")
        check(0 <= self.blocks <= 32, "deflicker", "blocks must be 0 to 32")
        check(0 <= self.block_limit < 1, "deflicker", "block_limit must be between 0 and 1")


@dataclass(frozen=True)
class _Level:
    mean: float
    blocks: np.ndarray | None
    shot: int


class Deflicker(PictureStep):
    name = "deflicker"
    Options = DeflickerOptions

    def __init__(self, **settings: object) -> None:
        super().__init__(**settings)
        self._cuts = CutDetector()
        self._means_in: list[float] = []
        self._means_out: list[float] = []
        self._gains: list[float] = []

    def _measured(self, items: Iterator[Picture]) -> Iterator[tuple[Picture, _Level]]:
        grid = self.options.blocks
        for picture in items:
            gray = cv2.cvtColor(picture.rgb, cv2.COLOR_RGB2GRAY)
            self._cuts.push(gray)
            blocks = (
                cv2.resize(gray, (grid, grid), interpolation=cv2.INTER_AREA).astype(np.float32)
                if grid
                else None
            )
            yield picture, _Level(cv2.mean(gray)[0], blocks, self._cuts.shot)

    def run(self, items: Iterator[Picture]) -> Iterator[Picture]:
        o = self.options
        for (picture, level), past, future in window(self._measured(items), o.radius, o.radius):
            near = [lv for _, lv in (*past, *future) if lv.shot == level.shot] + [level]
            reference = float(np.median([lv.mean for lv in near]))
            gain = reference / max(level.mean, 1.0)
            gain = float(np.clip(gain, 1 - o.max_gain, 1 + o.max_gain))
            self._means_in.append(level.mean)
            scale: np.ndarray | float = gain
            if level.blocks is not None and o.block_limit > 0:
                # Each frame's blocks at its own global level, then the median of those.
                own = [
                    lv.blocks * (float(np.median([n.mean for n in near])) / max(lv.mean, 1.0))
                    for lv in near
                ]
                ref_blocks = np.median(np.stack(own), axis=0)
                local = ref_blocks / np.maximum(level.blocks * gain, 1.0)
                local = np.clip(local, 1 - o.block_limit, 1 + o.block_limit).astype(np.float32)
                height, width = picture.rgb.shape[:2]
                smooth = cv2.resize(local, (width, height), interpolation=cv2.INTER_LINEAR)
                scale = smooth * np.float32(gain)
            self._gains.append(gain)
            if isinstance(scale, float) and abs(scale - 1.0) < 0.004:
                self._means_out.append(level.mean)
                yield self.unchanged(picture)
                continue
            rgb = _scaled(picture.rgb, scale)
            self._means_out.append(level.mean * gain)
            yield self.changed(picture, rgb)

    def measures(self) -> dict:
        gains = np.array(self._gains or [1.0])
        return {
            "flicker_before": round(float(np.std(self._means_in)) if self._means_in else 0.0, 3),
            "flicker_after": round(float(np.std(self._means_out)) if self._means_out else 0.0, 3),
            "mean_gain_change": round(float(np.mean(np.abs(gains - 1))), 4),
            "largest_gain_change": round(float(np.max(np.abs(gains - 1))), 4),
            "shots": self._cuts.shot + 1,
        }


def _scaled(rgb: np.ndarray, scale: np.ndarray | float) -> np.ndarray:
    if isinstance(scale, float):
        return cv2.convertScaleAbs(rgb, alpha=scale)
    return cv2.multiply(rgb, cv2.merge([scale, scale, scale]), dtype=cv2.CV_8U)
