"""The picture chain as a whole: presets, settings, the manifest, real film, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from restore.chain import RestoreOptions, picture_chain
from restore.errors import UsageError
from restore.media import iter_frames, open_source
from restore.picture import PICTURE_ORDER, picture_plan
from sync.cli import main
from sync.pipeline import Pipeline, RunOptions


def test_presets_and_settings():
    names, settings = picture_plan("archival")
    assert names == PICTURE_ORDER
    assert settings["stabilise"]["mode"] == "auto" and settings["colour"]["mode"] == "auto"
    access = picture_plan("access")[1]
    assert access["denoise"]["strength"] > settings["denoise"]["strength"]
    names, settings = picture_plan("archival", "dust,deflicker", ("dust.threshold=30",))
    assert names == ("dust", "deflicker") and settings == {"dust": {"threshold": 30.0}}
    assert picture_plan(None, None, ()) == ((), {})
    for bad in ("dust.nothing=1", "dust.threshold=abc", "dust=1", "nostep.x=1"):
        with pytest.raises(UsageError):
            picture_plan("archival", None, (bad,))
    with pytest.raises(UsageError):
        picture_plan("archival", "dust,polish")
    with pytest.raises(UsageError):
        picture_plan("vivid")


@pytest.mark.slow
def test_real_film_through_the_archival_chain(media):
    source = open_source(media / "film" / "bofb_003.mkv")
    names, settings = picture_plan("archival")
    chain = picture_chain(RestoreOptions(picture=names, picture_settings=settings))
    before = list(iter_frames(source))
    after = list(chain.process(iter(before)))
    assert [f.pts for f in after] == [f.pts for f in before]  # same frames, same times
    assert all(f.rgb().shape == (480, 640, 3) for f in after)
    report = {entry["step"]: entry for entry in chain.report()}
    assert list(report) == list(PICTURE_ORDER)
    assert all(entry["frames"] == 24 and "settings" in entry for entry in report.values())
    assert report["dust"]["specks_repaired"] > 0
    assert 0 < report["dust"]["share_of_pixels_changed"] < 0.02
    assert report["deflicker"]["flicker_after"] < report["deflicker"]["flicker_before"]

    # fewer one-frame impulses (pixels unlike both neighbours) than the print had
    def impulses(frames):
        gray = [f.rgb().mean(axis=-1) for f in frames]
        count = 0
        for p, c, n in zip(gray, gray[1:], gray[2:], strict=False):
            count += np.count_nonzero((c - np.maximum(p, n) > 40) | (np.minimum(p, n) - c > 40))
        return count

    assert impulses(after) < 0.6 * impulses(before)


@pytest.mark.slow
def test_restore_command_with_a_preset_and_settings(media, tmp_path):
    film = media / "film" / "a-bomb_blast_effects_part.mp4"
    master = tmp_path / "abomb.mkv"
    code = main(
        [
            "restore",
            str(film),
            "-o",
            str(master),
            "--preset",
            "access",
            "--set",
            "denoise.strength=0.8",
            "--steps",
            "deflicker,dust,denoise",
            "--quiet",
        ]
    )
    assert code == 0
    restored, source = open_source(master), open_source(film)
    assert (restored.video.width, restored.video.height) == (432, 320)
    assert sum(1 for _ in iter_frames(restored)) == 360
    assert restored.video.average_rate == source.video.average_rate


def test_pipeline_manifest_entry_names_each_step_and_its_settings(tmp_path, clip):
    clip(tmp_path / "in.mkv", frames=12, size=(96, 64))
    names, settings = picture_plan("archival", "deflicker,dust", ("dust.grow=2",))
    options = RunOptions(
        restore=RestoreOptions(picture=names, picture_settings=settings, preset="archival")
    )
    result = Pipeline(options).restore(tmp_path / "in.mkv", tmp_path / "m.mkv")
    assert result.frames == 12
    steps = result.restoration["picture"]
    assert [s["step"] for s in steps] == ["deflicker", "dust"]
    assert steps[1]["settings"]["grow"] == 2
    json.dumps(result.restoration)  # the manifest can hold it


def test_bad_picture_options_on_the_command_line(media, tmp_path, capsys):
    film = str(media / "film" / "bofb_003.mkv")
    out = str(tmp_path / "m.mkv")
    assert main(["restore", film, "-o", out, "--set", "dust.grow=many"]) == 2
    assert main(["restore", film, "-o", out, "--steps", "sharpen"]) == 2
    err = capsys.readouterr().err
    assert "dust.grow" in err and "sharpen" in err and "Traceback" not in err
    assert not (tmp_path / "m.mkv").exists()
