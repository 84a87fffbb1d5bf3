"""The review page: what it shows, that film text stays text, and that a real browser renders it.

The browser checks open the page of a real run (the shared ``talking_run``) in
Debian's headless Chromium (``.ci/run`` installs it), read the DOM after the
page's script ran, collect console messages, and take a screenshot.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from restore.access import write_access_copy
from speech.types import Word
from sync.cues import build_cues
from sync.report import ReportAssets, assets_of_run, render
from sync.subtitles import render as render_subtitles
from sync.transcript import Line, Speaker, Transcript
from sync.writers import speaker_colour, to_vtt, voice_name

HOSTILE = "<script>alert(1)</script>"
PWN = '<img src=x onerror="document.body.dataset.pwned=1">'


def _transcript(lines) -> Transcript:
    return Transcript(
        source="film <b>.mp4",
        duration=20.0,
        language="en",
        speakers=(Speaker("S1", "Ben & <i>Co</i>", None, 12.0), Speaker("S2", "S2", None, 3.0)),
        lines=tuple(lines),
    )


def _line(start, end, text, speaker, confidence, evidence="lips") -> Line:
    return Line(start, end, text, (Word(start, end, text, 0.9),), speaker, evidence, confidence)


def test_film_text_is_escaped_everywhere():
    transcript = _transcript(
        [
            _line(1.0, 2.0, HOSTILE, "S1", 0.9),
            _line(3.0, 4.0, PWN + " </script><!--", "S2", 0.2, "voice"),
        ]
    )
    page = render(transcript, {"restoration": {"picture": [{"step": "<dust>", "x": HOSTILE}]}})
    assert HOSTILE not in page and PWN not in page and "<b>.mp4" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Ben &amp; &lt;i&gt;Co&lt;/i&gt;" in page
    assert page.count("<script") == 1  # the page's own script, nothing else


def track_vtt(page: str) -> bytes:
    """The bytes of the page's subtitle track (its data URL decoded)."""
    tracks = re.findall(r"<track [^>]*>", page)
    assert len(tracks) == 1, tracks
    src = re.fullmatch(r'.* src="data:text/vtt;base64,([A-Za-z0-9+/=]*)"', tracks[0][:-1])
    return base64.b64decode(src.group(1), validate=True)


def test_the_track_is_the_vtt_it_is_given_byte_for_byte():
    transcript = _transcript([_line(1.0, 2.0, "hello", "S1", 0.9)])
    vtt = "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\n<v Zoë>Grüß dich, ça va ?\n".encode()
    page = render(transcript, {}, ReportAssets(access="film.access.mp4", vtt=vtt))
    assert track_vtt(page) == vtt
    track = re.search(r"<track [^>]*>", page).group(0)
    assert ' kind="subtitles" default srclang="en" ' in track
    assert re.search(r"<video [^>]*><track [^>]*></video>", page)  # inside the player


def test_without_the_runs_vtt_the_track_is_written_as_the_run_writes_it():
    transcript = _transcript(
        [_line(1.0, 2.0, HOSTILE, "S1", 0.9), _line(3.0, 4.5, "and you?", None, None, None)]
    )
    page = render(transcript, {}, ReportAssets(access="film.access.mp4"))
    expected = to_vtt(build_cues(transcript.lines), transcript)
    assert track_vtt(page) == expected.encode("utf-8")
    assert "<v Ben &amp; &lt;i&gt;Co&lt;/i&gt;>&lt;script&gt;" in expected
    assert "<track" not in render(transcript, {})  # no access copy: no player, no track


def test_a_finished_runs_page_takes_the_vtt_beside_it(tmp_path):
    vtt = b"WEBVTT\n\nNOTE as the run wrote it, whatever the transcript says now\n"
    (tmp_path / "film.en.vtt").write_bytes(vtt)
    manifest = {"outputs": {"vtt": "film.en.vtt"}}
    assert assets_of_run(tmp_path, manifest).vtt == vtt
    (tmp_path / "film.en.vtt").unlink()  # gone: the page writes the track itself
    assert assets_of_run(tmp_path, manifest).vtt is None


@pytest.mark.slow
def test_the_pipelines_page_carries_the_vtt_it_wrote(clip, tmp_path, monkeypatch):
    import sync.pipeline
    from sync.pipeline import Pipeline, RunOptions

    marker = "WEBVTT\n\nNOTE written by the run's own subtitle stage\n"

    def subtitles(*args, **kwargs):
        cues, texts = render_subtitles(*args, **kwargs)
        return cues, {**texts, "vtt": marker}

    monkeypatch.setattr(sync.pipeline, "render_subtitles", subtitles)
    clip(tmp_path / "tone.mkv", frames=25)
    result = Pipeline(RunOptions(faces=None)).run(tmp_path / "tone.mkv", tmp_path / "out")
    assert result.outputs["vtt"].read_bytes() == marker.encode()
    assert track_vtt(result.outputs["report"].read_text()) == marker.encode()


def css_unescape(text: str) -> str:
    return re.sub(r"\\([0-9a-fA-F]{1,6}) ?", lambda m: chr(int(m.group(1), 16)), text)


def test_a_hostile_speaker_name_stays_inside_its_cue_colour_rule():
    hostile = 'Ben"]){} </style><script>alert(1)</script> \\" \' \n\t  é'
    transcript = dataclasses.replace(
        _transcript([_line(1.0, 2.0, "hi", "S1", 0.9), _line(3.0, 4.0, "yo", "S2", 0.9)]),
        speakers=(Speaker("S1", hostile, None, 1.0), Speaker("S2", "S2", None, 1.0)),
    )
    page = render(transcript, {}, ReportAssets(access="film.access.mp4"))
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    assert page.count("</style>") == 1 and page.count("<script") == 1
    rule = re.compile(
        r'#video::cue\(v\[voice="((?:[A-Za-z0-9 _-]|\\[0-9a-f]{1,6} )*)"\]\)'
        r"\{color:(#[0-9A-F]{6})\}"
    )
    assert [(css_unescape(voice), colour) for voice, colour in rule.findall(style)] == [
        (voice_name(transcript, "S1"), speaker_colour(0)),
        ("S2", speaker_colour(1)),
    ]
    assert voice_name(transcript, "S1") == 'Ben"]){} </style><script>alert(1)</script> \\" \' é'
    # nothing else came in: without its rules the style is that of a page with no characters
    plain = render(dataclasses.replace(transcript, speakers=()), {})
    assert rule.sub("", style) == re.search(r"<style>(.*?)</style>", plain, re.S).group(1)
    # and in the track, the same voice as the rule names, entity-escaped in its <v> tag
    assert '<v Ben"]){} &lt;/style&gt;&lt;script&gt;' in track_vtt(page).decode()


def test_low_confidence_lines_stand_out_and_lanes_take_the_ass_colours():
    transcript = _transcript(
        [
            _line(1.0, 2.0, "sure", "S1", 0.9),
            _line(3.0, 4.0, "doubtful", "S2", 0.3),
            _line(5.0, 6.0, "nobody", None, None, None),
        ]
    )
    page = render(transcript, {})
    rows = re.findall(r'<tr class="line( low)?" id="line-(\d)"', page)
    assert rows == [("", "1"), (" low", "2"), ("", "3")]
    bars = re.findall(r'<rect class="bar( low)?" data-start="([\d.]+)"[^>]*fill="(#\w+)"', page)
    assert bars == [
        ("", "1.000", speaker_colour(0)),
        (" low", "3.000", speaker_colour(1)),
        ("", "5.000", "#bbbbbb"),  # the unattributed lane
    ]
    assert "unattributed" in page
    assert "3 lines; 1 to check (confidence under 0.5); 1 unattributed." in page


def test_restoration_steps_are_rendered_whatever_they_are():
    manifest = {
        "restoration": {
            "picture": [
                {"step": "dust", "spots_removed": 412},
                {"step": "deflicker", "gain": 0.12},
            ],
            "sound": [{"step": "loudness", "input_lufs": -31.2, "output_lufs": -23.0}],
        },
        "timings": {"master": 10.0, "speech": 5.0},
    }
    page = render(_transcript([]), manifest, ReportAssets(before=b"\xff\xd8a", after=b"\xff\xd8b"))
    for text in ("dust", "spots_removed", "412", "deflicker", "0.12", "loudness", "-23"):
        assert text in page
    assert "loudness: loudness output_lufs" in page  # loudness reaches the run's figures too
    assert "2.0x real time" in page and "4.0x real time" in page  # 20 s of film
    assert page.count("data:image/jpeg;base64,") == 2


def test_access_copy_is_small_h264_aac_with_every_frame(media, tmp_path):
    film = media / "faces" / "talking" / "face_2.mp4"
    out = tmp_path / "face_2.access.mp4"
    result = write_access_copy(film, out)
    with av.open(str(film)) as source:
        frames = sum(1 for _ in source.decode(video=0))
        duration = source.duration / av.time_base
    with av.open(str(out)) as copy:
        video, audio = copy.streams.video[0], copy.streams.audio[0]
        assert video.codec_context.name == "h264" and audio.codec_context.name == "aac"
        assert video.codec_context.height <= 360 and video.codec_context.pix_fmt == "yuv420p"
        assert sum(1 for _ in copy.decode(video=0)) == frames == result.frames
        assert abs(copy.duration / av.time_base - duration) < 0.15
    assert out.stat().st_size / duration < 150_000  # bytes per second: a review copy, not a master
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary left behind


# -- in a real browser ------------------------------------------------------------------------
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=8000",
)


def chromium(page: Path, *args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("Chromium is not installed (.ci/run installs Debian's chromium)")
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
            capture_output=True,
            text=True,
            timeout=180,
        )


def console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def page_copy(talking_run, tmp_path_factory):
    """The real run's page and the files it uses, plus the same page with a hostile line."""
    film, out, code = talking_run
    assert code == 0
    folder = tmp_path_factory.mktemp("page")
    for path in out.iterdir():
        if not path.name.endswith(".master.mkv"):
            shutil.copy(path, folder / path.name)
    transcript = Transcript.load(folder / "face_1.transcript.json")
    manifest = json.loads((folder / "face_1.manifest.json").read_text())
    lines = list(transcript.lines)
    lines[0] = dataclasses.replace(lines[0], text=f"{HOSTILE} {PWN}")
    hostile = dataclasses.replace(transcript, lines=tuple(lines))
    assets = ReportAssets(access="face_1.access.mp4", thumbnails={"S1": "face_1.S1.jpg"})
    (folder / "hostile.report.html").write_text(render(hostile, manifest, assets))
    # the real page plus a probe that clicks the last line once the video is ready
    probe = (
        "<script>const v = document.getElementById('video');"
        "v.addEventListener('loadedmetadata', () => {"
        "  const rows = document.querySelectorAll('tr.line'); rows[rows.length - 1].click();"
        "  document.body.dataset.seekedTo = v.currentTime;"
        "  const box = document.getElementById('only-low'); box.click();"
        "  document.body.dataset.shown = Array.from(document.querySelectorAll('tr.line'))"
        "    .filter(r => !r.hidden).length; });"
        "</script></body>"
    )
    page = (folder / "face_1.report.html").read_text()
    (folder / "click.report.html").write_text(page.replace("</body>", probe))
    return folder, transcript


@pytest.mark.slow
def test_page_renders_in_chromium_with_every_section_and_no_console_message(page_copy):
    folder, transcript = page_copy
    run = chromium(folder / "face_1.report.html", "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    assert console_messages(run.stderr) == []
    dom = run.stdout
    for section in ("player", "timeline", "characters", "lines", "restoration", "figures"):
        assert f'<section id="{section}">' in dom
    # the script ran: the access copy loaded and the page counted the track's cues
    video = re.search(r"<video [^>]*>", dom).group(0)
    assert f'data-cues="{len(vtt_cues((folder / "face_1.en.vtt").read_text()))}"' in video
    duration = float(re.search(r'data-duration="([\d.]+)"', video).group(1))
    assert abs(duration - transcript.duration) < 0.2
    assert dom.count('<tr class="line') == len(transcript.lines)
    assert 'src="face_1.S1.jpg"' in dom and dom.count("data:image/jpeg;base64,") == 3  # + poster


def vtt_cues(text: str) -> list[tuple[float, float, str]]:
    """(start, end, text) of each cue of a WebVTT file, read here, apart from the page's code."""

    def seconds(stamp: str) -> float:
        hours, minutes, rest = stamp.split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(rest)

    cues = []
    for block in text.split("\n\n")[1:]:
        lines = block.strip("\n").split("\n")
        at = next(i for i, line in enumerate(lines) if " --> " in line)
        start, end = lines[at].split(" --> ")
        cues.append((seconds(start), seconds(end.split()[0]), "\n".join(lines[at + 1 :])))
    return cues


def probed(folder: Path, name: str, page: str, script: str) -> Path:
    """A copy of ``page`` beside the run's files with ``script`` run after the page's own."""
    path = folder / name
    path.write_text(page.replace("</body>", f"<script>{script}</script></body>"))
    return path


# Records, once the subtitle track has loaded, what the browser made of it.
TRACK_PROBE = """(function(){
const element = document.getElementById('subtitles');
const video = document.getElementById('video');
function report(how){
  const track = element.track;
  const out = document.createElement('pre');
  out.id = 'track-probe';
  out.textContent = JSON.stringify({how: how, readyState: element.readyState, mode: track.mode,
    tracks: video.textTracks.length, first: video.textTracks[0] === track,
    cues: Array.from(track.cues).map(c => [c.startTime, c.endTime, c.text])});
  document.body.appendChild(out);
}
element.addEventListener('error', () => { document.body.dataset.trackError = 'error'; });
if(element.readyState === 2) report('loaded before'); else element.addEventListener('load',
  () => report('load event'));
})();"""


@pytest.mark.slow
def test_the_players_track_loads_in_chromium_with_the_cues_of_the_runs_vtt(page_copy):
    folder, _ = page_copy
    text = (folder / "face_1.report.html").read_text()
    assert track_vtt(text) == (folder / "face_1.en.vtt").read_bytes()  # the file, inlined
    page = probed(folder, "track.report.html", text, TRACK_PROBE)
    run = chromium(page, "--dump-dom")
    assert run.returncode == 0 and console_messages(run.stderr) == [], run.stderr[-2000:]
    found = re.search(r'<pre id="track-probe">(.*?)</pre>', run.stdout, re.S)
    assert found, "the track never loaded: " + run.stdout.split("<body", 1)[1][:200]
    probe = json.loads(html.unescape(found.group(1)))
    assert probe["readyState"] == 2 and probe["mode"] == "showing"  # loaded, and on by default
    assert probe["tracks"] == 1 and probe["first"]  # the only track: none added by script
    expected = vtt_cues((folder / "face_1.en.vtt").read_text(encoding="utf-8"))
    assert len(expected) >= 2
    got = [(start, end, text) for start, end, text in probe["cues"]]
    assert [text for _, _, text in got] == [text for _, _, text in expected]
    for (start, end, _), (want_start, want_end, _) in zip(got, expected, strict=True):
        assert abs(start - want_start) < 1e-6 and abs(end - want_end) < 1e-6


# Shows the player alone, paused at a moment, without its controls over the picture.
def at_moment(seconds: float) -> str:
    return (
        "document.querySelectorAll('section:not(#player)').forEach(s => { s.hidden = true; });"
        "const v = document.getElementById('video'); v.controls = false; v.muted = true;"
        "v.preload = 'auto'; v.addEventListener('loadeddata', () => { v.currentTime = "
        f"{seconds}; }});"
    )


def yellow_pixels(shot: Path) -> int:
    image = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    return int(((image[..., 0] > 200) & (image[..., 1] > 200) & (image[..., 2] < 80)).sum())


@pytest.mark.slow
def test_each_voice_shows_on_the_picture_in_its_lane_colour(page_copy, tmp_path):
    """S1's cue in S1's lane colour (yellow), from the page's ``::cue(v[voice])`` rule: the
    same moment without the rule shows no yellow; a hostile name keeps its colour."""
    folder, transcript = page_copy
    assert speaker_colour(0) == "#FFFF00" and transcript.speakers[0].id == "S1"
    spoken = [c for c in vtt_cues((folder / "face_1.en.vtt").read_text()) if "<v S1>" in c[2]]
    moment = (spoken[0][0] + spoken[0][1]) / 2
    page = (folder / "face_1.report.html").read_text()
    uncoloured = re.sub(r"#video::cue\(.*?\}", "", page)
    assert uncoloured != page
    hostile = dataclasses.replace(
        transcript,
        speakers=(dataclasses.replace(transcript.speakers[0], name='Ben "}</style> & <Co>\\'),),
    )
    manifest = json.loads((folder / "face_1.manifest.json").read_text())
    renamed = render(hostile, manifest, ReportAssets(access="face_1.access.mp4"))
    counts = {}
    for name, text in (("coloured", page), ("uncoloured", uncoloured), ("renamed", renamed)):
        path = probed(folder, f"{name}.report.html", text, at_moment(moment))
        # Virtual time does not wait for the decoder: on a busy machine the shot can come
        # before the seek has shown the cue. A missing cue only takes yellow away, so trying
        # again cannot make a rule that does not work pass.
        for attempt in range(1 if name == "uncoloured" else 3):
            shot = tmp_path / f"{name}.{attempt}.png"
            run = chromium(path, f"--screenshot={shot}", "--window-size=1000,700")
            assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
            counts[name] = max(counts.get(name, 0), yellow_pixels(shot))
            if counts[name] > 500:
                break
    assert counts["uncoloured"] < 50, counts  # neither the picture nor white text is yellow
    assert counts["coloured"] > 500 and counts["renamed"] > 500, counts


@pytest.mark.slow
def test_clicking_a_line_seeks_the_player_there(page_copy):
    folder, transcript = page_copy
    run = chromium(folder / "click.report.html", "--dump-dom")
    assert run.returncode == 0 and console_messages(run.stderr) == []
    seeked = float(re.search(r'data-seeked-to="([\d.]+)"', run.stdout).group(1))
    assert abs(seeked - transcript.lines[-1].start) < 0.1
    low = [
        line for line in transcript.lines if line.confidence is not None and line.confidence < 0.5
    ]
    shown = int(re.search(r'data-shown="(\d+)"', run.stdout).group(1))
    assert shown == len(low)  # "show only lines to check" hides the rest


@pytest.mark.slow
def test_a_hostile_line_stays_text_in_the_browser(page_copy):
    folder, _ = page_copy
    run = chromium(folder / "hostile.report.html", "--dump-dom")
    assert run.returncode == 0
    dom = run.stdout
    assert "pwned" not in dom.split("<body", 1)[1].split(">", 1)[0]  # the onerror never ran
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert console_messages(run.stderr) == []


@pytest.mark.slow
def test_screenshot_shows_the_page(page_copy, tmp_path):
    folder, _ = page_copy
    shot = tmp_path / "report.png"
    run = chromium(folder / "face_1.report.html", f"--screenshot={shot}", "--window-size=1200,2600")
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    image = np.asarray(Image.open(shot).convert("RGB"), dtype=np.float32)
    assert image.shape[:2] == (2600, 1200)
    rows = image.std(axis=(1, 2))
    # content from top to bottom: the player, the timeline, the gallery and the tables
    assert (rows[: 2600 // 2] > 5).mean() > 0.3 and (rows[2600 // 2 :] > 5).mean() > 0.2
    yellow = (image[..., 0] > 200) & (image[..., 1] > 200) & (image[..., 2] < 80)
    assert yellow.sum() > 500  # S1's lane in its ASS colour


def test_no_access_copy_option_reaches_the_pipeline():
    from sync.cli import _options, build_parser

    args = build_parser().parse_args(["run", "film.mp4", "--no-access-copy"])
    assert _options(args).access is None
    args = build_parser().parse_args(["batch", "films", "-o", "out"])
    assert _options(args).access is not None


@pytest.mark.slow
def test_a_failed_access_copy_leaves_every_other_output(clip, tmp_path, monkeypatch):
    import sync.pipeline
    from restore.errors import OutputError
    from sync.pipeline import Pipeline, RunOptions

    def broken(master, out, options):
        raise OutputError("no H.264 encoder (simulated)")

    monkeypatch.setattr(sync.pipeline, "write_access_copy", broken)
    clip(tmp_path / "tone.mkv", frames=25)
    result = Pipeline(RunOptions(faces=None)).run(tmp_path / "tone.mkv", tmp_path / "out")
    assert "access" not in result.outputs and "access" not in result.manifest["outputs"]
    assert not list((tmp_path / "out").glob("*.mp4"))
    page = result.outputs["report"].read_text()
    assert "No access copy was written." in page and "<video" not in page
    assert result.outputs["master"].exists() and result.outputs["manifest"].exists()
