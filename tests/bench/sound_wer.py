"""Sound restoration for speech recognition: pooled WER over all the real speech, in one run.

    nice .venv/bin/python -u tests/bench/sound_wer.py [--snr 10,20,30] [--seeds 0,1]
        [--variants ours,ffmpeg,...] [--cache FILE] [--quick]

Every clip of real speech in ../shared/media with a reference (JFK, the 3
LibriSpeech utterances, the 6 GRID clips, the 6 excerpts of the 1968 film
against their machine transcripts, the pyannote call against its .stm) is aged
with the tests' own ageing (tests/conftest.py: white hiss at each SNR, 50 Hz hum
with harmonics, 3 clicks a second; seeded), then heard by Whisper (the
product's engine and options: faster-whisper, its default model, through the speech tap)
as it is, restored by our chain (the master's: ``ours``), by FFmpeg's chain
(the anchor, as in tests/bench/sound.py), through the pipeline's own speech
path (``speech``: restore/speechsound.py), and by speech-oriented variants of
our chain (steps joined by ``+``; ``denoise6``: 6 dB of reduction).
``unclicked`` is what a perfect click step would give the speech path: the same
aged sound (same hiss and hum) without its clicks, through the speech path's
other steps; against ``speech`` it shows what the click step costs or saves.
``readings`` is the pipeline's speech path with its second copy (the denoiser
too), Whisper keeping, stretch by stretch, the reading it was surer of.
``speech-onesided`` is the speech path with the click detector before it also
asked the backward prediction error (forward threshold 8 alone). Prints WER
per corpus and pooled (all errors over all reference words), per SNR and over
all SNRs. Transcripts are cached by clip, SNR, seed and version (--cache), so
adding a variant costs only its own decoding.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
MEDIA = ROOT.parent / "shared" / "media"

from local import bench_module, tests_module  # noqa: E402  (tests/bench, the script's own folder)

from restore.chain import SOUND_STEPS, Chain, RestoreOptions, sound_chain  # noqa: E402
from restore.clicks import ClickOptions, Declick  # noqa: E402
from restore.hiss import Dehiss, HissOptions  # noqa: E402
from restore.hum import Dehum  # noqa: E402
from restore.loudness import Loudness  # noqa: E402
from restore.media import AudioBlock, iter_audio, open_source  # noqa: E402
from restore.speechsound import finish_copies, finish_speech, speech_plan  # noqa: E402
from restore.tap import SpeechTap  # noqa: E402
from speech.options import TranscribeOptions  # noqa: E402
from speech.transcribe import transcribe_wav  # noqa: E402
from speech.wer import normalise  # noqa: E402

age_sound = tests_module("conftest").age_sound
_sound = bench_module("sound")
grid_sentence = _sound.grid_sentence


STEPS = {
    "clicks": Declick,
    "hum": Dehum,
    "denoise": Dehiss,
    "denoise6": lambda: Dehiss(HissOptions(reduction_db=6.0)),
    "loudness": Loudness,
}
VARIANTS = (
    "clicks+hum+denoise",
    "clicks+hum",
    "hum",
    "hum+denoise",
    "clicks+hum+denoise6",
    "clicks+hum+loudness",
)
"""Variants of our chain tried for the recogniser (run at the source's rate, before the tap)."""

UNCLICKED = RestoreOptions(
    sound=tuple(s for s in RestoreOptions().sound if s != "clicks"),
    speech_sound=tuple(s for s in RestoreOptions().speech_sound if s != "clicks"),
)
"""The speech path without its click step, for sound that has no clicks to repair."""


def variant(name: str) -> Chain:
    return Chain(tuple(name.split("+")), STEPS, "sound")


def corpora(quick: bool) -> dict[str, list[tuple[Path, str]]]:
    speech = MEDIA / "speech"
    sets = {"JFK": [(speech / "jfk.flac", (speech / "jfk.txt").read_text())]}
    with open(speech / "librispeech" / "REFERENCE.tsv", newline="") as handle:
        sets["LibriSpeech"] = [
            (speech / "librispeech" / row["file"], row["reference_transcript"])
            for row in csv.DictReader(handle, delimiter="\t")
        ]
    sets["GRID"] = [
        (clip, grid_sentence(clip.stem))
        for clip in sorted((MEDIA / "faces" / "grid").glob("*.mpg"))
    ]
    if quick:
        return sets
    sets["1968 (machine refs)"] = [
        (wav, wav.with_name(wav.name.replace(".wav", ".asr_ref.txt")).read_text())
        for wav in sorted((speech / "notld_1968").glob("*.wav"))
    ]
    stm = MEDIA / "diarization" / "pyannote_sample.stm"
    words = [line.split(maxsplit=5)[5] for line in stm.read_text().splitlines() if line.strip()]
    sets["pyannote call"] = [(stm.with_suffix(".wav"), " ".join(words))]
    return sets


def load(path: Path) -> tuple[np.ndarray, int, str]:
    source = open_source(path)
    samples = np.concatenate([b.samples for b in iter_audio(source)], axis=1)
    return samples, source.audio[0].sample_rate, source.audio[0].layout


def blocks(samples: np.ndarray, rate: int, layout: str):
    for i in range(0, samples.shape[1], rate):
        yield AudioBlock(i, rate, layout, np.ascontiguousarray(samples[:, i : i + rate]))


def run_chain(chain, samples: np.ndarray, rate: int, layout: str) -> np.ndarray:
    return np.concatenate([b.samples for b in chain.process(blocks(samples, rate, layout))], 1)


def version(name: str, samples: np.ndarray, rate: int, layout: str) -> np.ndarray:
    if name == "aged":
        return samples
    if name == "ffmpeg":
        return _sound.ffmpeg(samples, rate, layout)
    if name == "ours":
        return run_chain(sound_chain(RestoreOptions()), samples, rate, layout)
    return run_chain(variant(name), samples, rate, layout)


def transcribe(
    samples: np.ndarray,
    rate: int,
    layout: str,
    tmp: Path,
    speech=False,
    options: RestoreOptions | None = None,
) -> str:
    """Whisper on the samples through the speech tap; ``speech``: the pipeline's own speech
    path instead (the chain's shared steps, the tap, the speech copy's later steps)."""
    wav = tmp / "tap.wav"
    options = options or RestoreOptions()
    at, after = speech_plan(options)
    if speech:
        chain = sound_chain(RestoreOptions(sound=options.sound[:at]))
        for _ in SpeechTap(wav).process(chain.process(blocks(samples, rate, layout))):
            pass
        finish_speech(wav, after, options)
    else:
        for _ in SpeechTap(wav).process(blocks(samples, rate, layout)):
            pass
    result = transcribe_wav(wav, TranscribeOptions())  # the pipeline's own speech options
    return " ".join(s.text for s in result.segments)


def two_readings(samples: np.ndarray, rate: int, layout: str, tmp: Path) -> str:
    """The pipeline's speech path with its second copy (the denoiser too): Whisper reads both
    and keeps, stretch by stretch, the reading it was surer of (speech/readings.py)."""
    from speech.readings import keep_surer

    options = RestoreOptions()
    at = speech_plan(options)[0]
    wav, second = tmp / "tap.wav", tmp / "tap.second.wav"
    chain = sound_chain(RestoreOptions(sound=options.sound[:at]))
    for _ in SpeechTap(wav).process(chain.process(blocks(samples, rate, layout))):
        pass
    finish_copies(wav, options, second)
    first = transcribe_wav(wav, TranscribeOptions())
    kept, _, _ = keep_surer(first, transcribe_wav(second, TranscribeOptions()))
    return " ".join(s.text for s in kept.segments)


def onesided(samples: np.ndarray, rate: int, layout: str, tmp: Path) -> str:
    """The speech path with the forward-only click detector (threshold 8, no backward check)."""
    registered = SOUND_STEPS["clicks"]
    SOUND_STEPS["clicks"] = lambda options: Declick(ClickOptions(threshold=8.0, backward=0.0))
    try:
        return transcribe(samples, rate, layout, tmp, speech=True)
    finally:
        SOUND_STEPS["clicks"] = registered


def errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """Word errors (substitutions, deletions, insertions) and reference words, normalised."""
    import jiwer

    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return 0, 0
    out = jiwer.process_words(ref, hyp)
    return out.substitutions + out.deletions + out.insertions, len(ref.split())


class Cache:
    def __init__(self, path: Path, only: bool = False) -> None:
        self.path, self.only = path, only
        self.data: dict[str, str] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                entry = json.loads(line)
                self.data[entry["key"]] = entry["text"]

    def get(self, key: str, make) -> str | None:
        if key not in self.data:
            if self.only:
                return None
            self.data[key] = make()
            with open(self.path, "a") as handle:
                handle.write(json.dumps({"key": key, "text": self.data[key]}) + "\n")
        return self.data[key]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--snr", default="10,20,30")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--variants", default="ours,ffmpeg,speech," + ",".join(VARIANTS))
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "wer.jsonl")
    parser.add_argument("--quick", action="store_true", help="JFK, LibriSpeech and GRID only")
    parser.add_argument("--cached", action="store_true", help="report what the cache holds")
    args = parser.parse_args()
    snrs = [int(s) for s in args.snr.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    names = ["aged", *args.variants.split(",")]
    cache = Cache(args.cache, only=args.cached)
    print(f"{platform.machine()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"SNRs {snrs} dB, seeds {seeds}, versions clean + {names}\n", flush=True)
    # counts[(corpus, snr, name)] = [errors, words]; snr None for clean
    counts: dict[tuple, list[int]] = {}
    words: dict[str, int] = {}

    def add(key: tuple, ref: str, hyp: str | None) -> None:
        if hyp is None:
            return
        e, n = errors(ref, hyp)
        c = counts.setdefault(key, [0, 0])
        c[0] += e
        c[1] += n

    sets = corpora(args.quick)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for corpus, items in sets.items():
            for path, ref in items:
                samples, rate, layout = load(path)
                clip = path.name
                hyp = cache.get(
                    f"{clip}|clean",
                    lambda s=samples, r=rate, lay=layout: transcribe(s, r, lay, tmp),
                )
                for _ in seeds:  # clean counts once per seed, to weigh as the aged rows do
                    add((corpus, None, "clean"), ref, hyp)
                words[corpus] = words.get(corpus, 0) + errors(ref, "")[1]
                for snr in snrs:
                    for seed in seeds:
                        aged, _ = age_sound(
                            samples, rate, snr_db=snr, hum_hz=50, clicks_per_s=3, seed=seed
                        )
                        # the same hiss and hum (drawn first), no clicks
                        unclicked, _ = age_sound(
                            samples, rate, snr_db=snr, hum_hz=50, clicks_per_s=0, seed=seed
                        )
                        for name in names:

                            def make(n=name, a=aged, u=unclicked, r=rate, lay=layout):
                                if n == "speech":  # what the pipeline gives Whisper
                                    return transcribe(a, r, lay, tmp, speech=True)
                                if n == "readings":  # the speech path's two copies
                                    return two_readings(a, r, lay, tmp)
                                if n == "speech-onesided":
                                    return onesided(a, r, lay, tmp)
                                if n == "unclicked":  # a perfect click step, then the rest
                                    return transcribe(
                                        u, r, lay, tmp, speech=True, options=UNCLICKED
                                    )
                                return transcribe(version(n, a, r, lay), r, lay, tmp)

                            hyp = cache.get(f"{clip}|{snr}|{seed}|{name}", make)
                            add((corpus, snr, name), ref, hyp)
            print(f"done: {corpus}", file=sys.stderr, flush=True)
    report(sets, snrs, ["clean", *names], counts, words)


def report(sets, snrs, names, counts, words) -> None:
    def cell(keys) -> str:
        e = sum(counts.get(k, [0, 0])[0] for k in keys)
        n = sum(counts.get(k, [0, 0])[1] for k in keys)
        return f"{e / n:.3f}" if n else "-"

    corpora_ = [*sets, "**pooled**"]
    print("| material | SNR | words | " + " | ".join(names) + " |")
    print("|---|---|---|" + "---|" * len(names))
    for snr in [*snrs, "all"]:
        for corpus in corpora_:
            chosen = list(sets) if corpus == "**pooled**" else [corpus]
            levels = snrs if snr == "all" else [snr]
            n_words = sum(words[c] for c in chosen)
            row = []
            for name in names:
                if name == "clean":
                    keys = [(c, None, "clean") for c in chosen for _ in levels]
                else:
                    keys = [(c, s, name) for c in chosen for s in levels]
                row.append(cell(keys))
            label = f"{snr} dB" if snr != "all" else "all"
            print(f"| {corpus} | {label} | {n_words} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
