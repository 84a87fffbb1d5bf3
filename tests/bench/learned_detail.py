"""Detail from a better source, measured on real clean footage and a worse print of it.

No better print of any shared film exists, so the better source is real footage (the
talking-head clips, 480 px wide) and the worse print is made from it (tests/prints.py:
resolution halved, softened, grain, JPEG). The step's detail model learns from 4 pairs
(worse frame, clean frame) registered as the step registers them, and is applied to
held-out frames of the worse print: frames of the same clip between the training ones,
and frames of another clip (another person and room: the same kind of material).
Compared with the clean frames: PSNR (RGB) and SSIM (luma) for the worse print as is,
FFmpeg's unsharp mask (through PyAV, in the same run) at its default and at half
strength, and the learned detail. Time to learn, and frames per second applying it.

    PYTHONPATH=. python tests/bench/learned_detail.py [--steps N]
    PYTHONPATH=. python tests/bench/learned_detail.py --whole [--preset none|archival]

``--whole`` instead runs the command a user would: the whole worse print of face_1 as an
FFV1 film, the 4 clean frames as a PAIRS folder, ``reelscribe restore --learn-from``, and
compares the master's frames at least 10 frames from any reference with the clean ones.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parents[1]))

import picture  # noqa: E402
from picture import ffmpeg_filter, psnr, ssim, write_ffv1  # noqa: E402
from prints import clip_frames, worse_print  # noqa: E402

from restore.detail import DetailModel  # noqa: E402
from restore.learned import Pair, agreement, lumas, register  # noqa: E402

MEDIA = HERE.parents[1].parent / "shared" / "media" / "faces" / "talking"
TRAIN = (0, 40, 80, 120)
SAME = (20, 60, 100)
OTHER = (10, 50, 90)


def whole(media: Path, preset: str) -> None:
    import av
    import cv2

    with av.open(str(media / "face_1.mp4")) as container:
        clean = [
            cv2.resize(f.to_ndarray(format="rgb24"), (480, 480), interpolation=cv2.INTER_AREA)
            for f in container.decode(video=0)
        ]
    worse = [worse_print(rgb, seed=i) for i, rgb in enumerate(clean)]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "refs").mkdir()
        picture.WIDTH = picture.HEIGHT = 480
        write_ffv1(work / "worse.mkv", worse)
        for i in TRAIN:
            cv2.imwrite(str(work / "refs" / f"{i:06d}.png"), clean[i][..., ::-1])
        started = time.perf_counter()
        command = [sys.executable, "-m", "sync.cli", "restore", str(work / "worse.mkv")]
        command += ["-o", str(work / "out.mkv"), "--learn-from", str(work / "refs")]
        subprocess.run([*command, "--preset", preset, "--quiet"], check=True)
        seconds = time.perf_counter() - started
        with av.open(str(work / "out.mkv")) as container:
            out = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    held = [i for i in range(len(clean)) if min(abs(i - r) for r in TRAIN) >= 10]

    def mean(measure, frames):
        return np.mean([measure(frames[i], clean[i]) for i in held])

    print(
        f"reelscribe restore --learn-from (--preset {preset}): {seconds:.0f} s, {len(out)} frames"
    )
    print(
        f"{len(held)} held-out frames: as is {mean(psnr, worse):.2f} dB / {mean(ssim, worse):.4f}"
    )
    print(f"restored {mean(psnr, out):.2f} dB / {mean(ssim, out):.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=MEDIA)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--whole", action="store_true")
    parser.add_argument("--preset", default="none")
    args = parser.parse_args()
    if args.whole:
        return whole(args.media, args.preset)
    import torch

    clean = clip_frames(args.media / "face_1.mp4", set(TRAIN + SAME))
    other = clip_frames(args.media / "face_3.mp4", set(OTHER))
    pairs = []
    for i in TRAIN:
        worse = worse_print(clean[i], seed=i)
        warped, valid = register(clean[i], worse)
        pairs.append(Pair(i, worse, warped, valid, agreement(warped, worse, valid)))
    started = time.perf_counter()
    model = DetailModel(torch.device(args.device), steps=args.steps)
    model.train([lumas(p) for p in pairs])
    seconds = time.perf_counter() - started
    print(
        f"learned from {len(pairs)} pairs in {seconds:.0f} s; check on held-back strips:",
        flush=True,
    )
    print(f"  {model.validation}; applied: {model.useful}")
    cases = {
        "face_1, between the training frames": [
            (clean[i], worse_print(clean[i], seed=1000 + i)) for i in SAME
        ],
        "face_3, another clip": [(other[i], worse_print(other[i], seed=2000 + i)) for i in OTHER],
    }
    for name, frames in cases.items():
        height, width = frames[0][0].shape[:2]
        worse = [w for _, w in frames]
        outputs = {
            "as is": worse,
            "unsharp (FFmpeg default 5:5:1.0)": list(
                ffmpeg_filter(iter(worse), width, height, "unsharp")
            ),
            "unsharp at half (5:5:0.5)": list(
                ffmpeg_filter(iter(worse), width, height, "unsharp=5:5:0.5")
            ),
            "learned detail": [model.apply(w) for w in worse],
        }
        print(f"\n{name} ({len(frames)} frames, {width}x{height})")
        print("| method | PSNR dB | SSIM |")
        print("|---|---|---|")
        for method, out in outputs.items():
            p = np.mean([psnr(o, c) for o, (c, _) in zip(out, frames, strict=True)])
            s = np.mean([ssim(o, c) for o, (c, _) in zip(out, frames, strict=True)])
            print(f"| {method} | {p:.2f} | {s:.4f} |")
    started = time.perf_counter()
    for _ in range(10):
        model.apply(worse[0])
    print(f"\napplying: {10 / (time.perf_counter() - started):.1f} frames/s at {width}x{height}")


if __name__ == "__main__":
    main()
