"""Shot cuts for the picture steps, so statistics are pooled within a shot, never across one.

A cut is a frame whose small, levelled luma thumbnail correlates poorly with the previous
frame's. Levelling (zero mean, unit spread) keeps flicker from reading as a cut. (The faces
stage has its own detector; restore may not import faces.)
"""

from __future__ import annotations

import cv2
import numpy as np

_THUMB = (32, 24)


class CutDetector:
    """Feed luma frames in order; ``push`` says whether a new shot starts at that frame."""

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self._previous: np.ndarray | None = None
        self.shot = -1

    def push(self, gray: np.ndarray) -> bool:
        small = cv2.resize(gray, _THUMB, interpolation=cv2.INTER_AREA).astype(np.float32)
        small = cv2.GaussianBlur(small, (5, 5), 1.0)  # a shake of a few pixels is no cut
        small -= small.mean()
        spread = float(small.std())
        small /= spread if spread > 1.0 else 1.0
        cut = self._previous is None or (
            spread > 1.0 and float(np.mean(small * self._previous)) < self.threshold
        )
        if spread > 1.0 or self._previous is None:
            self._previous = small
        if cut:
            self.shot += 1
        return cut
