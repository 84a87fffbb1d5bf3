"""Motion between neighbouring frames: dense optical flow (OpenCV's DIS) and warping.

``Aligner.between(...)`` brings a neighbour onto the current frame (remap maps, and the
neighbour's luma warped), so temporal steps compare and borrow pixels from where the
content really is. Flow is found on median-smoothed luma at reduced size, so that a
speck or a grain clump does not pull it (and four times faster).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np

_FLOW_WIDTH = 360
_ROW = 4096  # sparse samples are remapped in rows of this many


class Luma:
    """A frame's luma, and (made when first asked for) its smoothed copy for the flow."""

    def __init__(self, rgb: np.ndarray) -> None:
        self.gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        self._for_flow: np.ndarray | None = None

    @classmethod
    def of(cls, rgb: np.ndarray) -> Luma:
        return cls(rgb)

    def for_flow(self) -> np.ndarray:
        if self._for_flow is None:
            height, width = self.gray.shape
            if width > _FLOW_WIDTH:
                size = (_FLOW_WIDTH, max(8, round(height * _FLOW_WIDTH / width)))
                small = cv2.resize(self.gray, size, interpolation=cv2.INTER_AREA)
                self._for_flow = cv2.medianBlur(small, 3)
            else:
                self._for_flow = cv2.medianBlur(self.gray, 5)
        return self._for_flow


@dataclass(frozen=True)
class Alignment:
    """A neighbour brought onto the current frame."""

    maps: tuple[np.ndarray, np.ndarray]  # where, in the neighbour, each current pixel is
    gray: np.ndarray  # the neighbour's luma, warped onto the current frame
    flow: np.ndarray  # the flow as found (at reduced size for a large frame), H' x W' x 2

    def edges(self, tolerance: float = 0.75) -> np.ndarray:
        """Pixels (full size) whose flow differs from the flow around them by more than
        ``tolerance`` pixels: the edges of moving things, where alignment is least sure."""
        height, width = self.gray.shape
        scale = width / self.flow.shape[1]
        size = max(3, round(9 / scale) | 1)
        deviation = np.abs(self.flow - cv2.blur(self.flow, (size, size))).max(axis=-1)
        small = (deviation * scale > tolerance).astype(np.uint8)
        if small.shape != (height, width):
            small = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
        return small.astype(bool)

    def warp(self, image: np.ndarray) -> np.ndarray:
        return warp(image, self.maps)

    def sample(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The warped ``image`` at the ``mask`` pixels only (N x channels)."""
        xs, ys = self.maps[0][mask], self.maps[1][mask]
        count = xs.size
        rows = -(-count // _ROW)
        pad = rows * _ROW - count
        xs = np.pad(xs, (0, pad)).reshape(rows, _ROW)
        ys = np.pad(ys, (0, pad)).reshape(rows, _ROW)
        picked = cv2.remap(image, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return picked.reshape(rows * _ROW, -1)[:count]


class Aligner:
    """Finds the flow between frames, and remembers the last few, so that the steps of one
    chain (dirt, then noise) do not find the same flow twice. The keys are frame indexes:
    a step that changes a few pixels (dirt) leaves the motion as it was."""

    def __init__(self, keep: int = 8) -> None:
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._grid: tuple[np.ndarray, np.ndarray] | None = None
        self._recent: OrderedDict[tuple[int, int], Alignment] = OrderedDict()
        self._keep = keep

    @classmethod
    def shared(cls, shared: dict) -> Aligner:
        """The chain's aligner (made on first use)."""
        return shared.setdefault("aligner", cls())

    def between(self, current: int, neighbour: int, here: Luma, there: Luma) -> Alignment:
        """Frame ``neighbour`` (index; luma ``there``) onto frame ``current``, found once."""
        key = (current, neighbour)
        if key not in self._recent:
            maps, flow = self.maps(here, there)
            self._recent[key] = Alignment(maps, warp(there.gray, maps), flow)
            while len(self._recent) > self._keep:
                self._recent.popitem(last=False)
        return self._recent[key]

    def maps(self, current: Luma, neighbour: Luma):
        """Remap maps that sample ``neighbour`` where each pixel of ``current`` moved to,
        and the flow as found."""
        height, width = current.gray.shape
        found = flow = self._dis.calc(current.for_flow(), neighbour.for_flow(), None)
        if flow.shape[1] != width:
            scale = np.float32(width / flow.shape[1])
            flow = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR) * scale
        if self._grid is None or self._grid[0].shape != (height, width):
            xs, ys = np.meshgrid(
                np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
            )
            self._grid = (xs, ys)
        xs, ys = self._grid
        return (xs + flow[..., 0], ys + flow[..., 1]), found


def warp(image: np.ndarray, maps: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return cv2.remap(image, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
