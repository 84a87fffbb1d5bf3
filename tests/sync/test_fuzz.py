"""Untrusted text, fuzzed (hypothesis): transcripts, names, cast and speakers files.

Words come from a recogniser and names from users; both can hold anything. The
writers must not crash, and no text may become markup: an ASS line never gains an
override tag or a field, a VTT or TTML line or the review page never gains an
element, an SRT file never gains a cue. A cast file never reaches a photo outside its own folder.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path

import av
import pysubs2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faces.cast import read_cast
from restore.errors import ReelError, UsageError
from speech.types import Word
from sync.corrections import parse_speakers
from sync.cues import build_cues
from sync.report import render as render_report
from sync.transcript import Line, Speaker, Transcript
from sync.ttml import TT, TTM, to_ttml
from sync.writers import shown, to_ass, to_srt, to_vtt

# derandomize: the same 200 examples on every run, so `make test` is repeatable; set it to
# False locally to hunt for new cases.
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# Text as hostile as a recogniser or a user can make it: markup of every format, cue
# timings, control characters, line breaks, any Unicode.
HOSTILE = st.sampled_from(
    [
        "{\\an8}",
        "{\\c&H0000FF&}",
        "\\N",
        "\\h",
        "<b>",
        "</v>",
        "<v Ben>",
        "<c.red>",
        "&amp;",
        "]]>",
        "<![CDATA[",
        "-->",
        "00:00:01,000 --> 00:00:02,000",
        "\n\n",
        "\r",
        "\x00",
        "\u2028",
        ",",
        "Dialogue: 0,0:00:00.00,0:00:01.00,Default,,0,0,0,,x",
        "[Events]",
        "WEBVTT",
        "NOTE",
    ]
)
TEXT = st.lists(st.one_of(HOSTILE, st.text(max_size=12)), max_size=4).map("".join)
WORD = TEXT.filter(lambda text: text.strip() != "")


@st.composite
def transcripts(draw) -> Transcript:
    names = draw(st.lists(TEXT.filter(lambda t: t.strip()), min_size=0, max_size=3))
    speakers = tuple(Speaker(f"S{i + 1}", name) for i, name in enumerate(names))
    ids = [s.id for s in speakers] + [None]
    lines, t = [], 0.0
    for _ in range(draw(st.integers(1, 5))):
        words = []
        for text in draw(st.lists(WORD, min_size=1, max_size=6)):
            length = draw(st.floats(0.05, 1.0))
            words.append(Word(round(t, 3), round(t + length, 3), text.strip(), 0.9))
            t += length + draw(st.floats(0.0, 2.0))
        text = " ".join(w.text for w in words)
        speaker = draw(st.sampled_from(ids))
        lines.append(Line(words[0].start, words[-1].end, text, tuple(words), speaker))
        t += draw(st.floats(0.0, 3.0))
    return Transcript("film.mkv", round(t + 1, 3), "en", speakers, tuple(lines))


@FUZZ
@given(transcript=transcripts())
def test_srt_never_gains_a_cue(transcript, tmp_path):
    """Read back as FFmpeg reads it to carry it into the master."""
    cues = shown(build_cues(transcript.lines))
    path = tmp_path / "film.srt"
    path.write_text(to_srt(cues, transcript), encoding="utf-8")
    if not cues:
        return
    with av.open(str(path)) as container:
        stream = container.streams.subtitles[0]
        starts = [p.pts * stream.time_base for p in container.demux(stream) if p.size]
    assert starts == [Fraction(round(c.start * 1000), 1000) for c in cues]


# Overrides the ASS writer itself puts in: a colour at the head of each dialogue line.
_OWN_TAGS = re.compile(r"\{\\c&H[0-9A-F]{6}&\}")


@FUZZ
@given(transcripts())
def test_ass_text_never_gains_an_override_tag_or_a_field(transcript):
    cues = shown(build_cues(transcript.lines))
    text = to_ass(cues, transcript, 160, 120)
    parsed = pysubs2.SSAFile.from_string(text, format_="ass")
    assert len(parsed) == len(cues)
    for event, cue in zip(parsed, cues, strict=True):
        assert abs(event.start - cue.start * 1000) <= 10  # ASS counts centiseconds
        own = _OWN_TAGS.sub("", event.text).replace("\\N", "")
        assert "{" not in own and "\\" not in own, event.text
        assert event.style in parsed.styles
        assert "," not in event.name  # a comma in the Name field would shift Text
    assert text.count("\n[Events]") == 1 and text.count("\n[V4+ Styles]") == 1


@FUZZ
@given(transcripts())
def test_vtt_text_never_gains_an_element(transcript):
    cues = shown(build_cues(transcript.lines))
    blocks = to_vtt(cues, transcript).rstrip("\n").split("\n\n")
    assert blocks[0] == "WEBVTT" and len(blocks) - 1 == len(cues)
    for block in blocks[1:]:
        number, timing, *lines = block.strip("\n").split("\n")
        assert number.isdigit() and timing.count("-->") == 1
        for line in lines:
            assert line.strip(), block  # a blank line would end the cue early
            without_voice = re.sub(r"^<v [^<>]*>", "", line)
            assert "<" not in without_voice and ">" not in without_voice, line
            assert "-->" not in line


@FUZZ
@given(transcripts())
def test_ttml_text_never_gains_an_element(transcript):
    cues = shown(build_cues(transcript.lines))
    root = ET.fromstring(to_ttml(cues, transcript).encode("utf-8"))
    paragraphs = root.findall(f".//{{{TT}}}p")
    assert len(paragraphs) == len(cues)
    for p in paragraphs:
        assert {child.tag for child in p} <= {f"{{{TT}}}span", f"{{{TT}}}br"}
        for span in p:
            assert len(span) == 0  # text only, no element inside a line
    names = [n.text or "" for n in root.iter(f"{{{TTM}}}name")]
    assert len(names) == len(transcript.speakers)


# -- readers of user files ------------------------------------------------------------------------

PHOTO = st.one_of(
    st.sampled_from(
        [
            "ben.png",
            "sub/ben.png",
            "./ben.png",
            "../outside.png",
            "sub/../../outside.png",
            "/etc/passwd",
            "//etc/passwd",
            "~/ben.png",
            "sub/./../ben.png",
            "link/outside.png",
            "",
            ".",
            "..",
            "sub",
            "\x00",
        ]
    ),
    st.text(max_size=20),
)


def _toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a TOML basic string (escapes included)


@pytest.fixture(scope="module")
def cast_folder(tmp_path_factory) -> Path:
    """cast/ holds ben.png and sub/ben.png; outside.png lies beside it; cast/link -> outside."""
    root = tmp_path_factory.mktemp("casting")
    cast = root / "cast"
    (cast / "sub").mkdir(parents=True)
    for photo in (cast / "ben.png", cast / "sub" / "ben.png", root / "outside.png"):
        photo.write_bytes(b"\x89PNG")
    (cast / "link").symlink_to(root)
    return cast


@FUZZ
@given(
    members=st.lists(
        st.tuples(st.one_of(TEXT, st.just("Ben")), st.lists(PHOTO, max_size=3)), max_size=3
    )
)
def test_cast_photos_never_leave_the_cast_folder(cast_folder, members):
    text = "".join(
        f"[[character]]\nname = {_toml_string(name)}\n"
        f"photos = [{', '.join(_toml_string(p) for p in photos)}]\n"
        for name, photos in members
    )
    path = cast_folder / "cast.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    root = cast_folder.resolve()
    try:
        cast = read_cast(path)
    except UsageError as error:
        assert "\n" not in str(error)  # one line
        return
    for member in cast:
        assert member.name.strip()
        for photo in member.photos:
            assert photo.is_file() and photo.resolve().is_relative_to(root), photo


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_cast_file_is_read_or_refused_in_one_error(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("cast", numbered=True) / "cast.toml"
    path.write_bytes(raw)
    try:
        read_cast(path)
    except UsageError:
        pass


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


@FUZZ
@given(JSONISH)
def test_a_speakers_file_maps_names_or_is_refused(data):
    try:
        names = parse_speakers(data)
    except ReelError:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in names.items())


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)


def _tame(text: str) -> str:
    return "x" if text else ""


def _page_tags(transcript: Transcript, path: str) -> list[str]:
    page = render_report(transcript, {"source": {"path": path}, "timings": {"speech": 1.0}})
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser.tags


@FUZZ
@given(transcripts(), TEXT)
def test_report_text_never_gains_an_element(transcript, path):
    """The page built from hostile text has exactly the elements of the same page built
    from plain text (every line, word, name and the path replaced by "x")."""
    tame = replace(
        transcript,
        speakers=tuple(replace(s, name=_tame(s.name)) for s in transcript.speakers),
        lines=tuple(
            replace(
                line,
                text=_tame(line.text),
                words=tuple(replace(w, text=_tame(w.text)) for w in line.words),
            )
            for line in transcript.lines
        ),
    )
    tags = _page_tags(transcript, path)
    assert tags == _page_tags(tame, _tame(path))


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory, real_transcripts, corpus) -> str:
    from sync.archive import Run, open_archive

    db = str(tmp_path_factory.mktemp("archive") / "archive.sqlite")
    with open_archive(db) as archive:
        for t in real_transcripts:
            archive.add(Run(corpus.fake_sha256(t), t.source.rsplit(".", 1)[0], t, "/runs"))
    return db


QUERY = st.lists(
    st.one_of(
        st.sampled_from(['"', "*", "-", "OR", "AND", "NEAR(", ")", ":", "^", "'", "film:", "to:"]),
        st.sampled_from(["chicago", "originally", "door", "Diane", "speaker:", "from:"]),
        st.text(max_size=8),
    ),
    max_size=6,
).map(" ".join)


@FUZZ
@given(QUERY)
def test_any_search_text_is_a_query_or_one_clear_usage_error(small_archive, text):
    """Whatever a user types reaches SQLite's full-text search as a bound parameter: either
    it parses and searches (hits are lines of the archive), or it is one clear line."""
    from sync.archive import open_archive, parse

    try:
        query = parse(text)
    except UsageError as error:
        assert "\n" not in str(error) and str(error)
        return
    with open_archive(small_archive, create=False) as archive:
        try:
            hits = archive.search(query, limit=5, context=0)
        except UsageError as error:  # e.g. a query of only exclusions
            assert "\n" not in str(error)
            return
    assert all(hit.text and hit.film for hit in hits)
