"""An institution's shared archive: PostgreSQL full-text search (psycopg 3).

``--db postgresql://user@host/dbname``. Tables are prefixed ``reelscribe_`` so
the archive can live in an existing database. The ``simple`` text-search
configuration (no stemming, no stop words) matches the SQLite backend: a phrase
is the words as spoken. Every piece of user text is a bound parameter, turned
into a tsquery by PostgreSQL's own ``plainto_``/``phraseto_tsquery``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from restore.errors import MediaError, OutputError
from sync.archive.base import Archive, Hit, Indexed, Run, speaker_names
from sync.archive.query import Query, Term

log = logging.getLogger(__name__)

_FEW_RUNS = 50  # a film filter naming at most this many runs reads their lines by index
_FEW_LINES = 20_000  # a speaker filter matching at most this many lines reads them by index
_LOCK = 0x5265656C  # advisory lock key for creating the schema ("Reel")
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS reelscribe_runs (
        sha256   text PRIMARY KEY,
        film     text NOT NULL,
        source   text NOT NULL,
        folder   text NOT NULL,
        language text,
        duration double precision,
        indexed  timestamptz NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS reelscribe_lines (
        id         bigserial PRIMARY KEY,
        sha256     text NOT NULL REFERENCES reelscribe_runs(sha256) ON DELETE CASCADE,
        n          integer NOT NULL,
        start_s    double precision NOT NULL,
        end_s      double precision NOT NULL,
        speaker_id text,
        speaker    text,
        text       text NOT NULL,
        tsv        tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED
    )""",
    "CREATE INDEX IF NOT EXISTS reelscribe_lines_tsv ON reelscribe_lines USING gin (tsv)",
    "CREATE INDEX IF NOT EXISTS reelscribe_lines_run ON reelscribe_lines (sha256, n)",
    "CREATE INDEX IF NOT EXISTS reelscribe_lines_speaker ON reelscribe_lines (lower(speaker))",
    "CREATE INDEX IF NOT EXISTS reelscribe_lines_speaker_id ON reelscribe_lines (speaker_id)",
)


def _tsquery(term: Term) -> tuple[str, str]:
    """SQL for one term's tsquery, and its bound parameter."""
    if term.kind == "prefix":
        # the text is one \\w+ word (query.py), so it cannot carry tsquery operators
        return "to_tsquery('simple', %s)", f"{term.text}:*"
    if term.kind == "phrase":
        return "phraseto_tsquery('simple', %s)", term.text
    return "plainto_tsquery('simple', %s)", term.text


def tsquery(query: Query) -> tuple[str, list[str]]:
    """The tsquery expression for a parsed query, with its parameters."""
    parts: list[str] = []
    params: list[str] = []
    for group in query.groups:
        sqls = []
        for term in group:
            sql, param = _tsquery(term)
            sqls.append(sql)
            params.append(param)
        parts.append("(" + " || ".join(sqls) + ")")
    for term in query.excluded:
        sql, param = _tsquery(term)
        parts.append(f"!!{sql}")
        params.append(param)
    return "(" + " && ".join(parts) + ")", params


class PostgresArchive(Archive):
    """An archive in a PostgreSQL database."""

    def __init__(self, url: str, create: bool = True) -> None:
        import psycopg

        self.url = url
        self._psycopg = psycopg
        try:
            self.db = psycopg.connect(url, connect_timeout=10, autocommit=True)
        except psycopg.Error as error:
            problem = f"cannot connect: {_first_line(error)}"
            raise MediaError(without_password(url), problem) from error
        with self.db.transaction():
            self.db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            exists = self.db.execute("SELECT to_regclass('reelscribe_lines')").fetchone()[0]
            if exists is None:
                if not create:
                    raise MediaError(
                        without_password(url),
                        "holds no reelscribe archive",
                        "index finished runs into it first",
                    )
                for statement in _SCHEMA:
                    self.db.execute(statement)

    def add(self, run: Run) -> Indexed:
        try:
            return self._add(run)
        except self._psycopg.Error as error:
            where = without_password(self.url)
            raise OutputError(
                f"cannot index {run.film} into {where}: {_first_line(error)}"
            ) from error

    def _add(self, run: Run) -> Indexed:
        names = speaker_names(run.transcript)
        db = self.db
        with db.transaction():
            replaced = db.execute(
                "DELETE FROM reelscribe_lines WHERE sha256 = %s", (run.sha256,)
            ).rowcount
            db.execute(
                "INSERT INTO reelscribe_runs "
                "(sha256, film, source, folder, language, duration, indexed) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (sha256) DO UPDATE SET "
                "film = EXCLUDED.film, source = EXCLUDED.source, folder = EXCLUDED.folder, "
                "language = EXCLUDED.language, duration = EXCLUDED.duration, "
                "indexed = EXCLUDED.indexed",
                (
                    run.sha256,
                    run.film,
                    run.transcript.source,
                    run.folder,
                    run.transcript.language,
                    run.transcript.duration,
                    datetime.now(UTC),
                ),
            )
            with db.cursor().copy(
                "COPY reelscribe_lines (sha256, n, start_s, end_s, speaker_id, speaker, text) "
                "FROM STDIN"
            ) as copy:
                for n, line in enumerate(run.transcript.lines):
                    copy.write_row(
                        (
                            run.sha256,
                            n,
                            line.start,
                            line.end,
                            line.speaker,
                            names.get(line.speaker, line.speaker),
                            line.text,
                        )
                    )
        return Indexed(run.film, run.sha256, len(run.transcript.lines), max(replaced, 0))

    def search(self, query: Query, limit: int = 20, context: int = 1) -> list[Hit]:
        try:
            # repeatable read: the hits and their context come from one snapshot
            with self.db.transaction():
                self.db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                return self._search(query, limit, context)
        except self._psycopg.Error as error:
            problem = f"search failed: {_first_line(error)}"
            raise MediaError(without_password(self.url), problem) from error

    def _search(self, query: Query, limit: int, context: int) -> list[Hit]:
        lines, lines_params = "reelscribe_lines l", []
        where: list[str] = []
        params: list = []
        if query.film is not None:
            runs = self._film_runs(query.film)
            if not runs:
                return []
            if len(runs) <= _FEW_RUNS:
                # read those runs' lines by index, then test them: the planner guesses a
                # phrase matches one line and would scan the whole text index instead
                lines = "(SELECT * FROM reelscribe_lines WHERE sha256 = ANY(%s) OFFSET 0) l"
                lines_params = [runs]
            else:
                where.append("l.sha256 = ANY(%s)")
                params.append(runs)
        if query.speaker is not None and not lines_params and self._few_lines_of(query.speaker):
            # the same for a speaker with few lines (a name is usually one film's)
            lines = (
                "(SELECT * FROM reelscribe_lines "
                "WHERE lower(speaker) = lower(%s) OR speaker_id = %s OFFSET 0) l"
            )
            lines_params = [query.speaker, query.speaker]
        if query.speaker is not None:
            where.append("(lower(l.speaker) = lower(%s) OR l.speaker_id = %s)")
            params += [query.speaker, query.speaker]
        if query.start is not None:
            where.append("l.end_s > %s")
            params.append(query.start)
        if query.end is not None:
            where.append("l.start_s < %s")
            params.append(query.end)
        columns = "l.sha256, l.n, l.start_s, l.end_s, l.speaker, l.text, r.film, r.source"
        if query.has_text:
            expression, text_params = tsquery(query)
            # rank the lines alone, then join the few best to their runs; ts_rank with
            # length normalisation (1) puts short lines first, as bm25 does, at a third of
            # ts_rank_cd's cost on a phrase that matches 14,000 lines
            sql = (
                "SELECT l.sha256, l.n, l.start_s, l.end_s, l.speaker, l.text, r.film, r.source, "
                "l.score FROM (SELECT l.id, l.sha256, l.n, l.start_s, l.end_s, l.speaker, l.text, "
                f"ts_rank(l.tsv, q.q, 1) AS score FROM {lines}, (SELECT {expression} AS q) q "
                "WHERE l.tsv @@ q.q"
                + "".join(f" AND {w}" for w in where)
                + " ORDER BY score DESC, l.start_s, l.id LIMIT %s) l "
                "JOIN reelscribe_runs r ON r.sha256 = l.sha256 "
                "ORDER BY l.score DESC, r.film, l.start_s"
            )
            params = [*lines_params, *text_params, *params, limit]
        else:
            sql = (
                f"SELECT {columns}, 0.0 AS score FROM {lines} "
                "JOIN reelscribe_runs r ON r.sha256 = l.sha256"
                + (" WHERE " + " AND ".join(where) if where else "")
                + " ORDER BY r.film, l.start_s LIMIT %s"
            )
            params = [*lines_params, *params, limit]
        rows = self.db.execute(sql, params).fetchall()
        return [self._hit(row, context) for row in rows]

    def _few_lines_of(self, speaker: str) -> bool:
        (count,) = self.db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM reelscribe_lines "
            "WHERE lower(speaker) = lower(%s) OR speaker_id = %s LIMIT %s) few",
            (speaker, speaker, _FEW_LINES + 1),
        ).fetchone()
        return count <= _FEW_LINES

    def _film_runs(self, film: str) -> list[str]:
        """The sha256 of every run a film filter names (``name*``: a prefix)."""
        if film.endswith("*"):
            pattern = film[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            sql = "SELECT sha256 FROM reelscribe_runs WHERE film ILIKE %s OR source ILIKE %s"
            values = (pattern + "%", pattern + "%")
        else:
            sql = (
                "SELECT sha256 FROM reelscribe_runs "
                "WHERE lower(film) = lower(%s) OR lower(source) = lower(%s)"
            )
            values = (film, film)
        return [row[0] for row in self.db.execute(sql, values).fetchall()]

    def _hit(self, row: tuple, context: int) -> Hit:
        sha256, n = row[0], row[1]
        near = []
        if context > 0:
            near = self.db.execute(
                "SELECT n, start_s, end_s, speaker, text FROM reelscribe_lines "
                "WHERE sha256 = %s AND n BETWEEN %s AND %s AND n <> %s ORDER BY n",
                (sha256, n - context, n + context, n),
            ).fetchall()
        return Hit.from_row(row, near)

    def refresh_statistics(self) -> None:
        # without fresh statistics after a bulk load the planner scans a filter's whole
        # index match instead of reading one film's lines (157 ms instead of 3 ms at 400k lines)
        self.db.execute("ANALYZE reelscribe_runs, reelscribe_lines")

    def count(self) -> tuple[int, int]:
        with self.db.transaction():
            runs = self.db.execute("SELECT count(*) FROM reelscribe_runs").fetchone()[0]
            lines = self.db.execute("SELECT count(*) FROM reelscribe_lines").fetchone()[0]
        return runs, lines

    def close(self) -> None:
        self.db.close()


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def without_password(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        userinfo, _, host = rest.rpartition("@")
        rest = userinfo.split(":")[0] + "@" + host
    return scheme + sep + rest
