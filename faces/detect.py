"""Face detection with landmarks: MediaPipe's Face Landmarker, MTCNN, or both.

- ``mediapipe``: the Face Landmarker from ``faces/models/face_landmarker.task``
  (package data): boxes, 478 landmarks (the lips among them) and the jawOpen
  blendshape, about 9 ms a frame here. It tracks between frames itself.
- ``mtcnn``: facenet-pytorch's MTCNN (its weights ship in the wheel): finds
  smaller and harder faces, slower, no mouth landmarks of its own.
- ``auto`` (default): the landmarker on every analysed frame; where it finds
  nobody, MTCNN looks (every few frames), and the landmarker is run again on
  each MTCNN face, cropped and enlarged, to read its mouth.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources

import numpy as np

from faces.types import Box, FaceObs

log = logging.getLogger(__name__)

# MediaPipe face-mesh indices: inner lips (upper 13, lower 14), forehead 10, chin 152,
# mouth corners 78 and 308.
_UPPER_LIP, _LOWER_LIP, _TOP, _CHIN = 13, 14, 10, 152


@contextmanager
def native_stderr_silenced():
    """MediaPipe's C++ side logs start-up chatter straight to file descriptor 2 (no Python
    setting turns it off); hide it while a graph starts and runs its first frames."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def landmarker_model() -> str:
    return str(resources.files("faces") / "models" / "face_landmarker.task")


def _landmarker(video: bool, max_faces: int):
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=landmarker_model()),
        running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
        num_faces=max_faces,
        output_face_blendshapes=True,
        min_face_detection_confidence=0.5,
        min_face_presence_confidence=0.5,
        min_tracking_confidence=0.5,
    )
    with native_stderr_silenced():
        return vision.FaceLandmarker.create_from_options(options)


def _observations(result, width: int, height: int, scale: float, offset, time: float, detector):
    """Landmarker results as FaceObs in source pixels."""
    out = []
    for index, points in enumerate(result.face_landmarks):
        xs = np.array([p.x for p in points]) * width
        ys = np.array([p.y for p in points]) * height
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max(), ys.max()
        face_h = float(np.hypot(xs[_CHIN] - xs[_TOP], ys[_CHIN] - ys[_TOP])) or 1.0
        gap = float(np.hypot(xs[_LOWER_LIP] - xs[_UPPER_LIP], ys[_LOWER_LIP] - ys[_UPPER_LIP]))
        jaw = None
        if result.face_blendshapes and index < len(result.face_blendshapes):
            jaw = next(
                (b.score for b in result.face_blendshapes[index] if b.category_name == "jawOpen"),
                None,
            )
        box: Box = (
            round(offset[0] + x0 / scale, 1),
            round(offset[1] + y0 / scale, 1),
            round((x1 - x0) / scale, 1),
            round((y1 - y0) / scale, 1),
        )
        out.append(
            FaceObs(
                time,
                box,
                1.0,
                round(gap / face_h, 4),
                None if jaw is None else round(float(jaw), 4),
                detector,
            )
        )
    return out


def _image(rgb: np.ndarray):
    import mediapipe as mp

    return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))


class MediaPipeFaces:
    name = "mediapipe"

    def __init__(self, max_faces: int = 4) -> None:
        self._video = _landmarker(video=True, max_faces=max_faces)
        self._last_ms = -1
        self._warm = 0

    def detect(self, rgb: np.ndarray, time: float, scale: float) -> list[FaceObs]:
        ms = max(self._last_ms + 1, round(time * 1000))
        self._last_ms = ms
        if self._warm < 3:  # the graph's threads log on their first frames
            self._warm += 1
            with native_stderr_silenced():
                result = self._video.detect_for_video(_image(rgb), ms)
        else:
            result = self._video.detect_for_video(_image(rgb), ms)
        return _observations(result, rgb.shape[1], rgb.shape[0], scale, (0, 0), time, self.name)

    def close(self) -> None:
        # Close explicitly: a landmarker left to the garbage collector closes itself in
        # __del__, which deadlocks if that happens during another landmarker's call.
        if self._video is not None:
            self._video.close()
            self._video = None


@lru_cache(maxsize=2)
def _mtcnn(device: str):
    import torch
    from facenet_pytorch import MTCNN

    if device == "auto":  # torch is imported here anyway: ask it for a GPU
        device = "cuda" if torch.cuda.is_available() else "cpu"

    return MTCNN(keep_all=True, min_face_size=20, device=device)


class MTCNNFaces:
    name = "mtcnn"

    def __init__(self, device: str = "cpu", min_prob: float = 0.9) -> None:
        self._mtcnn = _mtcnn(device)
        self.min_prob = min_prob

    def boxes(self, rgb: np.ndarray) -> list[tuple[Box, float]]:
        found, probs = self._mtcnn.detect(rgb)
        if found is None:
            return []
        out = []
        for (x0, y0, x1, y1), prob in zip(found, probs, strict=True):
            if prob >= self.min_prob:
                out.append(((float(x0), float(y0), float(x1 - x0), float(y1 - y0)), float(prob)))
        return out

    def detect(self, rgb: np.ndarray, time: float, scale: float) -> list[FaceObs]:
        return [
            FaceObs(time, tuple(round(v / scale, 1) for v in box), prob, None, None, self.name)
            for box, prob in self.boxes(rgb)
        ]

    def close(self) -> None:
        pass


class CombinedFaces:
    """The landmarker first; MTCNN where it finds nobody; landmarks read on MTCNN's crops."""

    name = "auto"

    def __init__(self, max_faces: int = 4, device: str = "cpu", mtcnn_every: int = 5) -> None:
        self._landmarks = MediaPipeFaces(max_faces)
        self._crops = _landmarker(video=False, max_faces=1)
        self._mtcnn: MTCNNFaces | None = None
        self._device = device
        self._every = max(1, mtcnn_every)
        self._misses = 0

    def detect(self, rgb: np.ndarray, time: float, scale: float) -> list[FaceObs]:
        found = self._landmarks.detect(rgb, time, scale)
        if found:
            self._misses = 0
            return found
        self._misses += 1
        if (self._misses - 1) % self._every:
            return []
        if self._mtcnn is None:
            self._mtcnn = MTCNNFaces(self._device)
        out = []
        for (x, y, w, h), prob in self._mtcnn.boxes(rgb):
            obs = self._read_crop(rgb, (x, y, w, h), time, scale)
            out.append(
                obs
                or FaceObs(
                    time,
                    tuple(round(v / scale, 1) for v in (x, y, w, h)),
                    prob,
                    None,
                    None,
                    "mtcnn",
                )
            )
        return out

    def _read_crop(self, rgb, box, time, scale) -> FaceObs | None:
        x, y, w, h = box
        side = max(w, h) * 1.8
        cx, cy = x + w / 2, y + h / 2
        x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
        x1, y1 = int(min(rgb.shape[1], cx + side / 2)), int(min(rgb.shape[0], cy + side / 2))
        crop = rgb[y0:y1, x0:x1]
        if crop.size == 0:
            return None
        zoom = 256 / max(crop.shape[:2])
        if zoom > 1:
            import cv2

            crop = cv2.resize(crop, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC)
        else:
            zoom = 1.0
        with native_stderr_silenced():
            detected = self._crops.detect(_image(crop))
        found = _observations(
            detected,
            crop.shape[1],
            crop.shape[0],
            zoom * scale,
            (x0 / scale, y0 / scale),
            time,
            "mtcnn+mediapipe",
        )
        return found[0] if found else None

    def close(self) -> None:
        self._landmarks.close()
        if self._crops is not None:
            self._crops.close()
            self._crops = None


DETECTORS: dict[str, Callable[..., object]] = {
    "auto": lambda options: CombinedFaces(options.max_faces, options.device),
    "mediapipe": lambda options: MediaPipeFaces(options.max_faces),
    "mtcnn": lambda options: MTCNNFaces(options.device),
}
