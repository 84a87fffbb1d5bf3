"""How long an edit takes on a real run's output, against its anchors; and the cue-rule report.

    .venv/bin/python tests/bench/rename.py [FILM]

One `reelscribe run` on a real clip (default: faces/talking/face_2.mp4), then:
- `reelscribe rename OUT S1 NAME` as a user runs it (a fresh process, imports included),
  and `sync.corrections.rename` in-process;
- `reelscribe import-subs OUT film.en.srt` (the run's own SRT with one word changed);
- anchors in the same run: the stream-copy remux of the master alone
  (`restore.master.mux_subtitles`, what any swap of subtitle streams must do) and the
  full `run` that an edit would otherwise repeat.
Each figure is the best of REPEATS. Then the cue-rule report (`sync.cues.check`) on the
run's transcript, with its shot changes.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
MEDIA = ROOT.parent / "shared" / "media"
REPEATS = 3

from timing import best_of  # noqa: E402  (tests/bench, the script's own folder)

from restore.master import SubtitleTrack, mux_subtitles  # noqa: E402
from sync.corrections import rename  # noqa: E402
from sync.cues import check, summary  # noqa: E402
from sync.pipeline import Pipeline  # noqa: E402
from sync.subtitles import RunFolder, render  # noqa: E402


def best(work) -> float:
    return best_of(REPEATS, work)


def cli(*args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "sync.cli", *args, "--quiet"]
    subprocess.run(command, check=True, env=env, cwd=ROOT)


def main() -> None:
    film = Path(sys.argv[1]) if len(sys.argv) > 1 else MEDIA / "faces" / "talking" / "face_2.mp4"
    print(
        f"## {time.strftime('%Y-%m-%d')} · {platform.machine()}, {os.cpu_count()} cores · "
        f"tests/bench/rename.py on {film.name}\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        started = time.perf_counter()
        result = Pipeline().run(film, out)
        run_s = time.perf_counter() - started
        run = RunFolder.open(out)
        master = run.path("master")
        srt = run.path("srt")
        corrected = Path(tmp) / "corrected.srt"
        text = srt.read_text(encoding="utf-8")
        lines = text.splitlines()
        lines[2] = lines[2].rsplit(" ", 1)[0] + " Zanzibar."  # the first cue's last word
        corrected.write_text("\n".join(lines) + "\n", encoding="utf-8")
        tracks = [SubtitleTrack(srt, "en", "srt"), SubtitleTrack(run.path("ass"), "en", "ass")]
        remux = Path(tmp) / "remux.mkv"
        figures = []
        if result.transcript.speakers:  # none in a film without faces
            first = result.transcript.speakers[0].id
            figures += [
                ("rename (CLI, fresh process)", best(lambda: cli("rename", str(out), first, "B"))),
                ("rename (in-process)", best(lambda: rename(out, {first: "Barbra"}))),
            ]
        figures += [
            ("import-subs (CLI)", best(lambda: cli("import-subs", str(out), str(corrected)))),
            ("anchor: master remux alone", best(lambda: mux_subtitles(master, tracks, remux))),
            ("anchor: the full run", run_s),
        ]
        size = master.stat().st_size / 2**20
        print(f"master {size:.1f} MiB, {result.manifest['master']['frames']} frames\n")
        print("| step | seconds |")
        print("|---|---|")
        for name, seconds in figures:
            print(f"| {name} | {seconds:.3f} |")
        transcript = run.transcript()
        picture = run.picture()
        cues, _ = render(transcript, run.rules(), picture)
        breaches = check(cues, run.rules(), picture.fps, picture.cuts)
        print(f"\n### Cue rules on {film.name} ({len(picture.cuts)} shot changes)\n")
        print(summary(cues, breaches))
    print(f"\n{long_film():.3f} s to align corrections on a two-hour film (synthetic, 2000 lines)")


def long_film() -> float:
    """`sync.corrections.corrected` on 2000 generated lines (about 17,000 words), every
    20th word changed by the "editor": what import-subs costs on a feature film."""
    import random

    from speech.types import Word
    from sync.corrections import CorrectedCue, corrected
    from sync.cues import build_cues
    from sync.transcript import Line, Speaker, Transcript

    rng = random.Random(1)
    vocab = "the a to go house barbra come night dead door window they are coming get you".split()
    lines, t = [], 0.0
    for _ in range(2000):
        words = []
        for _ in range(rng.randint(3, 14)):
            words.append(Word(round(t, 3), round(t + 0.25, 3), rng.choice(vocab), 0.9))
            t += 0.3
        t += 1.0
        text = " ".join(w.text for w in words)
        lines.append(Line(words[0].start, words[-1].end, text, tuple(words), "S1"))
    film = Transcript("film", t, "en", (Speaker("S1", "S1"),), tuple(lines))
    cues = [
        CorrectedCue(
            c.start, c.end, tuple("fixed" if rng.random() < 0.05 else w for w in c.text.split())
        )
        for c in build_cues(film.lines)
    ]
    return best(lambda: corrected(film, cues))


if __name__ == "__main__":
    main()
