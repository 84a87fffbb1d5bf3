from __future__ import annotations

import json

import pytest

from restore.errors import MediaError
from speech.types import Word
from sync.transcript import SCHEMA, Line, Speaker, Transcript


def test_json_round_trip_is_exact(tmp_path):
    transcript = Transcript(
        source="film.mp4",
        duration=5400.0,
        language="en",
        speakers=(Speaker("S1", "Ben", (10, 20, 100, 120), 812.4),),
        lines=(
            Line(
                12.48,
                14.9,
                "Do you live here?",
                (Word(12.48, 12.7, "Do", 0.93),),
                "S1",
                "lips",
                0.87,
            ),
            Line(20.0, 21.0, "Who?", (), None, None, None),
        ),
    )
    path = tmp_path / "t.json"
    path.write_text(transcript.to_json())
    data = json.loads(path.read_text())
    assert data["schema"] == SCHEMA == "reelscribe.transcript/1"
    assert data["lines"][1]["speaker"] is None and data["lines"][1]["evidence"] is None
    assert data["speakers"][0]["face_box"] == [10, 20, 100, 120]
    assert Transcript.load(path) == transcript


def test_a_file_that_is_not_a_transcript_is_refused(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"schema": "something/2"}')
    with pytest.raises(MediaError, match="not a readable transcript"):
        Transcript.load(path)
