"""``reelscribe index / search / export``: the contract's commands, exit codes and JSON."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sync.cli import main


@pytest.fixture
def runs(tmp_path, real_transcripts, corpus):
    """Finished runs' folders (transcript + manifest) for the real transcripts."""
    return [
        corpus.write_run(t, tmp_path / "runs" / t.source.split(".")[0]) for t in real_transcripts
    ]


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "archive.sqlite")
    return request.getfixturevalue("postgres_db")


def _search(capsys, *argv) -> list[dict]:
    capsys.readouterr()
    assert main(["search", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_index_then_search_as_json(runs, db, capsys):
    assert main(["index", *map(str, runs), "--db", db, "--quiet"]) == 0
    hits = _search(capsys, '"new jersey"', "--db", db, "--speaker", "Diane", "--from", "0:15")
    assert sorted((h["film"], h["start"], h["speaker"]) for h in hits) == [
        ("pyannote_sample", 20.173, "Diane"),
        ("pyannote_sample", 28.445, "Diane"),
    ]
    first = hits[0]
    for key in ("film", "start", "end", "speaker", "text", "timecode", "before", "after"):
        assert key in first
    assert first["timecode"] in ("00:00:20.173", "00:00:28.445")
    # indexing the same runs again replaces them: the same hits, no duplicates
    assert main(["index", *map(str, runs), "--db", db, "--quiet"]) == 0
    assert len(_search(capsys, '"new jersey"', "--db", db)) == 3


def test_a_batch_root_indexes_every_run_in_it(runs, tmp_path, capsys):
    db = str(tmp_path / "archive.sqlite")
    assert main(["index", str(tmp_path / "runs"), "--db", db, "--quiet"]) == 0
    films = {h["film"] for h in _search(capsys, "film:*", "--db", db, "--limit", "1000")}
    assert len(films) == len(runs) == 8


def test_search_prints_film_timecode_speaker_and_context(runs, db, capsys):
    main(["index", str(runs[0]), "--db", db, "--quiet"])
    capsys.readouterr()
    assert main(["search", "yankee", "--db", db]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "pyannote_sample  00:00:24.058-00:00:28.425",
        "    Sheila: Well, there isn't that much difference.",
        "  > Sheila: At least you know, they all call me a Yankee down here, so what can I say?",
        "    Diane: Oh, I don't hear that in New Jersey now.",
    ]


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["search", '"unclosed', "--db", "{db}"], 2, "unbalanced quote"),
        (["search", "door", "--db", "{db}", "--from", "soon"], 2, "not a time"),
        (["search", "door", "--db", "{db}", "--limit", "0"], 2, "--limit"),
        (["search", "door", "--db", "{missing}"], 3, "no such archive"),
        (["index", "{missing}", "--db", "{db}"], 3, "does not exist"),
        (["export", "{missing}", "--format", "csv"], 3, "does not exist"),
        (["index", "{run}", "--db", "{missing}/archive.sqlite"], 5, "no folder"),
    ],
)
def test_bad_input_is_one_line_and_an_exit_code(runs, tmp_path, capsys, argv, code, says):
    db = str(tmp_path / "archive.sqlite")
    main(["index", str(runs[0]), "--db", db, "--quiet"])
    capsys.readouterr()
    values = {"db": db, "missing": str(tmp_path / "missing"), "run": str(runs[0])}
    assert main([a.format(**values) for a in argv]) == code
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_run_without_manifest_is_refused_before_anything_is_indexed(runs, tmp_path, capsys):
    db = tmp_path / "archive.sqlite"
    (runs[1] / "id2_vcd_swwp2s.manifest.json").unlink()
    assert main(["index", str(runs[0]), str(runs[1]), "--db", str(db)]) == 3
    assert "no id2_vcd_swwp2s.manifest.json beside it" in capsys.readouterr().err
    assert not db.exists()


def test_malformed_query_from_the_shell_has_no_traceback(runs, tmp_path):
    db = str(tmp_path / "archive.sqlite")
    main(["index", str(runs[0]), "--db", db, "--quiet"])
    done = subprocess.run(
        [sys.executable, "-m", "sync.cli", "search", "speaker: OR", "--db", db],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("reelscribe: error: filter speaker: needs a value")
    assert len(done.stderr.strip().splitlines()) == 1


def test_export_writes_beside_the_run_or_where_asked(runs, tmp_path, capsys):
    assert main(["export", str(runs[0]), "--format", "csv", "--quiet"]) == 0
    assert (runs[0] / "pyannote_sample.lines.csv").is_file()
    dest = tmp_path / "corpus"
    dest.mkdir()
    assert main(["export", str(runs[0]), "--format", "textgrid", "-o", str(dest)]) == 0
    assert [p.name for p in dest.iterdir()] == ["pyannote_sample.TextGrid"]
    with pytest.raises(SystemExit) as exited:  # argparse's choices: usage and exit 2
        main(["export", str(runs[0]), "--format", "docx"])
    assert exited.value.code == 2


@pytest.mark.slow
def test_a_real_run_is_indexed_and_found(media, tmp_path, capsys):
    """A real `reelscribe run` (talking head, no faces) goes into the archive and is found."""
    out = tmp_path / "run"
    film = media / "faces" / "talking" / "face_1.mp4"
    assert main(["run", str(film), "-o", str(out), "--no-faces", "--quiet"]) == 0
    transcript = json.loads((out / "face_1.transcript.json").read_text())
    manifest = json.loads((out / "face_1.manifest.json").read_text())
    line = max(transcript["lines"], key=lambda x: len(x["text"]))
    phrase = " ".join(line["text"].split()[:3])
    db = str(tmp_path / "archive.sqlite")
    for _ in range(2):  # the second indexing replaces the first
        assert main(["index", str(out), "--db", db, "--quiet"]) == 0
    hits = _search(capsys, f'"{phrase}"', "--db", db)
    assert [(h["film"], h["sha256"], h["start"]) for h in hits] == [
        ("face_1", manifest["source"]["sha256"], line["start"])
    ]


def test_an_unreachable_postgres_is_one_line_without_the_password(capsys):
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://archivist:secret@127.0.0.1:{port}/films"
    assert main(["search", "door", "--db", url]) == 3
    err = capsys.readouterr().err
    assert err.startswith(f"reelscribe: error: postgresql://archivist@127.0.0.1:{port}/films: ")
    assert "cannot connect" in err and "secret" not in err
    assert len(err.strip().splitlines()) == 1


def test_an_empty_file_is_not_an_archive_to_search(tmp_path, capsys):
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    assert main(["search", "door", "--db", str(empty)]) == 3
    assert "is not a reelscribe archive" in capsys.readouterr().err
    assert empty.stat().st_size == 0
