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
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parents[1]))

from picture import ffmpeg_filter, psnr, ssim  # noqa: E402
from prints import clip_frames, worse_print  # noqa: E402

from restore.detail import DetailModel  # noqa: E402
from restore.learned import Pair, agreement, lumas, register  # noqa: E402

MEDIA = HERE.parents[1].parent / "shared" / "media" / "faces" / "talking"
TRAIN = (0, 40, 80, 120)
SAME = (20, 60, 100)
OTHER = (10, 50, 90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=MEDIA)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
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
