"""The research corpus: a run's transcript in the formats linguists' tools read.

    csv      FILM.lines.csv and FILM.words.csv: one row per line, one row per word
    parquet  FILM.lines.parquet and FILM.words.parquet (pyarrow), same columns
    json     FILM.corpus.json: {"lines": [...], "words": [...]} records, same columns
    eaf      FILM.eaf: ELAN, one tier per character (plus "unattributed"), times in ms
    textgrid FILM.TextGrid: Praat, a line tier and a word tier per character

Every file is written to a temporary name beside it and renamed when complete.
pandas, pyarrow, pympi and praatio are imported only by the format that needs them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from restore.errors import MediaError, OutputError, UsageError
from restore.master import atomic_path
from sync.transcript import Line, Transcript

log = logging.getLogger(__name__)

UNATTRIBUTED = "unattributed"
LINE_COLUMNS = (
    "film",
    "line",
    "start",
    "end",
    "speaker_id",
    "speaker",
    "evidence",
    "confidence",
    "text",
)
WORD_COLUMNS = ("film", "line", "word", "start", "end", "speaker_id", "speaker", "text", "prob")


def tables(transcript: Transcript, film: str):
    """(lines, words) as pandas DataFrames: one row per line and one per word."""
    import pandas as pd

    lines, words = [], []
    for n, line in enumerate(transcript.lines):
        name = transcript.speaker_name(line.speaker)
        lines.append(
            (film, n, line.start, line.end, line.speaker, name, line.evidence, line.confidence)
            + (line.text,)
        )
        for k, word in enumerate(line.words):
            text = word.text.strip()
            words.append((film, n, k, word.start, word.end, line.speaker, name, text, word.prob))
    lines_frame = pd.DataFrame(lines, columns=list(LINE_COLUMNS))
    words_frame = pd.DataFrame(words, columns=list(WORD_COLUMNS))
    for frame in (lines_frame, words_frame):
        for column in ("speaker_id", "speaker", "text") + (
            ("evidence",) if "evidence" in frame else ()
        ):
            frame[column] = frame[column].astype("string")
    lines_frame["confidence"] = lines_frame["confidence"].astype("float64")
    return lines_frame, words_frame


def _tier_name(transcript: Transcript, speaker: str | None) -> str:
    return transcript.speaker_name(speaker) if speaker else UNATTRIBUTED


def _by_tier(transcript: Transcript) -> dict[str, list[Line]]:
    tiers: dict[str, list[Line]] = {}
    for speaker in transcript.speakers:
        tiers.setdefault(speaker.name, [])
    for line in transcript.lines:
        tiers.setdefault(_tier_name(transcript, line.speaker), []).append(line)
    return tiers


def _csv(transcript: Transcript, film: str, out: Path) -> list[Path]:
    lines, words = tables(transcript, film)
    paths = [out / f"{film}.lines.csv", out / f"{film}.words.csv"]
    for frame, path in zip((lines, words), paths, strict=True):
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False)
    return paths


def _parquet(transcript: Transcript, film: str, out: Path) -> list[Path]:
    lines, words = tables(transcript, film)
    paths = [out / f"{film}.lines.parquet", out / f"{film}.words.parquet"]
    for frame, path in zip((lines, words), paths, strict=True):
        with atomic_path(path) as tmp:
            frame.to_parquet(tmp, engine="pyarrow", index=False)
    return paths


def _json(transcript: Transcript, film: str, out: Path) -> list[Path]:
    import json

    lines, words = tables(transcript, film)
    path = out / f"{film}.corpus.json"

    def records(frame) -> list[dict]:
        # pandas writes missing values as null (not NaN, which is not JSON)
        return json.loads(frame.to_json(orient="records", double_precision=15))

    body = {
        "schema": "reelscribe.corpus/1",
        "film": film,
        "source": transcript.source,
        "language": transcript.language,
        "lines": records(lines),
        "words": records(words),
    }
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(body, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return [path]


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _eaf(transcript: Transcript, film: str, out: Path) -> list[Path]:
    from pympi.Elan import Eaf

    eaf = Eaf(author="reelscribe")
    eaf.remove_tier("default")  # pympi starts every document with an empty tier
    eaf.add_linked_file(transcript.source, relpath=transcript.source)
    for tier, lines in _by_tier(transcript).items():
        eaf.add_tier(tier)
        last = 0
        for line in lines:
            start = max(_ms(line.start), last)  # a tier's annotations cannot overlap
            end = max(_ms(line.end), start + 1)  # nor be empty
            eaf.add_annotation(tier, start, end, line.text)
            last = end
    path = out / f"{film}.eaf"
    with atomic_path(path) as tmp:
        eaf.to_file(str(tmp))
    return [path]


def _textgrid(transcript: Transcript, film: str, out: Path) -> list[Path]:
    from praatio import textgrid

    end_time = max([transcript.duration] + [line.end for line in transcript.lines])
    grid = textgrid.Textgrid(minTimestamp=0.0, maxTimestamp=end_time)

    def entries(spans) -> list[tuple[float, float, str]]:
        kept, last = [], 0.0
        for start, end, text in spans:
            start = max(start, last)  # intervals in a tier cannot overlap
            if end - start < 1e-4 or not text:
                continue
            kept.append((start, end, text))
            last = end
        return kept

    for tier, lines in _by_tier(transcript).items():
        line_spans = [(line.start, line.end, line.text) for line in lines]
        word_spans = [(w.start, w.end, w.text.strip()) for line in lines for w in line.words]
        for name, spans in ((tier, line_spans), (f"{tier} words", word_spans)):
            grid.addTier(textgrid.IntervalTier(name, entries(spans), 0.0, end_time))
    path = out / f"{film}.TextGrid"
    with atomic_path(path) as tmp:
        grid.save(str(tmp), format="long_textgrid", includeBlankSpaces=True)
    return [path]


FORMATS: dict[str, Callable[[Transcript, str, Path], list[Path]]] = {
    "csv": _csv,
    "parquet": _parquet,
    "json": _json,
    "eaf": _eaf,
    "textgrid": _textgrid,
}


def find_transcript(path: str | Path) -> Path:
    """The ``*.transcript.json`` of a finished run's folder (or the file itself)."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise MediaError(path, "does not exist")
    found = [p for p in sorted(path.glob("*.transcript.json")) if not p.name.startswith(".")]
    if not found:
        raise MediaError(path, "has no *.transcript.json", "is it a finished run's folder?")
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise MediaError(path, f"holds several transcripts ({names})", "name one of them")
    return found[0]


def film_name(transcript_path: Path, transcript: Transcript) -> str:
    """The film's name: the source's stem (``notld.mp4`` -> ``notld``)."""
    return Path(transcript.source).stem or transcript_path.name.removesuffix(".transcript.json")


def export(transcript: Transcript, film: str, fmt: str, out: str | Path) -> list[Path]:
    """Write ``transcript`` as ``fmt`` into folder ``out``; returns the files written."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    out = Path(out)
    if not out.is_dir():
        raise OutputError(f"cannot export to {out}: no such folder")
    try:
        return FORMATS[fmt](transcript, film, out)
    except OSError as error:
        raise OutputError(f"cannot write the {fmt} export in {out}: {error}") from error
