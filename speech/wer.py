"""Word error rate with one normaliser for every reference and hypothesis.

Whisper's own English normaliser (case, punctuation, spelled-out and written
numbers, British/American spellings) and jiwer for the alignment.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache


@lru_cache(maxsize=1)
def _normaliser():
    from whisper.normalizers import EnglishTextNormalizer

    return EnglishTextNormalizer()


def normalise(text: str) -> str:
    # Whisper's normaliser keeps a lone "." (decimals); a token without letter or digit is no word.
    return " ".join(t for t in _normaliser()(text).split() if any(c.isalnum() for c in t))


def wer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus WER: errors over all reference words, after normalising both sides."""
    import jiwer

    refs = [normalise(t) for t in references]
    hyps = [normalise(t) for t in hypotheses]
    pairs = [(r, h) for r, h in zip(refs, hyps, strict=True) if r]
    if not pairs:
        raise ValueError("no reference words to score against")
    return float(jiwer.wer([r for r, _ in pairs], [h for _, h in pairs]))
