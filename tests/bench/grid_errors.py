"""Where tiny.en's GRID errors come from: our speech stage against plain faster-whisper.

    PYTHONPATH=. .venv/bin/python tests/bench/grid_errors.py

The 6 GRID clips (sentence in the file name) and JFK, through the speech tap
as the product hears them, decoded in one run by our ``transcribe_wav`` with
the product's ``TranscribeOptions()`` and by plain ``WhisperModel.transcribe``
(same tiny.en, int8) under every decoding setting that could matter: its own
defaults, beam 1 and 5, VAD on and off, word timestamps on and off,
``condition_on_previous_text``, without timestamps, temperature fallback,
leading silence, level, float32, and the six clips joined into one recording
(context). Prints WER per setting (speech/wer.py's normaliser) and what each
distinct hypothesis was.
"""

from __future__ import annotations

import itertools
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
MEDIA = ROOT.parent / "shared" / "media"

from local import tests_module  # noqa: E402  (tests/bench, the script's own folder)

from restore.media import iter_audio, open_source  # noqa: E402
from restore.tap import SpeechTap  # noqa: E402
from speech.models import packaged_model  # noqa: E402
from speech.options import TranscribeOptions  # noqa: E402
from speech.transcribe import transcribe_wav  # noqa: E402
from speech.wer import wer  # noqa: E402

grid_sentence = tests_module("corpus").grid_sentence


def tap(source: Path, target: Path) -> Path:
    for _ in SpeechTap(target).process(iter_audio(open_source(source))):
        pass
    return target


def main() -> None:
    from faster_whisper import WhisperModel

    print(f"{platform.machine()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}\n")
    tmp = Path(tempfile.mkdtemp())
    clips = sorted((MEDIA / "faces" / "grid").glob("*.mpg"))
    wavs = [tap(c, tmp / f"{c.stem}.wav") for c in clips]
    refs = [grid_sentence(c.stem) for c in clips]
    jfk_wav, jfk_ref = MEDIA / "speech" / "jfk.wav", (MEDIA / "speech" / "jfk.txt").read_text()
    audio = [sf.read(w, dtype="float32")[0] for w in wavs]
    jfk = sf.read(jfk_wav, dtype="float32")[0]
    path = str(packaged_model("tiny.en"))
    models = {"int8": WhisperModel(path, device="cpu", compute_type="int8")}
    models["float32"] = WhisperModel(path, device="cpu", compute_type="float32")
    plain = dict(language="en", beam_size=5, vad_filter=False, temperature=0.0)
    rows: list[tuple[str, list[str], str]] = []

    def decode(label, transform=lambda a: a, model="int8", **settings):
        def one(a):
            segments, _ = models[model].transcribe(
                transform(a).astype(np.float32), **{**plain, **settings}
            )
            return " ".join(s.text.strip() for s in segments)

        rows.append((label, [one(a) for a in audio], one(jfk)))

    def ours(label, options):
        def one(w):
            return " ".join(s.text for s in transcribe_wav(w, options).segments)

        rows.append((label, [one(w) for w in wavs], one(jfk_wav)))

    ours("**reelscribe** (TranscribeOptions(), tiny.en)", TranscribeOptions(model="tiny.en"))
    ours("reelscribe, no VAD", TranscribeOptions(model="tiny.en", vad=False))
    ours("reelscribe, VAD regions one by one", TranscribeOptions(model="tiny.en", vad_regions=True))
    ours("reelscribe, beam 1", TranscribeOptions(model="tiny.en", beam_size=1))
    ours("reelscribe, fallback", TranscribeOptions(model="tiny.en", fallback=True))
    rows.append(("", [], ""))
    decode("plain faster-whisper, its own defaults", temperature=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    for beam, vad, words, condition in itertools.product(
        (1, 5), (False, True), *[(False, True)] * 2
    ):
        decode(
            f"plain: beam {beam}, VAD {'on' if vad else 'off'}, word times "
            f"{'on' if words else 'off'}, condition {'on' if condition else 'off'}",
            beam_size=beam,
            vad_filter=vad,
            word_timestamps=words,
            condition_on_previous_text=condition,
        )
    decode("plain: without_timestamps", without_timestamps=True)
    decode("plain: beam 10, patience 2", beam_size=10, patience=2.0)
    decode("plain: sampling, best of 5 at 0.2", temperature=0.2, best_of=5)
    for lead in (1.0, 2.0):
        decode(
            f"plain: {lead:g} s of silence in front",
            lambda a, s=lead: np.concatenate([np.zeros(int(s * 16000)), a]),
        )
    for gain in (0.25, 4.0):
        decode(f"plain: level x{gain:g}", lambda a, g=gain: np.clip(a * g, -1, 1))
    decode("plain: float32", model="float32")

    print("| how | GRID WER (36 words) | JFK WER (22) | GRID hypotheses |")
    print("|---|---|---|---|")
    for label, hyps, jfk_hyp in rows:
        if not label:
            print("| | | | |")
            continue
        print(
            f"| {label} | {wer(refs, hyps):.3f} | {wer([jfk_ref], [jfk_hyp]):.3f} | "
            + " / ".join(hyps)
            + " |",
            flush=True,
        )
    # context: the six sentences one after another, 1 s apart, as one recording
    gap = np.zeros(16000, np.float32)
    joined = np.concatenate([x for a in audio for x in (a, gap)])
    print("\n| the six clips joined, 1 s apart (context) | GRID WER | hypothesis |")
    print("|---|---|---|")
    for vad, condition in itertools.product((False, True), (False, True)):
        segments, _ = models["int8"].transcribe(
            joined, **{**plain, "vad_filter": vad, "condition_on_previous_text": condition}
        )
        hyp = " ".join(s.text.strip() for s in segments)
        print(
            f"| plain: VAD {'on' if vad else 'off'}, condition {'on' if condition else 'off'} "
            f"| {wer([' '.join(refs)], [hyp]):.3f} | {hyp} |",
            flush=True,
        )
    print("\nreferences: " + " / ".join(refs))


if __name__ == "__main__":
    main()
