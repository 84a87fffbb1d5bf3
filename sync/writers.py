"""Subtitle writers, one function per format, registered by file suffix (as pysubs2 does)."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import replace

import pysubs2

from sync.cues import Cue, wrap
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


def shown(cues: Sequence[Cue]) -> list[Cue]:
    """The cues as they can be shown: lines blank once cleaned are dropped (a blank line
    ends a cue in SRT and VTT, and what follows it would be read as a new cue), and a cue
    left with no line is dropped."""
    out = []
    for cue in cues:
        voices = cue.voices if cue.dialogue else (cue.speaker,) * len(cue.lines)
        kept = [
            (v, line) for v, line in zip(voices, cue.lines, strict=True) if _plain(line).strip()
        ]
        if len(kept) == len(cue.lines):
            out.append(cue)
        elif kept:
            lines = tuple(line for _, line in kept)
            talkers = tuple(v for v, _ in kept)
            dialogue = cue.dialogue and len(set(talkers)) > 1
            speaker = cue.speaker if not cue.dialogue else talkers[0]
            out.append(
                replace(cue, lines=lines, speaker=speaker, voices=talkers if dialogue else ())
            )
    return out


def _label(transcript: Transcript, speaker: str | None) -> str:
    name = transcript.speaker_name(speaker)
    return f"{_plain(name).upper().replace('-->', '->')}: " if name else ""


def to_srt(cues: Sequence[Cue], transcript: Transcript, width: int = 42) -> str:
    """SRT: ``NAME:`` where the speaker changes; dialogue dashes where two share a cue.

    A label counts in the line's length, as a caption editor counts it: a labelled cue
    is wrapped again, label included, where it then fits ``width``."""
    blocks = []
    previous: str | None = None
    for number, cue in enumerate(shown(cues), 1):
        # "-->" in a text line reads as a cue's timing to an SRT parser: a new cue
        lines = [_plain(line).replace("-->", "->") for line in cue.lines]
        if cue.dialogue:
            lines = [
                f"- {_label(transcript, voice)}{line}"
                for voice, line in zip(cue.voices, lines, strict=True)
            ]
            previous = cue.voices[-1]
        else:
            label = _label(transcript, cue.speaker) if cue.speaker != previous else ""
            if label:
                lines[0] = label + lines[0]
            if len(lines[0]) > width:
                wrapped = wrap(" ".join(lines), width, max(2, len(lines)))
                if all(len(line) <= width for line in wrapped):
                    lines = list(wrapped)
            previous = cue.speaker
        timing = f"{timecode(cue.start, ',')} --> {timecode(cue.end, ',')}"
        blocks.append(f"{number}\n{timing}\n" + "\n".join(lines) + "\n")
    return "\n".join(blocks)


def to_vtt(cues: Sequence[Cue], transcript: Transcript) -> str:
    blocks = ["WEBVTT\n"]
    for number, cue in enumerate(shown(cues), 1):
        lines = [html.escape(_plain(line), quote=False) for line in cue.lines]
        if cue.dialogue:
            lines = [
                f"{_voice(transcript, voice)}- {line}"
                for voice, line in zip(cue.voices, lines, strict=True)
            ]
        else:
            lines[0] = _voice(transcript, cue.speaker) + lines[0]
        timing = f"{timecode(cue.start, '.')} --> {timecode(cue.end, '.')}"
        blocks.append(f"{number}\n{timing}\n" + "\n".join(lines) + "\n")
    return "\n".join(blocks)


def voice_name(transcript: Transcript, speaker: str | None) -> str:
    """The speaker's voice in ``<v …>`` tags, as a WebVTT reader takes it (entities decoded):
    what a ``::cue(v[voice=…])`` rule names. Runs of spaces are one and none are at the
    ends: the standard says to collapse them and Chromium keeps them, so none are left."""
    return " ".join(_plain(transcript.speaker_name(speaker) or "").split())


def _voice(transcript: Transcript, speaker: str | None) -> str:
    name = voice_name(transcript, speaker)
    if not name:
        return ""
    # a voice annotation ends at ">": escaped, as every other piece of film or user text
    return f"<v {html.escape(name, quote=False)}>"


# ASS has no escape for braces or backslashes: "{" would open an override block (hiding the
# words) and "\N", "\h" would become breaks. Look-alike characters keep the text readable.
_ASS_SAFE = str.maketrans({"{": "\uff5b", "}": "\uff5d", "\\": "\u29f5"})


def _ass_text(text: str) -> str:
    return _plain(text).translate(_ASS_SAFE)


def _ass_name(transcript: Transcript, speaker: str | None) -> str:
    """A style and Name field for a speaker: no commas (they separate fields), no edge
    spaces (parsers strip them), never empty (then the id)."""
    name = " ".join(_ass_text(transcript.speaker_name(speaker) or "").replace(",", " ").split())
    return name or str(speaker)


def _ass_colour(hex_colour: str) -> str:
    red, green, blue = (hex_colour[i : i + 2] for i in (1, 3, 5))
    return f"&H{blue}{green}{red}&"


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
        subs.styles[_ass_name(transcript, speaker.id)] = style
    index = {s.id: i for i, s in enumerate(transcript.speakers)}
    for cue in shown(cues):
        name = transcript.speaker_name(cue.speaker)
        style = _ass_name(transcript, cue.speaker) if name else "Default"
        lines = [_ass_text(line) for line in cue.lines]
        if cue.dialogue:  # each line in its own speaker's colour
            lines = [
                (
                    f"{{\\c{_ass_colour(speaker_colour(index[voice]))}}}"
                    if voice in index
                    else "{\\c&HFFFFFF&}"
                )
                + f"- {line}"
                for voice, line in zip(cue.voices, lines, strict=True)
            ]
        subs.append(
            pysubs2.SSAEvent(
                start=round(cue.start * 1000),
                end=round(cue.end * 1000),
                text=r"\N".join(lines),
                style=style,
                name=_ass_name(transcript, cue.speaker) if name else "",
            )
        )
    return subs.to_string("ass")


WRITERS: dict[str, Callable[..., str]] = {"srt": to_srt, "vtt": to_vtt, "ass": to_ass}
