"""Score attribution variants offline on the cache of tests/bench/attrib_cache.py.

Every variant sees the same faces, transcripts and sound, so only the scoring
differs; a sweep over the 30 composed dialogues and 9 single-speaker clips
takes seconds. Counts are judged as in tests/bench/speakers.py.

    PYTHONPATH=. python tests/bench/attrib_offline.py [--cache /tmp/attrib-cache]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from local import bench_module  # noqa: E402  (tests/bench, the script's own folder)

cache_mod = bench_module("attrib_cache")
judge = bench_module("speakers").judge  # judged exactly as the full run judges

from sync.attribute import AttributionOptions, attribute  # noqa: E402
from sync.transcript import Speaker, Transcript  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Variant:
    """One way of attributing: which faces, which sound, which transcript, which options."""

    name: str
    options: AttributionOptions = AttributionOptions()
    sound: str = "restored"  # "restored", "raw", or "both"
    picture: str = "plain"  # "plain" or "archival" (aged films only; clean stay plain)
    speech: str = "speech"  # "speech" (restored sound, as the Pipeline) or "speech_raw"
    attribute: Callable | None = None  # another attribute() to compare
    band: tuple[float, float] | None = None  # the voice envelope's band (None: SPEECH_BAND)


_envelopes: dict[tuple, np.ndarray] = {}


def envelope_of(name: str, item: dict, sound: str, band=None) -> np.ndarray:
    key = (name, sound, band)
    if key not in _envelopes:
        _envelopes[key] = cache_mod.envelope(item[sound], band=band)
    return _envelopes[key]


def transcript_of(name: str, item: dict, variant: Variant) -> Transcript:
    faces = item["faces"]
    if variant.picture == "archival" and item.get("faces_archival") is not None:
        faces = item["faces_archival"]
    speech = item.get(variant.speech) or item["speech"]
    if variant.sound == "both":  # the mean of the two log envelopes
        a, b = (envelope_of(name, item, s, variant.band) for s in ("restored", "raw"))
        n = min(len(a), len(b))
        envelope = (a[:n] + b[:n]) / 2
    else:
        envelope = envelope_of(name, item, variant.sound, variant.band)
    run = variant.attribute or attribute
    lines = run(speech.segments, faces, envelope, variant.options)
    speakers = tuple(Speaker(c.id, c.name, c.face_box, c.seen_seconds) for c in faces.characters)
    return Transcript(
        source=name, duration=0.0, language="en", speakers=speakers, lines=tuple(lines)
    )


def score(variant: Variant, cache: Path, names: list[str] | None = None, verbose=False) -> dict:
    totals = {"clean": np.zeros(3, int), "aged": np.zeros(3, int)}
    scored, per_pair, singles = [], {}, np.zeros(3, int)
    for name in names or cache_mod.dialogue_names():
        path = cache / f"{name}.pkl"
        if not path.exists():
            continue
        item = _items.setdefault(name, cache_mod.load(name, cache))
        counts, lines, misses = judge(transcript_of(name, item, variant), item["truth"])
        version = name.split(".")[1]
        totals[version] += counts
        scored += [(c, r, name) for c, r in lines]
        per_pair[name] = (counts, misses)
    for name in cache_mod.single_names():
        path = cache / f"{name}.pkl"
        if not path.exists():
            continue
        item = _items.setdefault(name, cache_mod.load(name, cache))
        transcript = transcript_of(name, item, variant)
        to_face = sum(ln.speaker is not None for ln in transcript.lines)
        singles += (len(transcript.lines), to_face, len(transcript.lines) - to_face)
    unheard = {
        version: sum(
            1
            for name, (_, misses) in per_pair.items()
            if name.endswith(version)
            for _, why in misses
            if why == "unheard"
        )
        for version in totals
    }
    result = {
        "totals": totals,
        "lines": scored,
        "pairs": per_pair,
        "singles": singles,
        "unheard": unheard,
    }
    if verbose:
        for name, (counts, misses) in per_pair.items():
            if counts[0] < 8:
                print(f"  {name}: {tuple(counts)} {misses}")
    return result


_items: dict[str, dict] = {}


def row(variant: Variant, result: dict) -> str:
    clean, aged = result["totals"]["clean"], result["totals"]["aged"]
    lines, to_face, _ = result["singles"]
    unheard = result["unheard"]
    return (
        f"| {variant.name} | {clean[0]}/{clean[1]}/{clean[2]} ({unheard['clean']}) "
        f"| {aged[0]}/{aged[1]}/{aged[2]} ({unheard['aged']}) | {to_face} of {lines} |"
    )


Opt = functools.partial(AttributionOptions, onset_weight=0.5, envelope_range_db=None)
"""The rows before the envelope floor and the onset weight: as they were measured."""
Old = functools.partial(Variant, band=(300.0, 3000.0))
"""Rows measured with the voice band before 1-4 kHz."""
BEFORE = Opt(pause_s=None, window_s=2.0)  # the attribution before pauses and 3 s windows
# "speech": Whisper as the cache was built (VAD regions joined); "speech_regions": region by
# region (``--regions``, the default since). The rows of docs/benchmarks.md's speakers section.
VARIANTS = [
    Old("before (2 s per word within each segment; joined VAD regions)", BEFORE),
    Old("(a) mouths against the sound before the sound chain", BEFORE, sound="raw"),
    Old("(a) against the mean of both envelopes", BEFORE, sound="both"),
    Old("(b) faces read on the archival-restored picture", BEFORE, picture="archival"),
    Old("(c) judged within speech between 0.3 s pauses", Opt(window_s=2.0)),
    Old("(d) 3 s per word", Opt(pause_s=None)),
    Old("(d) 4 s per word", Opt(pause_s=None, window_s=4.0)),
    Old(
        "(d) 3 s per word, mouth median-filtered over 3 frames", Opt(pause_s=None, smooth_frames=3)
    ),
    Old("(d) 3 s per word, jaw blendshape added to the lip gap", Opt(pause_s=None, jaw_weight=1.0)),
    Old("(c) + (d): pauses 0.3 s, 3 s per word", Opt()),
    Old("Whisper on the sound as it is (no sound chain)", BEFORE, speech="speech_raw"),
    Old("Whisper region by region, 2 s within each segment", BEFORE, speech="speech_regions"),
    Old("region by region, pauses 0.3 s, 3 s per word", Opt(), speech="speech_regions"),
    Old(
        "joined, skipped stretches decoded again, pauses 0.3 s, 3 s (before)",
        Opt(),
        speech="speech_filled",
    ),
    Old("region by region, 4 s per word", Opt(window_s=4.0), speech="speech_regions"),
    Old("region by region, 5 s per word", Opt(window_s=5.0), speech="speech_regions"),
    Old(
        "region by region, 4 s, archival picture",
        Opt(window_s=4.0),
        speech="speech_regions",
        picture="archival",
    ),
    Old(
        "joined+filled, envelope floored 45 dB under the loud speech",
        Opt(envelope_range_db=45.0),
        speech="speech_filled",
    ),
    Old("joined+filled, onset weight 0.6", Opt(onset_weight=0.6), speech="speech_filled"),
    Old(
        "joined+filled, floor and onset weight 0.6",
        Opt(envelope_range_db=45.0, onset_weight=0.6),
        speech="speech_filled",
    ),
    Variant(
        "1-4 kHz band, floor 45 dB, onset weight 0.5 (the defaults now)", speech="speech_filled"
    ),
    Variant("1-4 kHz band alone", Opt(), speech="speech_filled"),
    Variant(
        "1-4 kHz, onset weight 0.6", AttributionOptions(onset_weight=0.6), speech="speech_filled"
    ),
    Variant("0.5-2.5 kHz band", speech="speech_filled", band=(500.0, 2500.0)),
    Variant("0.7-3 kHz band", speech="speech_filled", band=(700.0, 3000.0)),
    Variant("1-5 kHz band", speech="speech_filled", band=(1000.0, 5000.0)),
    Variant("1.5-6 kHz band", speech="speech_filled", band=(1500.0, 6000.0)),
    Variant("2-4 kHz band", speech="speech_filled", band=(2000.0, 4000.0)),
    Variant("0.1-4 kHz band", speech="speech_filled", band=(100.0, 4000.0)),
    Variant("now, archival picture", speech="speech_filled", picture="archival"),
    Variant("now, mouths against the sound before the chain", speech="speech_filled", sound="raw"),
    Variant("now, Whisper region by region", speech="speech_regions"),
    Variant("now, Whisper on the sound as it is", speech="speech_raw"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", type=Path, default=cache_mod.CACHE)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    print("Turns right/unattributed/wrong (of which no word was heard); single-speaker lines.\n")
    print("| variant | clean | aged | singles to the face |")
    print("|---|---|---|---|")
    for variant in VARIANTS:
        result = score(variant, args.cache, verbose=args.verbose)
        print(row(variant, result), flush=True)


if __name__ == "__main__":
    main()
