"""Motion between neighbouring frames: dense optical flow (OpenCV's DIS) and warping.

``Aligner.align(gray, neighbour)`` gives the maps that bring a neighbour onto the current
frame, so temporal steps compare and borrow pixels from where the content really is.
Flow is found on median-smoothed luma, so that a speck or a grain clump does not pull it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import cv2
import numpy as np

_FLOW_WIDTH = 360


@dataclass(frozen=True)
class Luma:
    gray: np.ndarray  # uint8 H x W
    smooth: np.ndarray  # median-filtered, for flow
    _small: dict = field(default_factory=dict, compare=False, repr=False)

    def small(self, size: tuple[int, int]) -> np.ndarray:
        if size not in self._small:
            self._small[size] = cv2.resize(self.smooth, size, interpolation=cv2.INTER_AREA)
        return self._small[size]

    @classmethod
    def of(cls, rgb: np.ndarray) -> Luma:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        return cls(gray, cv2.medianBlur(gray, 5))


class Aligner:
    """Finds the flow between frames, and remembers the last few, so that the steps of one
    chain (dirt, then noise) do not find the same flow twice. The keys are frame indexes:
    a step that changes a few pixels (dirt) leaves the motion as it was."""

    def __init__(self, keep: int = 8) -> None:
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._grid: tuple[np.ndarray, np.ndarray] | None = None
        self._recent: OrderedDict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._keep = keep

    @classmethod
    def shared(cls, shared: dict) -> Aligner:
        """The chain's aligner (made on first use)."""
        return shared.setdefault("aligner", cls())

    def between(
        self, current: int, neighbour: int, current_luma: Luma, neighbour_luma: Luma
    ) -> tuple[np.ndarray, np.ndarray]:
        """``maps`` for frames ``current`` and ``neighbour`` (indexes), found once."""
        key = (current, neighbour)
        if key not in self._recent:
            self._recent[key] = self.maps(current_luma, neighbour_luma)
            while len(self._recent) > self._keep:
                self._recent.popitem(last=False)
        return self._recent[key]

    def maps(self, current: Luma, neighbour: Luma) -> tuple[np.ndarray, np.ndarray]:
        """Remap maps that sample ``neighbour`` where each pixel of ``current`` moved to."""
        height, width = current.gray.shape
        if width > _FLOW_WIDTH:  # flow at reduced size is as good for our use and 4x faster
            size = (_FLOW_WIDTH, round(height * _FLOW_WIDTH / width))
            small = self._dis.calc(current.small(size), neighbour.small(size), None)
            flow = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
            flow *= np.float32(width / size[0])
        else:
            flow = self._dis.calc(current.smooth, neighbour.smooth, None)
        if self._grid is None or self._grid[0].shape != (height, width):
            xs, ys = np.meshgrid(
                np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
            )
            self._grid = (xs, ys)
        xs, ys = self._grid
        return xs + flow[..., 0], ys + flow[..., 1]


def warp(image: np.ndarray, maps: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return cv2.remap(image, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
