"""A reference's colours carried along its shot, measured on the a-bomb clip.

Leave-one-out cannot measure this: a reference's own frame would be given its own answer.
So each reference frame r is held out and coloured from another frame s = r + k of the
same shot, as if s had been the one coloured by hand. s's colours are made from the held-out
reference itself, registered onto frame s by one affine fit (the step's own registration,
and kept only when its luma matches frame s: correlation 0.95 or more). The carrying under
test then takes them back to frame r by dense flow, and the result is compared with the
real reference at r. Both moves are real registrations of real frames, so their errors
add up; the affine fit follows the background, so what moves on its own (a truck) is
already wrong at s, which makes the figure pessimistic there and fair elsewhere.

Columns: mean colour error dE (CIE76, Lab) against the reference at r for the frame as is
(grey), the learned mapping alone (trained on the other three references, as in
tests/bench/learned.py), and the mapping with the carried colours blended in; the share
of the frame that trusted the carried colours (mean weight), and the frame-wide luma
correlation of the carried reference frame.

    PYTHONPATH=. python tests/bench/learned_shots.py [--steps N] [--ks 6,12,24,48]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from restore.learned import LearnedOptions, Model, chroma, coloured, load_pairs, scores
from restore.media import iter_frames, open_source
from restore.propagate import Carrier, Source, blend

MEDIA = Path(__file__).resolve().parents[2].parent / "shared" / "media" / "film"


def by_farneback(held, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The held-out reference brought onto another frame of its shot by Farneback's flow
    (not the DIS flow under test), and where that can be trusted: covered, and the carried
    film luma (smoothed, levelled for flicker) within a quarter of a standard deviation of
    the frame's own."""
    here = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    there = cv2.cvtColor(held.degraded, cv2.COLOR_RGB2GRAY)
    flow = cv2.calcOpticalFlowFarneback(here, there, None, 0.5, 4, 21, 5, 7, 1.5, 0)
    height, width = here.shape
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    mx, my = xs + flow[..., 0], ys + flow[..., 1]

    def fetch(image):
        return cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    def levelled(gray):  # flicker between the frames is no mismatch
        smooth = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 2)
        return (smooth - smooth.mean()) / smooth.std()

    mismatch = np.abs(levelled(fetch(there)) - levelled(here))
    valid = (fetch(held.valid.astype(np.uint8)) > 0) & (mismatch < 0.25)
    return fetch(held.reference), valid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=MEDIA)
    parser.add_argument("--steps", type=int, default=LearnedOptions.steps)
    parser.add_argument("--ks", default="-24,-12,-6,6,12,24,48")
    args = parser.parse_args()
    ks = [int(k) for k in args.ks.split(",")]
    film = args.media / "a-bomb_blast_effects_part.mp4"
    refs = args.media / "a-bomb_references"
    options = LearnedOptions(pairs=str(refs), film=str(film), steps=args.steps, device="cpu")
    pairs = load_pairs(options)
    frames = {f.index: f.rgb() for f in iter_frames(open_source(film))}
    print("shots:", ", ".join(f"frame {p.index}: {p.shot[0]}-{p.shot[1]}" for p in pairs))
    print(
        "held-out r | from s (k) | s covered | as is dE | mapping dE | carried dE | weight "
        "| flow agreement"
    )
    rows = []
    for held in pairs:
        model = Model(options)
        model.train([p for p in pairs if p is not held])
        predicted = model.predict(held.degraded)
        size = (predicted.shape[1], predicted.shape[0])
        as_is = scores(held.degraded, held.reference, held.valid)[2]
        mapped = scores(coloured(held.degraded, predicted), held.reference, held.valid)[2]
        for k in ks:
            s = held.index + k
            if not held.shot[0] <= s <= held.shot[1]:
                continue
            warped, valid = by_farneback(held, frames[s])
            fit = float(valid.mean() / held.valid.mean())
            if fit < 0.5:
                print(f"{held.index:>10} | {s:>4} ({k:+d}) | {fit:.3f}: too poor, not used")
                continue
            started = time.perf_counter()
            source = Source(s, held.shot, frames[s], chroma(warped, predicted.shape[:2]), valid)
            carried = Carrier([source]).carry(held.index, held.degraded, size)
            seconds = time.perf_counter() - started
            out = coloured(held.degraded, blend(predicted, carried))
            dE = scores(out, held.reference, held.valid)[2]
            weight = float(carried.weight.mean()) if carried else 0.0
            agree = carried.agreement if carried else 0.0
            rows.append((as_is, mapped, dE, weight))
            print(
                f"{held.index:>10} | {s:>4} ({k:+d}) | {fit:.3f} | {as_is:8.2f} | {mapped:10.2f} "
                f"| {dE:10.2f} | {weight:6.2f} | {agree:.3f}  ({seconds * 1000:.0f} ms)",
                flush=True,
            )
    mean = np.mean(rows, axis=0)
    print(f"mean over {len(rows)} cases: as is {mean[0]:.2f}, mapping {mean[1]:.2f}, ", end="")
    print(f"carried {mean[2]:.2f} (weight {mean[3]:.2f})")


if __name__ == "__main__":
    main()
