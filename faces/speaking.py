"""Who is speaking on screen: Light-ASD's per-frame scores for every face track, computed
while the film streams through the face stage.

Each observation keeps a wide grey view of its face (``WIDE`` times the face's size, at
``WIDE_PIXELS``), so that when the track has been seen, its boxes can be smoothed the way
Light-ASD smooths S3FD's (faces/asd.py) and the model's own crop taken from the view. A
track is scored in pieces of ``CHUNK_FRAMES`` at 25 fps with ``OVERLAP_FRAMES`` of context
either side, so a long shot never holds more than one piece of faces in memory. The
sound the model hears is the film's, as it is (AVA's movies were not restored either),
read once before the pass (``SpeakingAudio``): 13 MFCC at 100 per second, about 19 MB
for an hour of film.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from time import perf_counter

import numpy as np

from faces.types import Box

log = logging.getLogger(__name__)

WIDE = 1.4
"""The stored view's side, in face sizes: Light-ASD's crop (0.7 face sizes, centred a fifth
of a face below the box's centre) with room for the smoothed box to move."""
WIDE_PIXELS = 192
WIDE_DROP = 0.2
"""The stored view is centred this many face sizes below the box's centre, as the crop is."""
CHUNK_FRAMES = 1000  # 40 s at 25 fps
OVERLAP_FRAMES = 150  # 6 s: the longest window Light-ASD averages over
RATE = 25.0


@dataclass(frozen=True)
class SpeakingAudio:
    """The film's sound as Light-ASD hears it: MFCC (T, 13) at 100 per second from
    ``start`` seconds (the sound's own start, plus any sound-to-picture offset)."""

    features: np.ndarray
    start: float = 0.0
    quiet: np.ndarray | float = field(init=False, repr=False, compare=False)
    """What stands for the sound past its ends: the quietest row (found once, not per
    track: the features can be hours long)."""

    def __post_init__(self) -> None:
        quiet = self.features[np.argmin(self.features[:, 0])] if len(self.features) else 0.0
        object.__setattr__(self, "quiet", quiet)

    def window(self, start: float, frames: int) -> np.ndarray:
        """4 feature rows per video frame from ``start`` seconds; past the ends, silence
        (the features of the quietest row)."""
        first = int(round((start - self.start) * 100))
        count = frames * 4
        out = np.empty((count, self.features.shape[1]), np.float32)
        out[:] = self.quiet
        lo, hi = max(first, 0), min(first + count, len(self.features))
        if hi > lo:
            out[lo - first : hi - first] = self.features[lo:hi]
        return out


def read_speaking_audio(source, track: int = 0, offset_s: float = 0.0) -> SpeakingAudio | None:
    """MFCC of one audio track of ``source`` (restore.media.Source), read block by block at
    16 kHz mono. ``offset_s``: the sound is this late against the picture."""
    from faces.asd import audio_features
    from restore.media import iter_audio

    if not source.audio:
        return None
    rate = source.audio_track(track).sample_rate
    parts, pending = [], []
    pending_len = 0
    block_samples = rate * 60
    for block in iter_audio(source, track):
        mono = np.asarray(block.samples, np.float32)
        mono = mono.mean(axis=0) if mono.ndim == 2 else mono
        pending.append(mono)
        pending_len += len(mono)
        if pending_len >= block_samples:
            parts.append(_features_of(np.concatenate(pending), rate, audio_features))
            pending, pending_len = [], 0
    if pending:
        parts.append(_features_of(np.concatenate(pending), rate, audio_features))
    if not parts:
        return None
    return SpeakingAudio(np.concatenate(parts).astype(np.float32), start=offset_s)


def _features_of(samples: np.ndarray, rate: int, audio_features) -> np.ndarray:
    """Features of a minute of sound, exactly 100 rows a second of it (the blocks join)."""
    rows = int(round(len(samples) / rate * 100))
    features = audio_features(samples, rate)
    if len(features) < rows:
        pad = np.repeat(features[-1:], rows - len(features), axis=0) if len(features) else None
        features = features if pad is None else np.concatenate([features, pad])
    return features[:rows]


@dataclass
class _Pending:
    times: list[float] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)  # in the analysed frame's pixels
    views: list[np.ndarray] = field(default_factory=list)
    places: list[tuple[float, float, float]] = field(default_factory=list)  # view x0, y0, zoom
    scores: list[float] = field(default_factory=list)  # per observation, scored so far
    first_piece: bool = True


class SpeakingScorer:
    """Collects each track's face views as the film streams and scores them with the
    model: ``add`` per observation, ``close`` when the track ends, ``scores`` after."""

    def __init__(
        self,
        audio: SpeakingAudio,
        weights: str = "ava",
        device: str = "cpu",
        scale: float = 1.0,
        model=None,
    ) -> None:
        """``model``: anything with ActiveSpeakerModel's ``score`` (default: Light-ASD with
        ``weights`` on ``device``, loaded at the first track)."""
        self.audio = audio
        self.model = model
        self.weights = weights
        self.device = device
        self.scale = scale
        self.seconds = 0.0
        self._pending: dict[int, _Pending] = {}
        self._done: dict[int, list[float]] = {}

    def add(self, track_id: int, time: float, grey: np.ndarray, box: Box) -> None:
        """One observation: ``grey`` the analysed frame, ``box`` in its pixels."""
        started = perf_counter()
        view, place = wide_view(grey, box)
        pending = self._pending.setdefault(track_id, _Pending())
        pending.times.append(time)
        pending.boxes.append(box)
        pending.views.append(view)
        pending.places.append(place)
        if len(pending.times) >= CHUNK_FRAMES + 2 * OVERLAP_FRAMES:
            self._score_piece(track_id, pending, final=False)
        self.seconds += perf_counter() - started

    def close(self, track_id: int) -> None:
        pending = self._pending.pop(track_id, None)
        if pending is None:
            return
        started = perf_counter()
        self._score_piece(track_id, pending, final=True)
        self._done[track_id] = pending.scores
        self.seconds += perf_counter() - started

    def scores(self, track_id: int) -> tuple[float, ...] | None:
        """The track's per-observation scores (after ``close``)."""
        values = self._done.get(track_id)
        return tuple(round(float(v), 3) for v in values) if values is not None else None

    def _score_piece(self, track_id: int, pending: _Pending, final: bool) -> None:
        """Score what is buffered; keep the scores of all but the last OVERLAP_FRAMES (the
        whole rest when ``final``), then drop the views no later piece needs."""
        from faces.asd import face_crop, load_model, smooth_boxes

        times = np.asarray(pending.times)
        grid = np.arange(times[0], times[-1] + 0.5 / RATE, 1 / RATE)
        nearest = np.clip(np.searchsorted(times, grid), 0, len(times) - 1)
        before = np.clip(nearest - 1, 0, len(times) - 1)
        nearest = np.where(
            np.abs(times[before] - grid) < np.abs(times[nearest] - grid), before, nearest
        )
        boxes = smooth_boxes(np.asarray(pending.boxes, float))  # in the frame, as Light-ASD
        crops = np.stack(
            [
                face_crop(pending.views[i], _in_view(boxes[i], pending.places[i]), scale=self.scale)
                for i in nearest
            ]
        )
        if self.model is None:
            self.model = load_model(self.weights, self.device)
        features = self.audio.window(float(grid[0]), len(grid))
        grid_scores = self.model.score(crops, features)
        # each observation takes the score of the grid frame nearest it
        at = np.clip(np.round((times - grid[0]) * RATE).astype(int), 0, len(grid) - 1)
        per_obs = np.asarray(grid_scores, float)[at]
        keep_from = 0 if pending.first_piece else OVERLAP_FRAMES
        keep_to = len(times) if final else len(times) - OVERLAP_FRAMES
        pending.scores.extend(per_obs[keep_from:keep_to].tolist())
        if not final:
            drop = keep_to - OVERLAP_FRAMES  # the next piece starts with this much context
            pending.times = pending.times[drop:]
            pending.boxes = pending.boxes[drop:]
            pending.views = pending.views[drop:]
            pending.places = pending.places[drop:]
            pending.first_piece = False


def wide_view(grey: np.ndarray, box: Box) -> tuple[np.ndarray, tuple[float, float, float]]:
    """The face's wide grey view (WIDE face sizes, WIDE_PIXELS square, padded with Light-ASD's
    grey 110 past the frame's edges) and where it lies: its corner in the frame and zoom."""
    import cv2

    x, y, w, h = box
    size = max(w, h, 1.0)
    side = max(int(round(WIDE * size)), 2)
    x0 = int(round(x + w / 2 - side / 2))
    y0 = int(round(y + h / 2 + WIDE_DROP * size - side / 2))
    rows, cols = grey.shape[:2]
    top, left = max(0, -y0), max(0, -x0)
    bottom, right = max(0, y0 + side - rows), max(0, x0 + side - cols)
    part = grey[max(y0, 0) : min(y0 + side, rows), max(x0, 0) : min(x0 + side, cols)]
    if top or left or bottom or right:
        if part.size == 0:
            part = np.full((side, side), 110, np.uint8)
        else:
            part = cv2.copyMakeBorder(
                part, top, bottom, left, right, cv2.BORDER_CONSTANT, value=110
            )
    zoom = WIDE_PIXELS / side
    view = cv2.resize(
        part,
        (WIDE_PIXELS, WIDE_PIXELS),
        interpolation=cv2.INTER_AREA if zoom < 1 else cv2.INTER_LINEAR,
    )
    return view, (float(x0), float(y0), zoom)


def _in_view(box, place: tuple[float, float, float]) -> Box:
    x0, y0, zoom = place
    x, y, w, h = box
    return ((x - x0) * zoom, (y - y0) * zoom, w * zoom, h * zoom)
