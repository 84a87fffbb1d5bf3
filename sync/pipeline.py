"""The Pipeline: film in, restored master, transcript, subtitles, review page and manifest out.

Stages, and what passes between them (docs/architecture.md draws it):

    source --frames--> picture chain --frames--> master writer (FFV1)
           --blocks--> sound chain   --blocks--> master writer (FLAC)
                                             \\-> speech tap (16 kHz WAV) --> speech --> lines
    lines (+ shot changes) --> cues --> SRT / VTT / ASS / TTML --> into the master (stream copy)

Everything is written to a work folder beside the outputs and moved into place
only when complete; the work folder is removed afterwards, whatever happened.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from faces.stage import FaceOptions, tracks_json
from restore.access import AccessOptions, review_stills, write_access_copy
from restore.chain import RestoreOptions, picture_chain, sound_chain
from restore.errors import MediaError, OutputError, ReelError, UsageError
from restore.master import (
    MasterWriter,
    interleave,
    remove_stale_temporaries,
    temporary_prefix,
    write_atomic,
    write_bytes_atomic,
)
from restore.media import (
    DecodeStats,
    Source,
    content_hash,
    iter_audio,
    iter_frames,
    iter_packets,
    open_source,
)
from restore.speechsound import finish_copies, second_steps, speech_plan
from restore.tap import SpeechTap
from speech.options import TranscribeOptions
from speech.transcribe import Progress, no_progress
from speech.types import SpeechResult
from sync.attribute import AttributionOptions, lines_from_segments
from sync.cues import CueRules
from sync.manifest import SCHEMA as MANIFEST_SCHEMA
from sync.manifest import now, versions
from sync.report import ReportAssets, render
from sync.stagecache import StageCache, cast_fingerprint, options_key
from sync.subtitles import Picture, file_names, publish
from sync.subtitles import render as render_subtitles
from sync.transcript import Speaker, Transcript
from sync.voices import VoiceOptions

if TYPE_CHECKING:
    from faces.stage import FaceAnalyser
    from faces.types import FaceResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    restore: RestoreOptions = field(default_factory=RestoreOptions)
    speech: TranscribeOptions = field(default_factory=TranscribeOptions)
    cues: CueRules = field(default_factory=CueRules)
    audio_track: int = 0
    """The audio track (0-based, as ffmpeg's a:N) to restore and transcribe; others are copied."""
    fps: str | None = None
    """Frame rate of an image-sequence input."""
    audio: Path | None = None
    """Sound file for an image-sequence input."""
    attribution: AttributionOptions = field(default_factory=AttributionOptions)
    faces: FaceOptions | None = field(default_factory=FaceOptions)
    """The face stage (``run`` only); None skips it (no characters)."""
    access: AccessOptions | None = field(default_factory=AccessOptions)
    """The review page's H.264/AAC access copy (``run`` only); None writes none."""
    voice: VoiceOptions | None = field(default_factory=VoiceOptions)
    """Voice evidence after the lips (sync/voices.py): lines nobody was seen saying, and
    lines the lips were less sure of than the voice, given to the character whose voice
    they clearly are; None: the lips alone. On by default: on film dialogues of people
    nothing was tuned on it cut the turns given to a wrong face or to the listener by a third, and
    on a real call it named no turn wrongly (docs/benchmarks.md)."""


@dataclass(frozen=True)
class RunResult:
    outputs: dict[str, Path]
    transcript: Transcript
    manifest: dict


@dataclass(frozen=True)
class MasterResult:
    frames: int
    damaged: int
    audio_samples: int
    copied_tracks: tuple[int, ...]
    restoration: dict
    interlaced: int = 0
    """Frames decoded as two fields: kept as fields (the master says so), not deinterlaced."""


def _voice_model(options: VoiceOptions) -> dict:
    """The voice model as the manifest records it (speech/voice.py)."""
    from speech.voice import WEIGHTS

    return {"model": "CAM++ (3D-Speaker)", "weights": WEIGHTS.name, "device": options.device}


class Pipeline:
    """Wires the stages together for one film. Holds no global state."""

    def __init__(
        self,
        options: RunOptions = RunOptions(),
        progress: Progress = no_progress,
        cache: StageCache | None = None,
    ) -> None:
        self.options = options
        self.progress = progress
        self.cache = cache
        """Where finished face and speech results are kept (``batch`` resumes from it)."""
        self.timings: dict[str, float] = {}
        self.cached: list[str] = []

    # -- public entry points -----------------------------------------------------------------
    def open(self, path: str | Path) -> Source:
        return open_source(path, fps=self.options.fps, audio=self.options.audio)

    def run(self, path: str | Path, out_dir: str | Path | None = None) -> RunResult:
        """Restore, transcribe, attribute and write every output of the contract."""
        source = self.open(path)
        self._check_model(source, voice=self._hears_voices(source))
        out = _output_folder(Path(out_dir) if out_dir else source.path.parent)
        remove_stale_temporaries(out)
        stem = source.stem
        with tempfile.TemporaryDirectory(prefix=temporary_prefix(stem), dir=out) as work_dir:
            work = Path(work_dir)
            source_hash = self._timed("hash", lambda: content_hash(source))
            speech_wav = work / "speech.wav" if source.audio else None
            second_wav = (
                _second_wav(speech_wav)
                if speech_wav is not None and second_steps(self.options.restore)
                else None
            )
            master_tmp = work / "master.mkv"
            faces_key = _faces_key(self.options)
            wanted = self.options.faces if source.video is not None else None
            cached_faces = self._cache_get("faces", source_hash, faces_key, wanted)
            analyser = self._face_analyser(source) if cached_faces is None else None
            master_key = options_key(self.options.restore, self.options.audio_track)
            files = {"master.mkv": master_tmp}
            if speech_wav is not None:
                files["speech.wav"] = speech_wav
            if second_wav is not None:
                files["speech.second.wav"] = second_wav
            master = None
            if wanted is None or cached_faces is not None:  # faces are read in the master pass
                master = self._cache_get("master", source_hash, master_key, files)
            if master is None:
                master = self._timed(
                    "master",
                    lambda: self._write_master(source, master_tmp, speech_wav, True, analyser),
                )
            if cached_faces is not None:
                faces, thumbs, faces_summary = cached_faces
            else:
                faces, thumbs = self._faces(analyser)
                faces_summary = _faces_summary(faces, analyser)
                if faces is not None:
                    self._cache_put("faces", source_hash, faces_key, (faces, thumbs, faces_summary))
            if self.cache is not None and "master" not in self.cached:
                self.cache.put_files("master", source_hash, master_key, master, files)
            speech_key = options_key(
                self.options.speech, self.options.restore, self.options.audio_track
            )
            cached_speech = self._cache_get("speech", source_hash, speech_key, speech_wav)
            if cached_speech is not None:
                speech, readings = cached_speech
            else:
                speech, readings = self._speech(source, speech_wav, second_wav)
                if speech is not None:
                    self._cache_put("speech", source_hash, speech_key, (speech, readings))
            if speech is None:
                log.warning("%s: no sound, so nothing to transcribe", source.path.name)
            language = speech.language if speech else _default_language(self.options.speech)
            transcript = Transcript(
                source=source.path.name,
                duration=round(source.duration, 3),
                language=language,
                speakers=_speakers(faces),
                lines=self._attribute(speech, faces, speech_wav),
            )
            fps = (
                float(source.video.average_rate)
                if source.video and source.video.average_rate
                else 25.0
            )
            width, height = (
                (source.video.width, source.video.height) if source.video else (1920, 1080)
            )
            picture = Picture(fps, width, height, tuple(faces.shots) if faces else ())
            cues, texts = render_subtitles(transcript, self.options.cues, picture)
            names = {
                "master": out / f"{stem}.master.mkv",
                **file_names(out, stem, language),
                "transcript": out / f"{stem}.transcript.json",
                "report": out / f"{stem}.report.html",
                "manifest": out / f"{stem}.manifest.json",
            }
            if self.options.access is not None:
                names["access"] = out / f"{stem}.access.mp4"
            if faces is not None:
                names["faces"] = out / f"{stem}.faces.json"
                for character in faces.characters:
                    if character.id in thumbs:
                        names[f"thumbnail {character.id}"] = out / f"{stem}.{character.id}.jpg"
            _refuse_overwriting_input(source, names.values())
            # The manifest is the mark of a finished run, written last: while the outputs
            # are replaced one by one, the folder must not look finished.
            names["manifest"].unlink(missing_ok=True)
            self._timed("mux", lambda: publish(master_tmp, texts, language, names["master"], work))
            for kind, text in texts.items():
                write_atomic(names[kind], text)
            write_atomic(names["transcript"], transcript.to_json())
            if faces is not None:
                write_atomic(names["faces"], tracks_json(faces))
                for character in faces.characters:
                    if character.id in thumbs:
                        write_bytes_atomic(names[f"thumbnail {character.id}"], thumbs[character.id])
            manifest = self._manifest(source, source_hash, master, speech, names, cues=len(cues))
            if readings is not None:
                manifest["speech"]["readings"] = readings
            manifest["faces"] = faces_summary
            if self.cache is not None:
                manifest["stage_cache"] = {"taken": list(self.cached)}
            assets = self._review_assets(source, names, thumbs, texts.get("vtt"))
            manifest["timings"] = dict(self.timings)
            manifest["outputs"] = {kind: path.name for kind, path in names.items()}
            write_atomic(names["report"], render(transcript, manifest, assets))
            write_atomic(
                names["manifest"], json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
            )
            if self.cache is not None:  # finished: the master is in place, its copy can go
                self.cache.drop("master", source_hash, master_key)
        return RunResult(outputs=names, transcript=transcript, manifest=manifest)

    def _cache_get(self, stage: str, source_hash: str, key: str, needed):
        """``needed``: None (skip the lookup), a dict of files to restore, or anything else."""
        if self.cache is None or needed is None:
            return None
        if isinstance(needed, dict):
            value = self.cache.get_files(stage, source_hash, key, needed)
        else:
            value = self.cache.get(stage, source_hash, key)
        if value is not None:
            self.cached.append(stage)
        return value

    def _cache_put(self, stage: str, source_hash: str, key: str, value) -> None:
        if self.cache is not None:
            self.cache.put(stage, source_hash, key, value)

    def _review_assets(
        self, source: Source, names: dict[str, Path], thumbs, vtt: str | None
    ) -> ReportAssets:
        """The access copy (written beside the page), the before/after stills, and the VTT
        as written beside the page (the player's subtitle track)."""
        access = None
        if "access" in names:
            try:
                self._timed(
                    "access copy",
                    lambda: write_access_copy(
                        names["master"], names["access"], self.options.access
                    ),
                )
                access = names["access"].name
            except ReelError as error:  # the master and subtitles stand without it
                log.warning("%s: no access copy for the review page: %s", source.path.name, error)
                del names["access"]
        seconds, before, after = self._timed(
            "stills", lambda: review_stills(source, names["master"])
        )
        return ReportAssets(
            access=access,
            thumbnails={
                key.split()[1]: path.name
                for key, path in names.items()
                if key.startswith("thumbnail ")
            },
            still_seconds=seconds,
            before=before,
            after=after,
            vtt=vtt.encode("utf-8") if vtt is not None else None,  # as write_atomic writes it
        )

    def restore(self, path: str | Path, master_path: str | Path) -> MasterResult:
        """Restoration only: the master, with every audio track, no transcription."""
        source = self.open(path)
        master_path = Path(master_path)
        _output_folder(master_path.parent)
        remove_stale_temporaries(master_path.parent)
        _refuse_overwriting_input(source, [master_path])
        if master_path.suffix.lower() != ".mkv":
            raise UsageError(f"-o {master_path}: the master is Matroska; name it with .mkv")
        return self._timed(
            "master", lambda: self._write_master(source, master_path, None, restore=True)
        )

    def transcribe(self, path: str | Path, out_json: str | Path) -> Transcript:
        """Speech only, on the sound as it is: the transcript, speakers empty."""
        source = self.open(path)
        out_json = Path(out_json)
        _output_folder(out_json.parent)
        _refuse_overwriting_input(source, [out_json])
        if not source.audio:
            raise MediaError(source.path, "has no audio stream", "there is nothing to transcribe")
        self._check_model(source, voice=False)  # no faces, no lips, no voices to learn
        remove_stale_temporaries(out_json.parent)
        with tempfile.TemporaryDirectory(
            prefix=temporary_prefix(source.stem), dir=out_json.parent
        ) as work:
            wav = Path(work) / "speech.wav"
            tap = SpeechTap(wav)
            blocks = tap.process(iter_audio(source, self.options.audio_track))
            self._timed("decode", lambda: _drain(blocks, self.progress, "decode", source.duration))
            speech, _ = self._speech(source, wav)
        assert speech is not None
        transcript = Transcript(
            source=source.path.name,
            duration=round(source.duration or speech.duration, 3),
            language=speech.language,
            lines=lines_from_segments(speech.segments),
        )
        write_atomic(out_json, transcript.to_json())
        return transcript

    # -- stages ------------------------------------------------------------------------------
    def _write_master(
        self,
        source: Source,
        path: Path,
        speech_wav: Path | None,
        restore: bool,
        faces: FaceAnalyser | None = None,
    ) -> MasterResult:
        options = self.options.restore if restore else RestoreOptions.none()
        pictures, sounds = picture_chain(options), sound_chain(options)
        track = self.options.audio_track
        if source.audio:
            source.audio_track(track)  # validates the number before any work
        elif track != 0:
            raise UsageError(f"--audio-track {track}: {source.path} has no audio tracks")
        copies = [a.track for a in source.audio if a.track != track]
        video_stats, audio_stats = DecodeStats(), DecodeStats()
        streams: list[Iterator] = []
        if source.video is not None:
            frames = pictures.process(iter_frames(source, video_stats))
            if faces is not None:
                frames = faces.process(frames)  # the faces are read on the restored picture
            streams.append(frames)
        else:
            log.warning(
                "%s has no picture: the master carries sound and subtitles only", source.path.name
            )
        if source.audio:
            blocks = iter_audio(source, track, stats=audio_stats)
            if speech_wav is not None:  # speech hears its own steps of the chain; the master, all
                tap = SpeechTap(speech_wav).process
                blocks = sounds.process(blocks, tap, at=speech_plan(options)[0])
            else:
                blocks = sounds.process(blocks)
            streams.append(blocks)
            streams.extend(iter_packets(source, copy) for copy in copies)
        else:
            log.warning("%s has no sound: the master carries the picture only", source.path.name)
        total = source.duration or None
        with MasterWriter(
            path, source, audio_track=track if source.audio else None, copy_tracks=copies
        ) as writer:
            last = 0.0
            for item in interleave(*streams):
                writer.write(item)
                now_s = float(item.time)
                if now_s - last >= 0.5:
                    self.progress("master", min(now_s, total or now_s), total)
                    last = now_s
            self.progress("master", total or last, total)
        speech_report = None
        if speech_wav is not None and source.audio:
            speech_report = finish_copies(speech_wav, options, _second_wav(speech_wav))
        if source.video is not None and writer.stats.frames == 0:
            raise MediaError(source.path, "has a picture stream but no frame could be decoded")
        damaged = video_stats.damaged + audio_stats.damaged
        if damaged:
            log.warning("%s: skipped %d damaged packet(s)", source.path.name, damaged)
        if video_stats.interlaced:
            log.warning(
                "%s is interlaced (%d of %d frames, field order %s): the master keeps the "
                "fields as they are and says so; deinterlace a viewing copy, not the master",
                source.path.name,
                video_stats.interlaced,
                writer.stats.frames,
                source.video.field_order if source.video else "unknown",
            )
        return MasterResult(
            frames=writer.stats.frames,
            damaged=damaged,
            audio_samples=writer.stats.audio_samples,
            copied_tracks=tuple(copies),
            restoration={
                "picture": pictures.report(),
                "sound": sounds.report(),
                "speech": speech_report,
            },
            interlaced=video_stats.interlaced,
        )

    def _check_model(self, source: Source, voice: bool) -> None:
        """A missing speech model, or voice model where ``voice``, fails before any long
        work (there is none without sound)."""
        if source.audio:
            from speech.models import check_model

            speech = self.options.speech
            check_model(speech.engine, speech.model, speech.allow_download)
        if voice:
            from speech.voice import check_voice_model

            check_voice_model()

    def _hears_voices(self, source: Source) -> bool:
        """Whether ``run`` gives lines by voice: asked to, with faces to learn voices from
        (the lips) and sound to hear them in."""
        return bool(
            self.options.voice is not None
            and self.options.faces is not None
            and source.video
            and source.audio
        )

    def _face_analyser(self, source: Source) -> FaceAnalyser | None:
        if self.options.faces is None or source.video is None:
            return None
        from faces.stage import FaceAnalyser

        audio = None
        if self.options.faces.speaking and source.audio:
            from faces.speaking import read_speaking_audio

            audio = self._timed(
                "speaking (sound features)",
                lambda: read_speaking_audio(
                    source, self.options.audio_track, self.options.attribution.av_offset_s
                ),
            )
        return FaceAnalyser(self.options.faces, audio=audio)

    def _faces(self, analyser: FaceAnalyser | None) -> tuple[FaceResult | None, dict]:
        if analyser is None:
            return None, {}
        result = self._timed("characters", analyser.result)
        self.timings["faces (within master)"] = round(analyser.seconds, 3)
        self.timings["speaking (within faces)"] = round(analyser.speaking_seconds, 3)
        return result

    def _attribute(self, speech, faces, wav: Path | None):
        if speech is None:
            return ()
        if faces is None or wav is None:
            return lines_from_segments(speech.segments)
        from sync.attribute import attribute, speech_envelope

        envelope = speech_envelope(wav)
        lines = self._timed(
            "speakers",
            lambda: attribute(speech.segments, faces, envelope, self.options.attribution),
        )
        if self.options.voice is None:
            return lines
        from sync.voices import attribute_by_voice

        floor = self.options.attribution.speaking_floor
        return self._timed(
            "speakers by voice",
            lambda: attribute_by_voice(lines, faces, wav, self.options.voice, floor),
        )

    def _speech(
        self, source: Source, wav: Path | None, second: Path | None = None
    ) -> tuple[SpeechResult | None, dict | None]:
        """The transcription, and with a second copy of the sound, what its reading gave."""
        if wav is None:
            return None, None
        from speech.transcribe import transcribe_wav

        speech = self._timed(
            "speech", lambda: transcribe_wav(wav, self.options.speech, self.progress)
        )
        if second is None:
            return speech, None
        from speech.readings import keep_surer

        def progress(stage: str, done: float, total: float | None) -> None:
            self.progress(f"{stage} (second copy)", done, total)

        # in the first reading's language: the second may not splice in another one
        options = dataclasses.replace(self.options.speech, language=speech.language)
        other = self._timed(
            "speech (second copy)", lambda: transcribe_wav(second, options, progress)
        )
        kept, stretches, taken = keep_surer(speech, other)
        readings = {
            "stretches": stretches,
            "from_second_copy": taken,
            "words": {"first": len(speech.words), "second": len(other.words)},
        }
        log.info("speech: %d of %d stretches read from the second copy", taken, stretches)
        return kept, readings

    def _timed(self, stage: str, work: Callable):
        started = time.perf_counter()
        try:
            return work()
        finally:
            self.timings[stage] = round(time.perf_counter() - started, 3)

    def _manifest(
        self,
        source: Source,
        source_hash: str,
        master: MasterResult,
        speech: SpeechResult | None,
        names: dict[str, Path],
        cues: int,
    ) -> dict:
        video = dataclasses.asdict(source.video) if source.video else None
        voice = self._hears_voices(source)
        if video:
            for key in ("time_base", "average_rate", "sample_aspect_ratio"):
                video[key] = str(video[key]) if video[key] is not None else None
        return {
            "schema": MANIFEST_SCHEMA,
            "created": now(),
            "versions": versions(),
            "source": {
                "path": str(source.path),
                "kind": source.kind,
                "sha256": source_hash,
                "duration": source.duration,
                "video": video,
                "audio": [dataclasses.asdict(a) for a in source.audio],
                "fps": str(source.fps) if source.fps else None,
                "audio_file": str(source.audio_path)
                if source.kind == "images" and source.audio_path
                else None,
            },
            "options": {
                "audio_track": self.options.audio_track,
                "restore": dataclasses.asdict(self.options.restore),
                "speech": dataclasses.asdict(self.options.speech),
                "cues": dataclasses.asdict(self.options.cues),
                "attribution": dataclasses.asdict(self.options.attribution),
                "voice": dataclasses.asdict(self.options.voice) if voice else None,
            },
            "models": {
                "speech": {
                    "engine": speech.engine,
                    "model": speech.model,
                    "path": speech.model_path,
                    "device": speech.device,
                    "compute_type": speech.compute_type,
                }
                if speech
                else None,
                "voice": _voice_model(self.options.voice) if voice else None,
            },
            "master": {
                "frames": master.frames,
                "damaged_packets_skipped": master.damaged,
                "interlaced_frames": master.interlaced,
                "audio_samples": master.audio_samples,
                "restored_audio_track": self.options.audio_track if source.audio else None,
                "copied_audio_tracks": list(master.copied_tracks),
                "video_codec": "ffv1" if source.video else None,
                "audio_codec": "flac" if source.audio else None,
            },
            "restoration": master.restoration,
            "speech": {
                "language": speech.language,
                "language_probability": speech.language_probability,
                "lines": len(speech.segments),
                "dropped_as_invented": dict(speech.dropped),
                "words": len(speech.words),
            }
            if speech
            else None,
            "subtitles": {"cues": cues},
            "timings": dict(self.timings),
            "outputs": {kind: path.name for kind, path in names.items()},
        }


def _speakers(faces: FaceResult | None) -> tuple[Speaker, ...]:
    if faces is None:
        return ()
    return tuple(Speaker(c.id, c.name, c.face_box, c.seen_seconds) for c in faces.characters)


def _faces_summary(faces: FaceResult | None, analyser: FaceAnalyser | None) -> dict | None:
    if faces is None or analyser is None:
        return None
    return {
        "detector": faces.detector,
        "analysis_fps": analyser.options.analysis_fps,
        "frames_analysed": faces.frames_analysed,
        "frames_with_faces": faces.frames_with_faces,
        "tracks": len(faces.tracks),
        "shots": len(faces.shots) + 1,
        "characters": [
            {
                "id": c.id,
                "name": c.name,
                "named_by": c.named_by,
                "tracks": len(c.tracks),
                "seen_seconds": c.seen_seconds,
            }
            for c in faces.characters
        ],
        "seconds": round(analyser.seconds, 3),
    }


def _drain(items: Iterator, progress: Progress, stage: str, total: float) -> None:
    last = 0.0
    for item in items:
        now_s = float(item.time)
        if now_s - last >= 0.5:
            progress(stage, min(now_s, total or now_s), total or None)
            last = now_s


def _default_language(options: TranscribeOptions) -> str:
    return options.language if options.language not in ("auto", "", None) else "en"


def _output_folder(folder: Path) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(
            f"cannot create the output folder {folder}: {error.strerror or error}"
        ) from error
    if not folder.is_dir():
        raise OutputError(f"{folder} is not a folder: give an output folder with -o")
    return folder


def _refuse_overwriting_input(source: Source, outputs) -> None:
    inputs = {source.path.resolve()}
    if source.audio_path is not None:
        inputs.add(source.audio_path.resolve())
    for path in outputs:
        if Path(path).resolve() in inputs:
            raise UsageError(f"{path} is the input: choose another output name or folder")


def _second_wav(speech_wav: Path) -> Path:
    """Where the second copy for speech is written, beside the first."""
    return speech_wav.with_name(f"{speech_wav.stem}.second.wav")


def _faces_key(options: RunOptions) -> str:
    """What the face stage's result depends on: its options, the cast's photos, and the
    picture it reads (the restored picture's steps and settings, the frame rate asked
    for), not the sound: a changed sound or speech option does not read the faces again."""
    picture = options.restore
    return options_key(
        options.faces,
        {"picture": picture.picture, "settings": picture.picture_settings, "fps": options.fps},
        cast_fingerprint(options.faces.cast if options.faces else None),
    )
