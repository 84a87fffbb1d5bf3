"""What every archive backend offers, and the values that pass through it.

A backend stores runs (one film's transcript, identified by its source's sha256
from the manifest) and answers parsed queries with ranked hits. Indexing a run
again replaces its lines in one transaction, so a concurrent search sees the old
lines or the new ones, never both and never none.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from restore.errors import MediaError
from sync.archive.query import Query, timecode
from sync.export import film_name, find_transcript
from sync.transcript import Transcript


@dataclass(frozen=True)
class Run:
    """A finished run, ready to index: its transcript and who it is."""

    sha256: str  # the source's content hash (manifest "source.sha256"): the run's identity
    film: str  # the source's stem, e.g. "notld"
    transcript: Transcript
    folder: str = ""  # where the outputs were found


@dataclass(frozen=True)
class ContextLine:
    start: float
    end: float
    speaker: str | None
    text: str


@dataclass(frozen=True)
class Hit:
    """One line that matched, with the lines around it in the same film."""

    film: str
    source: str
    sha256: str
    start: float
    end: float
    speaker: str | None  # the character's name, None when nobody was attributed
    text: str
    score: float  # higher is better (each backend's own scale)
    before: tuple[ContextLine, ...] = ()
    after: tuple[ContextLine, ...] = ()

    @classmethod
    def from_row(cls, row: tuple, near: list[tuple] = ()) -> Hit:
        """A hit from a backend's row (sha256, n, start, end, speaker, text, film, source,
        score) and the rows (n, start, end, speaker, text) of the lines around it."""
        sha256, n, start, end, speaker, text, film, source, score = row
        before = tuple(ContextLine(*r[1:]) for r in near if r[0] < n)
        after = tuple(ContextLine(*r[1:]) for r in near if r[0] > n)
        return cls(film, source, sha256, start, end, speaker, text, float(score), before, after)

    @property
    def timecode(self) -> str:
        return timecode(self.start)

    def to_dict(self) -> dict:
        def context(lines: tuple[ContextLine, ...]) -> list[dict]:
            return [
                {"start": c.start, "end": c.end, "speaker": c.speaker, "text": c.text}
                for c in lines
            ]

        return {
            "film": self.film,
            "source": self.source,
            "sha256": self.sha256,
            "timecode": self.timecode,
            "start": self.start,
            "end": self.end,
            "speaker": self.speaker,
            "text": self.text,
            "score": round(self.score, 6),
            "before": context(self.before),
            "after": context(self.after),
        }


@dataclass(frozen=True)
class Indexed:
    """What indexing one run did."""

    film: str
    sha256: str
    lines: int
    replaced: int  # lines of an earlier indexing of the same source that were removed


class Archive(ABC):
    """A dialogue archive: add runs, search them."""

    @abstractmethod
    def add(self, run: Run) -> Indexed:
        """Index a run, replacing any earlier lines of the same source, in one transaction."""

    @abstractmethod
    def search(self, query: Query, limit: int = 20, context: int = 1) -> list[Hit]:
        """Ranked hits (best first), each with ``context`` lines before and after."""

    @abstractmethod
    def refresh_statistics(self) -> None:
        """After a batch of indexing: let the query planner see the archive's new size."""

    @abstractmethod
    def count(self) -> tuple[int, int]:
        """(runs, lines) in the archive."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def speaker_names(transcript: Transcript) -> dict[str | None, str | None]:
    names: dict[str | None, str | None] = {None: None}
    for speaker in transcript.speakers:
        names[speaker.id] = speaker.name
    return names


def load_run(path: str | Path) -> Run:
    """A finished run from its output folder (or its ``*.transcript.json``).

    The identity comes from the manifest beside the transcript (``source.sha256``);
    without one the run cannot be told apart from another cut of the same film.
    """
    transcript_path = find_transcript(path)
    stem = transcript_path.name.removesuffix(".transcript.json")
    manifest_path = transcript_path.with_name(f"{stem}.manifest.json")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        sha256 = manifest["source"]["sha256"]
    except FileNotFoundError as error:
        raise MediaError(
            transcript_path,
            f"has no {manifest_path.name} beside it",
            "the archive identifies a run by the source hash in its manifest; "
            "index the folder written by `reelscribe run`",
        ) from error
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise MediaError(manifest_path, f"is not a readable manifest: {error}") from error
    if not isinstance(sha256, str) or not sha256:
        raise MediaError(manifest_path, "records no source sha256")
    transcript = Transcript.load(transcript_path)
    return Run(
        sha256=sha256,
        film=film_name(transcript_path, transcript),
        transcript=transcript,
        folder=str(transcript_path.parent),
    )


def run_folders(path: str | Path) -> list[Path]:
    """``path`` itself if it is a run (or a transcript), else the runs one level below it.

    ``reelscribe batch`` writes ``OUTROOT/<film stem>/``; indexing OUTROOT takes them all.
    """
    path = Path(path)
    if not path.is_dir() or any(_transcripts(path)):
        return [path]
    found = [sub for sub in sorted(path.iterdir()) if sub.is_dir() and any(_transcripts(sub))]
    return found or [path]  # nothing below either: load_run says what is missing


def _transcripts(folder: Path):
    return (p for p in folder.glob("*.transcript.json") if not p.name.startswith("."))
