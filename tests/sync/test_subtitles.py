"""Subtitles on real material with a shot change: the cut reaches cue shaping through the
Pipeline and back from a finished run, and no cue runs across it (the speech does not).
The rules themselves are tested on words with known times in test_cues.py; on this clip
the pause at the cut is long, so the cues would stay apart even without it."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pysubs2
import pytest

from sync.cli import main
from sync.cues import check
from sync.subtitles import RunFolder, render


def shot_reverse_shot(path: Path, first: Path, second: Path) -> float:
    """Composed: two real GRID clips one after the other, each with its own picture and
    sound, joined by a hard cut. Returns the cut's time (s)."""
    from restore.media import iter_audio, iter_frames, open_source

    frames, sound, rate = [], [], 0
    for clip in (first, second):
        source = open_source(clip)
        frames += [f.rgb() for f in iter_frames(source)]
        rate = source.audio[0].sample_rate
        samples = np.concatenate([b.samples for b in iter_audio(source)], axis=1).mean(axis=0)
        want = round(len(frames) / 25 * rate) - sum(len(s) for s in sound)
        sound.append(np.pad(samples, (0, max(0, want - len(samples))))[:want])
        if clip == first:
            cut = len(frames) / 25
    with av.open(str(path), "w") as out:
        video = out.add_stream("ffv1", rate=25)
        video.width, video.height, video.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        audio = out.add_stream("flac", rate=rate, layout="mono")
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, "rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        pcm = (np.clip(np.concatenate(sound), -1, 1) * 32767).astype(np.int16).reshape(1, -1)
        block = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        block.sample_rate, block.pts, block.time_base = rate, 0, Fraction(1, rate)
        out.mux(audio.encode(block))
        out.mux(audio.encode(None))
    return cut


@pytest.mark.slow
def test_no_cue_runs_across_a_real_shot_change(media, tmp_path):
    grid = media / "faces" / "grid"
    film = tmp_path / "cut.mkv"
    cut = shot_reverse_shot(film, grid / "bbaf2n.mpg", grid / "lrwp9a.mpg")
    out = tmp_path / "out"
    assert main(["run", str(film), "-o", str(out), "--quiet"]) == 0
    shots = json.loads((out / "cut.faces.json").read_text())["shots"]
    assert any(abs(t - cut) < 0.25 for t in shots), shots  # the face stage saw the cut
    found = min(shots, key=lambda t: abs(t - cut))
    events = pysubs2.load(str(out / "cut.en.srt"))
    assert len(events) >= 2
    for event in events:  # each cue on one side of the cut
        assert event.end / 1000 <= found + 1e-3 or event.start / 1000 >= found - 1e-3
    run = RunFolder.open(out)
    picture = run.picture()
    assert found in picture.cuts and picture.fps == 25 and picture.width == 360
    cues, _ = render(run.transcript(), run.rules(), picture)
    assert not [b for b in check(cues, run.rules(), 25, picture.cuts) if b.rule == "shot"]
