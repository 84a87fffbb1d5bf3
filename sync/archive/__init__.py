"""The dialogue archive: index finished runs, search what was said across a collection.

``open_archive(db)`` picks the backend from the ``--db`` value: a
``postgresql://`` URL opens :class:`~sync.archive.postgres.PostgresArchive`,
anything else is an SQLite file (:class:`~sync.archive.sqlite.SqliteArchive`).
"""

from __future__ import annotations

from sync.archive.base import Archive, ContextLine, Hit, Indexed, Run, load_run
from sync.archive.query import Query, parse, timecode, with_filters

__all__ = [
    "Archive",
    "ContextLine",
    "Hit",
    "Indexed",
    "Query",
    "Run",
    "load_run",
    "open_archive",
    "parse",
    "timecode",
    "with_filters",
]

_URL_SCHEMES = ("postgresql://", "postgres://")


def open_archive(db: str, create: bool = True) -> Archive:
    """The archive behind ``db``: created when ``create`` (indexing), else it must exist."""
    if db.startswith(_URL_SCHEMES):
        from sync.archive.postgres import PostgresArchive

        return PostgresArchive(db, create=create)
    from sync.archive.sqlite import SqliteArchive

    return SqliteArchive(db, create=create)
