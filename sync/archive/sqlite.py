"""The embedded archive: one SQLite file with an FTS5 index (nothing to start).

WAL journal, so searches read a consistent snapshot while another process
indexes; a re-index deletes and inserts a run's lines in one ``BEGIN IMMEDIATE``
transaction. Queries are bound parameters; the user's words reach FTS5 only as
double-quoted strings inside the bound MATCH expression.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from restore.errors import MediaError, OutputError
from sync.archive.base import Archive, Hit, Indexed, Run, speaker_names
from sync.archive.query import Query, Term

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    sha256   TEXT PRIMARY KEY,
    film     TEXT NOT NULL,
    source   TEXT NOT NULL,
    folder   TEXT NOT NULL,
    language TEXT,
    duration REAL,
    indexed  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lines (
    id         INTEGER PRIMARY KEY,
    sha256     TEXT NOT NULL REFERENCES runs(sha256),
    n          INTEGER NOT NULL,
    start      REAL NOT NULL,
    "end"      REAL NOT NULL,
    speaker_id TEXT,
    speaker    TEXT,
    text       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lines_by_run ON lines (sha256, n);
CREATE INDEX IF NOT EXISTS lines_by_speaker ON lines (speaker COLLATE NOCASE, sha256);
CREATE INDEX IF NOT EXISTS lines_by_speaker_id ON lines (speaker_id, sha256);
CREATE VIRTUAL TABLE IF NOT EXISTS lines_fts USING fts5(
    text, content='lines', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2', prefix='2 3'
);
"""


def _fts_term(term: Term) -> str:
    quoted = '"' + term.text.replace('"', '""') + '"'
    return quoted + "*" if term.kind == "prefix" else quoted


def fts_match(query: Query) -> str:
    """The FTS5 MATCH expression for a parsed query (bound as a parameter, never spliced)."""
    groups = []
    for group in query.groups:
        terms = [_fts_term(t) for t in group]
        groups.append(terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")")
    expression = " AND ".join(groups)
    if query.excluded:
        expression += " NOT (" + " OR ".join(_fts_term(t) for t in query.excluded) + ")"
    return expression


def _filters(query: Query) -> tuple[list[str], list]:
    where: list[str] = []
    params: list = []
    if query.film is not None:
        if query.film.endswith("*"):
            pattern = query.film[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("(r.film LIKE ? ESCAPE '\\' OR r.source LIKE ? ESCAPE '\\')")
            params += [pattern + "%", pattern + "%"]
        else:
            where.append("(r.film = ? COLLATE NOCASE OR r.source = ? COLLATE NOCASE)")
            params += [query.film, query.film]
    if query.speaker is not None:
        where.append("(l.speaker = ? COLLATE NOCASE OR l.speaker_id = ?)")
        params += [query.speaker, query.speaker]
    if query.start is not None:
        where.append('l."end" > ?')
        params.append(query.start)
    if query.end is not None:
        where.append("l.start < ?")
        params.append(query.end)
    return where, params


class SqliteArchive(Archive):
    """An archive in one SQLite file."""

    def __init__(self, path: str | Path, create: bool = True) -> None:
        self.path = Path(path)
        if not self.path.exists():
            if not create:
                raise MediaError(self.path, "no such archive", "index finished runs into it first")
            if not self.path.parent.is_dir():
                raise OutputError(
                    f"cannot create archive {self.path}: no folder {self.path.parent}"
                )
        try:
            self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self.db.execute("PRAGMA busy_timeout = 60000")
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if create:  # WAL stays set in the file: searchers read it without asking
                self.db.execute("PRAGMA journal_mode = WAL")
                self.db.execute("PRAGMA synchronous = NORMAL")
            if version != SCHEMA_VERSION:
                self._create(create)
        except sqlite3.DatabaseError as error:
            raise MediaError(self.path, f"is not a reelscribe archive ({error})") from error

    def _create(self, create: bool) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0 and not create:
                raise MediaError(self.path, "is not a reelscribe archive (it is empty)")
            if version == 0:
                tables = self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if tables:
                    raise MediaError(self.path, "is an SQLite file but not a reelscribe archive")
                for statement in _SCHEMA.split(";"):  # executescript would commit first
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION:
                raise MediaError(
                    self.path, f"is an archive of schema {version}, not {SCHEMA_VERSION}"
                )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def add(self, run: Run) -> Indexed:
        try:
            return self._add(run)
        except sqlite3.Error as error:
            raise OutputError(f"cannot index {run.film} into {self.path}: {error}") from error

    def _add(self, run: Run) -> Indexed:
        names = speaker_names(run.transcript)
        rows = [
            (
                run.sha256,
                n,
                line.start,
                line.end,
                line.speaker,
                names.get(line.speaker, line.speaker),
                line.text,
            )
            for n, line in enumerate(run.transcript.lines)
        ]
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            replaced = db.execute(
                "SELECT count(*) FROM lines WHERE sha256 = ?", (run.sha256,)
            ).fetchone()[0]
            if replaced:
                db.execute(
                    "INSERT INTO lines_fts (lines_fts, rowid, text) "
                    "SELECT 'delete', id, text FROM lines WHERE sha256 = ?",
                    (run.sha256,),
                )
                db.execute("DELETE FROM lines WHERE sha256 = ?", (run.sha256,))
            db.execute(
                "INSERT OR REPLACE INTO runs "
                "(sha256, film, source, folder, language, duration, indexed) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run.sha256,
                    run.film,
                    run.transcript.source,
                    run.folder,
                    run.transcript.language,
                    run.transcript.duration,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                ),
            )
            db.executemany(
                'INSERT INTO lines (sha256, n, start, "end", speaker_id, speaker, text) '
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            db.execute(
                "INSERT INTO lines_fts (rowid, text) SELECT id, text FROM lines WHERE sha256 = ?",
                (run.sha256,),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return Indexed(film=run.film, sha256=run.sha256, lines=len(rows), replaced=replaced)

    def search(self, query: Query, limit: int = 20, context: int = 1) -> list[Hit]:
        try:
            self.db.execute("BEGIN")  # one snapshot for the hits and their context
            try:
                return self._search(query, limit, context)
            finally:
                self.db.execute("COMMIT")
        except sqlite3.OperationalError as error:
            raise MediaError(self.path, f"search failed: {error}") from error

    def _search(self, query: Query, limit: int, context: int) -> list[Hit]:
        where, params = _filters(query)
        columns = 'l.sha256, l.n, l.start, l."end", l.speaker, l.text, r.film, r.source'
        if query.has_text and not where:
            # rank in the FTS index alone, then fetch the few best lines: a common phrase
            # matches thousands of lines, and joining them all before the sort costs more
            sql = (
                f"SELECT {columns}, f.score FROM (SELECT rowid, -bm25(lines_fts) AS score "
                "FROM lines_fts WHERE lines_fts MATCH ? ORDER BY score DESC LIMIT ?) f "
                "JOIN lines l ON l.id = f.rowid JOIN runs r ON r.sha256 = l.sha256 "
                "ORDER BY f.score DESC, r.film, l.start"
            )
            params = [fts_match(query), limit]
        elif query.has_text:
            span = self._film_span(query)
            if span is not None:  # lets FTS5 skip every other run's part of the index
                where.append("lines_fts.rowid BETWEEN ? AND ?")
                params += list(span)
            sql = (
                f"SELECT {columns}, -bm25(lines_fts) AS score FROM lines_fts "
                "JOIN lines l ON l.id = lines_fts.rowid JOIN runs r ON r.sha256 = l.sha256 "
                "WHERE lines_fts MATCH ?" + "".join(f" AND {w}" for w in where) + " "
                "ORDER BY score DESC, r.film, l.start LIMIT ?"
            )
            params = [fts_match(query), *params, limit]
        else:
            sql = (
                f"SELECT {columns}, 0.0 AS score FROM lines l JOIN runs r ON r.sha256 = l.sha256"
                + (" WHERE " + " AND ".join(where) if where else "")
                + " ORDER BY r.film, l.start LIMIT ?"
            )
            params = [*params, limit]
        rows = self.db.execute(sql, params).fetchall()
        return [self._hit(row, context) for row in rows]

    def _film_span(self, query: Query) -> tuple[int, int] | None:
        """The first and last line id of the one run the filters allow, if only one can match.

        A film filter names runs; a speaker's name is usually a single film's. A run's lines
        are inserted in one transaction, so their ids are contiguous; the filters stay in the
        query, so this only narrows the index scan, never decides what matches.
        """
        runs: set[str] | None = None
        if query.film is not None and not query.film.endswith("*"):
            runs = {
                row[0]
                for row in self.db.execute(
                    "SELECT sha256 FROM runs "
                    "WHERE film = ? COLLATE NOCASE OR source = ? COLLATE NOCASE",
                    (query.film, query.film),
                )
            }
        if query.speaker is not None and (runs is None or len(runs) > 1):
            # at most two runs per look-up: enough to know whether only one can match
            by_name, by_id = (
                {row[0] for row in self.db.execute(sql, (query.speaker,))}
                for sql in (
                    "SELECT DISTINCT sha256 FROM lines WHERE speaker = ? COLLATE NOCASE LIMIT 2",
                    "SELECT DISTINCT sha256 FROM lines WHERE speaker_id = ? LIMIT 2",
                )
            )
            if len(by_name) < 2 and len(by_id) < 2:
                said = by_name | by_id
                runs = said if runs is None else runs & said
        if runs is None or len(runs) != 1:
            return None
        first, last = self.db.execute(
            "SELECT min(id), max(id) FROM lines WHERE sha256 = ?", tuple(runs)
        ).fetchone()
        return None if first is None else (first, last)

    def _hit(self, row: tuple, context: int) -> Hit:
        sha256, n = row[0], row[1]
        near = []
        if context > 0:
            near = self.db.execute(
                'SELECT n, start, "end", speaker, text FROM lines '
                "WHERE sha256 = ? AND n BETWEEN ? AND ? AND n != ? ORDER BY n",
                (sha256, n - context, n + context, n),
            ).fetchall()
        return Hit.from_row(row, near)

    def refresh_statistics(self) -> None:
        self.db.execute("PRAGMA optimize")

    def count(self) -> tuple[int, int]:
        runs = self.db.execute("SELECT count(*) FROM runs").fetchone()[0]
        lines = self.db.execute("SELECT count(*) FROM lines").fetchone()[0]
        return runs, lines

    def close(self) -> None:
        self.db.close()
