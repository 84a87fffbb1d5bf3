"""Subtitle files parse back to the cues they were written from, labels and all."""

from __future__ import annotations

import pysubs2

from speech.types import Word
from sync.cues import build_cues
from sync.transcript import Line, Speaker, Transcript
from sync.writers import to_ass, to_srt, to_vtt, voice_name


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


def test_a_vtt_voice_has_single_spaces_and_none_at_its_ends():
    # the standard collapses an annotation's spaces, Chromium keeps them: with none left to
    # collapse, both read the voice the review page's ::cue(v[voice]) colour rule names
    lines = (one_line("Hello there.", 1.0, "S1"), one_line("Hi.", 4.0, "S2"))
    speakers = (Speaker("S1", "  Ben \t  the   Hero "), Speaker("S2", "   "))
    transcript = transcript_with(lines, speakers)
    text = to_vtt(build_cues(lines), transcript)
    assert "\n<v Ben the Hero>Hello there.\n" in text
    assert "\nHi.\n" in text and "<v  " not in text  # a name of spaces is no voice
    assert voice_name(transcript, "S1") == "Ben the Hero" and voice_name(transcript, "S2") == ""


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


# -- labels where the speaker changes, dialogue cues, TTML, text that looks like markup ---------
import xml.etree.ElementTree as ET  # noqa: E402

from sync.ttml import TT, TTM, XML, to_ttml  # noqa: E402

SPEAKERS = (Speaker("S1", "Ben"), Speaker("S2", "Barbra"))


def test_srt_names_the_speaker_only_where_it_changes_and_dashes_a_shared_cue():
    lines = (
        one_line("Get inside the house.", 1.0, "S1"),
        one_line("Now, before they see us.", 4.0, "S1"),
        one_line("Is he dead?", 8.0, "S2"),
        one_line("Yes.", 9.4, "S1"),
    )
    cues = build_cues(lines)
    assert [c.dialogue for c in cues] == [False, False, True]
    parsed = pysubs2.SSAFile.from_string(to_srt(cues, transcript_with(lines, SPEAKERS)), "srt")
    assert [e.plaintext for e in parsed] == [
        "BEN: Get inside the house.",
        "Now, before they see us.",  # same speaker: no label again
        "- BARBRA: Is he dead?\n- BEN: Yes.",
    ]
    vtt = to_vtt(cues, transcript_with(lines, SPEAKERS))
    assert "<v Barbra>- Is he dead?\n<v Ben>- Yes." in vtt
    assert "<v Ben>Now, before they see us." in vtt  # voice tags on every cue


def test_ass_keeps_backslashes_and_braces_as_text_and_colours_a_shared_cue():
    lines = (one_line(r"C:\N\h path {\b1} here", 1.0, "S1"), one_line("Is he dead?", 8.0, "S2"))
    lines += (one_line("Yes.", 9.4, "S1"),)
    transcript = transcript_with(lines, SPEAKERS)
    text = to_ass(build_cues(lines), transcript)
    parsed = pysubs2.SSAFile.from_string(text)
    first = parsed[0]
    assert "\\" not in first.text and "{" not in first.text  # nothing an override could start
    assert "\n" not in first.plaintext and "path" in first.plaintext and "b1" in first.plaintext
    shared = parsed[1].text

    def tag(c):
        return f"{{\\c&H{c.b:02X}{c.g:02X}{c.r:02X}&}}"

    ben, barbra = (parsed.styles[n].primarycolor for n in ("Ben", "Barbra"))
    assert shared == f"{tag(barbra)}- Is he dead?\\N{tag(ben)}- Yes."


def test_ttml_parses_back_with_an_agent_per_speaker_and_markup_as_text():
    lines = (
        one_line("<script>alert(1)</script> & more", 1.0, "S1"),
        one_line("Is he dead?", 8.0, "S2"),
        one_line("Yes.", 9.4, "S1"),
        one_line("Who is there?", 14.0),
    )
    speakers = (Speaker("S1", 'Ben "<b>"'), Speaker("S2", "Barbra"))
    cues = build_cues(lines)
    root = ET.fromstring(to_ttml(cues, transcript_with(lines, speakers)))
    assert root.tag == f"{{{TT}}}tt" and root.get(f"{{{XML}}}lang") == "en"
    assert root.get("{http://www.w3.org/ns/ttml#parameter}profile").endswith("imsc1/text")
    agents = {
        a.get(f"{{{XML}}}id"): a.find(f"{{{TTM}}}name").text for a in root.iter(f"{{{TTM}}}agent")
    }
    assert sorted(agents.values()) == ["Barbra", 'Ben "<b>"']
    ps = list(root.iter(f"{{{TT}}}p"))
    assert len(ps) == len(cues) == 3
    assert agents[ps[0].get(f"{{{TTM}}}agent")] == 'Ben "<b>"'
    assert "".join(ps[0].itertext()) == "<script>alert(1)</script> & more"
    shared = [(agents[s.get(f"{{{TTM}}}agent")], s.text) for s in ps[1].iter(f"{{{TT}}}span")]
    assert shared == [("Barbra", "- Is he dead?"), ('Ben "<b>"', "- Yes.")]
    assert ps[2].get(f"{{{TTM}}}agent") is None  # unattributed: no agent, no guess
    assert ps[0].get("begin") == "00:00:01.000"


def test_a_label_counts_in_the_srt_line_length():
    text = "Get back inside the house and lock the door"  # 43 characters: two lines
    lines = (one_line(text, 1.0, "S1"),)
    transcript = transcript_with(lines, (Speaker("S1", "Benjamin"),))
    cues = build_cues(lines)
    assert all(len(line) <= 42 for line in cues[0].lines)
    (event,) = pysubs2.SSAFile.from_string(to_srt(cues, transcript, 30), "srt")
    assert event.plaintext.startswith("BENJAMIN: Get back")
    assert all(len(line) <= 30 for line in event.plaintext.splitlines())
    assert event.plaintext.replace("\n", " ") == "BENJAMIN: " + text
