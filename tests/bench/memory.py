"""Peak memory against film length: the whole pipeline on a short and a long generated film.

    .venv/bin/python tests/bench/memory.py            # 2 and 20 minutes (the 20 takes a while)
    .venv/bin/python tests/bench/memory.py 0.5 2      # other lengths, in minutes

Each film is 160x120 at 25 fps: a real GRID clip (a talking face, its own voice),
scaled, looped with a second of stillness and silence between repeats, so there is
speech to transcribe and a face to track all the way through. Each length runs as
`reelscribe run` in its own process; its peak RSS is that process's ru_maxrss
(os.wait4). The first length is the anchor: memory must not grow with the film, so the
target is every other length's peak within 10% of it.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
MEDIA = ROOT.parent / "shared" / "media"
CLIP = MEDIA / "faces" / "grid" / "bbaf2n.mpg"
SIZE, FPS, RATE = (160, 120), 25, 16000

from restore.media import iter_audio, iter_frames, open_source  # noqa: E402


def unit() -> tuple[list[np.ndarray], np.ndarray]:
    """One repeat: the clip's frames (scaled) then 1 s still, and its sound then 1 s silence."""
    source = open_source(CLIP)
    frames = [
        f.image.reformat(width=SIZE[0], height=SIZE[1], format="yuv420p").to_ndarray()
        for f in iter_frames(source)
    ]
    sound = np.concatenate([b.samples for b in iter_audio(source)], axis=1).mean(axis=0)
    rate = source.audio[0].sample_rate
    resampled = np.interp(
        np.arange(0, len(sound) / rate, 1 / RATE), np.arange(len(sound)) / rate, sound
    ).astype(np.float32)
    seconds = len(frames) / FPS
    resampled = np.pad(resampled, (0, max(0, int(seconds * RATE) - len(resampled))))
    resampled = resampled[: int(seconds * RATE)]
    frames += [frames[-1]] * FPS
    return frames, np.concatenate([resampled, np.zeros(RATE, np.float32)])


def write_film(path: Path, minutes: float) -> float:
    frames, sound = unit()
    per_frame = RATE // FPS
    total = round(minutes * 60 * FPS)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS, options={"preset": "veryfast", "crf": "20"})
        video.width, video.height, video.pix_fmt = *SIZE, "yuv420p"
        audio = out.add_stream("aac", rate=RATE, layout="mono")
        for i in range(total):
            image = av.VideoFrame.from_ndarray(frames[i % len(frames)], format="yuv420p")
            image.pts = i
            out.mux(video.encode(image))
            j = i % len(frames)
            pcm = sound[j * per_frame : (j + 1) * per_frame].reshape(1, -1)
            block = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm), "flt", "mono")
            block.sample_rate, block.pts, block.time_base = RATE, i * per_frame, Fraction(1, RATE)
            out.mux(audio.encode(block))
        out.mux(video.encode(None))
        out.mux(audio.encode(None))
    return total / FPS


def peak_rss(film: Path, out: Path) -> tuple[float, float, int]:
    """(peak RSS in MiB, wall seconds, exit code) of `reelscribe run` on the film."""
    command = [sys.executable, "-m", "sync.cli", "run", str(film), "-o", str(out), "--quiet"]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, time.perf_counter() - started, process.returncode


def main(lengths: list[float]) -> None:
    print(f"# peak memory of `reelscribe run` ({platform.machine()}, {os.cpu_count()} cores)")
    print("| film | frames | run (s) | peak RSS (MiB) | vs anchor |")
    print("|---|---|---|---|---|")
    anchor = None
    with tempfile.TemporaryDirectory(prefix="reelscribe-memory-") as tmp:
        for minutes in lengths:
            film = Path(tmp) / f"film{minutes:g}.mp4"
            seconds = write_film(film, minutes)
            rss, wall, code = peak_rss(film, Path(tmp) / f"out{minutes:g}")
            if code != 0:
                raise SystemExit(f"run on the {minutes:g}-minute film failed with code {code}")
            anchor = anchor or rss
            ratio = "anchor" if rss == anchor else f"{rss / anchor:.3f}"
            frames = round(seconds * FPS)
            print(f"| {minutes:g} min | {frames} | {wall:.0f} | {rss:.0f} | {ratio} |", flush=True)
            film.unlink()


if __name__ == "__main__":
    main([float(a) for a in sys.argv[1:]] or [2.0, 20.0])
