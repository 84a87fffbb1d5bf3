"""Subtitle files from a transcript, and the master's subtitle streams: one path for every command.

``run`` renders them once; ``rename`` and ``import-subs`` change the transcript and call
``republish``, which re-renders every subtitle file and swaps the master's subtitle
streams by stream copy (no picture or sound is decoded), without recomputing anything else.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from restore.errors import MediaError, UsageError
from restore.master import SubtitleTrack, mux_subtitles, write_atomic
from sync.cues import Cue, CueRules, build_cues
from sync.manifest import now
from sync.transcript import Transcript
from sync.ttml import to_ttml
from sync.writers import to_ass, to_srt, to_vtt

log = logging.getLogger(__name__)

FORMATS: dict[str, Callable[..., str]] = {
    "srt": to_srt,
    "vtt": to_vtt,
    "ass": to_ass,
    "ttml": to_ttml,
}
# The subtitle files carried into the master as streams (Matroska takes SRT and ASS).
MASTER_STREAMS = (("srt", "speaker-labelled (SRT)"), ("ass", "speakers in colour (ASS)"))


@dataclass(frozen=True)
class Picture:
    """What cue shaping and the ASS canvas need to know of the picture."""

    fps: float = 25.0
    width: int = 1920
    height: int = 1080
    cuts: tuple[float, ...] = ()
    """Shot-change times (s)."""


NETFLIX = CueRules()


def render(
    transcript: Transcript, rules: CueRules = NETFLIX, picture: Picture = Picture()
) -> tuple[list[Cue], dict[str, str]]:
    """The cues, and the text of every subtitle format, by suffix."""
    cues = build_cues(transcript.lines, rules, picture.fps, picture.cuts)
    texts = {}
    for kind, writer in FORMATS.items():
        if kind == "ass":
            texts[kind] = writer(cues, transcript, picture.width, picture.height)
        elif kind == "srt":
            texts[kind] = writer(cues, transcript, rules.max_chars_per_line)
        else:
            texts[kind] = writer(cues, transcript)
    return cues, texts


def file_names(folder: Path, stem: str, language: str) -> dict[str, Path]:
    return {kind: folder / f"{stem}.{language}.{kind}" for kind in FORMATS}


def publish(
    master: Path, texts: dict[str, str], language: str, out: Path, work: Path | None = None
) -> int:
    """Write ``master`` with these subtitles as its subtitle streams to ``out`` (stream copy;
    ``out`` may be ``master`` itself). Returns the number of subtitle streams."""
    prefix = f".subs-{os.getpid()}-"  # recognisable: a killed run's is removed by the next
    with tempfile.TemporaryDirectory(prefix=prefix, dir=work or out.parent) as folder:
        tracks = []
        if "-->" in texts.get("srt", ""):  # at least one cue
            for kind, title in MASTER_STREAMS:
                path = Path(folder) / f"subtitles.{kind}"
                path.write_text(texts[kind], encoding="utf-8")
                tracks.append(SubtitleTrack(path, language, title))
        else:
            log.warning(
                "%s: no speech found, so the master carries no subtitle streams", master.name
            )
        mux_subtitles(master, tracks, out)
    return len(tracks)


# -- a finished run, edited in place -----------------------------------------------------------
@dataclass(frozen=True)
class RunFolder:
    """The outputs of one ``reelscribe run``, found through its manifest."""

    folder: Path
    manifest_path: Path
    manifest: dict

    @classmethod
    def open(cls, folder: str | Path) -> RunFolder:
        folder = Path(folder)
        if not folder.is_dir():
            raise MediaError(folder, "is not a folder", "give the output folder of a run")
        manifests = sorted(folder.glob("*.manifest.json"))
        if not manifests:
            raise MediaError(folder, "holds no *.manifest.json", "give the output folder of a run")
        if len(manifests) > 1:
            names = ", ".join(p.name for p in manifests)
            raise UsageError(f"{folder} holds the outputs of several films ({names}): keep one")
        try:
            manifest = json.loads(manifests[0].read_text(encoding="utf-8"))
            manifest["outputs"]["transcript"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise MediaError(manifests[0], f"is not a readable manifest: {error}") from error
        return cls(folder, manifests[0], manifest)

    def path(self, kind: str) -> Path:
        return self.folder / self.manifest["outputs"][kind]

    def transcript(self) -> Transcript:
        return Transcript.load(self.path("transcript"))

    def rules(self) -> CueRules:
        saved = (self.manifest.get("options") or {}).get("cues") or {}
        known = {k: v for k, v in saved.items() if k in CueRules.__dataclass_fields__}
        return CueRules(**known)

    def picture(self) -> Picture:
        import av

        cuts: tuple[float, ...] = ()
        if "faces" in self.manifest["outputs"] and self.path("faces").exists():
            try:
                data = json.loads(self.path("faces").read_text(encoding="utf-8"))
                cuts = tuple(float(t) for t in data.get("shots", ()))
            except (OSError, ValueError, TypeError) as error:
                raise MediaError(self.path("faces"), f"is not readable: {error}") from error
        try:
            with av.open(str(self.path("master"))) as container:
                if not container.streams.video:
                    return Picture(cuts=cuts)
                video = container.streams.video[0]
                rate = float(video.average_rate) if video.average_rate else 25.0
                return Picture(rate, video.codec_context.width, video.codec_context.height, cuts)
        except av.error.FFmpegError as error:
            raise MediaError(self.path("master"), "cannot be read as a master") from error

    def subtitle_paths(self, language: str) -> dict[str, Path]:
        stem = self.manifest_path.name.removesuffix(".manifest.json")
        names = file_names(self.folder, stem, language)
        for kind in FORMATS:  # a run's own names win (older runs had no TTML entry)
            if kind in self.manifest["outputs"]:
                names[kind] = self.path(kind)
        return names


def republish(run: RunFolder, transcript: Transcript, edit: str) -> dict[str, Path]:
    """Re-render every subtitle file and the review page from ``transcript``, swap the master's
    subtitle streams, and write the transcript: nothing else is recomputed."""
    from sync.report import assets_of_run
    from sync.report import render as render_report

    cues, texts = render(transcript, run.rules(), run.picture())
    names = run.subtitle_paths(transcript.language)
    publish(run.path("master"), texts, transcript.language, run.path("master"))
    for kind, text in texts.items():
        write_atomic(names[kind], text)
    write_atomic(run.path("transcript"), transcript.to_json())
    manifest = dict(run.manifest)
    manifest["outputs"] = {**manifest["outputs"], **{k: p.name for k, p in names.items()}}
    manifest["subtitles"] = {**(manifest.get("subtitles") or {}), "cues": len(cues)}
    manifest["edits"] = [*manifest.get("edits", ()), {"edit": edit, "at": now()}]
    if "report" in manifest["outputs"]:
        assets = assets_of_run(run.folder, manifest)  # the player, faces and stills stay
        write_atomic(run.path("report"), render_report(transcript, manifest, assets))
    write_atomic(run.manifest_path, json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return {**names, "master": run.path("master"), "transcript": run.path("transcript")}
