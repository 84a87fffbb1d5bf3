"""Can a voice embedding tell the two speakers of a real phone call apart?

    .venv/bin/python tests/bench/voice.py

The pyannote sample (../shared/media/diarization) has 13 turns by two named
speakers. For each embedding: mean cosine similarity of turns by the same
speaker and by different speakers (after removing the mean vector), and
leave-one-out nearest-centroid accuracy. Then the product's own rule
(sync/voices.py, Profiles.match) on CAM++ (speech/voice.py): each turn judged
against the two voices made from the other turns, as if the lips had given
them: right, left to nobody, or wrong, with its confidence. Last, give_by_voice on the
call as the lips might leave it: for every pair of turns, one said off screen (null) and
one the lips gave the wrong speaker, unsure (0.65: too unsure to build a voice; 0.8: its
voice joins the wrong profile), the other eleven given rightly at 0.95: the off-screen
turns given right and wrong, the wrong lips turns put right, the right ones broken.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
MEDIA = ROOT.parent / "shared" / "media" / "diarization"

from speech.models import packaged_model  # noqa: E402


def turns() -> list[tuple[str, float, float]]:
    rows = [line.split(maxsplit=5) for line in open(MEDIA / "pyannote_sample.stm") if line.strip()]
    return [(row[2], float(row[3]), float(row[4])) for row in rows]


def whisper_encoder():
    """Mean-pooled output of Whisper tiny.en's encoder (CTranslate2, offline)."""
    import ctranslate2
    from faster_whisper.feature_extractor import FeatureExtractor

    model = ctranslate2.models.Whisper(str(packaged_model("tiny.en")), compute_type="int8")
    features = FeatureExtractor(feature_size=80)

    def embed(audio: np.ndarray) -> np.ndarray:
        mel = features(np.pad(audio, (0, 16000 * 30 - len(audio))))[:, :3000]
        out = model.encode(ctranslate2.StorageView.from_array(mel[None].astype(np.float32)))
        frames = max(1, int(len(audio) / 16000 * 50))
        return np.array(out.to_device(ctranslate2.Device.cpu))[0][:frames].mean(axis=0)

    return embed


def mfcc_statistics(audio: np.ndarray) -> np.ndarray:
    """20 MFCCs' mean and standard deviation over the turn (the classic baseline)."""
    import librosa

    mfcc = librosa.feature.mfcc(y=audio, sr=16000, n_mfcc=20)
    return np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1)])


def separation(vectors: list[np.ndarray], speakers: np.ndarray) -> tuple[float, float, int]:
    e = np.array(vectors)
    e = e - e.mean(axis=0)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    sim = e @ e.T
    pairs = [(i, j) for i in range(len(e)) for j in range(i)]
    same = np.mean([sim[i, j] for i, j in pairs if speakers[i] == speakers[j]])
    cross = np.mean([sim[i, j] for i, j in pairs if speakers[i] != speakers[j]])
    right = 0
    for i in range(len(e)):
        others = np.arange(len(e)) != i
        centres = {s: e[(speakers == s) & others].mean(axis=0) for s in set(speakers)}
        right += max(centres, key=lambda s: float(centres[s] @ e[i])) == speakers[i]
    return float(same), float(cross), right


def campplus(audio: np.ndarray) -> np.ndarray:
    """The product's voice embedding (speech/voice.py: CAM++, shipped in the package)."""
    from speech.voice import load_voice_model

    vector = load_voice_model().embed(audio)
    return vector if vector is not None else np.zeros(192)


def decisions(
    clips: list[np.ndarray], speakers: np.ndarray, options=None
) -> list[tuple[str, float | None]]:
    """Each turn by sync.voices' rule (``options``, VoiceOptions' defaults when None)
    against profiles made from the other turns: ("right" | "none" | "wrong", confidence)."""
    from speech.voice import load_voice_model
    from sync.voices import Profiles, VoiceOptions

    model, options = load_voice_model(), options or VoiceOptions()
    vectors = [model.embed(c) for c in clips]
    out = []
    for i, vector in enumerate(vectors):
        profiles = {}
        for who in set(speakers):
            own = [
                v for j, v in enumerate(vectors) if j != i and speakers[j] == who and v is not None
            ]
            mean = np.mean(own, axis=0)
            profiles[who] = mean / np.linalg.norm(mean)
        found = Profiles(profiles).match(vector, options) if vector is not None else None
        if found is None:
            out.append(("none", None))
        else:
            out.append(("right" if found[0] == speakers[i] else "wrong", found[1]))
    return out


def pairs(vectors: list, speakers: np.ndarray, options) -> dict[str, int]:
    """give_by_voice over every (off-screen turn, wrong lips turn) pair (the docstring)."""
    from sync.transcript import Line
    from sync.voices import give_by_voice

    first, second = sorted(set(speakers))
    other = {first: second, second: first}

    def given(i: int, who: str, off: int, wrong: int, unsure: float) -> Line:
        if i == off:
            return Line(i, i + 1, "x", (), None, None, None)
        if i == wrong:
            return Line(i, i + 1, "x", (), other[who], "lips", unsure)
        return Line(i, i + 1, "x", (), who, "lips", 0.95)

    counts = {"off right": 0, "off wrong": 0, "put right": 0, "kept wrong": 0, "broken": 0}
    for off in range(len(vectors)):
        for wrong in range(len(vectors)):
            for unsure in (0.65, 0.8) if wrong != off else ():
                lines = [given(i, w, off, wrong, unsure) for i, w in enumerate(speakers)]
                out = give_by_voice(lines, None, lambda ln: vectors[int(ln.start)], options)
                for i, (line, who) in enumerate(zip(out, speakers, strict=True)):
                    if i == off and line.speaker is not None:
                        counts["off right" if line.speaker == who else "off wrong"] += 1
                    elif i == wrong:
                        counts["put right" if line.speaker == who else "kept wrong"] += 1
                    elif i != off:
                        counts["broken"] += line.speaker != who
    return counts


def main() -> None:
    import librosa

    audio, _ = librosa.load(MEDIA / "pyannote_sample.wav", sr=16000)
    spans = turns()
    clips = [audio[int(a * 16000) : int(b * 16000)] for _, a, b in spans]
    speakers = np.array([s for s, _, _ in spans])
    print("| embedding | same speaker | other speaker | leave-one-out right |")
    print("|---|---|---|---|")
    for name, embed in (
        ("Whisper tiny.en encoder, mean-pooled", whisper_encoder()),
        ("MFCC mean + std", mfcc_statistics),
        ("CAM++ (speech/voice.py)", campplus),
    ):
        same, cross, right = separation([embed(c) for c in clips], speakers)
        print(f"| {name} | {same:.3f} | {cross:.3f} | {right}/{len(clips)} |")
    print("\nThe product's rule (sync/voices.py) on CAM++, each turn against the other turns:\n")
    print("| turn | speaker | seconds | verdict | confidence |")
    print("|---|---|---|---|---|")
    verdicts = decisions(clips, speakers)
    for (who, a, b), (verdict, confidence) in zip(spans, verdicts, strict=True):
        print(f"| {a:.2f}-{b:.2f} | {who} | {b - a:.2f} | {verdict} | {confidence} |")
    counts = {k: sum(v == k for v, _ in verdicts) for k in ("right", "none", "wrong")}
    sure_wrong = sum(v == "wrong" and c >= 0.8 for v, c in verdicts)
    print(
        f"\n{counts['right']} right, {counts['none']} left to nobody, {counts['wrong']} wrong "
        f"({sure_wrong} of them at confidence >= 0.8), of {len(verdicts)} turns"
    )
    from dataclasses import replace

    from speech.voice import load_voice_model
    from sync.voices import VoiceOptions

    model = load_voice_model()
    vectors = [model.embed(c) for c in clips]
    print(f"\nOne turn off screen, one wrong by the lips ({2 * 13 * 12} cases, 11 x as many sure):")
    for label, options in (
        ("null lines only", replace(VoiceOptions(), recheck_below=None)),
        ("lips heard again, any voice", replace(VoiceOptions(), surer_than_lips=False)),
        ("lips heard again, profiles not cleaned", replace(VoiceOptions(), clean_profiles=False)),
        ("default", VoiceOptions()),
    ):
        print(f"  {label}: {pairs(vectors, speakers, options)}")


if __name__ == "__main__":
    main()
