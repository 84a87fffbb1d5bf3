"""Speech: accuracy (WER), speed against plain faster-whisper, and word timing, in one run.

    .venv/bin/python tests/bench/speech.py [--quick] [--speed]

Prints markdown tables for docs/benchmarks.md. One normaliser for every
reference and hypothesis (speech/wer.py: Whisper's English normaliser, which
also reads "A1" as "a one"). --quick skips the whole-command timings; --speed runs
only the speed table. Ours and the anchor take turns, round by round.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
MEDIA = ROOT.parent / "shared" / "media"
BIN = Path(sys.executable).parent

from local import tests_module  # noqa: E402  (tests/bench, the script's own folder)
from timing import best_of_each  # noqa: E402  (tests/bench, the script's own folder)

from restore.media import iter_audio, open_source  # noqa: E402
from restore.tap import SpeechTap  # noqa: E402
from speech.models import packaged_model  # noqa: E402
from speech.options import TranscribeOptions  # noqa: E402
from speech.transcribe import transcribe_wav  # noqa: E402
from speech.wer import wer  # noqa: E402

GRID_VOCABULARY = (
    "bin, lay, place, set; blue, green, red, white; at, by, in, with; letters A to "
    "Z; zero, one, two, three, four, five, six, seven, eight, nine; again, now, "
    "please, soon."
)


grid_sentence = tests_module("corpus").grid_sentence


def to_wav(source: Path, target: Path) -> Path:
    for _ in SpeechTap(target).process(iter_audio(open_source(source))):
        pass
    return target


def corpora(tmp: Path) -> dict[str, list[tuple[Path, str]]]:
    speech = MEDIA / "speech"
    sets: dict[str, list[tuple[Path, str]]] = {
        "JFK": [(to_wav(speech / "jfk.flac", tmp / "jfk.wav"), (speech / "jfk.txt").read_text())]
    }
    with open(speech / "librispeech" / "REFERENCE.tsv", newline="") as handle:
        sets["LibriSpeech (3)"] = [
            (speech / "librispeech" / row["file"], row["reference_transcript"])
            for row in csv.DictReader(handle, delimiter="\t")
        ]
    sets["GRID (6)"] = [
        (to_wav(clip, tmp / f"{clip.stem}.wav"), grid_sentence(clip.stem))
        for clip in sorted((MEDIA / "faces" / "grid").glob("*.mpg"))
    ]
    stm = (MEDIA / "diarization" / "pyannote_sample.stm").read_text().splitlines()
    reference = " ".join(line.split(maxsplit=5)[5] for line in stm if line.strip())
    sets["pyannote sample (2 speakers, phone)"] = [
        (to_wav(MEDIA / "diarization" / "pyannote_sample.wav", tmp / "pyannote.wav"), reference)
    ]
    return sets


def wer_table(tmp: Path) -> None:
    print("\n### WER (lower is better)\n")
    print("| corpus | words | tiny.en | base (multilingual) | tiny.en + vocabulary prompt |")
    print("|---|---|---|---|---|")
    for name, items in corpora(tmp).items():
        refs = [ref for _, ref in items]
        row = [name, str(sum(len(r.split()) for r in refs))]
        for options in (TranscribeOptions(model="tiny.en"), TranscribeOptions(model="base")):
            hyps = [" ".join(s.text for s in transcribe_wav(p, options).segments) for p, _ in items]
            row.append(f"{wer(refs, hyps):.3f}")
        if name.startswith("GRID"):
            options = TranscribeOptions(model="tiny.en", prompt=GRID_VOCABULARY)
            hyps = [" ".join(s.text for s in transcribe_wav(p, options).segments) for p, _ in items]
            row.append(f"{wer(refs, hyps):.3f}")
        else:
            row.append("")
        print("| " + " | ".join(row) + " |")


def plain_faster_whisper(path: Path) -> int:
    """The anchor: faster-whisper as its README shows, same model and settings as ours."""
    from faster_whisper import WhisperModel

    model = _anchor_model()
    segments, _ = model.transcribe(
        str(path),
        language="en",
        beam_size=5,
        word_timestamps=True,
        vad_filter=True,
        condition_on_previous_text=False,
    )
    return sum(len(s.words or ()) for s in segments) if isinstance(model, WhisperModel) else 0


_MODEL = []


def _anchor_model():
    if not _MODEL:
        from faster_whisper import WhisperModel

        _MODEL.append(
            WhisperModel(
                str(packaged_model(TranscribeOptions().model)), device="cpu", compute_type="int8"
            )
        )
    return _MODEL[0]


ANCHOR_SCRIPT = """
import sys
from faster_whisper import WhisperModel
model = WhisperModel(sys.argv[2], device="cpu", compute_type="int8")
segments, _ = model.transcribe(sys.argv[1], language="en", beam_size=5, word_timestamps=True,
                               vad_filter=True, condition_on_previous_text=False)
import json
json.dump([[w.start, w.end, w.word] for s in segments for w in s.words], open(sys.argv[3], "w"))
"""


def long_recording(tmp: Path) -> tuple[Path, float]:
    """All the 1968 dialogue clips one after another: about two minutes of film sound."""
    parts = [
        sf.read(p, dtype="float32")[0]
        for p in sorted((MEDIA / "speech" / "notld_1968").glob("*.wav"))
    ]
    audio = np.concatenate(parts)
    path = tmp / "notld_all.wav"
    sf.write(path, audio, 16000)
    return path, len(audio) / 16000


def speed_table(tmp: Path, whole_commands: bool) -> None:
    recording, seconds = long_recording(tmp)
    _anchor_model()
    options = TranscribeOptions(language="en")
    transcribe_wav(MEDIA / "speech" / "jfk.wav", options)  # load our (shared, cached) model
    print(f"\n### Speed on {seconds:.0f} s of 1968 film dialogue (audio s per wall s; best of 3)\n")
    print("| how | reelscribe | plain faster-whisper | ours / anchor speed |")
    print("|---|---|---|---|")

    def ours_in_process(options: TranscribeOptions) -> None:
        wav = tmp / "tap.wav"
        for _ in SpeechTap(wav).process(iter_audio(open_source(recording))):
            pass
        transcribe_wav(wav, options)

    # the old windows, 60 s of film each, beside the default windows measured in speech
    film_windows = dataclasses.replace(options, window_s=60.0, window_speech_s=None)
    best = best_of_each(
        3,
        {
            "in-process (decode + transcribe)": lambda: ours_in_process(options),
            "in-process, 60 s film windows (before)": lambda: ours_in_process(film_windows),
            "anchor": lambda: plain_faster_whisper(recording),
        },
    )
    anchor = best.pop("anchor")
    for how, ours in best.items():
        print(f"| {how} | {seconds / ours:.1f}x | {seconds / anchor:.1f}x | {anchor / ours:.2f} |")
    if whole_commands:
        script = tmp / "anchor.py"
        script.write_text(ANCHOR_SCRIPT)
        model = str(packaged_model(TranscribeOptions().model))
        env = dict(os.environ)
        ours_cmd = [
            str(BIN / "reelscribe"),
            "transcribe",
            str(recording),
            "-o",
            str(tmp / "o.json"),
            "--quiet",
            "--language",
            "en",
        ]
        anchor_cmd = [sys.executable, str(script), str(recording), model, str(tmp / "a.json")]
        best = best_of_each(
            3,
            {
                "ours": lambda: subprocess.run(ours_cmd, check=True, env=env),
                "anchor": lambda: subprocess.run(anchor_cmd, check=True, env=env),
            },
        )
        ours, anchor = best["ours"], best["anchor"]
        print(
            f"| whole command (start-up included) | {seconds / ours:.1f}x | "
            f"{seconds / anchor:.1f}x | {anchor / ours:.2f} |"
        )


def word_timing(tmp: Path) -> None:
    """Word boundaries on id2_vcd_swwp2s.mpg against swwp2s.align (1/25000 s units)."""
    align = [
        line.split()
        for line in (MEDIA / "faces" / "grid" / "swwp2s.align").read_text().splitlines()
        if line.strip()
    ]
    truth = [(int(a) / 25000, int(b) / 25000, w) for a, b, w in align if w != "sil"]
    wav = to_wav(MEDIA / "faces" / "grid" / "id2_vcd_swwp2s.mpg", tmp / "swwp2s.wav")
    print("\n### Word timing on GRID id2_vcd_swwp2s against its alignment\n")
    print("| model | words matched | mean abs error, starts s | ends s | all boundaries s |")
    print("|---|---|---|---|---|")
    for label, options in (
        ("tiny.en", TranscribeOptions(model="tiny.en")),
        ("base", TranscribeOptions(model="base")),
    ):
        words = transcribe_wav(wav, options).words
        starts, ends, matched = [], [], 0
        queue = list(truth)
        for word in words:
            # "P2" is two spoken words (p, two): it spans both reference intervals
            spoken = 2 if any(c.isdigit() for c in word.text) and word.text[0].isalpha() else 1
            covered, queue = queue[:spoken], queue[spoken:]
            if not covered:
                break
            starts.append(abs(word.start - covered[0][0]))
            ends.append(abs(word.end - covered[-1][1]))
            matched += spoken
        every = starts + ends
        print(
            f"| {label} | {matched}/{len(truth)} | {np.mean(starts):.3f} | {np.mean(ends):.3f} | "
            f"{np.mean(every):.3f} |"
        )


def main() -> None:
    quick = "--quick" in sys.argv
    print(
        f"## {time.strftime('%Y-%m-%d')} · {platform.machine()}, {os.cpu_count()} cores · "
        "tests/bench/speech.py"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        os.environ.setdefault("REELSCRIBE_CACHE", str(tmp_path / "cache"))
        if "--speed" not in sys.argv:
            wer_table(tmp_path)
            word_timing(tmp_path)
        speed_table(tmp_path, whole_commands=not quick)


if __name__ == "__main__":
    main()
