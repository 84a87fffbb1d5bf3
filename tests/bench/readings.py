"""What the second copy for speech costs: whole `reelscribe run` with and without it.

    PYTHONPATH=. nice .venv/bin/python -u tests/bench/readings.py [--rounds 2]

Each film is run as a whole command (start-up, restoration, faces where there is
a picture, both readings, subtitles) with the defaults, and with
``--speech-second none`` (one copy), the two taking turns round by round; the
best wall time of each is printed with the speech stage's own timings from the
manifest, and how many stretches the second copy gave.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MEDIA = ROOT.parent / "shared" / "media"
FILMS = (
    MEDIA / "speech" / "notld_1968" / "60s_i_dont_want_anyones_life_on_my_hands.wav",
    ROOT / "data" / "sample.mp4",
)


def run(film: Path, extra: list[str], out: Path) -> tuple[float, dict]:
    command = [sys.executable, "-m", "sync.cli", "run", str(film), "-o", str(out), "--quiet"]
    started = time.perf_counter()
    subprocess.run([*command, *extra], check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": "."})
    wall = time.perf_counter() - started
    manifest = json.loads(next(out.glob("*.manifest.json")).read_text())
    return wall, manifest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}")
    print("| film | copies | wall s (best) | speech s | second copy s | from the second |")
    print("|---|---|---|---|---|---|")
    for film in FILMS:
        best: dict[str, tuple[float, dict]] = {}
        for _ in range(args.rounds):
            for name, extra in (("two", []), ("one", ["--speech-second", "none"])):
                with tempfile.TemporaryDirectory() as tmp:
                    wall, manifest = run(film, extra, Path(tmp))
                if name not in best or wall < best[name][0]:
                    best[name] = (wall, manifest)
        for name in ("one", "two"):
            wall, manifest = best[name]
            timings = manifest["timings"]
            readings = manifest["speech"].get("readings")
            taken = (
                f"{readings['from_second_copy']} of {readings['stretches']} stretches"
                if readings
                else "-"
            )
            print(
                f"| {film.name} | {name} | {wall:.1f} | {timings.get('speech', 0):.1f} "
                f"| {timings.get('speech (second copy)', 0):.1f} | {taken} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
