"""The dialogue archive at scale: indexing and query time on a generated 1,000-film archive.

    .venv/bin/python tests/bench/archive.py [--films 1000] [--lines 400]
                                            [--backends sqlite,postgres]

Each film is the real transcripts (tests/corpus.py: the pyannote call, a GRID
sentence, the Night of the Living Dead excerpts) cycled to --lines lines, with
the characters' names and the names spoken in the lines varied per film, so the
archive holds many distinct names and the real dialogue's words. Prints a markdown
table for docs/benchmarks.md: indexing time per film (mean and slowest), a
film-length transcript (1,500 lines) re-indexed into the full archive, and query
times (median of repeated runs) for a phrase, a prefix and filtered queries.
PostgreSQL runs as a throw-away local server (tests/pgserver.py).
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
MEDIA = ROOT.parent / "shared" / "media"

from local import tests_module  # noqa: E402  (tests/bench, the script's own folder)

from sync.archive import Run, open_archive, parse  # noqa: E402
from sync.transcript import Line, Speaker, Transcript  # noqa: E402

corpus = tests_module("corpus")
pgserver = tests_module("pgserver")

FIRST = "Ada Ben Cora Dev Elsa Finn Gus Hana Ivo Jude Kai Lena Milo Nora Otto Pia Quin".split()
LAST = "Abbott Barlow Cooper Dunn Ellery Frost Gale Hale Irwin Jory Keane Lowe Marsh".split()
SPOKEN = ("Diane", "Sheila", "Cooper", "Judy", "Beatman's", "Chicago", "Texas", "Jersey")


def film(index: int, real: list[Transcript], lines: int, rng: random.Random) -> Transcript:
    """A film-sized transcript: the real lines cycled, names varied, times running on."""
    names = [f"{rng.choice(FIRST)} {rng.choice(LAST)}{index}" for _ in range(4)]
    places = {word: f"{rng.choice(LAST)}{index}" for word in SPOKEN}
    speakers = tuple(Speaker(f"S{k + 1}", name) for k, name in enumerate(names))
    pool = [line for t in real for line in t.lines]
    out, at = [], 0.0
    while len(out) < lines:
        for line in pool:
            if len(out) == lines:
                break
            text = line.text
            for word, name in places.items():
                text = text.replace(word, name)
            length = line.end - line.start
            speaker = f"S{rng.randrange(4) + 1}" if rng.random() < 0.9 else None
            out.append(Line(round(at, 3), round(at + length, 3), text, line.words, speaker))
            at += length + rng.uniform(0.3, 4.0)
    return Transcript(f"film_{index:04d}.mkv", round(at, 3), "en", speakers, tuple(out))


def timed(work, repeat: int = 1) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench(db: str, films: list[Transcript], big: Transcript) -> dict[str, float]:
    per_film = []
    with open_archive(db) as archive:
        for k, transcript in enumerate(films):
            run = Run(corpus.fake_sha256(transcript), transcript.source[:-4], transcript, "/r")
            per_film.append(timed(lambda run=run: archive.add(run)))
            if (k + 1) % 200 == 0:
                print(f"  {db.split('/')[-1]}: {k + 1} films indexed", file=sys.stderr)
        archive.refresh_statistics()  # as `reelscribe index` does after its runs
        big_run = Run(corpus.fake_sha256(films[7]), films[7].source[:-4], big, "/r")
        archive.add(big_run)
        reindex = timed(lambda: archive.add(big_run), repeat=3)
        runs, total = archive.count()
        target = films[len(films) // 2]
        speaker = target.speakers[0].name
        named = next(x.text for x in target.lines if x.text.startswith("This is "))
        queries = {
            "phrase, names (one film)": f'"{named}"',
            "phrase, in every film": '"i don\'t want"',
            "phrase + film filter": f'"they all call me a yankee" film:{target.source[:-4]}',
            "prefix": "hyster*",
            "words + speaker filter": f'know speaker:"{speaker}"',
            "words + time range": "door from:00:10:00 to:00:20:00",
        }
        result = {
            "films": runs,
            "lines": total,
            "index mean": statistics.mean(per_film),
            "index max": max(per_film),
            "reindex 1500": reindex,
        }
        common = parse(queries["phrase, in every film"])
        result["matches of the common phrase"] = float(
            len(archive.search(common, limit=10**6, context=0))
        )
        result["anchor: bare index count, common phrase"] = timed(
            lambda: anchor_count(archive, common), 9
        )
        for name, text in queries.items():
            query = parse(text)
            hits = archive.search(query, limit=20, context=1)
            assert hits, name
            result[name] = timed(lambda q=query: archive.search(q, limit=20, context=1), 9)
    return result


def anchor_count(archive, query) -> int:
    """The least any search must do: count the matching lines in the bare full-text index."""
    if hasattr(archive, "url"):
        from sync.archive.postgres import tsquery

        expression, params = tsquery(query)
        sql = f"SELECT count(*) FROM reelscribe_lines WHERE tsv @@ {expression}"
        return archive.db.execute(sql, params).fetchone()[0]
    from sync.archive.sqlite import fts_match

    sql = "SELECT count(*) FROM lines_fts WHERE lines_fts MATCH ?"
    return archive.db.execute(sql, (fts_match(query),)).fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--films", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=400, help="lines per film")
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    real = corpus.real_transcripts(MEDIA)
    rng = random.Random(0)
    films = [film(i, real, args.lines, rng) for i in range(args.films)]
    big = film(7, real, 1500, random.Random(7))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            if backend == "sqlite":
                results[backend] = bench(str(Path(tmp) / "archive.sqlite"), films, big)
            else:
                with pgserver.postgres_server() as url:
                    results[backend] = bench(url, films, big)
    print(f"\n{args.films} films x {args.lines} lines, {platform.machine()}, "
          f"{time.strftime('%Y-%m-%d')}\n")  # fmt: skip
    backends = list(results)
    print("| measure | " + " | ".join(backends) + " |")
    print("|---|" + "---|" * len(backends))
    for key in results[backends[0]]:
        cells = []
        for backend in backends:
            value = results[backend][key]
            counted = key in ("films", "lines", "matches of the common phrase")
            cells.append(f"{int(value):,}" if counted else f"{value * 1000:.1f} ms")
        print(f"| {key} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
