"""Both archive backends, the same tests: real transcripts in, ranked hits with context out.

The transcripts come from the real media's ground truth (tests/corpus.py): the pyannote
phone call (Diane and Sheila), a GRID sentence, the Night of the Living Dead excerpts.
PostgreSQL runs as a real server on loopback (tests/pgserver.py), never a mock.
"""

from __future__ import annotations

import multiprocessing
import time

import pytest

from sync.archive import Run, open_archive, parse, with_filters


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "archive.sqlite")
    return request.getfixturevalue("postgres_db")


def _runs(transcripts, corpus) -> list[Run]:
    return [Run(corpus.fake_sha256(t), t.source.rsplit(".", 1)[0], t, "/runs") for t in transcripts]


@pytest.fixture
def filled(db, real_transcripts, corpus) -> str:
    with open_archive(db) as archive:
        for run in _runs(real_transcripts, corpus):
            archive.add(run)
    return db


def search(db: str, text: str, **options):
    limit = options.pop("limit", 20)
    context = options.pop("context", 1)
    with open_archive(db, create=False) as archive:
        return archive.search(with_filters(parse(text), **options), limit=limit, context=context)


def test_phrase_finds_the_line_with_film_time_speaker_and_context(filled):
    hits = search(filled, '"originally from Chicago"')
    assert {(h.film, h.speaker) for h in hits} == {
        ("pyannote_sample", "Sheila"),
        ("pyannote_sample", "Diane"),
    }
    diane = next(h for h in hits if h.speaker == "Diane")
    assert diane.text == "Oh, I'm originally from Chicago also."
    assert diane.timecode == "00:00:17.789"
    assert diane.start == pytest.approx(17.789) and diane.end == pytest.approx(20.113)
    assert [c.text for c in diane.before] == ["And I'm Sheila in Texas, originally from Chicago."]
    assert [c.speaker for c in diane.before] == ["Sheila"]
    assert [c.text for c in diane.after] == ["I'm in New Jersey now though."]


def test_a_phrase_needs_its_words_in_order(filled):
    assert search(filled, '"from originally Chicago"') == []
    assert len(search(filled, "from originally Chicago")) == 2  # as words, order is free


def test_prefix(filled):
    texts = {h.text for h in search(filled, "hyster*")}
    assert texts == {
        "Reports, incredible as they seem, are not the results of mass hysteria.",
        "Mass hysteria.",
    }


def test_words_with_apostrophes_and_titles(filled):
    assert [h.text for h in search(filled, '"won\'t open"')] == [
        "You know I won't open this door again."
    ]
    assert [h.text for h in search(filled, '"Mr. Cooper"')] == ["I mean it, Mr. Cooper."]


def test_filters_by_speaker_film_and_time(filled):
    assert {h.speaker for h in search(filled, "hello")} == {"Diane", "Sheila"}
    assert {h.speaker for h in search(filled, "hello", speaker="sheila")} == {"Sheila"}
    by_id = search(filled, "hello", speaker="S1")  # the speaker's id works too
    assert {h.speaker for h in by_id} == {"Diane"}
    jersey = search(filled, "jersey")
    assert len(jersey) == 3
    late = search(filled, "jersey", start="00:00:20")
    assert sorted(h.start for h in late) == [20.173, 28.445]
    assert [h.start for h in search(filled, "jersey from:10 to:15")] == [12.542]
    assert search(filled, "know", film="notld_10s_back_down_the_road")[0].text.startswith(
        "You know a place"
    )
    assert {h.film for h in search(filled, "know film:notld*")} == {
        "notld_10s_back_down_the_road",
        "notld_15s_there_are_two_of_them_out_there",
        "notld_30s_i_wont_open_this_door_again",
    }
    assert search(filled, "know", film="no such film") == []


def test_filters_without_words_list_a_speakers_lines_in_order(filled):
    hits = search(filled, "speaker:Sheila", limit=100)
    assert len(hits) == 5
    assert [h.start for h in hits] == sorted(h.start for h in hits)


def test_or_and_exclusion(filled):
    either = {h.text for h in search(filled, "Judy OR Cooper")}
    assert either == {"I mean it, Mr. Cooper.", "Wait a minute, Judy."}
    assert {h.text for h in search(filled, "chicago -also")} == {
        "And I'm Sheila in Texas, originally from Chicago."
    }


def test_ranking_puts_the_closer_match_first(filled):
    # "I don't know. I don't know." lines repeat "know": the line saying it once in ten
    # words must rank below the short line that is nothing but it.
    hits = search(filled, "don't know", limit=50)
    assert hits[0].text == "I don't know."
    assert hits[0].score >= hits[-1].score
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_limit_and_no_context(filled):
    hits = search(filled, "i", limit=3, context=0)
    assert len(hits) == 3
    assert all(h.before == () and h.after == () for h in hits)


def test_reindexing_replaces_a_runs_lines(db, real_transcripts, corpus):
    call = real_transcripts[0]
    run = Run(corpus.fake_sha256(call), "pyannote_sample", call, "/runs")
    with open_archive(db) as archive:
        first = archive.add(run)
        again = archive.add(run)
        assert (first.replaced, again.replaced) == (0, len(call.lines))
        assert archive.count() == (1, len(call.lines))
        # a corrected transcript of the same source replaces the old lines
        renamed = type(call)(
            call.source, call.duration, call.language, call.speakers, call.lines[:3]
        )
        archive.add(Run(run.sha256, run.film, renamed, "/runs"))
        assert archive.count() == (1, 3)
        # another cut (another hash) of a film with the same name is another run
        archive.add(Run(corpus.fake_sha256(call, "cut 2"), run.film, call, "/runs"))
        assert archive.count() == (2, 3 + len(call.lines))
    assert len(search(db, '"neither did i"')) == 1
    # a film filter naming a film with two runs finds both runs' lines
    assert len(search(db, "hello", film="pyannote_sample")) == 6
    assert len({h.sha256 for h in search(db, "hello", film="pyannote_sample")}) == 2


def test_search_of_a_missing_archive_is_one_clear_error(tmp_path):
    from restore.errors import MediaError

    with pytest.raises(MediaError, match="no such archive"):
        open_archive(str(tmp_path / "none.sqlite"), create=False)
    (tmp_path / "junk.sqlite").write_text("not a database " * 100)
    with pytest.raises(MediaError, match="not a reelscribe archive"):
        open_archive(str(tmp_path / "junk.sqlite"))


def _reindex_forever(db: str, run: Run, rounds: int, done) -> None:
    with open_archive(db) as archive:
        for _ in range(rounds):
            archive.add(run)
    done.set()


def test_indexing_while_another_process_searches(db, real_transcripts, corpus):
    """Every search sees one copy of the film's lines: never none, never two."""
    call = real_transcripts[0]
    run = Run(corpus.fake_sha256(call), "pyannote_sample", call, "/runs")
    with open_archive(db) as archive:
        archive.add(run)
    context = multiprocessing.get_context("spawn")
    done = context.Event()
    writer = context.Process(target=_reindex_forever, args=(db, run, 40, done))
    writer.start()
    seen, searches = set(), 0
    deadline = time.monotonic() + 60
    with open_archive(db, create=False) as archive:
        query = parse("speaker:Diane")
        while not done.is_set() and time.monotonic() < deadline:
            seen.add(len(archive.search(query, limit=100, context=1)))
            searches += 1
    writer.join(30)
    assert writer.exitcode == 0
    assert searches > 5
    assert seen == {8}  # Diane's 8 lines, every time


def test_a_film_filter_naming_many_runs(filled, monkeypatch):
    import sync.archive.postgres

    # PostgreSQL reads a few runs' lines by index and filters many runs in the text search
    monkeypatch.setattr(sync.archive.postgres, "_FEW_RUNS", 0)
    assert {h.film for h in search(filled, "know film:notld*")} == {
        "notld_10s_back_down_the_road",
        "notld_15s_there_are_two_of_them_out_there",
        "notld_30s_i_wont_open_this_door_again",
    }
    assert len(search(filled, "film:notld*", limit=1000)) == 41


def test_a_speaker_filter_over_many_lines(filled, monkeypatch):
    import sync.archive.postgres

    # PostgreSQL reads a speaker's few lines by index, and filters many in the text search
    monkeypatch.setattr(sync.archive.postgres, "_FEW_LINES", 0)
    assert {h.speaker for h in search(filled, "hello", speaker="sheila")} == {"Sheila"}
    assert len(search(filled, "speaker:Diane", limit=100)) == 8


def test_a_failed_reindex_leaves_the_old_lines(db, real_transcripts, corpus):
    """Re-indexing is one transaction: if it fails half-way, the earlier lines stay whole."""
    from restore.errors import OutputError

    call = real_transcripts[0]
    run = Run(corpus.fake_sha256(call), "pyannote_sample", call, "/runs")
    broken_line = type(call.lines[0])(40.0, 41.0, None, ())  # no text: the insert fails
    broken = type(call)(
        call.source, call.duration, call.language, call.speakers, call.lines[:5] + (broken_line,)
    )
    with open_archive(db) as archive:
        archive.add(run)
        with pytest.raises(OutputError, match="(?i)cannot index pyannote_sample .*null"):
            archive.add(Run(run.sha256, run.film, broken, "/runs"))
        assert archive.count() == (1, len(call.lines))
    assert len(search(db, '"neither did i"')) == 1
