"""Click detection on real speech: speech's own impulses taken for clicks, and clicks found.

    PYTHONPATH=. .venv/bin/python tests/bench/clicks.py [--settings 8/0,8/6,8/8]

Every clip of real speech in ../shared/media (the 6 GRID clips, JFK, the 3
LibriSpeech utterances, the 6 excerpts of the 1968 film): detections on the
clean recording (none are clicks that anyone added: plosives, glottal pulses,
lip noise), and on each clip aged with the tests' own ageing (tests/conftest.py:
white hiss at 10, 20 and 30 dB SNR, 50 Hz hum, 3 clicks a second of 1-4
samples; seeds 0 and 1) how many of the added clicks are found and how many
detections are not added clicks, and how close the click step's output comes
to the same aged sound without its clicks (SI-SDR, dB, the mean over clips:
what a perfect click step would give; it counts repairs of speech as errors);
and the click step's speed (x realtime, best of 3, each setting in the same
run) on 60 s of JFK aged at 20 dB, 48 kHz stereo. One row per setting
``threshold/backward`` of ``ClickOptions`` (backward 0: the forward prediction error alone).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
MEDIA = ROOT.parent / "shared" / "media"

from local import tests_module  # noqa: E402  (tests/bench, the script's own folder)

from restore.clicks import ClickOptions, Declick, find_clicks  # noqa: E402
from restore.media import AudioBlock, iter_audio, open_source  # noqa: E402

age_sound = tests_module("conftest").age_sound


def clips() -> list[tuple[str, Path]]:
    speech = MEDIA / "speech"
    return [
        *(("GRID", p) for p in sorted((MEDIA / "faces" / "grid").glob("*.mpg"))),
        ("JFK", speech / "jfk.flac"),
        *(("LibriSpeech", p) for p in sorted((speech / "librispeech").glob("*.wav"))),
        *(("1968", p) for p in sorted((speech / "notld_1968").glob("*.wav"))),
    ]


def load(path: Path) -> tuple[np.ndarray, int]:
    source = open_source(path)
    samples = np.concatenate([b.samples for b in iter_audio(source)], axis=1)
    return samples.mean(axis=0).astype(np.float64), source.audio[0].sample_rate


def speed(settings) -> None:
    """The click step (``Declick``, streamed in 1 s blocks) on 60 s of JFK, 48 kHz stereo."""
    import av

    source = open_source(MEDIA / "speech" / "jfk.flac")
    samples = np.concatenate([b.samples for b in iter_audio(source)], axis=1)
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=48000)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), "fltp", "stereo")
    frame.sample_rate = source.audio[0].sample_rate
    one = np.concatenate(
        [f.to_ndarray() for f in [*resampler.resample(frame), *resampler.resample(None)]], 1
    )
    film = np.tile(one, (1, -(-60 * 48000 // one.shape[1])))[:, : 60 * 48000]
    aged, _ = age_sound(film, 48000, snr_db=20, hum_hz=50, clicks_per_s=3)
    print("\n### Speed of the click step, 60 s at 48 kHz stereo (x realtime, best of 3)\n")
    print("| threshold/backward | x realtime | clicks repaired |")
    print("|---|---|---|")
    for b in settings:
        best, repaired = float("inf"), 0
        for _ in range(3):
            step = Declick(ClickOptions(threshold=b[0], backward=b[1]))
            blocks = (
                AudioBlock(i, 48000, "stereo", np.ascontiguousarray(aged[:, i : i + 48000]))
                for i in range(0, aged.shape[1], 48000)
            )
            start = time.perf_counter()
            for _ in step.process(blocks):
                pass
            best = min(best, time.perf_counter() - start)
            repaired = step.report()["clicks_repaired"]
        print(f"| {b[0]:g}/{b[1]:g} | {60 / best:.0f} | {repaired} |", flush=True)


def one_block(samples: np.ndarray, rate: int):
    yield AudioBlock(0, rate, "mono", np.ascontiguousarray(samples, dtype=np.float32))


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    ref, est = reference.astype(np.float64), estimate.astype(np.float64)
    target = np.dot(est, ref) / np.dot(ref, ref) * ref
    return float(10 * np.log10(np.sum(target**2) / np.sum((est - target) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--settings", default="8/0,8/6,8/8", help="threshold/backward,...")
    parser.add_argument("--snr", default="10,20,30")
    parser.add_argument("--seeds", default="0,1")
    args = parser.parse_args()
    settings = [tuple(float(v) for v in b.split("/")) for b in args.settings.split(",")]
    snrs = [int(s) for s in args.snr.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"{platform.machine()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}\n")
    # clean[setting][corpus] = [detections, seconds]; aged[setting][snr] = [found, added, extra]
    clean: dict = {b: {} for b in settings}
    aged: dict = {b: {s: [0, 0, 0] for s in snrs} for b in settings}
    sdr: dict = {b: {} for b in settings}
    for corpus, path in clips():
        samples, rate = load(path)
        for b in settings:
            found = find_clicks(samples, rate, ClickOptions(threshold=b[0], backward=b[1]))
            row = clean[b].setdefault(corpus, [0, 0.0])
            row[0] += len(found)
            row[1] += len(samples) / rate
        if corpus == "1968":
            continue  # already noisy broadcast sound: clean rows only
        for snr in snrs:
            for seed in seeds:
                noisy, starts = age_sound(
                    samples[None, :], rate, snr_db=snr, hum_hz=50, clicks_per_s=3, seed=seed
                )
                x = noisy[0].astype(np.float64)
                unclicked, _ = age_sound(
                    samples[None, :], rate, snr_db=snr, hum_hz=50, clicks_per_s=0, seed=seed
                )
                for b in settings:
                    step = Declick(ClickOptions(threshold=b[0], backward=b[1]))
                    out = np.concatenate(
                        [k.samples for k in step.process(one_block(noisy, rate))], axis=1
                    )
                    sdr[b].setdefault(snr, []).append(si_sdr(unclicked[0], out[0]))
                    found = find_clicks(x, rate, ClickOptions(threshold=b[0], backward=b[1]))
                    hit = sum(any(abs(s - t) < 10 for s, _ in found) for t in starts)
                    extra = sum(not any(abs(s - t) < 10 for t in starts) for s, _ in found)
                    cell = aged[b][snr]
                    cell[0] += hit
                    cell[1] += len(starts)
                    cell[2] += extra
    corpora = list(next(iter(clean.values())))
    print("### Detections on the clean recordings (speech taken for clicks), per minute\n")
    print("| threshold/backward | " + " | ".join(corpora) + " | all |")
    print("|---|" + "---|" * (len(corpora) + 1))
    for b in settings:
        cells = [f"{n} ({60 * n / s:.0f}/min)" for n, s in clean[b].values()]
        n = sum(v[0] for v in clean[b].values())
        s = sum(v[1] for v in clean[b].values())
        print(f"| {b[0]:g}/{b[1]:g} | " + " | ".join(cells) + f" | {n} ({60 * n / s:.0f}/min) |")
    print("\n### Aged (GRID, JFK, LibriSpeech): added clicks found, and other detections\n")
    print(
        "| threshold/backward | "
        + " | ".join(f"{s} dB found | {s} dB other | {s} dB SI-SDR" for s in snrs)
        + " |"
    )
    print("|---|" + "---|---|---|" * len(snrs))
    for b in settings:
        cells = [
            f"{aged[b][s][0]}/{aged[b][s][1]} | {aged[b][s][2]} | {np.mean(sdr[b][s]):.1f}"
            for s in snrs
        ]
        print(f"| {b[0]:g}/{b[1]:g} | " + " | ".join(cells) + " |")
    speed(settings)


if __name__ == "__main__":
    main()
