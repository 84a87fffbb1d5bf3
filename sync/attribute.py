"""Who says each line. Until the faces stage lands, lines come straight from speech segments
and nobody is attributed (speaker and evidence null): no guess is ever written."""

from __future__ import annotations

from collections.abc import Sequence

from speech.types import Segment
from sync.transcript import Line


def lines_from_segments(segments: Sequence[Segment]) -> tuple[Line, ...]:
    return tuple(
        Line(start=s.start, end=s.end, text=s.text, words=s.words, speaker=None, evidence=None)
        for s in segments
    )
