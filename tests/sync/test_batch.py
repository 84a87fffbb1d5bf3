"""``reelscribe batch``: a small real collection (two GRID clips and a broken file).

Good films done, the broken one reported while the rest go on, a rerun skips
finished films, a killed batch resumes from the stage cache and finishes with the
same outputs, and Ray tasks give the same outputs as local processes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

from sync.batch import STATE, find_films, is_finished, task_resources
from sync.cli import main
from sync.pipeline import RunOptions
from sync.stagecache import StageCache, cast_fingerprint, options_key

GOOD = ("bbaf2n", "brbk7n")
TEXT_OUTPUTS = ("transcript.json", "en.srt", "en.vtt", "en.ass", "faces.json")
ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "sync.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def decoded(master: Path) -> tuple[str, str]:
    """Digests of a master's decoded picture and sound (the bytes of two muxes may differ)."""
    picture, sound = hashlib.sha256(), hashlib.sha256()
    with av.open(str(master)) as container:
        for frame in container.decode(video=0):
            picture.update(frame.to_ndarray().tobytes())
        container.seek(0)
        for frame in container.decode(audio=0):
            sound.update(frame.to_ndarray().tobytes())
    return picture.hexdigest(), sound.hexdigest()


def same_outputs(a: Path, b: Path, stem: str) -> None:
    for suffix in TEXT_OUTPUTS:
        assert (a / f"{stem}.{suffix}").read_bytes() == (b / f"{stem}.{suffix}").read_bytes()
    assert decoded(a / f"{stem}.master.mkv") == decoded(b / f"{stem}.master.mkv")


# -- fast: finding films, the stage cache, the done markers -----------------------------------
def test_find_films_takes_film_files_and_leaves_the_rest(tmp_path):
    names = ("b.mkv", "a.MP4", "sub/c.mov", "notes.txt", ".hidden/d.mp4", "e.srt")
    outputs = ("b.master.mkv", "b.access.mp4", "out/b/b.master.mkv", "out/x/x.mp4")
    for name in names + outputs:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = find_films(tmp_path, out_root=tmp_path / "out")  # OUTROOT inside the films' folder
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a.MP4", "b.mkv", "sub/c.mov"]


def test_stage_cache_keys_by_source_and_options(tmp_path):
    cache = StageCache(tmp_path / "cache")
    key = options_key(RunOptions().speech)
    cache.put("speech", "ab" * 32, key, {"lines": 3})
    assert cache.get("speech", "ab" * 32, key) == {"lines": 3}
    assert cache.get("speech", "cd" * 32, key) is None  # another film
    other = options_key(RunOptions(audio_track=1).speech, "beam 1")
    assert other != key and cache.get("speech", "ab" * 32, other) is None
    (entry,) = (tmp_path / "cache").iterdir()
    entry.write_bytes(b"not a pickle")  # a damaged entry is recomputed, not fatal
    assert cache.get("speech", "ab" * 32, key) is None


def test_stage_cache_keeps_files_by_hard_link_until_dropped(tmp_path):
    cache = StageCache(tmp_path / "cache")
    work = tmp_path / "work"
    work.mkdir()
    (work / "master.mkv").write_bytes(b"master")
    cache.put_files("master", "ab" * 32, "k", ("result",), {"master.mkv": work / "master.mkv"})
    shutil.rmtree(work)  # the run's work folder goes; the kept link stays
    again = tmp_path / "again"
    again.mkdir()
    value = cache.get_files("master", "ab" * 32, "k", {"master.mkv": again / "master.mkv"})
    assert value == ("result",) and (again / "master.mkv").read_bytes() == b"master"
    cache.drop("master", "ab" * 32, "k")
    assert cache.get_files("master", "ab" * 32, "k", {"master.mkv": tmp_path / "x"}) is None
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_changed_cast_photo_changes_the_face_key(tmp_path):
    cast = tmp_path / "cast.toml"
    cast.write_text('[[character]]\nname = "Ben"\nphotos = ["cast/ben.jpg"]\n')
    (tmp_path / "cast").mkdir()
    photo = tmp_path / "cast" / "ben.jpg"
    photo.write_bytes(b"one")
    first = options_key(cast_fingerprint(cast))
    assert options_key(cast_fingerprint(cast)) == first
    photo.write_bytes(b"other photo")
    assert options_key(cast_fingerprint(cast)) != first
    assert cast_fingerprint(None) is None


def test_a_done_marker_goes_stale_when_the_film_or_options_change(tmp_path):
    film = tmp_path / "films" / "f.mkv"
    film.parent.mkdir()
    film.write_bytes(b"film")
    out = tmp_path / "out"
    (out / "f").mkdir(parents=True)
    (out / "f" / "f.manifest.json").write_text("{}")
    options = RunOptions()
    stat = film.stat()
    marker = {
        "input": str(film.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "options": options_key(options, None),
        "manifest": "f.manifest.json",
    }
    (out / STATE / "done").mkdir(parents=True)
    (out / STATE / "done" / "f.json").write_text(json.dumps(marker))
    assert is_finished(film, out, options)
    assert not is_finished(film, out, RunOptions(audio_track=1))
    os.utime(film, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert not is_finished(film, out, options)


def test_ray_tasks_ask_for_a_gpu_only_where_the_cluster_has_one():
    auto = RunOptions()
    cpu = RunOptions(speech=dataclasses.replace(auto.speech, device="cpu"))
    assert task_resources({"CPU": 16.0, "GPU": 2.0}, auto) == {"num_cpus": 1, "num_gpus": 1}
    assert task_resources({"CPU": 16.0}, auto) == {"num_cpus": 1, "num_gpus": 0}
    assert task_resources({"CPU": 16.0, "GPU": 2.0}, cpu) == {"num_cpus": 1, "num_gpus": 0}


# -- slow: a real collection --------------------------------------------------------------------
@pytest.fixture(scope="module")
def collection(media, tmp_path_factory):
    folder = tmp_path_factory.mktemp("films")
    for stem in GOOD:
        shutil.copy(media / "faces" / "grid" / f"{stem}.mpg", folder / f"{stem}.mpg")
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(30_000))
    return folder


@pytest.fixture(scope="module")
def local_batch(collection, tmp_path_factory):
    """The collection through the real command, two worker processes."""
    out = tmp_path_factory.mktemp("local")
    process = _cli("batch", str(collection), "-o", str(out), "--workers", "2", "--quiet")
    _, stderr = process.communicate(timeout=900)
    return out, process.returncode, stderr


@pytest.mark.slow
def test_good_films_done_and_the_broken_one_reported(local_batch):
    out, code, stderr = local_batch
    assert code == 3  # the broken file's code (unreadable input); the others went on
    for stem in GOOD:
        names = {p.name for p in (out / stem).iterdir()}
        assert {f"{stem}.{s}" for s in (*TEXT_OUTPUTS, "master.mkv", "access.mp4")} <= names
        assert f"{stem}.report.html" in names and f"{stem}.manifest.json" in names
    assert not (out / "broken").exists() or not any((out / "broken").iterdir())
    assert "3 films: 2 done, 0 skipped (finished before), 1 failed" in stderr
    failed = [line for line in stderr.splitlines() if line.startswith("  failed:")]
    assert len(failed) == 1 and "broken.mp4" in failed[0] and "Traceback" not in stderr


@pytest.mark.slow
def test_rerun_skips_finished_films_in_seconds(local_batch, collection, capsys):
    out, _, _ = local_batch
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.master.mkv")}
    started = time.perf_counter()
    code = main(["batch", str(collection), "-o", str(out), "--quiet"])
    assert time.perf_counter() - started < 10
    assert code == 3
    assert "3 films: 0 done, 2 skipped (finished before), 1 failed" in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.master.mkv")} == before


@pytest.mark.slow
def test_a_killed_batch_resumes_from_the_stage_cache_with_the_same_outputs(
    local_batch, media, tmp_path
):
    films = tmp_path / "films"
    films.mkdir()
    shutil.copy(media / "faces" / "grid" / "bbaf2n.mpg", films / "bbaf2n.mpg")
    out = tmp_path / "out"
    process = _cli("batch", str(films), "-o", str(out), "--quiet")
    cache = out / STATE / "cache"
    deadline = time.monotonic() + 300
    while not list(cache.glob("*.master.*.pickle")) and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # killed after the master and faces, during speech
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the batch finished before it could be killed"
    assert not (out / "bbaf2n" / "bbaf2n.manifest.json").exists()
    assert not list((out / "bbaf2n").glob("*.master.mkv"))  # nothing that looks finished

    assert main(["batch", str(films), "-o", str(out), "--quiet"]) == 0
    manifest = json.loads((out / "bbaf2n" / "bbaf2n.manifest.json").read_text())
    assert {"master", "faces"} <= set(manifest["stage_cache"]["taken"])
    assert "master" not in manifest["timings"]  # the master pass was not run again
    assert not list(cache.glob("*.master.*"))  # its kept copy goes once the film is finished
    assert not [p for p in (out / "bbaf2n").iterdir() if p.name.startswith(".")]  # cleaned up
    same_outputs(out / "bbaf2n", local_batch[0] / "bbaf2n", "bbaf2n")


@pytest.mark.slow
def test_ray_tasks_give_the_same_outputs_as_local_processes(local_batch, collection, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "ray"
    code = main(["batch", str(collection), "-o", str(out), "--ray", "local", "--quiet"])
    assert code == 3  # the same broken film, reported the same way
    for stem in GOOD:
        same_outputs(out / stem, local_batch[0] / stem, stem)


def test_the_faces_are_kept_across_a_change_of_sound_but_not_of_picture():
    """The face stage reads the restored picture: a sound or speech option leaves its cache
    entry good; a picture step, a picture setting, the frame rate or the faces' own
    options do not."""
    from restore.chain import RestoreOptions
    from sync.pipeline import _faces_key

    base = RunOptions()
    key = _faces_key(base)
    for restore in (
        RestoreOptions(sound=("hum",)),
        RestoreOptions(speech_second=()),
        RestoreOptions(speech_sound=("clicks",), loudness=-16.0),
    ):
        assert _faces_key(dataclasses.replace(base, restore=restore)) == key
    for changed in (
        dataclasses.replace(base, restore=RestoreOptions(picture=("dust",))),
        dataclasses.replace(
            base, restore=RestoreOptions(picture_settings={"dust": {"threshold": 30}})
        ),
        dataclasses.replace(base, fps="24000/1001"),
        dataclasses.replace(base, faces=dataclasses.replace(base.faces, detector="mtcnn")),
    ):
        assert _faces_key(changed) != key
