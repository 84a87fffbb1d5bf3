"""The search language: what it accepts, and one clear line for what it refuses."""

from __future__ import annotations

import pytest

from restore.errors import UsageError
from sync.archive.query import Term, parse, parse_time, timecode, with_filters
from sync.archive.sqlite import fts_match


def test_words_phrases_prefixes_and_exclusions():
    query = parse('Cooper "do you LIVE here" liv* -zombie')
    assert query.groups == (
        (Term("word", "cooper"),),
        (Term("phrase", "do you live here"),),
        (Term("prefix", "liv"),),
    )
    assert query.excluded == (Term("word", "zombie"),)
    assert fts_match(query) == '"cooper" AND "do you live here" AND "liv"* NOT ("zombie")'


def test_or_joins_the_items_beside_it():
    query = parse("cooper OR judy help")
    assert query.groups == ((Term("word", "cooper"), Term("word", "judy")), (Term("word", "help"),))


def test_a_word_with_an_apostrophe_is_a_phrase_of_its_parts():
    # both backends' tokenizers split "don't" into don + t, so the query must too
    assert parse("don't").groups == ((Term("phrase", "don t"),),)


def test_filters_in_the_query():
    query = parse('speaker:"Mr. Cooper" film:notld* from:01:30 to:00:02:00.5 door')
    assert query.speaker == "Mr. Cooper"
    assert query.film == "notld*"
    assert query.start == 90.0
    assert query.end == 120.5
    assert query.groups == ((Term("word", "door"),),)


def test_filters_alone_are_a_query():
    assert parse("speaker:Diane").speaker == "Diane"


def test_options_add_filters_and_conflicts_are_refused():
    query = with_filters(parse("door"), film="notld", start="10", end="00:00:20")
    assert (query.film, query.start, query.end) == ("notld", 10.0, 20.0)
    with pytest.raises(UsageError, match="film given twice"):
        with_filters(parse("film:a door"), film="b")


def test_times():
    assert parse_time("01:02:03.250") == pytest.approx(3723.25)
    assert parse_time("2:05") == 125.0
    assert parse_time("42.5") == 42.5
    assert timecode(3723.25) == "01:02:03.250"
    assert timecode(0.0004) == "00:00:00.000"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('"do you live', "unbalanced quote"),
        ("", "empty query"),
        ("   ", "empty query"),
        ("-zombie", "not only exclusions"),
        ("OR judy", "OR needs"),
        ("cooper OR", "OR needs"),
        ("a*b", "only ends a prefix"),
        ("*", "prefix"),
        ("li*ve*", "prefix"),
        ("...", "no letters"),
        ('""', "no words"),
        ("foo:bar", "unknown filter 'foo:'"),
        ("speaker:", "needs a value"),
        ("from:1:2:3:4 door", "not a time"),
        ("from:00:01:75 door", "under 60"),
        ("from:20 to:10 door", "is empty"),
        ("film:a film:b door", "given twice"),
        ("cooper OR -judy", "cannot be part of an OR"),
        ("door -", "no letters"),
    ],
)
def test_malformed_queries_say_what_is_wrong(text, says):
    with pytest.raises(UsageError, match=says) as caught:
        parse(text)
    assert "\n" not in str(caught.value)


def test_user_text_cannot_break_out_of_an_fts_string():
    # quotes and FTS5 operators in user text end up as plain words inside quoted strings
    match = fts_match(parse('"a" NEAR(b) c^ AND d:'))
    assert match == '"a" AND "near b" AND "c" AND "and" AND "d"'
