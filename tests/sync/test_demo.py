"""The demo: the bundled aged scene (data/make_sample.py) through `reelscribe run --cast`, as
`make demo` runs it. Its truth is the sample script's own schedule of turns."""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from restore.media import iter_frames, open_source

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"


def sample_script():
    spec = importlib.util.spec_from_file_location("make_sample", DATA / "make_sample.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_sample", module)  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def test_the_bundled_sample_is_the_scene_its_script_describes():
    script = sample_script()
    source = open_source(DATA / "sample.mp4")
    assert source.video and source.audio
    assert (source.video.width, source.video.height) == (script.WIDTH, script.HEIGHT)
    frames = [f.rgb() for f in iter_frames(source)]
    turns = script.schedule({name: 75 for name in script.CHARACTERS})  # GRID clips: 3 s
    assert len(frames) == round((turns[-1][1] + script.GAP_S) * script.FPS)
    assert {speaker for _, _, speaker, _ in turns} == set(script.CHARACTERS)
    # aged: monochrome, and no two neighbouring frames alike (grain, dust and flicker)
    middle = frames[len(frames) // 2].astype(int)
    assert np.abs(middle[..., 0] - middle[..., 1]).max() <= 12  # grey, give or take H.264
    assert np.mean(np.abs(middle - frames[len(frames) // 2 + 1].astype(int))) > 2


@pytest.mark.slow
def test_make_demo_names_every_speaker_and_records_the_restoration(tmp_path):
    """What `make demo` shows: every turn of the scene given to its character by name, on
    the lips' evidence, and each kind of damage the sample carries found and recorded."""
    from sync.cli import main

    script = sample_script()
    out = tmp_path / "demo"
    code = main(
        ["run", str(DATA / "sample.mp4"), "--cast", str(DATA / "cast.toml"), "-o", str(out)]
        + ["--quiet"]
    )
    assert code == 0
    transcript = json.loads((out / "sample.transcript.json").read_text())
    names = {s["id"]: s["name"] for s in transcript["speakers"]}
    assert sorted(names.values()) == sorted(script.CHARACTERS)
    turns = script.schedule({name: 75 for name in script.CHARACTERS})
    for start, end, speaker, _ in turns:
        said = [
            line
            for line in transcript["lines"]
            if start <= (line["start"] + line["end"]) / 2 <= end
        ]
        assert said, f"nothing heard in {speaker}'s turn at {start:.1f} s"
        for line in said:
            assert names.get(line["speaker"]) == speaker, (line, speaker)
            assert line["evidence"] == "lips"
    manifest = json.loads((out / "sample.manifest.json").read_text())
    picture = {step["step"]: step for step in manifest["restoration"]["picture"]}
    sound = {step["step"]: step for step in manifest["restoration"]["sound"]}
    assert picture["scratch"]["frames_with_scratches"] > 0
    assert picture["dust"]["specks_repaired"] > 0
    assert picture["deflicker"]["flicker_after"] < picture["deflicker"]["flicker_before"]
    assert sound["hum"]["mains_hz"] == 50.0
    assert sound["clicks"]["clicks_repaired"] > 0
    page = (out / "sample.report.html").read_text()
    track = re.search(r'<track id="subtitles"[^>]* src="data:text/vtt;base64,([^"]+)"', page)
    vtt = base64.b64decode(track.group(1))
    assert vtt == (out / "sample.en.vtt").read_bytes()  # the lines play under the picture
    for name in script.CHARACTERS:
        assert f"<v {name}>".encode() in vtt and f'voice="{name}"' in page
