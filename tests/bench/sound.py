"""Sound restoration: WER, SI-SDR and speed, ours against ffmpeg's own filters, in one run.

    .venv/bin/python tests/bench/sound.py [--quick]

Real speech from ../shared/media (JFK, LibriSpeech, GRID, the 1968 dialogue)
is aged with the tests' own ageing (tests/conftest.py: white hiss at a set SNR,
50 Hz hum with 3 harmonics at -30 dBFS, 3 clicks a second), then restored by our
chain (clicks, hum, denoise, loudness) and by ffmpeg's filters through PyAV's
filter graph (adeclick, bandreject at 50/100/150/200 Hz, afftdn with noise
tracking; told the hum frequency, which ours finds by itself). Whisper
(faster-whisper with the default model) transcribes each version through the
pipeline's own speech tap. Prints markdown tables for docs/benchmarks.md.
--quick: JFK and LibriSpeech only.
"""

from __future__ import annotations

import csv
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
MEDIA = ROOT.parent / "shared" / "media"

from local import bench_module, tests_module  # noqa: E402  (tests/bench, the script's own folder)

from restore.blocks import filter_graph, pull_frames, push_samples  # noqa: E402
from restore.chain import RestoreOptions, sound_chain  # noqa: E402
from restore.hiss import Dehiss, HissOptions  # noqa: E402
from restore.media import AudioBlock, iter_audio, open_source  # noqa: E402
from restore.tap import SpeechTap  # noqa: E402
from speech.options import TranscribeOptions  # noqa: E402
from speech.transcribe import transcribe_wav  # noqa: E402
from speech.wer import wer  # noqa: E402

age_sound = tests_module("conftest").age_sound  # the same ageing as the tests

grid_sentence = bench_module("speech").grid_sentence

CHAIN = ("clicks", "hum", "denoise", "loudness")
FFMPEG = [
    ("adeclick", ""),
    *[("bandreject", f"f={50 * k}:width_type=h:w=2") for k in (1, 2, 3, 4)],
    ("afftdn", "nr=12:tn=1"),
]


def load(path: Path) -> tuple[np.ndarray, int, str]:
    source = open_source(path)
    samples = np.concatenate([b.samples for b in iter_audio(source)], axis=1)
    return samples, source.audio[0].sample_rate, source.audio[0].layout


def corpora(quick: bool) -> dict[str, list[tuple[Path, str]]]:
    speech = MEDIA / "speech"
    sets = {"JFK": [(speech / "jfk.flac", (speech / "jfk.txt").read_text())]}
    with open(speech / "librispeech" / "REFERENCE.tsv", newline="") as handle:
        sets["LibriSpeech (3)"] = [
            (speech / "librispeech" / row["file"], row["reference_transcript"])
            for row in csv.DictReader(handle, delimiter="\t")
        ]
    if quick:
        return sets
    sets["GRID (6)"] = [
        (clip, grid_sentence(clip.stem))
        for clip in sorted((MEDIA / "faces" / "grid").glob("*.mpg"))
    ]
    sets["1968 dialogue (6; machine refs)"] = [
        (wav, wav.with_name(wav.name.replace(".wav", ".asr_ref.txt")).read_text())
        for wav in sorted((speech / "notld_1968").glob("*.wav"))
    ]
    return sets


def blocks(samples: np.ndarray, rate: int, layout: str):
    for i in range(0, samples.shape[1], rate):
        yield AudioBlock(i, rate, layout, np.ascontiguousarray(samples[:, i : i + rate]))


def run_chain(chain, samples: np.ndarray, rate: int, layout: str) -> np.ndarray:
    return np.concatenate([b.samples for b in chain.process(blocks(samples, rate, layout))], 1)


def ours(samples: np.ndarray, rate: int, layout: str) -> np.ndarray:
    return run_chain(sound_chain(RestoreOptions(sound=CHAIN)), samples, rate, layout)


def ffmpeg(samples: np.ndarray, rate: int, layout: str) -> np.ndarray:
    """The anchor: FFmpeg's own filters (FFMPEG) over the same samples, a second at a time."""
    graph = filter_graph(rate, layout, *FFMPEG)
    out, sent = [], 0
    for i in range(0, samples.shape[1], rate):
        sent = push_samples(graph, samples[:, i : i + rate], rate, layout, sent)
        out += [f.to_ndarray() for f in pull_frames(graph)]
    push_samples(graph, None, rate, layout, sent)
    out += [f.to_ndarray() for f in pull_frames(graph)]
    return np.concatenate(out, axis=1)[:, : samples.shape[1]]


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """SI-SDR of the mono mix, after the lag (within 50 ms) that lines the two up best."""
    ref = reference.mean(axis=0).astype(np.float64)
    est = estimate.mean(axis=0).astype(np.float64)
    n = min(len(ref), len(est))
    ref, est = ref[:n], est[:n]
    size = 1 << int(np.ceil(np.log2(2 * n)))
    xc = np.fft.irfft(np.fft.rfft(est, size) * np.conj(np.fft.rfft(ref, size)), size)
    reach = n // 20
    lags = np.concatenate([np.arange(0, reach), np.arange(-reach, 0)])
    lag = int(lags[np.argmax(np.concatenate([xc[:reach], xc[-reach:]]))])
    if lag > 0:
        est, ref = est[lag:], ref[: n - lag]
    elif lag < 0:
        est, ref = est[: n + lag], ref[-lag:]
    target = np.dot(est, ref) / np.dot(ref, ref) * ref
    return float(10 * np.log10(np.sum(target**2) / np.sum((est - target) ** 2)))


def transcribe(samples: np.ndarray, rate: int, layout: str, tmp: Path) -> str:
    wav = tmp / "tap.wav"
    for _ in SpeechTap(wav).process(blocks(samples, rate, layout)):
        pass
    result = transcribe_wav(wav, TranscribeOptions(device="cpu"))
    return " ".join(s.text for s in result.segments)


def timed(work, *args) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    out = work(*args)
    return out, time.perf_counter() - start


def quality_table(quick: bool, tmp: Path) -> None:
    print(
        "| material | SNR | WER clean | WER aged | WER ours | WER ffmpeg | SI-SDR aged "
        "| SI-SDR ours | SI-SDR ffmpeg | x realtime ours | x realtime ffmpeg |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, items in corpora(quick).items():
        clips = [(load(path), text) for path, text in items]
        refs = [text for _, text in clips]
        clean = [transcribe(*audio, tmp) for audio, _ in clips]
        for snr in (20, 10):
            hyps: dict[str, list[str]] = {"aged": [], "ours": [], "ffmpeg": []}
            sdr: dict[str, list[float]] = {"aged": [], "ours": [], "ffmpeg": []}
            seconds = {"audio": 0.0, "ours": 0.0, "ffmpeg": 0.0}
            for (samples, rate, layout), _ in clips:
                aged, _ = age_sound(samples, rate, snr_db=snr, hum_hz=50, clicks_per_s=3)
                versions = {"aged": aged}
                versions["ours"], seconds_ours = timed(ours, aged, rate, layout)
                versions["ffmpeg"], seconds_ff = timed(ffmpeg, aged, rate, layout)
                seconds["audio"] += samples.shape[1] / rate
                seconds["ours"] += seconds_ours
                seconds["ffmpeg"] += seconds_ff
                for key, version in versions.items():
                    hyps[key].append(transcribe(version, rate, layout, tmp))
                    sdr[key].append(si_sdr(samples, version))
            w = {key: wer(refs, hyp) for key, hyp in hyps.items()}
            print(
                f"| {name} | {snr} dB | {wer(refs, clean):.3f} | {w['aged']:.3f} | "
                f"{w['ours']:.3f} | {w['ffmpeg']:.3f} | {np.mean(sdr['aged']):.1f} | "
                f"{np.mean(sdr['ours']):.1f} | {np.mean(sdr['ffmpeg']):.1f} | "
                f"{seconds['audio'] / seconds['ours']:.0f} | "
                f"{seconds['audio'] / seconds['ffmpeg']:.0f} |",
                flush=True,
            )


def hum_and_speed_table() -> None:
    """60 s of JFK at 48 kHz stereo and at 16 kHz mono: hum prominence and speed by step."""
    from restore.hum import prominence, spectrum

    samples, rate, _ = load(MEDIA / "speech" / "jfk.flac")
    print("\n| rate, layout | step | x realtime | note |")
    print("|---|---|---|---|")
    for target, layout in ((48000, "stereo"), (16000, "mono")):
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=target)
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples), format="fltp", layout="stereo"
        )
        frame.sample_rate = rate
        parts = [f.to_ndarray() for f in [*resampler.resample(frame), *resampler.resample(None)]]
        one = np.concatenate(parts, axis=1)
        film = np.tile(one, (1, int(np.ceil(60 * target / one.shape[1]))))[:, : 60 * target]
        aged, _ = age_sound(film, target, snr_db=20, hum_hz=50, clicks_per_s=3)
        for steps in [(s,) for s in CHAIN] + [CHAIN]:
            chain = sound_chain(RestoreOptions(sound=steps))
            out, seconds = timed(run_chain, chain, aged, target, layout)
            note = ""
            if steps == ("hum",):
                freqs, before = spectrum(aged.mean(axis=0), target)
                _, after = spectrum(out.mean(axis=0), target)
                drops = [
                    prominence(freqs, before, 50 * k)[1] - prominence(freqs, after, 50 * k)[1]
                    for k in (1, 2, 3, 4)
                ]
                note = (
                    "prominence down " + " / ".join(f"{d:.0f}" for d in drops) + " dB (50-200 Hz)"
                )
            if steps == ("loudness",):
                r = chain.report()[0]
                note = (
                    f"{r['before']['lufs']} -> {r['after']['lufs']} LUFS, {r['after']['dbtp']} dBTP"
                )
            print(f"| {target} Hz {layout} | {'+'.join(steps)} | {60 / seconds:.0f} | {note} |")
        gate = Dehiss(HissOptions(engine="noisereduce"))
        _, seconds = timed(
            lambda g=gate, a=aged, t=target, lay=layout: list(g.process(blocks(a, t, lay)))
        )
        print(f"| {target} Hz {layout} | denoise, noisereduce engine | {60 / seconds:.0f} | |")
        _, seconds = timed(ffmpeg, aged, target, layout)
        print(
            f"| {target} Hz {layout} | ffmpeg chain (anchor) | {60 / seconds:.0f} | |", flush=True
        )


def main() -> None:
    quick = "--quick" in sys.argv
    import noisereduce  # noqa: F401  (torch comes with it: import before timing)

    print(f"{platform.machine()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}\n")
    hum_and_speed_table()
    print()
    with tempfile.TemporaryDirectory() as tmp:
        quality_table(quick, Path(tmp))


if __name__ == "__main__":
    main()
