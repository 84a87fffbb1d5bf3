"""The face stage: a tap on the restored frames that finds, follows and reads faces,
then groups the tracks into characters.

Frames pass through unchanged (the master gets them); every frame at the
analysis rate is scaled to at most ``max_side`` pixels and analysed, so the
cost per second of film is bounded whatever the source's size.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

import numpy as np

from faces.cast import cast_embeddings, read_cast
from faces.identity import SAME_PERSON, cluster, distance, embed
from faces.shots import ShotDetector
from faces.speaking import SpeakingAudio, SpeakingScorer
from faces.track import Tracker
from faces.types import Character, FaceObs, FaceResult, FaceTrack
from restore.errors import UsageError
from restore.media import Frame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaceOptions:
    detector: str = "auto"
    """``auto`` (landmarker, MTCNN where it finds nobody), ``mediapipe`` or ``mtcnn``."""
    analysis_fps: float = 25.0
    """Frames analysed per second of film (mouth movement needs about 25)."""
    max_side: int = 640
    """Frames are scaled down to this longer side for analysis."""
    max_faces: int = 4
    device: str = "cpu"
    shot_threshold: float = 4.0
    """scdet score (percent change, after levelling out flicker) that marks a cut."""
    same_person: float = SAME_PERSON
    """Largest mean embedding distance at which two tracks are one character."""
    cast: Path | None = None
    """A cast file naming characters from reference photos."""
    min_track_frames: int = 3
    speaking: str | None = None
    """The active-speaker model's weights (faces/asd.py: ``ava``, ``talkset`` or a path);
    None (default): no model, attribution uses the classical lip synchrony. Off by default:
    on the tuning people's film dialogues the model, alone or blended with the synchrony,
    did not beat the synchrony (docs/benchmarks.md)."""
    speaking_scale: float = 1.0
    """Our detector's box against Light-ASD's S3FD box: the crop's size is scaled by this."""


class FaceAnalyser:
    """``process(frames) -> frames`` analyses as the film streams by; ``result()`` after."""

    def __init__(
        self, options: FaceOptions = FaceOptions(), audio: SpeakingAudio | None = None
    ) -> None:
        """``audio``: the film's sound as the active-speaker model hears it
        (faces/speaking.py); without it the tracks carry no speaking scores."""
        from faces.detect import DETECTORS

        if options.detector not in DETECTORS:
            raise UsageError(f"--face-detector {options.detector}: choose {', '.join(DETECTORS)}")
        self.options = options
        self.cast = read_cast(options.cast) if options.cast else ()
        self._detector = DETECTORS[options.detector](options)
        self._shots = ShotDetector(options.shot_threshold)
        self._rgb: np.ndarray | None = None
        self._scale = 1.0
        self._tracker = Tracker(embed=self._embed)
        self.cuts: list[float] = []
        self.analysed = 0
        self.with_faces = 0
        self.seconds = 0.0  # time spent analysing
        self.frame_step = 1 / options.analysis_fps
        self._speaking = (
            SpeakingScorer(audio, options.speaking, options.device, options.speaking_scale)
            if audio is not None and options.speaking
            else None
        )

    @property
    def speaking_seconds(self) -> float:
        """Time spent on the active-speaker model and its crops."""
        return self._speaking.seconds if self._speaking is not None else 0.0

    def _embed(self, obs: FaceObs) -> np.ndarray | None:
        if self._rgb is None:
            return None
        x, y, w, h = (v * self._scale for v in obs.box)
        if w < 12 or h < 12:
            return None
        return embed(self._rgb, (x, y, w, h))

    def process(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        due = None
        try:
            for frame in frames:
                time = float(frame.time)
                if due is None or time >= due - 1e-6:
                    started = perf_counter()
                    self.analyse(frame.rgb(), time)
                    self.seconds += perf_counter() - started
                    due = (due if due is not None else time) + self.frame_step
                    if due <= time:
                        due = time + self.frame_step
                yield frame
        finally:
            self.close()

    def close(self) -> None:
        """Release the detector's models (MediaPipe graphs must be closed, not collected)."""
        self._detector.close()

    def __enter__(self) -> FaceAnalyser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def analyse(self, rgb: np.ndarray, time: float) -> list[FaceObs]:
        """One frame at source size: shot check, detection, tracking."""
        import cv2

        scale = min(1.0, self.options.max_side / max(rgb.shape[:2]))
        small = (
            rgb
            if scale == 1.0
            else cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        )
        self._rgb, self._scale = small, scale
        if self._shots.push(small) and self.analysed:
            self._tracker.cut()
            self.cuts.append(round(time, 3))
        found = self._detector.detect(small, time, scale)
        self.analysed += 1
        self.with_faces += bool(found)
        was_open = self._tracker.open_ids()
        ids = self._tracker.update(time, found)
        if self._speaking is not None:
            for ended in was_open - self._tracker.open_ids():
                self._speaking.close(ended)
            if found:
                grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
                for track_id, obs in zip(ids, found, strict=True):
                    box = tuple(v * scale for v in obs.box)
                    self._speaking.add(track_id, time, grey, box)
        for track_id, obs in zip(ids, found, strict=True):
            area = obs.box[2] * obs.box[3]
            if self._tracker.wants_thumbnail(track_id, area):
                self._tracker.attach_thumbnail(track_id, area, _thumbnail(small, obs, scale))
        return found

    def result(self) -> tuple[FaceResult, dict[str, bytes]]:
        """Tracks, characters (clustered, named) and a thumbnail per character."""
        self.close()
        tracks, thumbs = self._tracker.finish(self.options.min_track_frames)
        if self._speaking is not None:
            tracks = [self._with_speaking(t) for t in tracks]
        characters, tracks = self._characters(tracks)
        pictures = {}
        for character in characters:
            views = [(t, thumbs[t]) for t in character.tracks if t in thumbs]
            if views:
                pictures[character.id] = max(views, key=lambda v: len(v[1]))[1]
        result = FaceResult(
            tracks=tuple(tracks),
            characters=tuple(characters),
            shots=tuple(self.cuts),
            frames_analysed=self.analysed,
            frames_with_faces=self.with_faces,
            detector=self.options.detector,
        )
        return result, pictures

    def _with_speaking(self, track: FaceTrack) -> FaceTrack:
        from dataclasses import replace

        self._speaking.close(track.id)
        scores = self._speaking.scores(track.id)
        if scores is not None and len(scores) != len(track.times):
            log.warning(
                "track %d: %d speaking scores for %d faces", track.id, len(scores), len(track.times)
            )
            scores = None
        return replace(track, speaking=scores)

    def _characters(self, tracks: list[FaceTrack]) -> tuple[list[Character], list[FaceTrack]]:
        with_vector = [t for t in tracks if t.embedding is not None]
        apart = {
            (i, j)
            for i, a in enumerate(with_vector)
            for j, b in enumerate(with_vector)
            if i < j and a.start <= b.end and b.start <= a.end  # on screen together
        }
        labels = cluster(
            [np.asarray(t.embedding) for t in with_vector], apart, self.options.same_person
        )
        groups: dict[int, list[FaceTrack]] = {}
        for track, label in zip(with_vector, labels, strict=True):
            groups.setdefault(label, []).append(track)
        ordered = sorted(groups.values(), key=lambda g: min(t.start for t in g))
        names = self._cast_names(ordered)
        characters, labelled = [], {}
        for number, group in enumerate(ordered, 1):
            cid = f"S{number}"
            boxes = np.array([b for t in group for b in t.boxes])
            seen = sum(t.end - t.start + self.frame_step for t in group)
            characters.append(
                Character(
                    id=cid,
                    name=names.get(number - 1, cid),
                    tracks=tuple(t.id for t in group),
                    face_box=tuple(int(round(v)) for v in np.median(boxes, axis=0)),
                    seen_seconds=round(seen, 2),
                    named_by="cast" if number - 1 in names else "order",
                )
            )
            for t in group:
                labelled[t.id] = cid
        tracks = [_with_character(t, labelled.get(t.id)) for t in tracks]
        return characters, tracks

    def _cast_names(self, groups: list[list[FaceTrack]]) -> dict[int, str]:
        if not self.cast or not groups:
            return {}
        from scipy.optimize import linear_sum_assignment

        references = cast_embeddings(self.cast, self.options.device)
        names = list(references)
        means = [np.mean([t.embedding for t in g], axis=0) for g in groups]
        cost = np.array([[distance(m, references[n]) for n in names] for m in means])
        rows, cols = linear_sum_assignment(cost)
        return {
            int(r): names[c]
            for r, c in zip(rows, cols, strict=True)
            if cost[r, c] <= self.options.same_person + 0.05
        }


def _with_character(track: FaceTrack, character: str | None) -> FaceTrack:
    from dataclasses import replace

    return replace(track, character=character)


def _thumbnail(rgb: np.ndarray, obs: FaceObs, scale: float, size: int = 160) -> bytes:
    import cv2

    x, y, w, h = (v * scale for v in obs.box)
    pad = 0.35 * max(w, h)
    x0, y0 = int(max(0, x - pad)), int(max(0, y - pad))
    x1, y1 = int(min(rgb.shape[1], x + w + pad)), int(min(rgb.shape[0], y + h + pad))
    crop = rgb[y0:y1, x0:x1]
    if crop.size == 0:
        return b""
    zoom = size / max(crop.shape[:2])
    crop = cv2.resize(crop, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88]
    )
    return data.tobytes() if ok else b""


def tracks_json(result: FaceResult) -> str:
    """The face tracks for the speaker stage and the review page."""

    def clean(values):
        return [None if isinstance(v, float) and np.isnan(v) else v for v in values]

    data = {
        "schema": "reelscribe.faces/1",
        "detector": result.detector,
        "frames_analysed": result.frames_analysed,
        "frames_with_faces": result.frames_with_faces,
        "shots": list(result.shots),
        "characters": [
            {
                "id": c.id,
                "name": c.name,
                "tracks": list(c.tracks),
                "face_box": c.face_box,
                "seen_seconds": c.seen_seconds,
                "named_by": c.named_by,
            }
            for c in result.characters
        ],
        "tracks": [
            {
                "id": t.id,
                "shot": t.shot,
                "character": t.character,
                "times": list(t.times),
                "boxes": [list(b) for b in t.boxes],
                "mouth": clean(t.mouth),
                "jaw": clean(t.jaw),
                "speaking": list(t.speaking) if t.speaking is not None else None,
            }
            for t in result.tracks
        ],
    }
    buffer = io.StringIO()
    json.dump(data, buffer, separators=(",", ":"))
    return buffer.getvalue() + "\n"
