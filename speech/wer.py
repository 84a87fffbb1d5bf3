"""Word error rate with one normaliser for every reference and hypothesis.

Whisper's own English normaliser (case, punctuation, spelled-out and written
numbers, British/American spellings) and jiwer for the alignment. On top of it,
digits said one by one score the same however they are written: Whisper's
normaliser reads "oh four" and "zero four" as one token "04" but "O4" as
"0 4", and drops the zero of a written "04"; "C.2" kept its dot. Homophones
are not forms: "to" or "too" for the digit two and "be" or "bee" for the
letter B are other words, and score as errors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

_LETTER_DOT_DIGIT = re.compile(r"\b([A-Za-z])\.(?=\d)")
"""'C.2' is the letter and the digit, as 'C2' and 'C-2' are."""
_LEADING_ZERO = re.compile(r"\b0\d+\b")
"""Digits written with a leading zero ('04', '007') are said one by one."""


@lru_cache(maxsize=1)
def _normaliser():
    from whisper.normalizers import EnglishTextNormalizer

    return EnglishTextNormalizer()


def normalise(text: str) -> str:
    text = _LETTER_DOT_DIGIT.sub(r"\1 ", text)
    text = _LEADING_ZERO.sub(lambda m: " ".join(m.group()), text)
    words: list[str] = []
    for token in _normaliser()(text).split():
        if not any(c.isalnum() for c in token):
            continue  # Whisper's normaliser keeps a lone "." (decimals): no word
        if len(token) > 1 and token.isdigit() and token[0] == "0":
            words.extend(token)  # "oh four" / "zero four" -> "04": the digits one by one
        else:
            words.append(token)
    return " ".join(words)


def wer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus WER: errors over all reference words, after normalising both sides."""
    import jiwer

    refs = [normalise(t) for t in references]
    hyps = [normalise(t) for t in hypotheses]
    pairs = [(r, h) for r, h in zip(refs, hyps, strict=True) if r]
    if not pairs:
        raise ValueError("no reference words to score against")
    return float(jiwer.wer([r for r, _ in pairs], [h for _, h in pairs]))
