"""Shot changes, found by FFmpeg's ``scdet`` filter (through PyAV) on the analysed frames."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np


def _steady(rgb: np.ndarray) -> np.ndarray:
    """The frame with its overall level and contrast fixed, so that flicker in an old print
    (the whole frame brightening and darkening) does not read as a cut."""
    pixels = rgb.astype(np.float32)
    mean, spread = pixels.mean(), pixels.std() or 1.0
    return np.clip((pixels - mean) * (48.0 / spread) + 128.0, 0, 255).astype(np.uint8)


class ShotDetector:
    """Feed frames in order; ``push`` says whether a new shot starts at that frame.

    ``threshold`` is scdet's score (percent of change). FFmpeg's default, 10, misses
    cuts between similar set-ups; a false cut only splits a face track, and the
    identity stage joins the halves again, so the default here is lower.
    """

    def __init__(self, threshold: float = 4.0, min_shot: int = 6) -> None:
        self.threshold = threshold
        self.min_shot = min_shot  # frames: a "cut" this soon after a cut is its echo in scdet
        self._since_cut = 0
        self._graph: av.filter.Graph | None = None
        self._size: tuple[int, int] | None = None
        self._index = 0

    def _build(self, width: int, height: int) -> None:
        graph = av.filter.Graph()
        source = graph.add_buffer(
            width=width, height=height, format="rgb24", time_base=Fraction(1, 1000)
        )
        scdet = graph.add("scdet", f"threshold={self.threshold}")
        sink = graph.add("buffersink")
        source.link_to(scdet)
        scdet.link_to(sink)
        graph.configure()
        self._graph, self._size = graph, (width, height)
        self._seen = 0

    def push(self, rgb: np.ndarray) -> bool:
        height, width = rgb.shape[:2]
        if self._size != (width, height):  # the first frame, or a change of size: a new shot
            self._build(width, height)
            self._index += 1
            first = self._index == 1
        else:
            first = False
        frame = av.VideoFrame.from_ndarray(_steady(rgb), format="rgb24")
        frame.pts = self._index
        self._index += 1
        assert self._graph is not None
        self._graph.push(frame)
        out = self._graph.pull()
        score = float(out.metadata.get("lavfi.scd.score", 0.0))
        self._seen += 1
        self._since_cut += 1
        if self._seen == 2:  # scdet has no previous difference yet: its score is the raw change
            return False
        if first or (score >= self.threshold and self._since_cut >= self.min_shot):
            self._since_cut = 0
            return True
        return False
