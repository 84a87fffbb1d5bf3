"""Face tracks: detections linked across frames by box overlap, checked by appearance,
and broken at shot changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from faces.identity import distance
from faces.types import Box, FaceObs, FaceTrack


def iou(a: Box, b: Box) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    x0, y0 = max(ax, bx), max(ay, by)
    x1, y1 = min(ax + aw, bx + bw), min(ay + ah, by + bh)
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


@dataclass
class _Open:
    id: int
    shot: int
    obs: list[FaceObs] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    last_embed: float = -1e9
    thumb: tuple[float, bytes] | None = None  # (face area, JPEG) of its largest view


class Tracker:
    """Link per-frame detections into tracks.

    ``embed(obs) -> vector`` is called at a track's start and every ``embed_every_s``:
    a face whose appearance no longer matches its track (another person stepped into
    the same place) ends that track and starts a new one.
    """

    def __init__(
        self,
        embed: Callable[[FaceObs], np.ndarray | None] | None = None,
        min_iou: float = 0.3,
        max_gap_s: float = 0.5,
        embed_every_s: float = 1.0,
        same_person: float = 0.6,  # one frame against the track's mean: dlib's own rule
    ) -> None:
        self.embed = embed
        self.min_iou = min_iou
        self.max_gap_s = max_gap_s
        self.embed_every_s = embed_every_s
        self.same_person = same_person
        self._open: list[_Open] = []
        self._closed: list[_Open] = []
        self._next_id = 0
        self._shot = 0

    def cut(self) -> None:
        """A shot change: every open track ends."""
        self._closed.extend(self._open)
        self._open = []
        self._shot += 1

    def update(self, time: float, found: list[FaceObs]) -> list[int]:
        """Add one analysed frame's faces; returns the track id of each."""
        from scipy.optimize import linear_sum_assignment

        for track in list(self._open):
            if time - track.obs[-1].time > self.max_gap_s:
                self._open.remove(track)
                self._closed.append(track)
        ids: list[int] = [-1] * len(found)
        self._carry: dict[int, np.ndarray] = {}  # vectors already computed, by observation
        if self._open and found:
            cost = np.array([[1.0 - iou(t.obs[-1].box, f.box) for f in found] for t in self._open])
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols, strict=True):
                if 1.0 - cost[r, c] >= self.min_iou:
                    track = self._open[r]
                    if self._same_face(track, found[c], index=c):
                        track.obs.append(found[c])
                        ids[c] = track.id
                    else:  # the same place, another person: a new track
                        self._open.remove(track)
                        self._closed.append(track)
        for index, obs in enumerate(found):
            if ids[index] == -1:
                track = _Open(self._next_id, self._shot, [obs])
                self._next_id += 1
                self._same_face(track, obs, first=True, index=index)
                self._open.append(track)
                ids[index] = track.id
        return ids

    def _same_face(self, track: _Open, obs: FaceObs, first: bool = False, index: int = -1) -> bool:
        if self.embed is None or (not first and obs.time - track.last_embed < self.embed_every_s):
            return True
        vector = self._carry.pop(index, None)
        if vector is None:
            vector = self.embed(obs)
        if vector is None:
            return True
        if not first and track.vectors:
            if distance(np.mean(track.vectors, axis=0), vector) > self.same_person:
                self._carry[index] = vector  # the new track starts from it
                return False
        track.vectors.append(vector)
        track.last_embed = obs.time
        return True

    def open_ids(self) -> set[int]:
        """The tracks still open (a track not in it after an update has ended)."""
        return {t.id for t in self._open}

    def attach_thumbnail(self, track_id: int, area: float, jpeg: bytes) -> None:
        for track in self._open:
            if track.id == track_id and (track.thumb is None or area > track.thumb[0]):
                track.thumb = (area, jpeg)

    def wants_thumbnail(self, track_id: int, area: float) -> bool:
        track = next((t for t in self._open if t.id == track_id), None)
        return track is not None and (track.thumb is None or area > track.thumb[0] * 1.2)

    def finish(self, min_obs: int = 3) -> tuple[list[FaceTrack], dict[int, bytes]]:
        """All tracks (those seen in fewer than ``min_obs`` frames are dropped as noise)."""
        self._closed.extend(self._open)
        self._open = []
        tracks, thumbs = [], {}
        for t in sorted(self._closed, key=lambda t: t.obs[0].time):
            if len(t.obs) < min_obs:
                continue
            nan = float("nan")
            tracks.append(
                FaceTrack(
                    id=t.id,
                    shot=t.shot,
                    times=tuple(o.time for o in t.obs),
                    boxes=tuple(o.box for o in t.obs),
                    mouth=tuple(nan if o.mouth_open is None else o.mouth_open for o in t.obs),
                    jaw=tuple(nan if o.jaw_open is None else o.jaw_open for o in t.obs),
                    embedding=tuple(float(v) for v in np.mean(t.vectors, axis=0))
                    if t.vectors
                    else None,
                )
            )
            if t.thumb:
                thumbs[t.id] = t.thumb[1]
        return tracks, thumbs
