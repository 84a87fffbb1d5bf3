"""TTML for broadcast delivery: the IMSC 1 text profile, one ``ttm:agent`` per speaker.

Built with ElementTree, so every piece of film or user text is escaped as XML
(characters XML 1.0 cannot carry are dropped, as in the other writers).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from sync.cues import Cue
from sync.transcript import Transcript
from sync.writers import _plain, shown, speaker_colour, timecode

TT = "http://www.w3.org/ns/ttml"
TTM = "http://www.w3.org/ns/ttml#metadata"
TTS = "http://www.w3.org/ns/ttml#styling"
TTP = "http://www.w3.org/ns/ttml#parameter"
XML = "http://www.w3.org/XML/1998/namespace"
IMSC1_TEXT = "http://www.w3.org/ns/ttml/profile/imsc1/text"

for _prefix, _uri in (("", TT), ("ttm", TTM), ("tts", TTS), ("ttp", TTP)):
    ET.register_namespace(_prefix, _uri)


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def agent_id(speaker_id: str) -> str:
    """An xml:id (an NCName) for a speaker id."""
    return "agent_" + re.sub(r"[^A-Za-z0-9_.-]", "_", speaker_id)


def to_ttml(cues: Sequence[Cue], transcript: Transcript) -> str:
    lang = transcript.language or "und"
    tt = ET.Element(
        _q(TT, "tt"),
        {
            _q(XML, "lang"): lang,
            _q(TTP, "timeBase"): "media",
            _q(TTP, "profile"): IMSC1_TEXT,
        },
    )
    head = ET.SubElement(tt, _q(TT, "head"))
    metadata = ET.SubElement(head, _q(TT, "metadata"))
    ET.SubElement(metadata, _q(TTM, "title")).text = _plain(transcript.source)
    agents = {}
    for speaker in transcript.speakers:
        agent = ET.SubElement(
            metadata, _q(TTM, "agent"), {"type": "character", _q(XML, "id"): agent_id(speaker.id)}
        )
        ET.SubElement(agent, _q(TTM, "name"), {"type": "full"}).text = _plain(speaker.name)
        agents[speaker.id] = agent_id(speaker.id)
    styling = ET.SubElement(head, _q(TT, "styling"))
    ET.SubElement(
        styling,
        _q(TT, "style"),
        {
            _q(XML, "id"): "base",
            _q(TTS, "fontFamily"): "proportionalSansSerif",
            _q(TTS, "fontSize"): "100%",
            _q(TTS, "textAlign"): "center",
            _q(TTS, "color"): "#FFFFFF",
            _q(TTS, "backgroundColor"): "#000000C0",
        },
    )
    for index, speaker in enumerate(transcript.speakers):
        ET.SubElement(
            styling,
            _q(TT, "style"),
            {
                _q(XML, "id"): f"{agents[speaker.id]}_colour",
                _q(TTS, "color"): speaker_colour(index),
            },
        )
    layout = ET.SubElement(head, _q(TT, "layout"))
    ET.SubElement(
        layout,
        _q(TT, "region"),
        {
            _q(XML, "id"): "bottom",
            _q(TTS, "origin"): "10% 10%",
            _q(TTS, "extent"): "80% 80%",
            _q(TTS, "displayAlign"): "after",
        },
    )
    body = ET.SubElement(tt, _q(TT, "body"), {"style": "base", "region": "bottom"})
    div = ET.SubElement(body, _q(TT, "div"))
    for number, cue in enumerate(shown(cues), 1):
        p = ET.SubElement(
            div,
            _q(TT, "p"),
            {
                _q(XML, "id"): f"c{number}",
                "begin": timecode(cue.start),
                "end": timecode(cue.end),
            },
        )
        voices = cue.voices if cue.dialogue else (cue.speaker,) * len(cue.lines)
        if not cue.dialogue and cue.speaker in agents:
            p.set(_q(TTM, "agent"), agents[cue.speaker])
            p.set("style", f"{agents[cue.speaker]}_colour")
        for i, (voice, line) in enumerate(zip(voices, cue.lines, strict=True)):
            if i:
                ET.SubElement(p, _q(TT, "br"))
            text = f"- {_plain(line)}" if cue.dialogue else _plain(line)
            if cue.dialogue:
                attrs = {}
                if voice in agents:
                    attrs = {_q(TTM, "agent"): agents[voice], "style": f"{agents[voice]}_colour"}
                ET.SubElement(p, _q(TT, "span"), attrs).text = text
            else:
                ET.SubElement(p, _q(TT, "span")).text = text
    ET.indent(tt, space=" ")
    for p in div:  # no indentation inside a subtitle: it would be text on screen
        p.text = None
        for child in p:
            child.tail = None
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(tt, encoding="unicode") + "\n"
