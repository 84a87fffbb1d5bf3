"""What the face stage hands on: detections, tracks with mouth signals, characters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Box = tuple[float, float, float, float]  # x, y, w, h in source pixels


@dataclass(frozen=True)
class FaceObs:
    """One face in one analysed frame."""

    time: float  # seconds from the source's start
    box: Box
    score: float
    mouth_open: float | None = None  # inner-lip gap / face height; None without landmarks
    jaw_open: float | None = None  # MediaPipe blendshape, 0..1
    detector: str = "mediapipe"


@dataclass(frozen=True)
class FaceTrack:
    """One face followed through one shot."""

    id: int
    shot: int
    times: tuple[float, ...]
    boxes: tuple[Box, ...]
    mouth: tuple[float, ...]  # mouth opening per observation (NaN where unknown)
    jaw: tuple[float, ...]
    embedding: tuple[float, ...] | None = None  # mean 128-d identity vector
    character: str | None = None
    speaking: tuple[float, ...] | None = None
    """The active-speaker model's score per observation (faces/speaking.py: Light-ASD's
    logit, above 0 speaking); None where the model did not run (no sound, or turned off)."""

    @property
    def start(self) -> float:
        return self.times[0]

    @property
    def end(self) -> float:
        return self.times[-1]

    def mouth_activity(self, frames: int = 5) -> np.ndarray:
        """Mouth motion averaged over ``frames`` observations (0.2 s at 25 fps): high while
        the mouth is talking, low at rest (AUC 0.94 against GRID's word alignment)."""
        motion = self.mouth_motion()
        if len(motion) == 0:
            return motion
        half = frames // 2
        padded = np.pad(motion, (half, frames - 1 - half), mode="edge")
        return np.convolve(padded, np.ones(frames) / frames, mode="valid")

    def mouth_motion(self) -> np.ndarray:
        """Frame-to-frame change of the mouth opening (what the speaker stage correlates)."""
        mouth = np.asarray(self.mouth, dtype=float)
        if len(mouth) < 2:
            return np.zeros(len(mouth))
        rest = np.nanmedian(mouth) if np.isfinite(mouth).any() else 0.0
        filled = np.where(np.isnan(mouth), rest, mouth)
        return np.abs(np.diff(filled, prepend=filled[0]))


@dataclass(frozen=True)
class Character:
    id: str  # S1, S2 ... in order of first appearance
    name: str
    tracks: tuple[int, ...]
    face_box: tuple[int, int, int, int] | None
    seen_seconds: float
    named_by: str  # "cast" (matched to a reference photo) or "order" (no cast given)


@dataclass(frozen=True)
class FaceResult:
    tracks: tuple[FaceTrack, ...]
    characters: tuple[Character, ...]
    shots: tuple[float, ...]  # shot-change times
    frames_analysed: int
    frames_with_faces: int
    detector: str
