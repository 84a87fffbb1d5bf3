"""A reference's own colours carried along its shot by optical flow.

A hand-coloured still says exactly what colour its frame is; the frames next to it in the
same shot show the same things, moved a little. For a frame in a reference's shot, dense
flow (OpenCV's DIS) from the frame to the reference's film frame says where each pixel
was; the reference's chroma is fetched from there. How far to trust it is measured, not
assumed: the reference frame's luma, carried the same way, must match the frame's own luma
(levelled for flicker) around each pixel, and the reference must cover the spot. Where it
does, the reference's colour is used; where it does not (something moved in, the camera
turned away, an occlusion), the learned mapping's colour is kept, with a smooth blend
between the two. Only chroma is carried: the frame's luma is never touched.

Everything works at the chroma model's size (a quarter of the frame's), so carrying costs
one flow per frame of a reference's shot and nothing elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_FLOW_WIDTH = 360


@dataclass(frozen=True)
class Carried:
    """A reference's chroma brought onto a frame, and how much to trust it at each pixel."""

    crcb: np.ndarray  # h x w x 2, at the chroma model's size
    weight: np.ndarray  # h x w, 0 (use the model) to 1 (use the reference)
    agreement: float  # correlation of the frame's luma and the carried reference luma


def _levelled(gray: np.ndarray) -> np.ndarray:
    """Luma with zero mean and unit spread (flicker between frames is not a mismatch)."""
    value = gray.astype(np.float32)
    return (value - value.mean()) / max(float(value.std()), 1.0)


def _for_flow(gray: np.ndarray) -> np.ndarray:
    height, width = gray.shape
    if width > _FLOW_WIDTH:
        size = (_FLOW_WIDTH, max(8, round(height * _FLOW_WIDTH / width)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    # levelled for flicker, back to 8 bits for DIS; the median keeps grain and specks out
    levelled = np.clip(_levelled(gray) * 40 + 128, 0, 255).astype(np.uint8)
    return cv2.medianBlur(levelled, 3)


class Source:
    """One reference ready to be carried: its film frame's luma for the flow, and its
    chroma, luma and coverage at the chroma model's size."""

    def __init__(
        self,
        index: int,
        shot: tuple[int, int],
        film_rgb: np.ndarray,
        crcb: np.ndarray,
        valid: np.ndarray,
    ) -> None:
        self.index = index
        self.shot = shot  # first and last frame index of the reference's shot
        gray = cv2.cvtColor(film_rgb, cv2.COLOR_RGB2GRAY)
        self.flow_luma = _for_flow(gray)
        size = (crcb.shape[1], crcb.shape[0])
        self.luma = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        self.crcb = crcb.astype(np.float32)
        self.valid = cv2.resize(valid.astype(np.float32), size, interpolation=cv2.INTER_AREA)

    def covers(self, index: int) -> bool:
        return self.shot[0] <= index <= self.shot[1]


class Carrier:
    """Carries references' chroma onto the frames of their shots.

    ``tolerance`` is the levelled luma difference (in standard deviations of the frame)
    at which a carried pixel stops being trusted; ``min_agreement`` the frame-wide luma
    correlation under which nothing is carried (the flow failed, or the shot changed where
    no cut was seen)."""

    def __init__(
        self, sources: list[Source], tolerance: float = 0.5, min_agreement: float = 0.6
    ) -> None:
        self.sources = sources
        self.tolerance = tolerance
        self.min_agreement = min_agreement
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self.frames_carried = 0
        self.weight_sum = 0.0

    def carry(self, index: int, rgb: np.ndarray, size: tuple[int, int]) -> Carried | None:
        """The best-matching reference of this frame's shot, carried onto it (``size`` is the
        chroma model's width and height); None when no reference's shot holds the frame."""
        best: Carried | None = None
        candidates = [s for s in self.sources if s.covers(index)]
        if not candidates:
            return None
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        here = _for_flow(gray)
        luma = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        for source in candidates:
            carried = self._one(source, here, luma, index)
            if best is None or carried.weight.mean() > best.weight.mean():
                best = carried
        if best is not None and best.weight.max() > 0:
            self.frames_carried += 1
            self.weight_sum += float(best.weight.mean())
        return best

    def _one(self, source: Source, here: np.ndarray, luma: np.ndarray, index: int) -> Carried:
        width, height = luma.shape[1], luma.shape[0]
        if index == source.index:
            flow = np.zeros((height, width, 2), np.float32)
        else:
            flow = self._flow(here, source.flow_luma)
            scale = np.float32(width / flow.shape[1])
            flow = cv2.resize(flow, (width, height), interpolation=cv2.INTER_AREA) * scale
        xs, ys = np.meshgrid(
            np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
        )
        mx, my = xs + flow[..., 0], ys + flow[..., 1]
        inside = (mx >= 0) & (mx <= width - 1) & (my >= 0) & (my <= height - 1)

        def fetch(image: np.ndarray) -> np.ndarray:
            return cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

        crcb = fetch(source.crcb)
        carried_luma = fetch(source.luma)
        a, b = _levelled(luma), _levelled(carried_luma)
        agreement = float(np.mean(a * b))
        mismatch = cv2.GaussianBlur(np.abs(a - b), (0, 0), 1.5)
        weight = np.clip(1 - mismatch / self.tolerance, 0, 1)
        weight *= fetch(source.valid) * inside
        # a frame-wide failure (agreement near the floor) fades the whole carry out
        weight *= np.clip((agreement - self.min_agreement) / 0.2, 0, 1)
        weight = cv2.GaussianBlur(weight.astype(np.float32), (0, 0), 1.0)
        return Carried(crcb, weight, agreement)

    def _flow(self, here: np.ndarray, there: np.ndarray) -> np.ndarray:
        """Dense flow from ``here`` to ``there``: the camera's shift first (phase
        correlation, which a pan of many pixels does not fool), then DIS for the rest."""
        (dx, dy), response = cv2.phaseCorrelate(here.astype(np.float32), there.astype(np.float32))
        if response < 0.05 or max(abs(dx), abs(dy)) > here.shape[1] / 3:
            dx = dy = 0.0  # no clear shift: leave it all to DIS
        shift = np.float32([[1, 0, -dx], [0, 1, -dy]])
        height, width = here.shape
        moved = cv2.warpAffine(there, shift, (width, height), borderMode=cv2.BORDER_REPLICATE)
        flow = self._dis.calc(here, moved, None)
        flow[..., 0] += dx
        flow[..., 1] += dy
        return flow


def blend(model: np.ndarray, carried: Carried | None) -> np.ndarray:
    """The model's chroma with the carried reference's mixed in by its weight."""
    if carried is None:
        return model
    weight = carried.weight[..., None]
    return model * (1 - weight) + carried.crcb * weight


def shot_spans(cuts: list[int], indexes: list[int], last: int) -> dict[int, tuple[int, int]]:
    """Each reference frame's shot (first and last frame index), from the cut frames found
    (each the first frame of a shot) and the last frame index looked at."""
    starts = sorted(set(cuts) | {0})
    spans = {}
    for index in indexes:
        first = max(s for s in starts if s <= index)
        later = [s for s in starts if s > index]
        spans[index] = (first, later[0] - 1 if later else last)
    return spans
