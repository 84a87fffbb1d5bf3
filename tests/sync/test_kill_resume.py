"""Crashes: `reelscribe run` killed outright (SIGKILL) at random points, then run again.

A killed run can clean nothing up. What must hold: while it is dead, the output
folder never looks finished (no manifest unless every output is there and right);
a plain rerun removes what the killed runs left and produces the same outputs as a
run that was never interrupted; no temporary is left once it completes.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from restore.media import iter_frames, open_source

ROOT = Path(__file__).resolve().parents[2]
SUBTITLES = ("en.srt", "en.vtt", "en.ass", "en.ttml")


def start(film: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sync.cli", "run", str(film), "-o", str(out), "--quiet"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_to_the_end(film: Path, out: Path) -> float:
    started = time.monotonic()
    process = start(film, out)
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    return time.monotonic() - started


def transcript(out: Path) -> dict:
    return json.loads((out / "film.transcript.json").read_text())


def frames(master: Path) -> int:
    return sum(1 for _ in iter_frames(open_source(master)))


def hidden(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith("."))


@pytest.mark.slow
def test_killed_runs_leave_nothing_finished_and_a_rerun_gives_the_same_outputs(media, tmp_path):
    film = tmp_path / "film.mpg"  # a real talking face with real speech, 3 s
    shutil.copyfile(media / "faces" / "grid" / "bbaf2n.mpg", film)
    reference = tmp_path / "reference"
    full = run_to_the_end(film, reference)
    expected = transcript(reference)
    assert expected["lines"] and expected["speakers"]  # a run with something to lose

    out = tmp_path / "out"
    rng = random.Random(20261130)
    left_behind = 0
    kills = []
    # one kill in each fifth of the run after start-up: decoding, faces, speech, writing
    for fifth in range(1, 5):
        delay = rng.uniform(fifth / 5, (fifth + 1) / 5) * full
        process = start(film, out)
        try:
            process.wait(timeout=delay)  # it may finish first: then it must be whole
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
        debris = hidden(out) if out.exists() else []
        kills.append(f"{delay:.1f}s: {len(debris)} temporaries")
        if out.exists():
            left_behind += len(debris)
            manifest = out / "film.manifest.json"
            if manifest.exists():  # looks finished: then it must be finished, and right
                for name in json.loads(manifest.read_text())["outputs"].values():
                    assert (out / name).is_file(), name
                assert transcript(out) == expected
    assert left_behind, "no kill landed while temporaries existed: the test proved nothing"

    rerun = run_to_the_end(film, out)
    print(f"\nkill-resume: full run {full:.1f}s; killed at {'; '.join(kills)}; rerun {rerun:.1f}s")
    assert hidden(out) == []
    assert transcript(out) == expected
    for suffix in SUBTITLES:
        assert (out / f"film.{suffix}").read_bytes() == (reference / f"film.{suffix}").read_bytes()
    assert frames(out / "film.master.mkv") == frames(reference / "film.master.mkv") > 0
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in reference.iterdir())


def test_stale_temporaries_of_dead_runs_are_removed_live_ones_kept(tmp_path):
    from restore.master import remove_stale_temporaries, temporary_prefix

    dead = _dead_pid()
    live = os.getppid()
    names = {
        f".film.master.mkv.{dead}-0a1b2c3d.part": False,
        f".film.reelscribe-{dead}-k2j4_x9a": True,
        f".subs-{dead}-abc123": True,
        f".film.master.mkv.{live}-0a1b2c3d.part": False,
        f".film.reelscribe-{live}-k2j4_x9a": True,
    }
    for name, folder in names.items():
        (tmp_path / name).mkdir() if folder else (tmp_path / name).write_bytes(b"x")
    (tmp_path / "film.master.mkv").write_bytes(b"finished")
    (tmp_path / ".hidden-note").write_text("not ours")
    assert remove_stale_temporaries(tmp_path) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f".film.master.mkv.{live}-0a1b2c3d.part", f".film.reelscribe-{live}-k2j4_x9a"]
        + ["film.master.mkv", ".hidden-note"]
    )
    assert temporary_prefix("film") == f".film.reelscribe-{os.getpid()}-"


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid  # reaped: no process has it (until the system reuses it)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_a_stopped_run_cleans_up_and_exits_130(tmp_path, clip, stop):
    """A scheduler's SIGTERM (a batch job stopped) or Ctrl-C is an interruption, not a crash:
    the run removes its temporaries itself, says so in one line and exits 130, every time
    (a bare KeyboardInterrupt made the process die by SIGINT about one run in six)."""
    film = tmp_path / "film.mkv"
    clip(film, frames=500, size=(160, 120))  # 20 s: time enough to be stopped
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "sync.cli", "run", str(film), "-o", str(out), "--no-faces"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (out.exists() and hidden(out)) and time.monotonic() < deadline:
        time.sleep(0.02)  # until the work folder exists: the run is under way
    assert process.poll() is None, "the run ended before it could be stopped"
    process.send_signal(stop)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == (
        "reelscribe: interrupted; nothing was left that looks finished"
    )
    assert "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == []
