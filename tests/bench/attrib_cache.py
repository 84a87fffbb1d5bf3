"""Cache what attribution reads, per composed dialogue, so scoring variants run offline.

The slow part of tests/bench/speakers.py is the film pass (faces, sound chain,
Whisper); attribution itself takes milliseconds. This builds, once, for every
composed GRID dialogue (15 pairs x clean/aged, the same films as speakers.py)
and every single-speaker clip, what the Pipeline hands ``sync.attribute``:

- ``faces``: the face tracks on the picture as it is (what ``Pipeline()`` sees),
  and for aged films also ``faces_archival``: the tracks on the picture through the
  archival chain (what ``reelscribe run`` sees by default);
- ``speech``: Whisper's result on the restored sound (the default sound chain), and
  ``speech_raw`` on the sound as it is;
- ``restored``, ``raw``: the 16 kHz speech taps after and before the sound chain;
- ``truth``: the turns (start, end, side) of a dialogue.

    PYTHONPATH=. python tests/bench/attrib_cache.py [--cache /tmp/attrib-cache] [--only NAME]

Each item is a pickle of frozen dataclasses and arrays (``load(name)``); an item
already there is kept, so an interrupted build resumes.
"""

from __future__ import annotations

import argparse
import itertools
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
MEDIA = ROOT.parent / "shared" / "media"

from local import tests_module  # noqa: E402  (tests/bench, the script's own folder)

CACHE = Path("/tmp/attrib-cache")

compose_dialogue = tests_module("conftest").compose_dialogue

CLIPS = sorted(p.stem for p in (MEDIA / "faces" / "grid").glob("*.mpg"))
PAIRS = tuple(itertools.combinations(CLIPS, 2))
TURNS = "LRRLRLLR"  # as tests/bench/speakers.py
SINGLES = [MEDIA / "faces" / "talking" / f"face_{i}.mp4" for i in (1, 2, 3)] + sorted(
    (MEDIA / "faces" / "grid").glob("*.mpg")
)


def dialogue_names() -> list[str]:
    return [f"{a}+{b}.{'aged' if aged else 'clean'}" for a, b in PAIRS for aged in (False, True)]


def single_names() -> list[str]:
    return [f"single.{p.stem}" for p in SINGLES]


def film_pass(film: Path, work: Path, archival: bool) -> dict:
    """One decode of the film: faces on the picture as it is (and after the archival chain),
    the speech tap before and after the default sound chain, then Whisper on both."""
    import soundfile as sf

    from faces.stage import FaceAnalyser, FaceOptions
    from restore.chain import RestoreOptions, picture_chain, sound_chain
    from restore.media import iter_audio, iter_frames, open_source
    from restore.picture import picture_plan
    from restore.tap import SpeechTap
    from speech.options import TranscribeOptions
    from speech.transcribe import transcribe_wav

    source = open_source(film)
    plain = FaceAnalyser(FaceOptions())
    frames = plain.process(iter_frames(source))
    restored_faces = None
    if archival:
        names, settings = picture_plan("archival")
        chain = picture_chain(RestoreOptions(picture=names, picture_settings=settings))
        restored_faces = FaceAnalyser(FaceOptions())
        frames = restored_faces.process(chain.process(frames))
    for _ in frames:
        pass
    raw_wav, restored_wav = work / "raw.wav", work / "restored.wav"
    blocks = SpeechTap(raw_wav).process(iter_audio(source))
    blocks = SpeechTap(restored_wav).process(sound_chain(RestoreOptions()).process(blocks))
    for _ in blocks:
        pass
    item = {
        "faces": plain.result()[0],
        "faces_archival": restored_faces.result()[0] if restored_faces else None,
        "speech": transcribe_wav(restored_wav, TranscribeOptions()),
        "speech_raw": transcribe_wav(raw_wav, TranscribeOptions()),
        "restored": sf.read(restored_wav, dtype="float32")[0],
        "raw": sf.read(raw_wav, dtype="float32")[0],
    }
    return item


def build(cache: Path, only: str | None = None, reverse: bool = False) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    jobs = [(n, None) for n in dialogue_names()] + [
        (n, p) for n, p in zip(single_names(), SINGLES, strict=True)
    ]
    if reverse:  # a second builder from the other end
        jobs.reverse()
    for name, clip in jobs:
        target = cache / f"{name}.pkl"
        if target.exists() or (only and only not in name):
            continue
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            if clip is None:
                pair, version = name.split(".")
                left, right = pair.split("+")
                film = tmp / "film.mkv"
                truth = compose_dialogue(
                    film,
                    MEDIA / "faces" / "grid" / f"{left}.mpg",
                    MEDIA / "faces" / "grid" / f"{right}.mpg",
                    TURNS,
                    version == "aged",
                )
                item = film_pass(film, tmp, archival=version == "aged")
                item["truth"] = truth
            else:
                item = film_pass(clip, tmp, archival=False)
                item["truth"] = None
        if target.exists():
            continue
        partial = target.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(pickle.dumps(item))
        partial.rename(target)
        print(f"{name}: {time.perf_counter() - started:.0f} s", flush=True)


def load(name: str, cache: Path = CACHE) -> dict:
    item = pickle.loads((cache / f"{name}.pkl").read_bytes())
    for extra in cache.glob(f"{name}.*.speech.pkl"):  # transcripts added later
        item[extra.name[len(name) + 1 : -len(".speech.pkl")]] = pickle.loads(extra.read_bytes())
    return item


def add_transcript(name: str, key: str, options, cache: Path = CACHE) -> None:
    """Whisper with other ``TranscribeOptions`` on an item's restored sound, kept beside it
    as ``item[key]``."""
    import soundfile as sf

    from speech.transcribe import transcribe_wav

    target = cache / f"{name}.{key}.speech.pkl"
    if target.exists():
        return
    item = pickle.loads((cache / f"{name}.pkl").read_bytes())
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "restored.wav"
        sf.write(wav, item["restored"], 16000, subtype="FLOAT")
        result = transcribe_wav(wav, options)
    partial = target.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(pickle.dumps(result))
    partial.rename(target)


def envelope(samples: np.ndarray, rate: int = 16000, band=None) -> np.ndarray:
    """``sync.attribute.speech_envelope`` of cached samples (through a temporary WAV, so the
    product's own reader is what is measured)."""
    import soundfile as sf

    from sync.attribute import speech_envelope

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        sf.write(wav, samples, rate, subtype="FLOAT")
        return speech_envelope(wav, band) if band else speech_envelope(wav)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--only", help="build only items whose name contains this")
    parser.add_argument("--reverse", action="store_true", help="build from the last item")
    parser.add_argument(
        "--regions", action="store_true", help="add transcripts decoded VAD region by region"
    )
    parser.add_argument(
        "--filled",
        action="store_true",
        help="add transcripts decoded joined, skipped speech stretches decoded again (default)",
    )
    args = parser.parse_args()
    if args.filled:
        from speech.options import TranscribeOptions

        for name in dialogue_names() + single_names():
            if (args.cache / f"{name}.pkl").exists():
                add_transcript(name, "speech_filled", TranscribeOptions(vad_regions=False))
    elif args.regions:
        from speech.options import TranscribeOptions

        for name in dialogue_names() + single_names():
            if (args.cache / f"{name}.pkl").exists():
                add_transcript(
                    name, "speech_regions", TranscribeOptions(vad_regions=True, fill_missed=False)
                )
    else:
        build(args.cache, args.only, args.reverse)
