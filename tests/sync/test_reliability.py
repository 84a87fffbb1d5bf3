"""Bad input, full disks and odd material through the command line (issue 10).

Each case: one clear line on stderr, a documented exit code (README, ``--help``), no
traceback without ``--debug``, and nothing left in the output folder that looks finished.
Inputs are generated with PyAV (160x120, a second or two) where the damage must be
exact; real media from ../shared/media where real speech or a real face is needed.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from restore.media import iter_frames, open_source
from sync.cli import EXIT_CODES, main

ROOT = Path(__file__).resolve().parents[2]
SIZE = (160, 120)


def run(capsys, *args: str) -> tuple[int, str]:
    code = main([*map(str, args)])
    return code, capsys.readouterr().err.strip()


def assert_one_clear_line(err: str, *words: str) -> None:
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err and err.startswith("reelscribe: error: "), err
    for word in words:
        assert word in err, err


def assert_nothing_finished(out: Path) -> None:
    """No output at all, and no temporary left over (hidden files included)."""
    left = sorted(p.name for p in out.rglob("*")) if out.exists() else []
    assert left == [], left


def write_film(
    path: Path,
    *,
    seconds: float = 1.0,
    size: tuple[int, int] = SIZE,
    video: bool = True,
    audio: bool = True,
    tone: float = 440.0,
    interlaced: bool = False,
    fps: int = 25,
    rate: int = 16000,
) -> int:
    """A generated film (FFV1 or MPEG-2 picture, FLAC sound); returns its frame count."""
    width, height = size
    frames = round(seconds * fps) if video else 0
    samples = int(seconds * rate) if audio else 0
    with av.open(str(path), "w", format="matroska") as out:
        if video:
            codec, options = ("ffv1", {})
            if interlaced:  # MPEG-2 coded as fields, as broadcast and DV transfers are
                codec, options = "mpeg2video", {"flags": "+ildct+ilme"}
            picture = out.add_stream(codec, rate=fps, options=options)
            picture.width, picture.height, picture.pix_fmt = width, height, "yuv420p"
            if interlaced:
                picture.codec_context.field_order = 2  # AV_FIELD_TT: top field first
        if audio:
            sound = out.add_stream("flac", rate=rate, layout="mono")
            wave = 0.3 * np.sin(2 * np.pi * tone * np.arange(samples) / rate)
            pcm = (wave * 32767).astype(np.int16).reshape(1, -1)
        y, x = np.mgrid[0:height, 0:width]
        step = rate // fps  # one picture's worth of sound, muxed in turn with the picture
        for i in range(max(frames, -(-samples // step))):
            if i < frames:
                rgb = np.zeros((height, width, 3), np.uint8)
                rgb[..., 0] = (x * 2 + i * 9) % 256
                rgb[..., 1] = (y * 2) % 256
                if interlaced:
                    rgb[1::2] //= 2  # the two fields differ, as in motion between them
                image = av.VideoFrame.from_ndarray(rgb, "rgb24").reformat(format="yuv420p")
                image.pts = i
                out.mux(picture.encode(image))
            if i * step < samples:
                piece = np.ascontiguousarray(pcm[:, i * step : (i + 1) * step])
                block = av.AudioFrame.from_ndarray(piece, format="s16", layout="mono")
                block.sample_rate, block.pts, block.time_base = rate, i * step, Fraction(1, rate)
                out.mux(sound.encode(block))
        if video:
            out.mux(picture.encode(None))
        if audio:
            out.mux(sound.encode(None))
    return frames


def finished(out: Path, stem: str) -> dict:
    """The manifest of a finished run, after checking every contract file is there."""
    manifest = json.loads((out / f"{stem}.manifest.json").read_text())
    for name in manifest["outputs"].values():
        assert (out / name).is_file(), name
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
    return manifest


def master_frames(path: Path) -> int:
    return sum(1 for _ in iter_frames(open_source(path)))


# -- unreadable input ---------------------------------------------------------------------------


def _truncated_header(path: Path, media: Path) -> None:
    # a real MP4 cut off after its first kilobytes: the index (moov) is never reached
    path.write_bytes((media / "faces" / "talking" / "face_1.mp4").read_bytes()[:4096])


BAD_FILES = {
    "empty": (lambda p, m: p.write_bytes(b""), "empty"),
    "text renamed .mp4": (lambda p, m: p.write_text("not a film\n" * 40), "not a media"),
    "subtitles renamed .mp4": (
        lambda p, m: p.write_text("WEBVTT\n\n00:01.000 --> 00:02.000\nHello\n"),
        "neither a picture nor a sound stream",
    ),
    "random bytes": (
        lambda p, m: p.write_bytes(np.random.default_rng(3).bytes(64 * 1024)),
        "not a media",
    ),
    "truncated mp4": (_truncated_header, "film.mp4"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_unreadable_films_get_one_line_and_code_3(case, tmp_path, media, capsys):
    make, words = BAD_FILES[case]
    film = tmp_path / "film.mp4"
    make(film, media)
    out = tmp_path / "out"
    code, err = run(capsys, "run", film, "-o", out, "--no-faces")
    assert code == 3
    assert_one_clear_line(err, "film.mp4", words)
    assert_nothing_finished(out)


def test_a_film_cut_off_in_the_middle_keeps_what_is_there(tmp_path, capsys):
    whole = tmp_path / "whole.mkv"
    frames = write_film(whole, seconds=2.0)
    film = tmp_path / "cut.mkv"
    film.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    out = tmp_path / "out"
    code, err = run(capsys, "run", film, "-o", out, "--no-faces", "--quiet")
    assert code == 0, err
    manifest = finished(out, "cut")
    kept = master_frames(out / "cut.master.mkv")
    assert 0 < kept < frames
    assert manifest["master"]["frames"] == kept


# -- missing streams, odd material -------------------------------------------------------------


def test_no_sound_restores_the_picture_and_says_there_is_nothing_to_transcribe(tmp_path, capsys):
    film = tmp_path / "mute.mkv"
    frames = write_film(film, audio=False)
    out = tmp_path / "out"
    code, err = run(capsys, "run", film, "-o", out, "--no-faces")
    assert code == 0, err
    assert "nothing to transcribe" in err
    manifest = finished(out, "mute")
    assert manifest["speech"] is None and manifest["master"]["audio_codec"] is None
    assert json.loads((out / "mute.transcript.json").read_text())["lines"] == []
    assert master_frames(out / "mute.master.mkv") == frames


def test_no_picture_transcribes_and_says_there_is_no_picture(tmp_path, media, capsys):
    out = tmp_path / "out"
    code, err = run(capsys, "run", media / "speech" / "jfk.flac", "-o", out)
    assert code == 0, err
    assert "no picture" in err
    manifest = finished(out, "jfk")
    assert manifest["master"]["video_codec"] is None and manifest["faces"] is None
    lines = json.loads((out / "jfk.transcript.json").read_text())["lines"]
    text = " ".join(line["text"] for line in lines)
    assert "country" in text.lower()


def test_damaged_frames_in_the_middle_are_skipped_counted_and_reported(tmp_path, capsys):
    whole = tmp_path / "whole.mkv"
    frames = write_film(whole, seconds=2.0)
    with av.open(str(whole)) as container:
        packets = [(p.pos, p.size) for p in container.demux(video=0) if p.size]
    data = bytearray(whole.read_bytes())
    noise = np.random.default_rng(5)
    for index in (20, 21, 22):  # FFV1 slices carry CRCs: the decoder refuses these three
        pos, size = packets[index]
        data[pos + size // 4 : pos + size] = noise.bytes(size - size // 4)
    film = tmp_path / "damaged.mkv"
    film.write_bytes(bytes(data))
    out = tmp_path / "out"
    code, err = run(capsys, "run", film, "-o", out, "--no-faces")
    assert code == 0, err
    assert "damaged" in err
    manifest = finished(out, "damaged")
    assert manifest["master"]["damaged_packets_skipped"] == 3
    assert master_frames(out / "damaged.master.mkv") == frames - 3


def test_interlaced_material_is_detected_kept_and_reported(tmp_path, capsys):
    film = tmp_path / "tv.mkv"
    frames = write_film(film, interlaced=True)
    assert open_source(film).video.field_order == "tt"
    out = tmp_path / "out"
    code, err = run(capsys, "run", film, "-o", out, "--no-faces")
    assert code == 0, err
    assert "interlaced" in err
    manifest = finished(out, "tv")
    assert manifest["master"]["interlaced_frames"] == frames
    assert manifest["source"]["video"]["field_order"] == "tt"
    master = open_source(out / "tv.master.mkv")
    assert master.video.field_order == "tt"  # the fields are kept, and said to be fields


def test_progressive_material_is_not_called_interlaced(tmp_path, capsys):
    film = tmp_path / "film.mkv"
    write_film(film)
    out = tmp_path / "out"
    code, err = run(capsys, "run", film, "-o", out, "--no-faces")
    assert code == 0 and "interlaced" not in err
    assert finished(out, "film")["master"]["interlaced_frames"] == 0


def test_odd_frame_size_is_kept(tmp_path, capsys):
    film = tmp_path / "odd.mkv"
    frames = write_film(film, size=(161, 119))
    out = tmp_path / "out"
    code, err = run(capsys, "run", film, "-o", out, "--quiet")
    assert code == 0, err
    finished(out, "odd")
    master = open_source(out / "odd.master.mkv")
    assert (master.video.width, master.video.height) == (161, 119)
    assert master_frames(out / "odd.master.mkv") == frames


def test_a_short_silent_film_gives_valid_empty_outputs(tmp_path, capsys):
    film = tmp_path / "blink.mkv"
    frames = write_film(film, seconds=0.4, tone=0.0)
    out = tmp_path / "out"
    code, err = run(capsys, "run", film, "-o", out, "--quiet")
    assert code == 0, err
    manifest = finished(out, "blink")
    assert manifest["master"]["frames"] == frames == 10
    assert json.loads((out / "blink.transcript.json").read_text())["lines"] == []
    assert (out / "blink.en.vtt").read_text().startswith("WEBVTT")


def test_unicode_and_spaces_in_paths(tmp_path, media, capsys):
    folder = tmp_path / "Archiv Ölfilm 映画"
    folder.mkdir()
    film = folder / "Le Déjeuner — take 1.mpg"
    film.write_bytes((media / "faces" / "grid" / "bbaf2n.mpg").read_bytes())
    out = tmp_path / "sortie à côté"
    code, err = run(capsys, "run", film, "-o", out, "--quiet")
    assert code == 0, err
    manifest = finished(out, "Le Déjeuner — take 1")
    assert manifest["outputs"]["master"] == "Le Déjeuner — take 1.master.mkv"
    transcript = json.loads((out / "Le Déjeuner — take 1.transcript.json").read_text())
    assert transcript["source"] == film.name and transcript["lines"]


# -- options that point at nothing ----------------------------------------------------------------


@pytest.fixture
def no_work(monkeypatch):
    """Fails the test if the master (the long work) is started."""

    def refuse(*args, **kwargs):
        raise AssertionError("the master was started before the options were checked")

    monkeypatch.setattr("sync.pipeline.MasterWriter", refuse)


def test_missing_model_path_fails_before_any_work(tmp_path, capsys, no_work):
    film = tmp_path / "film.mkv"
    write_film(film)
    out = tmp_path / "out"
    code, err = run(capsys, "run", film, "-o", out, "--model", tmp_path / "no-such-model")
    assert code == 4
    assert_one_clear_line(err, "no-such-model")
    assert_nothing_finished(out)


CASTS = {
    "not TOML": ('[[character]\nname = "Ben"', "not valid TOML"),
    "no name": ('[[character]]\nphotos = ["ben.png"]', "no name"),
    "missing photo": ('[[character]]\nname = "Ben"\nphotos = ["gone.png"]', "does not exist"),
    "photo outside": ('[[character]]\nname = "Ben"\nphotos = ["../ben.png"]', "outside"),
    "absolute photo": ('[[character]]\nname = "Ben"\nphotos = ["/etc/hostname"]', "outside"),
}


@pytest.mark.parametrize("case", sorted(CASTS))
def test_bad_cast_file_fails_before_any_work(case, tmp_path, capsys, no_work):
    text, words = CASTS[case]
    film = tmp_path / "film.mkv"
    write_film(film)
    (tmp_path / "ben.png").write_bytes(b"")  # a photo beside the cast folder, not in it
    cast = tmp_path / "cast" / "cast.toml"
    cast.parent.mkdir()
    cast.write_text(text)
    out = tmp_path / "out"
    code, err = run(capsys, "run", film, "-o", out, "--cast", cast)
    assert code == 2
    assert_one_clear_line(err, "cast.toml", words)
    assert_nothing_finished(out)


# -- a full disk ---------------------------------------------------------------------------------


def _limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.parametrize(
    "limit_kb,where,sound",
    [
        (8, "speech.wav", []),
        (8, "temporary file", ["--sound", "loudness"]),
        (180, "master.mkv", []),
    ],
)
def test_full_disk_gives_one_line_code_5_and_nothing_finished(limit_kb, where, sound, tmp_path):
    """A size-limited process stands in for a full disk: every write past the limit fails
    (EFBIG, as ENOSPC would). 8 KB stops the first write (the speech track, tapped before
    the loudness step's spool; with loudness alone, the tap comes after it and the spool,
    in the system's temporary folder, is first); 180 KB lets those (128 KB each) through
    and stops the lossless master half-way."""
    film = tmp_path / "film.mkv"
    write_film(film, seconds=2.0)
    assert film.stat().st_size > limit_kb * 1024  # the master (lossless) cannot fit either
    out = tmp_path / "out"
    out.mkdir()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sync.cli",
            "run",
            str(film),
            "-o",
            str(out),
            "--no-faces",
            "--quiet",
            *sound,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=_limit_file_size(limit_kb * 1024),
        timeout=300,
    )
    err = result.stderr.strip()
    assert result.returncode == 5, err
    assert_one_clear_line(err, "disk is full", where)
    assert_nothing_finished(out)


# -- the codes are documented ----------------------------------------------------------------------


def test_exit_codes_are_documented_in_the_help_and_the_readme(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    shown = capsys.readouterr().out
    readme = (ROOT / "README.md").read_text()
    for code in ("2", "3", "4", "5"):
        assert f"  {code}  " in EXIT_CODES and f"  {code}  " in shown
        assert f"{code} " in readme.split("Exit codes:")[1][:400]
    assert "disk full" in EXIT_CODES
