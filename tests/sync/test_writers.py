"""Subtitle files parse back to the cues they were written from, labels and all."""

from __future__ import annotations

import pysubs2

from speech.types import Word
from sync.cues import build_cues
from sync.transcript import Line, Speaker, Transcript
from sync.writers import to_ass, to_srt, to_vtt


def transcript_with(lines, speakers=()):
    return Transcript(
        source="film.mkv", duration=60.0, language="en", speakers=speakers, lines=lines
    )


def one_line(text, start, speaker=None):
    words = tuple(
        Word(start + i * 0.4, start + i * 0.4 + 0.3, w, 0.9) for i, w in enumerate(text.split())
    )
    return Line(words[0].start, words[-1].end, text, words, speaker)


def test_srt_round_trips_times_and_names():
    speakers = (Speaker("S1", "Ben"), Speaker("S2", "Barbra"))
    lines = (
        one_line("Do you live here?", 12.48, "S1"),
        one_line("No.", 15.0, "S2"),
        one_line("Who is there?", 20.0),
    )
    transcript = transcript_with(lines, speakers)
    cues = build_cues(lines)
    parsed = pysubs2.SSAFile.from_string(to_srt(cues, transcript), format_="srt")
    assert [e.start for e in parsed] == [round(c.start * 1000) for c in cues]
    assert [e.end for e in parsed] == [round(c.end * 1000) for c in cues]
    assert parsed[0].plaintext == "BEN: Do you live here?"
    assert parsed[1].plaintext == "BARBRA: No."
    assert parsed[2].plaintext == "Who is there?"  # unattributed: no label, no guess


def test_vtt_has_voice_tags_and_escapes_markup():
    lines = (one_line("<script>alert(1)</script> & more", 1.0, "S1"),)
    transcript = transcript_with(lines, (Speaker("S1", "Ben <the hero>"),))
    text = to_vtt(build_cues(lines), transcript)
    assert text.startswith("WEBVTT\n")
    assert "<script>" not in text and "&lt;script&gt;" in text and "&amp; more" in text
    cue_line = [line for line in text.splitlines() if line.startswith("<v ")][0]
    assert cue_line == "<v Ben &lt;the hero&gt;>&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"
    parsed = pysubs2.SSAFile.from_string(text, format_="vtt")
    assert len(parsed) == 1 and parsed[0].start == 1000


def test_ass_has_one_style_per_character():
    speakers = (Speaker("S1", "Ben"), Speaker("S2", "Barbra"))
    lines = (
        one_line("Get inside.", 1.0, "S1"),
        one_line("Johnny {braces}", 3.0, "S2"),
        one_line("Nobody knows.", 6.0),
    )
    transcript = transcript_with(lines, speakers)
    parsed = pysubs2.SSAFile.from_string(to_ass(build_cues(lines), transcript, 720, 576))
    assert {"Ben", "Barbra", "Default"} <= set(parsed.styles)
    assert parsed.styles["Ben"].primarycolor != parsed.styles["Barbra"].primarycolor
    assert [e.style for e in parsed] == ["Ben", "Barbra", "Default"]
    assert "braces" in parsed[1].plaintext  # braces in film text must not hide the words
    assert parsed.info["PlayResX"] == "720"
