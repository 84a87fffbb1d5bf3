"""A worse print of clean footage, for learning detail from a better source.

No worse and better print of the same film is among the shared media, so the better
source is real clean footage and the worse print is made from it: resolution halved
(as a duplicate generation loses it), a little optical softness, film grain in clumps,
and JPEG compression (a telecine's or a DVD's blocks). Seeded: the same frames give the
same print.
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np


def worse_print(rgb: np.ndarray, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    height, width = rgb.shape[:2]
    half = cv2.resize(rgb, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    soft = cv2.resize(half, (width, height), interpolation=cv2.INTER_CUBIC)
    soft = cv2.GaussianBlur(soft, (0, 0), 0.7).astype(np.float32)
    grain = cv2.GaussianBlur(rng.normal(0, 7, (height, width)).astype(np.float32), (0, 0), 0.6)
    grainy = np.clip(soft + grain[..., None] * 1.6, 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", grainy[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 40])
    return np.ascontiguousarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR)[..., ::-1])


def clip_frames(path: Path, indexes: set[int], width: int = 480) -> dict[int, np.ndarray]:
    """The wanted frames of a clip, scaled to ``width`` (even sizes)."""
    out = {}
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in indexes:
                rgb = frame.to_ndarray(format="rgb24")
                height = round(rgb.shape[0] * width / rgb.shape[1]) // 2 * 2
                out[i] = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
            if len(out) == len(indexes):
                break
    return out
