"""Transcripts built from the real media's ground truth, through the project's own dataclasses.

- ``pyannote_sample``: the two-person phone call (Diane, Sheila) from its ``.stm``: real
  lines, speakers and times; word times spread over each line by length (the .stm has
  line times only).
- ``swwp2s``: one GRID sentence with the corpus's own word times (``.align``, 1/25000 s).
- ``grid_sentence``: a GRID clip's sentence from its file name.
- ``notld_*``: the *Night of the Living Dead* excerpts' reference text, one line per
  sentence spread over the clip, nobody attributed (the clips have no speaker truth).

Used by the archive and export tests and by ``tests/bench/archive.py``; loaded by path
(``tests/`` is not a package).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from speech.types import Word
from sync.transcript import Line, Speaker, Transcript


def _words(start: float, end: float, text: str) -> tuple[Word, ...]:
    """Word times spread over a line in proportion to each word's length."""
    tokens = text.split()
    total = sum(len(t) + 1 for t in tokens)
    words, at = [], start
    for token in tokens:
        span = (end - start) * (len(token) + 1) / total
        words.append(Word(round(at, 3), round(at + span, 3), " " + token, 0.9))
        at += span
    return tuple(words)


GRID_GRAMMAR = {
    0: {"b": "bin", "l": "lay", "p": "place", "s": "set"},
    1: {"b": "blue", "g": "green", "r": "red", "w": "white"},
    2: {"a": "at", "b": "by", "i": "in", "w": "with"},
    4: dict(
        zip(
            "z0123456789",
            "zero zero one two three four five six seven eight nine".split(),
            strict=True,
        )
    ),
    5: {"a": "again", "n": "now", "p": "please", "s": "soon"},
}
"""The GRID sentence grammar by position in a clip's six-letter code (position 3 is the
letter itself)."""


def grid_sentence(stem: str) -> str:
    """A GRID clip's sentence, from its name (bbaf2n: bin blue at f two now)."""
    code = stem[-6:]
    return " ".join(GRID_GRAMMAR[i][c] if i in GRID_GRAMMAR else c for i, c in enumerate(code))


def pyannote_sample(media: Path) -> Transcript:
    stm = media / "diarization" / "pyannote_sample.stm"
    names: dict[str, str] = {}
    lines = []
    for row in stm.read_text(encoding="utf-8").splitlines():
        parts = row.split(maxsplit=5)
        if len(parts) < 6:
            continue
        _, _, name, start, end, text = parts
        speaker = names.setdefault(name, f"S{len(names) + 1}")
        start_s, end_s = float(start), float(end)
        lines.append(
            Line(start_s, end_s, text, _words(start_s, end_s, text), speaker, "voice", 0.9)
        )
    speakers = tuple(Speaker(sid, name, None, 0.0) for name, sid in names.items())
    return Transcript("pyannote_sample.wav", 30.0, "en", speakers, tuple(lines))


def grid_swwp2s(media: Path) -> Transcript:
    align = media / "faces" / "grid" / "swwp2s.align"
    words = []
    for row in align.read_text().splitlines():
        start, end, token = row.split()
        if token != "sil":
            words.append(Word(int(start) / 25000, int(end) / 25000, " " + token, 1.0))
    text = " ".join(w.text.strip() for w in words).capitalize() + "."
    line = Line(words[0].start, words[-1].end, text, tuple(words), "S1", "lips", 0.95)
    return Transcript(
        "id2_vcd_swwp2s.mpg",
        3.0,
        "en",
        (Speaker("S1", "Speaker two", (120, 60, 90, 110), 3.0),),
        (line,),
    )


def notld(media: Path) -> list[Transcript]:
    found = []
    for ref in sorted((media / "speech" / "notld_1968").glob("*.asr_ref.txt")):
        duration = float(ref.name.split("s_", 1)[0])
        text = ref.read_text(encoding="utf-8").strip()
        sentences = [s for s in re.split(r"(?<=[.?!])\s+", text) if s]
        sentences = _join_titles(sentences)
        step = duration / len(sentences)
        lines = tuple(
            Line(
                round(i * step, 3),
                round((i + 1) * step - 0.05, 3),
                s,
                _words(i * step, (i + 1) * step - 0.05, s),
            )
            for i, s in enumerate(sentences)
        )
        name = ref.name.removesuffix(".asr_ref.txt")
        found.append(Transcript(f"notld_{name}.wav", duration, "en", (), lines))
    return found


def _join_titles(sentences: list[str]) -> list[str]:
    """Rejoin a sentence split after a title such as "Mr."."""
    joined: list[str] = []
    for sentence in sentences:
        if joined and joined[-1].endswith(("Mr.", "Mrs.", "Dr.")):
            joined[-1] += " " + sentence
        else:
            joined.append(sentence)
    return joined


def real_transcripts(media: Path) -> list[Transcript]:
    return [pyannote_sample(media), grid_swwp2s(media), *notld(media)]


def fake_sha256(transcript: Transcript, salt: str = "") -> str:
    """A stand-in for the source's content hash (these runs have no film file of their own)."""
    return hashlib.sha256((salt + transcript.source).encode()).hexdigest()


def write_run(transcript: Transcript, folder: Path, sha256: str | None = None) -> Path:
    """A finished run's folder as ``reelscribe run`` leaves it: transcript and manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = Path(transcript.source).stem
    (folder / f"{stem}.transcript.json").write_text(transcript.to_json(), encoding="utf-8")
    manifest = {
        "schema": "reelscribe.manifest/1",
        "source": {"path": transcript.source, "sha256": sha256 or fake_sha256(transcript)},
    }
    (folder / f"{stem}.manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder
