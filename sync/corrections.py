"""Edits after a run: names for the characters, and a caption editor's corrected subtitles.

Both change the transcript only, then ``sync.subtitles.republish`` re-renders every
subtitle format and swaps the master's subtitle streams (stream copy).
"""

from __future__ import annotations

import bisect
import difflib
import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from restore.errors import MediaError, UsageError
from speech.types import Word
from sync.subtitles import RunFolder, republish
from sync.transcript import Line, Transcript

_WORD_CHARS = re.compile(r"[\w']+")
CHUNK_CUES = 50


# -- names --------------------------------------------------------------------------------------
def parse_speakers(data: object) -> dict[str, str]:
    """Speaker id -> name from an edited speakers file, already parsed from JSON or TOML:
    ``{"S1": "Ben"}``, or a list of ``{"id", "name"}`` (alone, or under "speakers",
    "speaker", "characters" or "character", as in a transcript or a faces file)."""
    if isinstance(data, Mapping):
        for key in ("speakers", "speaker", "characters", "character"):
            if isinstance(data.get(key), list):
                return parse_speakers(data[key])
        if all(isinstance(v, str) for v in data.values()):
            return {str(k): v for k, v in data.items()}
    if isinstance(data, list) and all(isinstance(s, Mapping) and "id" in s for s in data):
        return {str(s["id"]): str(s.get("name") or s["id"]) for s in data}
    raise UsageError(
        'a speakers file maps ids to names ({"S1": "Ben"}, or S1 = "Ben" in TOML), or lists '
        "speakers with id and name"
    )


def renamed(transcript: Transcript, names: Mapping[str, str]) -> Transcript:
    """The transcript with speakers renamed; a key may be an id or a current name."""
    by_key = {s.id: s.id for s in transcript.speakers}
    by_key.update({s.name: s.id for s in transcript.speakers if s.name not in by_key})
    new = {}
    for key, name in names.items():
        if key not in by_key:
            known = ", ".join(f"{s.id} ({s.name})" for s in transcript.speakers) or "none"
            raise UsageError(f"no speaker {key!r} in this run; its speakers: {known}")
        name = " ".join(str(name).split())
        if not name:
            raise UsageError(f"an empty name for {key!r}: give the character a name")
        new[by_key[key]] = name
    speakers = tuple(replace(s, name=new.get(s.id, s.name)) for s in transcript.speakers)
    return replace(transcript, speakers=speakers)


def rename(folder: str | Path, names: Mapping[str, str]) -> dict[str, Path]:
    """Name characters in a finished run: transcript, subtitle files and master streams."""
    run = RunFolder.open(folder)
    transcript = renamed(run.transcript(), names)
    return republish(run, transcript, "rename")


# -- corrected subtitles ------------------------------------------------------------------------
@dataclass(frozen=True)
class CorrectedCue:
    start: float
    end: float
    words: tuple[str, ...]


def read_corrected(path: str | Path, transcript: Transcript) -> list[CorrectedCue]:
    """The cues of a corrected SRT or WebVTT, without the labels the writers added."""
    import pysubs2

    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("srt", "vtt"):
        raise UsageError(f"{path}: import-subs reads SRT or WebVTT (.srt, .vtt)")
    try:
        subs = pysubs2.load(str(path), encoding="utf-8", format_=kind)
    except FileNotFoundError as error:
        raise MediaError(path, "does not exist") from error
    except (OSError, UnicodeDecodeError, pysubs2.exceptions.Pysubs2Error, ValueError) as error:
        raise MediaError(path, f"is not a readable {kind.upper()} file: {error}") from error
    labels = {_label(s.name) for s in transcript.speakers} | {s.id for s in transcript.speakers}
    labels |= {_label(re.sub(r"<[^>]*>", "", s.name)) for s in transcript.speakers}  # SRT tags
    cues = []
    for event in subs:
        if event.is_comment:
            continue
        words: list[str] = []
        for line in event.plaintext.splitlines():
            if kind == "vtt":
                line = html.unescape(line)
            line = line.strip()
            if line.startswith("- ") or line == "-":
                line = line[1:].strip()
            label, colon, rest = line.partition(": ")
            if colon and _label(label) in labels:
                line = rest
            words += line.split()
        if words:
            cues.append(CorrectedCue(event.start / 1000, event.end / 1000, tuple(words)))
    if not cues:
        raise MediaError(path, "has no cues with text")
    cues.sort(key=lambda c: c.start)
    return cues


def _label(name: str) -> str:
    return " ".join(name.upper().split())


def _norm(text: str) -> str:
    return "".join(_WORD_CHARS.findall(text.lower()))


def corrected(transcript: Transcript, cues: Sequence[CorrectedCue]) -> Transcript:
    """The transcript carrying the corrected words and times.

    The corrected words are aligned to the old ones (difflib). A kept or one-for-one
    corrected word keeps its time, clipped into its cue, and its line (so its speaker);
    new words are spread evenly between their neighbours within the cue; dropped words go."""
    old: list[tuple[int, Word]] = sorted(
        ((i, w) for i, line in enumerate(transcript.lines) for w in line.words),
        key=lambda pair: pair[1].start,
    )
    new: list[tuple[int, str]] = [(c, text) for c, cue in enumerate(cues) for text in cue.words]
    anchor: list[tuple[int, Word] | None] = [None] * len(new)
    for (o1, o2), (n1, n2) in _chunks(old, new, cues):
        matcher = difflib.SequenceMatcher(
            None,
            [_norm(w.text) for _, w in old[o1:o2]],
            [_norm(t) for _, t in new[n1:n2]],
            autojunk=False,
        )
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal" or (op == "replace" and i2 - i1 == j2 - j1):
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                    anchor[n1 + j] = old[o1 + i]
    lines: dict[int, list[Word]] = {}
    extra: dict[int, list[Word]] = {}  # cues with no old word: new lines
    by_cue: dict[int, list[int]] = {}
    for j, (c, _) in enumerate(new):
        by_cue.setdefault(c, []).append(j)
    for c, cue in enumerate(cues):
        members = by_cue.get(c, [])
        times = _times(cue, [anchor[j][1] if anchor[j] else None for j in members])
        owners = [anchor[j][0] if anchor[j] else None for j in members]
        known = [o for o in owners if o is not None]
        for k, j in enumerate(members):
            owner = owners[k]
            if owner is None:
                before = [o for o in owners[:k] if o is not None]
                owner = before[-1] if before else (known[0] if known else None)
            if owner is None:
                owner = _overlapping(transcript.lines, cue)
            start, end = times[k]
            kept = anchor[j] is not None and _norm(anchor[j][1].text) == _norm(new[j][1])
            prob = anchor[j][1].prob if kept else 1.0  # a person's correction is certain
            word = Word(round(start, 3), round(end, 3), new[j][1], prob)
            (lines if owner is not None else extra).setdefault(
                owner if owner is not None else -1 - c, []
            ).append(word)
    out: list[Line] = []
    for index, words in lines.items():
        base = transcript.lines[index]
        words.sort(key=lambda w: w.start)
        out.append(
            replace(
                base,
                start=words[0].start,
                end=max(w.end for w in words),
                text=" ".join(w.text for w in words),
                words=tuple(words),
            )
        )
    for words in extra.values():
        out.append(
            Line(words[0].start, words[-1].end, " ".join(w.text for w in words), tuple(words))
        )
    out.sort(key=lambda line: line.start)
    return replace(transcript, lines=tuple(out))


def _chunks(
    old: Sequence[tuple[int, Word]],
    new: Sequence[tuple[int, str]],
    cues: Sequence[CorrectedCue],
    size: int = CHUNK_CUES,
) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Old and new words cut into stretches of ``size`` cues, at the middle of the pause
    between two cues: difflib's time grows with the square of what it compares."""
    bounds = [(cues[k - 1].end + cues[k].start) / 2 for k in range(size, len(cues), size)]
    middles = [(w.start + w.end) / 2 for _, w in old]
    cue_of = [c for c, _ in new]
    out = []
    o1 = n1 = 0
    for k, bound in enumerate([*bounds, math.inf]):
        o2 = bisect.bisect_left(middles, bound) if bound != math.inf else len(old)
        last_cue = min((k + 1) * size, len(cues))
        n2 = bisect.bisect_left(cue_of, last_cue, lo=n1)
        out.append(((o1, max(o1, o2)), (n1, n2)))
        o1, n1 = max(o1, o2), n2
    return out


def _times(cue: CorrectedCue, anchored: Sequence[Word | None]) -> list[tuple[float, float]]:
    """Word times inside the cue: anchored words keep theirs (clipped), the rest share the gaps."""
    lo, hi = cue.start, max(cue.end, cue.start)
    clip = lambda t: min(max(t, lo), hi)  # noqa: E731
    times: list[tuple[float, float] | None] = [
        (clip(w.start), clip(w.end)) if w is not None else None for w in anchored
    ]
    # keep anchors in order (an editor may have moved a word)
    floor = lo
    for k, t in enumerate(times):
        if t is not None:
            start = max(t[0], floor)
            times[k] = (start, max(t[1], start))
            floor = times[k][1]
    k = 0
    while k < len(times):
        if times[k] is not None:
            k += 1
            continue
        run_end = k
        while run_end < len(times) and times[run_end] is None:
            run_end += 1
        left = times[k - 1][1] if k > 0 else lo
        right = times[run_end][0] if run_end < len(times) else hi
        right = max(right, left)
        step = (right - left) / (run_end - k)
        for n in range(k, run_end):
            times[n] = (left + (n - k) * step, left + (n - k + 1) * step)
        k = run_end
    return [t for t in times if t is not None]


def _overlapping(lines: Sequence[Line], cue: CorrectedCue) -> int | None:
    best, best_overlap = None, 0.0
    for i, line in enumerate(lines):
        overlap = min(line.end, cue.end) - max(line.start, cue.start)
        if overlap > best_overlap:
            best, best_overlap = i, overlap
    return best


def import_subs(folder: str | Path, subtitles: str | Path) -> dict[str, Path]:
    """Carry a caption editor's corrected SRT/VTT into a finished run."""
    run = RunFolder.open(folder)
    transcript = run.transcript()
    cues = read_corrected(subtitles, transcript)
    return republish(run, corrected(transcript, cues), "import-subs")
