"""The transcript: who said what, when (schema ``reelscribe.transcript/1``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from restore.errors import MediaError
from speech.types import Word

SCHEMA = "reelscribe.transcript/1"


@dataclass(frozen=True)
class Speaker:
    id: str
    name: str
    face_box: tuple[int, int, int, int] | None = None
    seen_seconds: float = 0.0


@dataclass(frozen=True)
class Line:
    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    speaker: str | None = None  # a Speaker id; None when nobody could be attributed
    evidence: str | None = None  # "lips" | "voice" | None
    confidence: float | None = None


@dataclass(frozen=True)
class Transcript:
    source: str
    duration: float
    language: str
    speakers: tuple[Speaker, ...] = ()
    lines: tuple[Line, ...] = field(default=())

    def speaker_name(self, speaker_id: str | None) -> str | None:
        for speaker in self.speakers:
            if speaker.id == speaker_id:
                return speaker.name
        return speaker_id

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "source": self.source,
            "duration": self.duration,
            "language": self.language,
            "speakers": [
                {
                    "id": s.id,
                    "name": s.name,
                    "face_box": list(s.face_box) if s.face_box else None,
                    "seen_seconds": s.seen_seconds,
                }
                for s in self.speakers
            ],
            "lines": [
                {
                    "start": line.start,
                    "end": line.end,
                    "text": line.text,
                    "speaker": line.speaker,
                    "evidence": line.evidence,
                    "confidence": line.confidence,
                    "words": [
                        {"start": w.start, "end": w.end, "text": w.text, "prob": w.prob}
                        for w in line.words
                    ],
                }
                for line in self.lines
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def from_dict(cls, data: dict) -> Transcript:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} transcript (schema {data.get('schema')!r})")
        return cls(
            source=data["source"],
            duration=float(data["duration"]),
            language=data["language"],
            speakers=tuple(
                Speaker(
                    id=s["id"],
                    name=s.get("name") or s["id"],
                    face_box=tuple(s["face_box"]) if s.get("face_box") else None,
                    seen_seconds=float(s.get("seen_seconds") or 0.0),
                )
                for s in data.get("speakers", [])
            ),
            lines=tuple(
                Line(
                    start=float(line["start"]),
                    end=float(line["end"]),
                    text=line["text"],
                    words=tuple(
                        Word(float(w["start"]), float(w["end"]), w["text"], float(w.get("prob", 0)))
                        for w in line.get("words", [])
                    ),
                    speaker=line.get("speaker"),
                    evidence=line.get("evidence"),
                    confidence=line.get("confidence"),
                )
                for line in data["lines"]
            ),
        )

    @classmethod
    def load(cls, path: str | Path) -> Transcript:
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise MediaError(path, f"is not a readable transcript: {error}") from error
