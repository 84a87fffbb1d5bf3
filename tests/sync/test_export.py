"""Corpus exports round-trip: parsed back by pandas, pyarrow, pympi (ELAN) and praatio (Praat).

The transcript is the real pyannote phone call (Diane and Sheila) from its ground truth,
plus a line nobody was attributed.
"""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from restore.errors import OutputError, UsageError
from sync.export import export
from sync.transcript import Line, Transcript


@pytest.fixture
def call(corpus, media) -> Transcript:
    transcript = corpus.pyannote_sample(media)
    unattributed = Line(29.99, 30.0, "(laughs)", (), None, None, None)
    return Transcript(
        transcript.source,
        transcript.duration,
        transcript.language,
        transcript.speakers,
        transcript.lines + (unattributed,),
    )


def _expected_lines(call: Transcript) -> list[tuple]:
    return [(call.speaker_name(x.speaker), x.start, x.end, x.text) for x in call.lines]


def _expected_words(call: Transcript) -> list[tuple]:
    return [
        (call.speaker_name(x.speaker), w.start, w.end, w.text.strip())
        for x in call.lines
        for w in x.words
    ]


def _same(got: list[tuple], want: list[tuple], tolerance: float = 1e-9) -> None:
    """Same speakers and texts in the same order, times within ``tolerance`` seconds."""
    assert [(g[0], g[3]) for g in got] == [(w[0], w[3]) for w in want]
    for g, w in zip(got, want, strict=True):
        assert abs(g[1] - w[1]) <= tolerance and abs(g[2] - w[2]) <= tolerance, (g, w)


def _check_frames(lines: pd.DataFrame, words: pd.DataFrame, call: Transcript) -> None:
    got = [
        (None if pd.isna(r.speaker) else r.speaker, r.start, r.end, r.text)
        for r in lines.itertuples()
    ]
    _same(got, _expected_lines(call))
    assert list(lines["line"]) == list(range(len(call.lines)))
    _same([(r.speaker, r.start, r.end, r.text) for r in words.itertuples()], _expected_words(call))
    assert len(words) == sum(len(x.words) for x in call.lines)


def test_csv(call, tmp_path):
    paths = export(call, "call", "csv", tmp_path)
    assert [p.name for p in paths] == ["call.lines.csv", "call.words.csv"]
    lines = pd.read_csv(paths[0], keep_default_na=False, na_values=[""])
    lines["speaker"] = lines["speaker"].astype(object).where(lines["speaker"].notna(), None)
    _check_frames(lines, pd.read_csv(paths[1]), call)
    assert lines.loc[0, "speaker_id"] == "S1" and lines.loc[0, "evidence"] == "voice"


def test_parquet(call, tmp_path):
    paths = export(call, "call", "parquet", tmp_path)
    lines = pq.read_table(paths[0]).to_pandas()
    lines["speaker"] = lines["speaker"].astype(object).where(lines["speaker"].notna(), None)
    _check_frames(lines, pq.read_table(paths[1]).to_pandas(), call)
    assert str(pq.read_schema(paths[0]).field("start").type) == "double"


def test_json(call, tmp_path):
    (path,) = export(call, "call", "json", tmp_path)
    body = json.loads(path.read_text())
    lines = pd.DataFrame(body["lines"])
    lines["speaker"] = lines["speaker"].astype(object).where(lines["speaker"].notna(), None)
    _check_frames(lines, pd.DataFrame(body["words"]), call)
    assert body["lines"][-1]["speaker"] is None and body["lines"][-1]["confidence"] is None


def test_elan_has_one_tier_per_character(call, tmp_path):
    from pympi.Elan import Eaf

    (path,) = export(call, "call", "eaf", tmp_path)
    eaf = Eaf(str(path))
    assert sorted(eaf.get_tier_names()) == ["Diane", "Sheila", "unattributed"]
    got = sorted(
        (tier, start / 1000, end / 1000, text)
        for tier in eaf.get_tier_names()
        for start, end, text in eaf.get_annotation_data_for_tier(tier)
    )
    want = sorted((name or "unattributed", s, e, t) for name, s, e, t in _expected_lines(call))
    _same(got, want, tolerance=0.0005)  # ELAN counts milliseconds


def test_praat_textgrid_has_line_and_word_tiers(call, tmp_path):
    from praatio import textgrid

    (path,) = export(call, "call", "textgrid", tmp_path)
    grid = textgrid.openTextgrid(str(path), includeEmptyIntervals=False)
    assert sorted(grid.tierNames) == sorted(
        ["Diane", "Diane words", "Sheila", "Sheila words", "unattributed", "unattributed words"]
    )
    got = sorted(
        (tier, e.start, e.end, e.label)
        for tier in ("Diane", "Sheila", "unattributed")
        for e in grid.getTier(tier).entries
    )
    want = sorted((name or "unattributed", s, e, t) for name, s, e, t in _expected_lines(call))
    _same(got, want, tolerance=1e-6)
    words = sorted(
        (tier.removesuffix(" words"), e.start, e.end, e.label)
        for tier in ("Diane words", "Sheila words")
        for e in grid.getTier(tier).entries
    )
    _same(words, sorted(_expected_words(call)), tolerance=1e-6)


def test_bad_format_or_folder(call, tmp_path):
    with pytest.raises(UsageError, match="unknown export format"):
        export(call, "call", "docx", tmp_path)
    with pytest.raises(OutputError, match="no such folder"):
        export(call, "call", "csv", tmp_path / "missing")
    assert list(tmp_path.iterdir()) == []
