"""Noise and grain: a temporal, motion-compensated average that keeps the grain by default.

Neighbouring frames are brought onto the current one by optical flow and averaged with
it, each pixel weighted by how well the neighbour matches there (a poor match is motion
the flow missed, and gets no weight, so edges do not ghost). ``strength`` says how much
of the difference to take: 1.0 removes what the average removes (access copies); the
archival preset takes half, so the film's grain stays visible, lighter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from restore.motion import Aligner, Luma
from restore.picture import Picture, PictureStep, check, window


@dataclass(frozen=True)
class DenoiseOptions:
    strength: float = 0.5
    """Share of the temporal average taken (0: none, 1: all of it)."""
    radius: int = 1
    """Frames either side averaged (1 or 2)."""
    tolerance: float = 3.0
    """A neighbour's weight falls to zero at this many noise levels of difference."""

    def __post_init__(self) -> None:
        check(0 <= self.strength <= 1, "denoise", "strength must be 0 to 1")
        check(1 <= self.radius <= 2, "denoise", "radius must be 1 or 2")
        check(self.tolerance > 0, "denoise", "tolerance must be above 0")


class Denoise(PictureStep):
    name = "denoise"
    Options = DenoiseOptions

    def __init__(self, **settings: object) -> None:
        super().__init__(**settings)
        self._removed: list[float] = []

    def run(self, items: Iterator[Picture]) -> Iterator[Picture]:
        o = self.options
        lumas = ((p, Luma.of(p.rgb)) for p in items)
        for (picture, luma), past, future in window(lumas, o.radius, o.radius):
            if o.strength == 0 or not (past or future):
                yield self.unchanged(picture)
                continue
            smooth = cv2.blur(luma.gray, (3, 3)).astype(np.float32)
            pairs = []
            for other, other_luma in (*past, *future):
                on = Aligner.shared(self.shared).between(
                    picture.original.index, other.original.index, luma, other_luma
                )
                pairs.append((other, on, smooth - cv2.blur(on.gray, (3, 3)).astype(np.float32)))
            noise = max(_noise(pairs[0][2]), 1.0)
            # Weighted mean of the aligned neighbours, then of that with the current frame
            # (OpenCV's blendLinear divides by the summed weights).
            average, weights = None, None
            for other, on, difference in pairs:
                weight = np.clip(1.0 - np.abs(difference) / (o.tolerance * noise), 0.0, 1.0)
                aligned = on.warp(other.rgb)
                if average is None:
                    average, weights = aligned, weight
                else:
                    average = cv2.blendLinear(average, aligned, weights, weight)
                    weights = weights + weight
            assert average is not None and weights is not None
            share = np.float32(o.strength) * weights / (1.0 + weights)
            rgb = cv2.blendLinear(picture.rgb, average, 1.0 - share, share)
            self._removed.append(float(np.mean(share)))
            yield self.changed(picture, rgb)

    def measures(self) -> dict:
        taken = float(np.mean(self._removed)) if self._removed else 0.0
        return {"mean_neighbour_weight": round(taken, 4)}


def _noise(difference: np.ndarray) -> float:
    sample = difference[::8, ::8]
    return float(1.4826 * np.median(np.abs(sample - np.median(sample))))
