"""The two shipped speech models side by side: accuracy and speed on all the real speech.

    .venv/bin/python tests/bench/models.py [--rounds N]

tiny.en (English only) and base (multilingual), both shipped offline, on every real
recording in ../shared/media that has speech: WER with the project's normaliser
(speech/wer.py) where a reference exists, and speed as seconds of audio per wall
second, the models taking turns round by round (the best of ``--rounds``). base runs
as users get it (the language detected) and with ``--language en``. The 1968 film's
references are machine transcripts nobody checked, so its column is agreement with
them, not gold WER, and stays out of the pooled figure. The multilingual reading
(English, then German) has no reference: the table shows what each model makes of it.
Prints markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from local import bench_module  # noqa: E402  (tests/bench, the script's own folder)

from speech.options import TranscribeOptions  # noqa: E402
from speech.transcribe import transcribe_wav  # noqa: E402
from speech.wer import wer  # noqa: E402

MEDIA = ROOT.parent / "shared" / "media"
corpora, to_wav = bench_module("speech").corpora, bench_module("speech").to_wav
MODELS = {
    "tiny.en": TranscribeOptions(),
    "base": TranscribeOptions(model="base"),
    "base, --language en": TranscribeOptions(model="base", language="en"),
}


def film_set() -> list[tuple[Path, str]]:
    folder = MEDIA / "speech" / "notld_1968"
    return [
        (wav, wav.with_suffix(".asr_ref.txt").read_text())
        for wav in sorted(folder.glob("*.wav"), key=lambda p: int(p.name.split("s_")[0]))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        sets = corpora(tmp)
        sets["Night of the Living Dead, 1968 (6; machine references)"] = film_set()
        multilingual = to_wav(MEDIA / "speech" / "multilingual.mp3", tmp / "multilingual.wav")
        every = [path for items in sets.values() for path, _ in items] + [multilingual]
        seconds = {path: sf.info(str(path)).duration for path in every}
        for options in MODELS.values():  # load each model once before anything is timed
            transcribe_wav(sets["JFK"][0][0], options)
        texts: dict[str, dict[Path, str]] = {name: {} for name in MODELS}
        wall: dict[str, dict[Path, float]] = {name: {} for name in MODELS}
        for _ in range(args.rounds):
            for path in every:
                for name, options in MODELS.items():
                    started = time.perf_counter()
                    result = transcribe_wav(path, options)
                    took = time.perf_counter() - started
                    wall[name][path] = min(took, wall[name].get(path, float("inf")))
                    texts[name][path] = " ".join(s.text.strip() for s in result.segments)

    names = list(MODELS)
    print("\n### WER (lower is better)\n")
    print("| corpus | words | audio s | " + " | ".join(names) + " |")
    print("|---|---|---|" + "---|" * len(names))
    gold_refs: list[str] = []
    gold_hyps: dict[str, list[str]] = {name: [] for name in names}
    for title, items in sets.items():
        refs = [ref for _, ref in items]
        row = [title, str(sum(len(r.split()) for r in refs))]
        row.append(f"{sum(seconds[p] for p, _ in items):.0f}")
        for name in names:
            hyps = [texts[name][p] for p, _ in items]
            row.append(f"{wer(refs, hyps):.3f}")
            if "machine" not in title:
                gold_hyps[name].extend(hyps)
        if "machine" not in title:
            gold_refs.extend(refs)
        print("| " + " | ".join(row) + " |")
    pooled = [f"**{wer(gold_refs, gold_hyps[name]):.3f}**" for name in names]
    words = sum(len(r.split()) for r in gold_refs)
    print(f"| all checked references, pooled | {words} | | " + " | ".join(pooled) + " |")

    print("\n### Speed (seconds of audio per wall second, 2 cores; best of rounds)\n")
    print("| corpus | audio s | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    groups = dict(sets)
    groups["multilingual reading (English, German)"] = [(multilingual, "")]
    for title, items in groups.items():
        audio = sum(seconds[p] for p, _ in items)
        row = [title, f"{audio:.0f}"]
        row += [f"{audio / sum(wall[name][p] for p, _ in items):.1f}x" for name in names]
        print("| " + " | ".join(row) + " |")
    audio = sum(seconds.values())
    row = [f"**{audio / sum(wall[name].values()):.1f}x**" for name in names]
    print(f"| everything | {audio:.0f} | " + " | ".join(row) + " |")

    print("\n### The multilingual reading (English, then German): how each model's text ends\n")
    for name in names:
        print(f"- {name}: ...{texts[name][multilingual][-200:]!r}")


if __name__ == "__main__":
    main()
