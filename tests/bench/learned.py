"""Learned from references, measured honestly: leave-one-out over the a-bomb clip's four
hand-coloured references.

For each reference in turn, the step learns from the other three and colours the film
frame the held-out one shows; that frame is compared with the held-out reference
(registered onto it): PSNR over RGB, PSNR of luma alone, mean colour error (CIE76 delta E
in Lab) and mean chroma error (a, b only). "as is" is the film frame unchanged, the anchor.

    PYTHONPATH=. python tests/bench/learned.py [--steps N] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from restore.learned import LearnedOptions, Model, load_pairs, scores

MEDIA = Path(__file__).resolve().parents[2].parent / "shared" / "media" / "film"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=MEDIA)
    parser.add_argument("--steps", type=int, default=LearnedOptions.steps)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    options = LearnedOptions(
        pairs=str(args.media / "a-bomb_references"),
        film=str(args.media / "a-bomb_blast_effects_part.mp4"),
        steps=args.steps,
        device=args.device,
    )
    pairs = load_pairs(options)
    print(f"{len(pairs)} references; registration (luma correlation): ", end="")
    print(", ".join(f"frame {p.index} {p.agreement:.3f}" for p in pairs))
    header = "held-out frame | as is: PSNR / luma PSNR / dE / chroma err | learned: same | train s"
    print(header)
    totals = []
    for held in pairs:
        started = time.perf_counter()
        model = Model(options)
        model.train([p for p in pairs if p is not held])
        seconds = time.perf_counter() - started
        before = scores(held.degraded, held.reference, held.valid)
        after = scores(model.apply(held.degraded), held.reference, held.valid)
        totals.append(before + after + (seconds,))
        row = " / ".join(f"{v:.2f}" for v in before), " / ".join(f"{v:.2f}" for v in after)
        print(f"{held.index:>14} | {row[0]:>40} | {row[1]:>13} | {seconds:.0f}", flush=True)
    started = time.perf_counter()
    for _ in range(50):
        model.apply(pairs[0].degraded)
    fps = 50 / (time.perf_counter() - started)
    height, width = pairs[0].degraded.shape[:2]
    mean = np.mean(totals, axis=0)
    print(
        f"{'mean':>14} | {' / '.join(f'{v:.2f}' for v in mean[:4]):>40} | "
        f"{' / '.join(f'{v:.2f}' for v in mean[4:8]):>13} | {mean[8]:.0f}"
    )
    print(f"applying the model: {fps:.0f} frames/s at {width}x{height} (the last fold's model)")


if __name__ == "__main__":
    main()
