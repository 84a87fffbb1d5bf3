"""The review page: what it shows, that film text stays text, and that a real browser renders it.

The browser checks open the page of a real run (the shared ``talking_run``) in
Debian's headless Chromium (``.ci/run`` installs it), read the DOM after the
page's script ran, collect console messages, and take a screenshot.
"""

from __future__ import annotations

import dataclasses
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
from sync.report import ReportAssets, render
from sync.transcript import Line, Speaker, Transcript
from sync.writers import speaker_colour

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
    # the cue data: one JSON script element whose content cannot close the element
    data = re.search(r'<script type="application/json" id="cues">(.*?)</script>', page, re.S)
    cues = json.loads(data.group(1))
    assert [c["start"] for c in cues] == [1.0, 3.0]
    voice = "<v Ben &amp; &lt;i&gt;Co&lt;/i&gt;>"
    assert cues[0]["text"] == voice + "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert "</script>" not in data.group(1) and "<!--" not in data.group(1)
    assert page.count("<script") == 2  # the cue data and the page's own script, nothing else


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
    # the script ran: the access copy loaded and the text track holds one cue per line
    video = re.search(r"<video [^>]*>", dom).group(0)
    assert f'data-cues="{len(transcript.lines)}"' in video
    duration = float(re.search(r'data-duration="([\d.]+)"', video).group(1))
    assert abs(duration - transcript.duration) < 0.2
    assert dom.count('<tr class="line') == len(transcript.lines)
    assert 'src="face_1.S1.jpg"' in dom and dom.count("data:image/jpeg;base64,") == 3  # + poster


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
