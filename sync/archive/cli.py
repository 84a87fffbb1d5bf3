"""``reelscribe index``, ``search`` and ``export``: the archive and corpus commands.

Each subcommand sets ``args.handler``; ``sync.cli`` calls it instead of a
Pipeline. Handlers return an exit code and raise ``ReelError`` for bad input.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from restore.errors import UsageError

log = logging.getLogger(__name__)

DB_HELP = "the archive: an SQLite file (created when indexing), or postgresql://user@host/db"
QUERY_HELP = """query language:
  night "living dead" liv* -zombie   words (all must occur), a phrase, a prefix, an exclusion
  cooper OR judy                      either word
  film:notld speaker:Ben              filters (speaker:"Mr. Cooper" for names with spaces;
                                      film:notld* for every film whose name starts so)
  from:00:10:00 to:00:20:00           lines overlapping a time range (HH:MM:SS.mmm, MM:SS, s)
"""


def add_commands(sub, common: Callable[[argparse.ArgumentParser], None], epilog: str) -> None:
    """Add the subcommands to ``reelscribe``'s subparsers."""

    def command(name: str, summary: str, extra: str = "") -> argparse.ArgumentParser:
        parser = sub.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=extra + epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        common(parser)
        return parser

    index = command("index", "add finished runs to a dialogue archive")
    index.add_argument(
        "outputs",
        nargs="+",
        type=Path,
        metavar="OUT",
        help="a run's folder (or a batch's OUTROOT: every run folder in it)",
    )
    index.add_argument("--db", required=True, help=DB_HELP)
    index.set_defaults(handler=run_index)

    search = command("search", "full-text search across the archive's films", QUERY_HELP + "\n")
    search.add_argument("query", help="what to find (see the query language below)")
    search.add_argument("--db", required=True, help=DB_HELP)
    search.add_argument("--film", help="only this film (its name or source file; name* prefix)")
    search.add_argument("--speaker", help="only lines of this character (name or id)")
    search.add_argument("--from", dest="start", metavar="TIME", help="lines ending after TIME")
    search.add_argument("--to", dest="end", metavar="TIME", help="lines starting before TIME")
    search.add_argument("--limit", type=int, default=20, help="most hits to show (default 20)")
    search.add_argument(
        "--context", type=int, default=1, metavar="N", help="lines before and after (default 1)"
    )
    search.add_argument("--json", action="store_true", help="a JSON array of hits on stdout")
    search.set_defaults(handler=run_search)

    from sync.export import FORMATS

    export = command("export", "a run's transcript as a research corpus")
    export.add_argument("output", type=Path, metavar="OUT", help="a run's folder or transcript")
    export.add_argument("--format", required=True, choices=tuple(FORMATS), dest="fmt")
    export.add_argument(
        "-o", "--to", dest="dest", type=Path, help="folder for the export (default: OUT)"
    )
    export.set_defaults(handler=run_export)


def run_index(args: argparse.Namespace) -> int:
    from sync.archive import load_run, open_archive
    from sync.archive.base import run_folders

    folders = [folder for path in args.outputs for folder in run_folders(path)]
    runs = [load_run(folder) for folder in folders]  # every input checked before writing
    with open_archive(args.db, create=True) as archive:
        for run in runs:
            done = archive.add(run)
            replaced = f", replaced {done.replaced}" if done.replaced else ""
            log.info("indexed %s: %d lines%s", done.film, done.lines, replaced)
        archive.refresh_statistics()
        runs_now, lines_now = archive.count()
    log.info("%s: %d films, %d lines", _shown(args.db), runs_now, lines_now)
    return 0


def run_search(args: argparse.Namespace) -> int:
    from sync.archive import open_archive, parse, timecode, with_filters

    if args.limit < 1:
        raise UsageError(f"--limit must be at least 1, not {args.limit}")
    if args.context < 0:
        raise UsageError(f"--context must be 0 or more, not {args.context}")
    query = with_filters(
        parse(args.query), film=args.film, speaker=args.speaker, start=args.start, end=args.end
    )
    with open_archive(args.db, create=False) as archive:
        hits = archive.search(query, limit=args.limit, context=args.context)
    if args.json:
        json.dump([hit.to_dict() for hit in hits], sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return 0
    if not hits:
        log.info("no lines match %r", args.query)
    for hit in hits:
        print(f"{hit.film}  {hit.timecode}-{timecode(hit.end)}")
        for line in hit.before:
            print(f"    {_said(line.speaker, line.text)}")
        print(f"  > {_said(hit.speaker, hit.text)}")
        for line in hit.after:
            print(f"    {_said(line.speaker, line.text)}")
    return 0


def _shown(db: str) -> str:
    """The archive as it may be printed: a URL without its password."""
    from sync.archive.postgres import without_password

    return without_password(db)


def _said(speaker: str | None, text: str) -> str:
    return f"{speaker}: {text}" if speaker else text


def run_export(args: argparse.Namespace) -> int:
    from sync.export import export, film_name, find_transcript
    from sync.transcript import Transcript

    path = find_transcript(args.output)
    transcript = Transcript.load(path)
    dest = args.dest or path.parent
    for written in export(transcript, film_name(path, transcript), args.fmt, dest):
        log.info("wrote %s", written)
    return 0
