"""``reelscribe``: a thin command line over the Pipeline.

It parses arguments, builds the options, calls the library and returns an exit
code. Bad input gives one line on stderr and a non-zero code; tracebacks only
with ``--debug``. Only the CLI configures logging.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import signal
import sys
import threading
import tomllib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from faces.stage import FaceOptions
from restore.chain import (
    SECOND_DEFAULT,
    SOUND_DEFAULT,
    SOUND_STEPS,
    SPEECH_DEFAULT,
    RestoreOptions,
)
from restore.errors import DISK_FULL, MediaError, ReelError, UsageError, write_error
from speech.options import TranscribeOptions

LOGGERS = ("restore", "speech", "faces", "sync")
EXIT_CODES = """exit codes:
  0  success
  1  unexpected internal error (run again with --debug and report it)
  2  bad command-line usage or option value
  3  the input cannot be read as a film, sound or image sequence
  4  a model is not on this machine
  5  the output cannot be written (folder missing or read-only, disk full)
  130 interrupted (Ctrl-C or SIGTERM); a run killed outright (SIGKILL) leaves temporaries
      that the next run in the same folder removes"""


def _version() -> str:
    try:
        return metadata.version("reelscribe")
    except metadata.PackageNotFoundError:
        return "unknown"


def _common(parser: argparse.ArgumentParser, top: bool = False) -> None:
    # On subcommands the flags only set a value when given, so `reelscribe --quiet run` works too.
    default = False if top else argparse.SUPPRESS
    parser.add_argument(
        "--quiet", action="store_true", default=default, help="no progress output (for scripts)"
    )
    parser.add_argument(
        "--debug", action="store_true", default=default, help="verbose log and tracebacks"
    )


def _media_options(parser: argparse.ArgumentParser, speech: bool = True) -> None:
    parser.add_argument("input", type=Path, help="a film file, or a folder of numbered images")
    parser.add_argument("--fps", help="frame rate of an image sequence (24, 25, 24000/1001)")
    parser.add_argument("--audio", type=Path, help="sound file for an image sequence")
    parser.add_argument(
        "--audio-track",
        type=int,
        default=0,
        metavar="N",
        help="audio track to restore and transcribe, counted from 0 as ffmpeg's a:N (default 0); "
        "the others are carried into the master unchanged",
    )
    if speech:
        parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
        parser.add_argument(
            "--model", default="base", help="Whisper model name known offline, or a model folder"
        )
        parser.add_argument(
            "--language",
            default="auto",
            help="auto, or a code such as en (English-only models: en)",
        )
        parser.add_argument(
            "--task",
            default="transcribe",
            choices=("transcribe", "translate"),
            help="translate: English subtitles for a foreign film (needs a multilingual model)",
        )
        parser.add_argument(
            "--engine", default="faster-whisper", choices=("faster-whisper", "openai-whisper")
        )
        parser.add_argument("--beam-size", type=int, default=5)
        parser.add_argument(
            "--batch-size",
            type=int,
            default=0,
            help="batched decoding (default: 16 on CUDA, off on the CPU)",
        )
        parser.add_argument("--prompt", help="names and words to expect (e.g. the cast's names)")
        parser.add_argument(
            "--no-vad", action="store_true", help="transcribe silence and music too"
        )
        parser.add_argument(
            "--vad-regions",
            action="store_true",
            help="decode each stretch of speech on its own: about 1.45x the time; on hissy "
            "dialogue it hears a little more (by default a stretch the decode skipped is "
            "decoded again on its own)",
        )
        parser.add_argument(
            "--fallback",
            action="store_true",
            help="re-decode a doubtful window by (seeded) sampling, as Whisper does",
        )
        parser.add_argument(
            "--download",
            action="store_true",
            help="allow fetching a missing model into the cache (needs a network)",
        )


def _film_options(parser: argparse.ArgumentParser) -> None:
    """What `run` and `batch` share: restoration on/off, sound, faces, the access copy."""
    parser.add_argument(
        "--no-restore", action="store_true", help="no picture and no sound restoration"
    )
    _sound_options(parser)
    parser.add_argument(
        "--speech-sound",
        metavar="STEPS",
        default=",".join(SPEECH_DEFAULT),
        help="which of the sound steps speech recognition hears, comma-separated, 'all' or "
        f"'none' (default {','.join(SPEECH_DEFAULT)}: the denoiser takes words away where "
        "speech hardly stands above the hiss; the master always gets every step)",
    )
    parser.add_argument(
        "--speech-second",
        metavar="STEPS",
        default=",".join(SECOND_DEFAULT),
        help="sound steps a second copy for speech hears besides --speech-sound, or 'none' "
        f"(default {','.join(SECOND_DEFAULT)}): Whisper reads both copies and keeps, stretch by "
        "stretch, the reading it is surer of; 'none' reads once instead of twice",
    )
    parser.add_argument("--cast", type=Path, help="cast file: names from reference photos (TOML)")
    parser.add_argument("--face-detector", default="auto", choices=("auto", "mediapipe", "mtcnn"))
    parser.add_argument("--no-faces", action="store_true", help="skip faces (no characters)")
    parser.add_argument(
        "--speaker-model",
        default="none",
        metavar="WEIGHTS",
        help="an active-speaker model to read who is talking on screen: 'ava' (Light-ASD "
        "trained on AVA-ActiveSpeaker), 'talkset', a path to Light-ASD weights, or 'none' "
        "(default: the classical lip synchrony, which measured better on film dialogues)",
    )
    parser.add_argument(
        "--voice",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="after the lips (so with the face stage only), give lines nobody is seen "
        "saying to the character whose voice they clearly are, and lines the lips were "
        "less sure of than the voice is (evidence 'voice'; default: on; --no-voice: the "
        "lips alone)",
    )
    parser.add_argument(
        "--av-offset",
        metavar="SECONDS",
        type=float,
        default=0.0,
        help="how late the sound runs against the picture (negative: early), for a print out "
        "of sync; lip sync is judged with it (default 0: in sync)",
    )
    parser.add_argument(
        "--no-access-copy",
        action="store_true",
        help="no H.264 access copy (the review page then has no player)",
    )


def _sound_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sound",
        metavar="STEPS",
        default=",".join(SOUND_DEFAULT),
        help=f"sound restoration steps, in order, comma-separated, or 'none' "
        f"(default {','.join(SOUND_DEFAULT)}; known: {', '.join(SOUND_STEPS)})",
    )
    parser.add_argument(
        "--loudness",
        metavar="LUFS",
        type=float,
        default=RestoreOptions.loudness,
        help="integrated loudness of the master's sound (default -23, EBU R128)",
    )


def _restore_options(args: argparse.Namespace) -> RestoreOptions:
    if getattr(args, "no_restore", False):
        return RestoreOptions.none()
    if not hasattr(args, "sound"):
        return RestoreOptions()
    names = tuple(n.strip() for n in args.sound.split(",") if n.strip())
    if names == ("none",):
        names = ()
    options = RestoreOptions(sound=names, loudness=args.loudness)
    if hasattr(args, "speech_sound"):
        speech = _speech_steps(args.speech_sound, "--speech-sound", all_=True)
        options = dataclasses.replace(options, speech_sound=speech)
    if hasattr(args, "speech_second"):
        second = _speech_steps(args.speech_second, "--speech-second", all_=False)
        options = dataclasses.replace(options, speech_second=second)
    return options


def _speech_steps(value: str, flag: str, all_: bool) -> tuple[str, ...]:
    """Sound step names for a speech copy, comma-separated; 'none' (and with ``all_``, 'all')."""
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    words = {("none",): (), **({("all",): tuple(SOUND_STEPS)} if all_ else {})}
    names = words.get(names, names)
    unknown = [n for n in names if n not in SOUND_STEPS]
    if unknown:
        raise UsageError(
            f"{flag}: unknown sound step {unknown[0]!r} "
            f"(known: {', '.join(SOUND_STEPS)}, or {'all, ' if all_ else ''}none)"
        )
    return names


def _picture_options(parser: argparse.ArgumentParser, learn: bool = True) -> None:
    """Picture restoration; ``learn`` adds --learn-from (references belong to one film)."""
    parser.add_argument(
        "--preset",
        default="archival",
        choices=("archival", "access", "none"),
        help="picture restoration: archival (repairs defects, keeps grain; the default), "
        "access (cleaner, steadier viewing copy), none",
    )
    parser.add_argument(
        "--steps",
        metavar="LIST",
        help="picture steps to run, in order, e.g. deflicker,dust "
        "(deflicker, scratch, dust, denoise, stabilise, colour)",
    )
    if learn:
        parser.add_argument(
            "--learn-from",
            type=Path,
            metavar="PAIRS",
            help="learn from a few reference frames (a folder named by frame number, or with "
            "pairs.tsv): coloured stills of a monochrome film teach colour (chroma only; the "
            "film's luma is kept; each reference's own colours are carried along its shot), "
            "frames of a better print teach detail; --set learned.learn=chroma|detail|both "
            "overrides. Runs first in the chain, in place of the colour step",
        )
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="STEP.PARAM=VALUE",
        help="a picture step's setting, e.g. denoise.strength=0.8 (repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reelscribe",
        description="Restore an old film, transcribe its dialogue, and write speaker-labelled "
        "subtitles next to a restored master.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"reelscribe {_version()}")
    _common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, summary: str, speech: bool = True) -> argparse.ArgumentParser:
        parser = sub.add_parser(
            name,
            help=summary,
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _media_options(parser, speech=speech)
        _common(parser)
        return parser

    run = command("run", "restore, transcribe, attribute speakers, write everything")
    run.add_argument("-o", "--output", type=Path, help="output folder (default: beside the input)")
    _film_options(run)
    _picture_options(run)
    _cue_options(run)

    restore = command("restore", "restoration only (picture and sound)", speech=False)
    restore.add_argument("-o", "--output", type=Path, required=True, help="the master, MASTER.mkv")
    _sound_options(restore)
    _picture_options(restore)

    transcribe = command("transcribe", "speech only, on the sound as it is")
    transcribe.add_argument("-o", "--output", type=Path, required=True, help="OUT.json")

    batch = command("batch", "every film under a folder, each into OUTROOT/<film stem>/")
    batch.add_argument("-o", "--output", type=Path, required=True, help="OUTROOT")
    for action in batch._actions:
        if action.dest == "input":
            action.help = "a folder of films (searched recursively; see docs/batch.md)"
    _film_options(batch)
    _picture_options(batch, learn=False)  # as `run` restores each film; references are per film
    batch.add_argument(
        "--workers", type=int, default=1, metavar="N", help="films at once, in local processes"
    )
    batch.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="send the films to a Ray cluster (an address, 'auto', or 'local' to start one here)",
    )
    _cue_options(batch)
    _edit_commands(sub)

    from sync.archive.cli import add_commands  # the archive and corpus commands

    add_commands(sub, _common, EXIT_CODES)
    return parser


def _cue_options(parser: argparse.ArgumentParser) -> None:
    from sync.cues import PRESETS

    parser.add_argument(
        "--cue-preset",
        default="netflix",
        choices=sorted(PRESETS),
        help="subtitle rules: netflix (42 characters, 20 cps) or bbc (37 characters, 180 wpm)",
    )
    parser.add_argument("--max-chars", type=int, metavar="N", help="characters per line")
    parser.add_argument("--max-cps", type=float, metavar="CPS", help="reading speed limit")


def _edit_commands(sub) -> None:
    def command(name: str, summary: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(
            name,
            help=summary,
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("outdir", type=Path, help="the output folder of a run")
        _common(parser)
        return parser

    rename = command("rename", "name a character; re-renders subtitles without recomputing")
    rename.add_argument("speaker", nargs="?", help="a speaker id (S1) or its current name")
    rename.add_argument("name", nargs="?", help="the character's name")
    rename.add_argument(
        "--speakers", type=Path, help='an edited speakers file: JSON {"S1": "Ben"} or TOML'
    )
    imports = command("import-subs", "bring a caption editor's corrected SRT/VTT back in")
    imports.add_argument("subtitles", type=Path, help="the corrected film.LANG.srt or .vtt")


def _cue_rules(args: argparse.Namespace):
    from sync.cues import PRESETS

    rules = PRESETS[args.cue_preset]
    if args.max_chars is not None:
        if args.max_chars < 10:
            raise UsageError(f"--max-chars {args.max_chars}: a line needs at least 10 characters")
        rules = dataclasses.replace(rules, max_chars_per_line=args.max_chars)
    if args.max_cps is not None:
        if args.max_cps <= 0:
            raise UsageError(f"--max-cps {args.max_cps}: give a positive reading speed")
        rules = dataclasses.replace(rules, max_cps=args.max_cps)
    return rules


def _speaker_names(args: argparse.Namespace) -> dict[str, str]:
    from sync.corrections import parse_speakers

    names: dict[str, str] = {}
    if args.speakers is not None:
        try:
            raw = args.speakers.read_bytes()
            if args.speakers.suffix.lower() == ".toml":
                data = tomllib.loads(raw.decode("utf-8"))
            else:
                data = json.loads(raw)
        except FileNotFoundError as error:
            raise MediaError(args.speakers, "does not exist") from error
        except (OSError, ValueError) as error:  # JSON and TOML errors are ValueErrors
            raise MediaError(args.speakers, f"is not a readable speakers file: {error}") from error
        names.update(parse_speakers(data))
    if args.speaker is not None:
        if args.name is None:
            raise UsageError(f'rename {args.speaker}: give the name too (rename OUT S1 "Ben")')
        names[args.speaker] = args.name
    if not names:
        raise UsageError('rename: give a speaker and a name (rename OUT S1 "Ben") or --speakers')
    return names


def _edit(args: argparse.Namespace) -> int:
    log = logging.getLogger("sync.cli")
    if args.command == "rename":
        from sync.corrections import rename

        outputs = rename(args.outdir, _speaker_names(args))
    else:
        from sync.corrections import import_subs

        outputs = import_subs(args.outdir, args.subtitles)
    log.info("updated %s:", args.outdir)
    for path in outputs.values():
        log.info("  %s", path.name)
    return 0


class _Bars:
    """Turns progress(stage, done, total) calls into one tqdm bar per stage."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bars: dict = {}

    def __call__(self, stage: str, done: float, total: float | None) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(
                total=round(total, 1) if total else None,
                desc=f"{stage:>7}",
                unit="s",
                file=sys.stderr,
                leave=True,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| "
                "{n:.1f}/{total:.1f} s film [{elapsed}<{remaining}]"
                if total
                else None,
            )
        bar.n = round(done, 1)
        bar.refresh()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()


def _configure_logging(quiet: bool, debug: bool) -> None:
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(levelname)s %(name)s: %(message)s" if debug else "%(message)s")
    )
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False


def _options(args: argparse.Namespace):
    from sync.pipeline import RunOptions

    speech = TranscribeOptions()
    if hasattr(args, "model"):
        speech = TranscribeOptions(
            engine=args.engine,
            model=args.model,
            device=args.device,
            language=args.language,
            task=args.task,
            beam_size=args.beam_size,
            batch_size=args.batch_size,
            prompt=args.prompt,
            vad=not args.no_vad,
            vad_regions=args.vad_regions,
            fallback=args.fallback,
            allow_download=args.download,
        )
    restore = _restore_options(args)  # the default chain; --no-restore keeps it empty
    if hasattr(args, "preset") and not getattr(args, "no_restore", False):
        from restore.picture import picture_plan

        preset = None if args.preset == "none" else args.preset
        sets = tuple(args.settings)
        learn_from = getattr(args, "learn_from", None)
        if learn_from is not None:
            sets += (
                f"learned.pairs={learn_from}",
                f"learned.film={args.input}",
                f"learned.fps={args.fps or ''}",
            )
        names, settings = picture_plan(preset, args.steps, sets)
        if learn_from is not None and "learned" not in names:
            # first: it learns from the film as decoded, so it must see the frames that way;
            # the references set the colours, so the fading correction (colour) stands down
            names = ("learned", *(name for name in names if name != "colour"))
            settings = {**settings, "learned": picture_plan(None, "learned", sets)[1]["learned"]}
        restore = dataclasses.replace(
            restore, picture=names, picture_settings=settings, preset=preset
        )
    faces = None
    if getattr(args, "command", None) in ("run", "batch") and not args.no_faces:
        faces = FaceOptions(
            detector=args.face_detector,
            cast=args.cast,
            device="cpu" if args.device == "cpu" else "auto",
            speaking=None if args.speaker_model == "none" else args.speaker_model,
        )
        if faces.speaking is not None and faces.speaking not in ("ava", "talkset"):
            from faces.asd import weights_path

            weights_path(faces.speaking)  # a missing file fails here, before any work
    extra = {"cues": _cue_rules(args)} if hasattr(args, "cue_preset") else {}
    if getattr(args, "av_offset", 0.0):
        from sync.attribute import AttributionOptions

        extra["attribution"] = AttributionOptions(av_offset_s=args.av_offset)
    extra["voice"] = None  # voices are learnt from the lines the lips give: none without faces
    if faces is not None and args.voice:
        from sync.voices import VoiceOptions

        extra["voice"] = VoiceOptions(device=faces.device)
    return RunOptions(
        **extra,
        restore=restore,
        speech=speech,
        audio_track=args.audio_track,
        fps=args.fps,
        audio=args.audio,
        faces=faces,
        **({"access": None} if getattr(args, "no_access_copy", False) else {}),
    )


def _batch(args: argparse.Namespace, progress) -> int:
    from sync.batch import run_batch

    if args.workers < 1:
        raise UsageError(f"--workers {args.workers}: give 1 or more")
    log = logging.getLogger("sync.cli")
    bar = None
    if isinstance(progress, _Bars) and progress.enabled:
        from tqdm import tqdm

        bar = tqdm(desc="  films", unit="film", file=sys.stderr)

    def on_outcome(outcome, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.set_postfix_str(f"{outcome.film.name}: {outcome.status}")
            bar.update(1)
        else:
            log.info("%s: %s (%.1f s)", outcome.film.name, outcome.status, outcome.seconds)

    try:
        result = run_batch(
            args.input,
            args.output,
            _options(args),
            workers=args.workers,
            ray_address=args.ray,
            on_outcome=on_outcome,
        )
    finally:
        if bar is not None:
            bar.close()
    if result.failed or not args.quiet:
        print(result.summary(), file=sys.stderr)
    return result.exit_code


def _run(args: argparse.Namespace, progress) -> int:
    if args.command in ("rename", "import-subs"):
        return _edit(args)
    if getattr(args, "handler", None) is not None:  # commands that need no Pipeline
        return args.handler(args)
    from sync.pipeline import Pipeline

    if args.command == "batch":
        return _batch(args, progress)

    pipeline = Pipeline(_options(args), progress)
    log = logging.getLogger("sync.cli")
    if args.command == "run":
        result = pipeline.run(args.input, args.output)
        progress_close(progress)
        folder = result.outputs["master"].parent
        log.info("wrote %d files to %s:", len(result.outputs), folder)
        for path in result.outputs.values():
            log.info("  %s", path.name)
    elif args.command == "restore":
        master = pipeline.restore(args.input, args.output)
        progress_close(progress)
        log.info("wrote %s (%d frames)", args.output, master.frames)
    elif args.command == "transcribe":
        transcript = pipeline.transcribe(args.input, args.output)
        progress_close(progress)
        log.info(
            "wrote %s (%d lines, language %s)",
            args.output,
            len(transcript.lines),
            transcript.language,
        )
    return 0


def progress_close(progress) -> None:
    if isinstance(progress, _Bars):
        progress.close()


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, raised as an interruption that main() turns into exit 130.

    A subclass, not KeyboardInterrupt itself: CPython marks the process to die by SIGINT
    when a bare KeyboardInterrupt leaves code that a library runs through PyRun_String
    (some do in their lazy imports), even though main() catches it later. The run then
    ended -2 instead of 130, about one time in six here. The mark tests the exact type.
    """


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C and a scheduler's SIGTERM stop a run alike: temporaries removed, exit 130."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread (main() called from a worker)
        return

    def interrupt(signum, frame):
        raise Interrupted

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    _configure_logging(args.quiet, args.debug)
    bars = _Bars(enabled=not args.quiet and sys.stderr.isatty())
    try:
        with _interruptible():
            return _run(args, bars)
    except ReelError as error:
        bars.close()
        if args.debug:
            raise
        print(f"reelscribe: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        bars.close()
        print("reelscribe: interrupted; nothing was left that looks finished", file=sys.stderr)
        return 130
    except Exception as error:  # a bug: one line unless --debug
        bars.close()
        if args.debug:
            raise
        if isinstance(error, OSError) and error.errno in DISK_FULL:  # a write no stage caught
            failed = write_error(error.filename or "the output", error)
            print(f"reelscribe: error: {failed}", file=sys.stderr)
            return failed.exit_code
        print(
            f"reelscribe: internal error: {type(error).__name__}: {error} "
            "(run again with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
