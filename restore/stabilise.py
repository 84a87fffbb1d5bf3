"""Instability: the frame's global motion, smoothed, so shake goes and camera moves stay.

The motion between frames (shift and rotation) comes from tracked corner features
(Lucas-Kanade, RANSAC-fitted). Its running sum is the camera's path; the path averaged
over a centred window (shrunk symmetrically at the ends, so a steady pan is its own
average) is the intended move, and each frame is moved by the difference. The frame
size never changes: uncovered borders are filled by repeating the edge, or, with
``borders=crop``, the picture is scaled up by a fixed margin so none show. In ``auto``
mode a frame is only moved when the shake around it measures above ``threshold``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from restore.picture import Picture, PictureStep, check, window
from restore.shots import CutDetector

_ANALYSIS_WIDTH = 320


@dataclass(frozen=True)
class StabiliseOptions:
    mode: str = "on"
    """on: always; auto: only where the shake measures above ``threshold``."""
    radius: int = 12
    """Frames either side over which the camera's path is averaged."""
    threshold: float = 1.0
    """auto: smallest shake (rms pixels around the smoothed path) worth correcting."""
    max_shift: float = 0.05
    """Largest correction, as a share of the frame's width."""
    borders: str = "fill"
    """fill: repeat the edge into uncovered borders; crop: scale up by max_shift instead."""

    def __post_init__(self) -> None:
        check(self.mode in ("on", "auto"), "stabilise", "mode must be on or auto")
        check(2 <= self.radius <= 100, "stabilise", "radius must be 2 to 100 frames")
        check(self.threshold >= 0, "stabilise", "threshold must be 0 or more")
        check(0 < self.max_shift <= 0.25, "stabilise", "max_shift must be above 0, at most 0.25")
        check(self.borders in ("fill", "crop"), "stabilise", "borders must be fill or crop")


class Stabilise(PictureStep):
    name = "stabilise"
    Options = StabiliseOptions

    def __init__(self, **settings: object) -> None:
        super().__init__(**settings)
        self._corrections: list[float] = []
        self._shake: list[float] = []
        self._untracked = 0

    def _paths(self, items: Iterator[Picture]) -> Iterator[tuple[Picture, np.ndarray, int]]:
        """Each picture with the camera's path so far (x, y, angle) and its shot."""
        cuts = CutDetector()
        path = np.zeros(3)
        previous = None
        shot = 0
        for picture in items:
            gray = cv2.cvtColor(picture.rgb, cv2.COLOR_RGB2GRAY)
            scale = min(1.0, _ANALYSIS_WIDTH / gray.shape[1])
            if scale < 1.0:
                gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            cut = cuts.push(gray) and previous is not None
            motion = None if previous is None or cut else _motion(previous, gray)
            if previous is not None and motion is None:
                # A cut, or nothing to track: the path starts again, and the window does
                # not smooth across it.
                shot += 1
                self._untracked += 0 if cut else 1
            elif motion is not None:
                motion[:2] /= scale
                path = path + motion
            previous = gray
            yield picture, path.copy(), shot

    def run(self, items: Iterator[Picture]) -> Iterator[Picture]:
        o = self.options
        for (picture, path, shot), past, future in window(self._paths(items), o.radius, o.radius):
            before = [p for _, p, s in past if s == shot]
            after = [p for _, p, s in future if s == shot]
            reach = min(len(before), len(after))
            around = [*before[len(before) - reach :], path, *after[:reach]]
            smooth = np.mean(around, axis=0)
            correction = smooth - path
            shake = _shake(np.array([*before, path, *after]))
            self._shake.append(shake)
            height, width = picture.rgb.shape[:2]
            limit = o.max_shift * width
            correction[:2] = np.clip(correction[:2], -limit, limit)
            if o.mode == "auto" and shake < o.threshold:
                yield self.unchanged(picture)
                continue
            if np.hypot(*correction[:2]) < 0.05 and abs(correction[2]) < 1e-4:
                yield self.unchanged(picture)
                continue
            self._corrections.append(float(np.hypot(*correction[:2])))
            rgb = _moved(picture.rgb, correction, o)
            yield self.changed(picture, rgb, np.ones((height, width), bool))

    def measures(self) -> dict:
        return {
            "borders": "filled (edge repeated)"
            if self.options.borders == "fill"
            else f"cropped and scaled up by {self.options.max_shift:.0%}",
            "frames_moved": len(self._corrections),
            "mean_correction_px": round(float(np.mean(self._corrections)), 3)
            if self._corrections
            else 0.0,
            "shake_rms_px": round(float(np.median(self._shake)), 3) if self._shake else 0.0,
            "frames_not_tracked": self._untracked,
        }


def _shake(path: np.ndarray) -> float:
    """Jitter of a path (rms pixels): half its second difference, which a steady pan lacks."""
    if len(path) < 3:
        return 0.0
    bend = path[2:, :2] - 2 * path[1:-1, :2] + path[:-2, :2]
    return float(np.sqrt(np.mean(np.sum(bend**2, axis=1))) / 2)


def _motion(previous: np.ndarray, gray: np.ndarray) -> np.ndarray | None:
    """(dx, dy, angle) taking ``previous`` to ``gray``; None when it cannot be told (a cut:
    too few features follow one motion)."""
    corners = cv2.goodFeaturesToTrack(previous, 120, 0.01, 8, blockSize=5)
    if corners is None or len(corners) < 8:
        return None
    moved, status, _ = cv2.calcOpticalFlowPyrLK(previous, gray, corners, None)
    good = status[:, 0] == 1
    if good.sum() < 8:
        return None
    matrix, inliers = cv2.estimateAffinePartial2D(corners[good], moved[good], method=cv2.RANSAC)
    if matrix is None or inliers is None or inliers.sum() < max(8, 0.5 * len(corners)):
        return None
    # The centre's move (not the origin's), so a rotation adds no shift of its own.
    height, width = gray.shape
    centre = np.array([width / 2, height / 2, 1.0])
    dx, dy = matrix @ centre - centre[:2]
    return np.array([dx, dy, np.arctan2(matrix[1, 0], matrix[0, 0])])


def _moved(rgb: np.ndarray, correction: np.ndarray, o: StabiliseOptions) -> np.ndarray:
    height, width = rgb.shape[:2]
    dx, dy, angle = correction
    zoom = 1.0 + 2 * o.max_shift if o.borders == "crop" else 1.0
    # getRotationMatrix2D turns the other way from the angle _motion measures.
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), -float(np.degrees(angle)), zoom)
    matrix[:, 2] += (dx, dy)
    return cv2.warpAffine(
        rgb, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
