"""The search language, parsed once and compiled by each backend.

    night "living dead" liv* -zombie     words, a phrase, a prefix, an exclusion
    cooper OR judy                        either word (OR binds the items beside it)
    film:notld speaker:Ben                filters (quote a value with spaces: speaker:"Mr. Cooper")
    from:00:10:00 to:00:20:00             lines that overlap a time range (HH:MM:SS.mmm, MM:SS or s)

Items are ANDed. A malformed query raises :class:`UsageError` with one line that
says what is wrong; the user's text only ever reaches a database as a bound
parameter (each backend quotes terms in its own full-text syntax).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from restore.errors import UsageError

FILTERS = ("film", "speaker", "from", "to")
_WORD = re.compile(r"\w+")
_TIME = re.compile(r"^(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d*)?)$")


@dataclass(frozen=True)
class Term:
    """One thing to find: a word, a phrase (several words in order) or a word prefix."""

    kind: str  # "word" | "phrase" | "prefix"
    text: str  # the words, lower-cased, joined by single spaces (a prefix: one word, no '*')


@dataclass(frozen=True)
class Query:
    """A parsed query: groups that must all match (each group: any of its terms)."""

    groups: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = ()
    film: str | None = None
    speaker: str | None = None
    start: float | None = None  # lines that end after this (seconds)
    end: float | None = None  # lines that start before this (seconds)

    @property
    def has_text(self) -> bool:
        return bool(self.groups)


def parse_time(value: str, what: str = "time") -> float:
    """Seconds from ``HH:MM:SS.mmm``, ``MM:SS`` or plain seconds."""
    match = _TIME.match(value.strip())
    if not match:
        raise UsageError(
            f"{what} {value!r} is not a time (expected HH:MM:SS.mmm, MM:SS or seconds)"
        )
    first, second, seconds = match.groups()
    parts = [int(p) for p in (first, second) if p is not None]
    hours, minutes = ([0] * (2 - len(parts)) + parts)[-2:]
    if len(parts) == 2 and minutes >= 60 or parts and float(seconds) >= 60:
        raise UsageError(f"{what} {value!r}: minutes and seconds must be under 60")
    return hours * 3600 + minutes * 60 + float(seconds)


def timecode(seconds: float) -> str:
    """``HH:MM:SS.mmm``."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _tokens(text: str) -> list[tuple[str, str]]:
    """Split into (kind, value): 'phrase', 'filter' (key=value), 'or', 'not', 'bare'."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char == '"':
            close = text.find('"', i + 1)
            if close < 0:
                raise UsageError(f'unbalanced quote in query {text!r}: close the phrase with "')
            tokens.append(("phrase", text[i + 1 : close]))
            i = close + 1
            continue
        if char == "-" and i + 1 < n and not text[i + 1].isspace():
            tokens.append(("not", "-"))
            i += 1
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] != '"':
            j += 1
        word = text[i:j]
        key, colon, value = word.partition(":")  # from:00:10:00 keeps its value's colons
        if colon and key.lower() in FILTERS:
            if not value and j < n and text[j] == '"':
                close = text.find('"', j + 1)
                if close < 0:
                    raise UsageError(f"unbalanced quote in query {text!r} after {word!r}")
                value, j = text[j + 1 : close], close + 1
            if not value.strip():
                raise UsageError(f"filter {key}: needs a value, e.g. {key}:{_example(key)}")
            tokens.append(("filter", f"{key.lower()}={value}"))
        elif word == "OR":
            tokens.append(("or", word))
        elif colon and re.fullmatch(r"[A-Za-z_]+", key) and value:
            known = ", ".join(f + ":" for f in FILTERS)
            raise UsageError(f"unknown filter {key + ':'!r} in query (known: {known})")
        else:
            tokens.append(("bare", word))
        i = j
    return tokens


def _example(key: str) -> str:
    return {"film": "notld", "speaker": "Ben", "from": "00:01:00", "to": "00:02:30"}[key]


def _term(kind: str, value: str) -> Term:
    if kind == "phrase":
        words = _WORD.findall(value.lower())
        if not words:
            raise UsageError(f"phrase {value!r} has no words to search for")
        return Term("phrase" if len(words) > 1 else "word", " ".join(words))
    if value.endswith("*"):
        stem = value[:-1]
        words = _WORD.findall(stem.lower())
        if len(words) != 1 or "*" in stem:
            raise UsageError(f"prefix {value!r} must be one word followed by *, e.g. liv*")
        return Term("prefix", words[0])
    if "*" in value:
        raise UsageError(f"'*' only ends a prefix, as in liv*, not {value!r}")
    words = _WORD.findall(value.lower())
    if not words:
        raise UsageError(f"{value!r} has no letters or digits to search for")
    return Term("word" if len(words) == 1 else "phrase", " ".join(words))


def parse(text: str) -> Query:
    """Parse the search language (module docstring) into a :class:`Query`."""
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    filters: dict[str, str] = {}
    negate = join = False
    for kind, value in _tokens(text):
        if kind == "filter":
            key, _, value = value.partition("=")
            if negate or join:
                raise UsageError(f"'-' and OR apply to words and phrases, not to the filter {key}:")
            if key in filters and filters[key] != value:
                raise UsageError(f"filter {key}: given twice ({filters[key]!r} and {value!r})")
            filters[key] = value
        elif kind == "not":
            if negate:
                raise UsageError("'--' in query: use one '-' before a word or phrase to exclude it")
            negate = True
        elif kind == "or":
            if not groups or join or negate:
                raise UsageError("OR needs a word or phrase on both sides, as in: cooper OR judy")
            join = True
        else:
            term = _term(kind, value)
            if negate:
                if join:
                    raise UsageError("an excluded term (-word) cannot be part of an OR")
                excluded.append(term)
            elif join:
                groups[-1].append(term)
            else:
                groups.append([term])
            negate = join = False
    if join:
        raise UsageError("OR needs a word or phrase on both sides, as in: cooper OR judy")
    if negate:
        raise UsageError("'-' at the end of the query: put it before a word to exclude")
    query = Query(groups=tuple(tuple(g) for g in groups), excluded=tuple(excluded))
    return with_filters(
        query,
        film=filters.get("film"),
        speaker=filters.get("speaker"),
        start=filters.get("from"),
        end=filters.get("to"),
    )


def with_filters(
    query: Query,
    *,
    film: str | None = None,
    speaker: str | None = None,
    start: str | float | None = None,
    end: str | float | None = None,
) -> Query:
    """Add filters (from the query text or from command-line options) and check the result."""
    updates: dict = {}
    for key, value in (("film", film), ("speaker", speaker)):
        if value is None:
            continue
        value = value.strip()
        if not value:
            raise UsageError(f"{key} filter is empty")
        current = getattr(query, key)
        if current is not None and current.lower() != value.lower():
            raise UsageError(f"{key} given twice ({current!r} and {value!r})")
        updates[key] = value
    for key, value, what in (("start", start, "from"), ("end", end, "to")):
        if value is None:
            continue
        seconds = value if isinstance(value, float | int) else parse_time(str(value), what)
        current = getattr(query, key)
        if current is not None and abs(current - seconds) > 1e-9:
            raise UsageError(f"{what} given twice ({timecode(current)} and {timecode(seconds)})")
        updates[key] = float(seconds)
    query = replace(query, **updates)
    if query.start is not None and query.end is not None and query.start >= query.end:
        raise UsageError(
            f"time range from {timecode(query.start)} to {timecode(query.end)} is empty"
        )
    if not query.groups:
        if query.excluded:
            raise UsageError("a query needs a word or phrase to find, not only exclusions")
        filters = (query.film, query.speaker, query.start, query.end)
        if all(value is None for value in filters):
            raise UsageError('empty query: give words, a "phrase", a prefix* or a filter')
    return query
