"""Stage speeds against their anchors, measured side by side in one run.

    .venv/bin/python tests/bench/pipeline.py

- master: `Pipeline.restore` (decode, pass-through chain, interleave, FFV1 + FLAC)
  against a plain PyAV transcode to the same codecs (the anchor: FFmpeg's own work).
- speech: `transcribe_wav` against plain faster-whisper on the same WAV, same
  model and settings (beam 5, word timestamps, VAD).
Each figure is the best of REPEATS runs; ratios are ours / anchor (lower is better).
"""

from __future__ import annotations

import platform
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
MEDIA = ROOT.parent / "shared" / "media"
REPEATS = 3

from timing import best_of  # noqa: E402  (tests/bench, the script's own folder)

from restore.media import open_source  # noqa: E402
from speech.models import packaged_model  # noqa: E402
from speech.options import TranscribeOptions  # noqa: E402
from speech.transcribe import transcribe_wav  # noqa: E402
from sync.pipeline import Pipeline  # noqa: E402


def best(work) -> float:
    return best_of(REPEATS, work)


def anchor_transcode(film: Path, out: Path) -> None:
    """Plain PyAV: decode and encode FFV1 + FLAC, no reelscribe code."""
    with av.open(str(film)) as src, av.open(str(out), "w", format="matroska") as dst:
        vin = src.streams.video[0] if src.streams.video else None
        ain = src.streams.audio[0] if src.streams.audio else None
        streams = [s for s in (vin, ain) if s is not None]
        if vin is not None:
            vin.thread_type = "AUTO"
            vout = dst.add_stream("ffv1", rate=vin.average_rate, options={"level": "3", "g": "1"})
            vout.width, vout.height, vout.pix_fmt = vin.width, vin.height, vin.pix_fmt
            vout.time_base = vin.time_base
        if ain is not None:
            aout = dst.add_stream("flac", rate=ain.rate, layout=ain.layout.name)
        for packet in src.demux(streams):
            for frame in packet.decode():
                if packet.stream is vin:
                    dst.mux(vout.encode(frame))
                else:
                    dst.mux(aout.encode(frame))
        if vin is not None:
            dst.mux(vout.encode(None))
        if ain is not None:
            dst.mux(aout.encode(None))


def anchor_whisper(wav: Path) -> None:
    from faster_whisper import WhisperModel

    model = _model()
    segments, _ = model.transcribe(
        str(wav), beam_size=5, word_timestamps=True, vad_filter=True, language="en"
    )
    list(segments)
    assert isinstance(model, WhisperModel)


_MODEL = None


def _model():
    global _MODEL
    if _MODEL is None:
        from faster_whisper import WhisperModel

        model = packaged_model(TranscribeOptions().model)
        _MODEL = WhisperModel(str(model), device="cpu", compute_type="int8")
    return _MODEL


def main() -> None:
    print(
        f"# {time.strftime('%Y-%m-%d')} on {platform.node()} ({platform.machine()}, "
        f"{__import__('os').cpu_count()} cores), best of {REPEATS}"
    )
    print("\n| stage | input | duration s | reelscribe s | anchor s | ratio | x realtime |")
    print("|---|---|---|---|---|---|---|")
    films = [
        ROOT / "data" / "sample.mp4",
        MEDIA / "faces" / "talking" / "face_1.mp4",
        MEDIA / "film" / "a-bomb_blast_effects_part.mp4",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for film in films:
            source = open_source(film)
            ours = best(lambda f=film: Pipeline().restore(f, tmp / "ours.mkv"))
            anchor = best(lambda f=film: anchor_transcode(f, tmp / "anchor.mkv"))
            v = source.video
            label = f"{film.name} ({v.width}x{v.height})"
            print(
                f"| master (FFV1+FLAC) | {label} | {source.duration:.1f} | {ours:.3f} | "
                f"{anchor:.3f} | {ours / anchor:.2f} | {source.duration / ours:.0f} |"
            )
        _model()  # load once, outside the timings (both sides share the cache)
        options = TranscribeOptions(language="en")  # as the anchor is told
        transcribe_wav(MEDIA / "speech" / "jfk.wav", options)  # warm the engine's loader cache
        for wav in (
            MEDIA / "speech" / "jfk.wav",
            MEDIA / "speech" / "notld_1968" / "60s_i_dont_want_anyones_life_on_my_hands.wav",
        ):
            duration = float(Fraction(open_source(wav).duration))
            ours = best(lambda w=wav: transcribe_wav(w, options))
            anchor = best(lambda w=wav: anchor_whisper(w))
            print(
                f"| speech ({options.model} int8) | {wav.name} | {duration:.1f} | {ours:.3f} | "
                f"{anchor:.3f} | {ours / anchor:.2f} | {duration / ours:.1f} |"
            )
        run_tmp = tmp / "run"
        film = ROOT / "data" / "sample.mp4"
        started = time.perf_counter()
        Pipeline().run(film, run_tmp)
        total = time.perf_counter() - started
        seconds = float(open_source(film).duration)
        print(
            f"\nwhole `run` on sample.mp4 ({seconds:.1f} s, model already loaded): {total:.2f} s "
            f"({seconds / total:.1f}x realtime)"
        )


if __name__ == "__main__":
    main()
