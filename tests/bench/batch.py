"""Collection throughput and the access copy's cost, measured side by side in one run.

    .venv/bin/python tests/bench/batch.py [--films N] [--ray]

- films per hour: `reelscribe batch` over N real short clips (the GRID clips,
  3 s each, 360x288 @ 25 fps, with a talking face), with 1 worker (the anchor)
  and 2 workers, each into a fresh OUTROOT; then a rerun (all skipped). With
  --ray, also `--ray local` with 2 CPUs.
- access copy: per film, the H.264/AAC access copy's encode time against the
  master stage's time (from the manifests), and its size against the master's.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MEDIA = ROOT.parent / "shared" / "media"


def batch(films: Path, out: Path, *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "sync.cli", "batch", str(films), "-o", str(out), "--quiet", *extra],
        check=True,
        cwd=ROOT,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--films", type=int, default=6)
    parser.add_argument("--ray", action="store_true")
    args = parser.parse_args()
    clips = sorted((MEDIA / "faces" / "grid").glob("*.mpg"))[: args.films]
    print(f"machine: {platform.machine()}, {platform.python_version()}; {len(clips)} GRID clips")
    with tempfile.TemporaryDirectory() as tmp:
        films = Path(tmp) / "films"
        films.mkdir()
        for clip in clips:
            shutil.copy(clip, films / clip.name)
        import av

        seconds = 0.0
        for clip in clips:
            with av.open(str(clip)) as container:
                seconds += container.duration / av.time_base
        rows = []
        runs = [("1 worker (anchor)", ()), ("2 workers", ("--workers", "2"))]
        if args.ray:
            runs.append(("Ray local, 2 CPUs", ("--ray", "local", "--workers", "2")))
        for label, extra in runs:
            out = Path(tmp) / label.split()[0]
            wall = batch(films, out, *extra)
            rows.append((label, wall, len(clips) * 3600 / wall, seconds / wall))
            last = out
        rerun = batch(films, last)
        print(f"\n{len(clips)} films, {seconds:.1f} s of film in all\n")
        print("| run | wall s | films/hour | x real time |\n|---|---|---|---|")
        for label, wall, per_hour, speed in rows:
            print(f"| {label} | {wall:.1f} | {per_hour:.0f} | {speed:.2f} |")
        print(f"| rerun (all skipped) | {rerun:.1f} | - | - |")
        print("\n| film | master s | access copy s | access/master time | access KB | master KB |")
        print("|---|---|---|---|---|---|")
        for manifest_path in sorted(last.glob("*/*.manifest.json")):
            manifest = json.loads(manifest_path.read_text())
            stem = manifest_path.parent.name
            timings = manifest["timings"]
            access = manifest_path.parent / f"{stem}.access.mp4"
            master = manifest_path.parent / f"{stem}.master.mkv"
            print(
                f"| {stem} | {timings['master']:.2f} | {timings['access copy']:.2f} | "
                f"{timings['access copy'] / timings['master']:.2f} | "
                f"{access.stat().st_size // 1024} | {master.stat().st_size // 1024} |"
            )


if __name__ == "__main__":
    main()
