"""Subtitle writers, one function per format, registered by file suffix (as pysubs2 does)."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

import pysubs2

from sync.cues import Cue
from sync.transcript import Transcript

# One colour per character, in order of first appearance (ASS styles, report lanes).
PALETTE = ("#FFFF00", "#00FFFF", "#FF80FF", "#80FF80", "#FFA040", "#A0A0FF", "#FF6060", "#FFFFFF")


def speaker_colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def timecode(seconds: float, sep: str = ".") -> str:
    """HH:MM:SS.mmm (sep "," for SRT)."""
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _plain(text: str) -> str:
    """One cue line as plain text: no line breaks, no control characters."""
    return "".join(ch for ch in text.replace("\n", " ") if ch.isprintable())


def to_srt(cues: Sequence[Cue], transcript: Transcript) -> str:
    blocks = []
    for number, cue in enumerate(cues, 1):
        lines = [_plain(line) for line in cue.lines]
        name = transcript.speaker_name(cue.speaker)
        if name:
            lines[0] = f"{_plain(name).upper()}: {lines[0]}"
        timing = f"{timecode(cue.start, ',')} --> {timecode(cue.end, ',')}"
        blocks.append(f"{number}\n{timing}\n" + "\n".join(lines) + "\n")
    return "\n".join(blocks)


def to_vtt(cues: Sequence[Cue], transcript: Transcript) -> str:
    blocks = ["WEBVTT\n"]
    for number, cue in enumerate(cues, 1):
        lines = [html.escape(_plain(line), quote=False) for line in cue.lines]
        name = transcript.speaker_name(cue.speaker)
        if name:
            voice = html.escape(_plain(name), quote=False)
            lines[0] = f"<v {voice}>{lines[0]}"
        timing = f"{timecode(cue.start, '.')} --> {timecode(cue.end, '.')}"
        blocks.append(f"{number}\n{timing}\n" + "\n".join(lines) + "\n")
    return "\n".join(blocks)


def _ass_text(text: str) -> str:
    # ASS has no escape for braces: they would start override tags and hide the words.
    return _plain(text).replace("{", "(").replace("}", ")").replace("\\", "/")


def to_ass(
    cues: Sequence[Cue], transcript: Transcript, width: int = 1920, height: int = 1080
) -> str:
    subs = pysubs2.SSAFile()
    subs.info["Title"] = transcript.source
    subs.info["PlayResX"] = str(width)
    subs.info["PlayResY"] = str(height)
    size = max(16, round(height * 0.055))
    base = pysubs2.SSAStyle(fontsize=size, outline=2, shadow=1, marginv=round(height * 0.05))
    subs.styles["Default"] = base
    for index, speaker in enumerate(transcript.speakers):
        style = base.copy()
        red, green, blue = (int(speaker_colour(index)[i : i + 2], 16) for i in (1, 3, 5))
        style.primarycolor = pysubs2.Color(red, green, blue)
        subs.styles[_ass_text(speaker.name).replace(",", " ")] = style
    for cue in cues:
        name = transcript.speaker_name(cue.speaker)
        style = _ass_text(name).replace(",", " ") if name else "Default"
        subs.append(
            pysubs2.SSAEvent(
                start=round(cue.start * 1000),
                end=round(cue.end * 1000),
                text=r"\N".join(_ass_text(line) for line in cue.lines),
                style=style,
                name=_ass_text(name) if name else "",
            )
        )
    return subs.to_string("ass")


WRITERS: dict[str, Callable[..., str]] = {"srt": to_srt, "vtt": to_vtt, "ass": to_ass}
