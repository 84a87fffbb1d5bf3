"""Decode -> master -> decode keeps every frame, its timing, the picture and the sound."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from restore.errors import MediaError, UsageError
from restore.master import MasterWriter, interleave, master_pix_fmt
from restore.media import content_hash, iter_audio, iter_frames, open_source, parse_fps
from sync.pipeline import Pipeline, RunOptions


def decoded(path):
    source = open_source(path)
    return source, list(iter_frames(source))


def test_round_trip_keeps_every_frame_time_picture_and_tone(tmp_path, clip, tone_of):
    expected = clip(tmp_path / "in.mkv", frames=50, fps=25, tones=(440.0,))
    master = tmp_path / "out.mkv"
    result = Pipeline().restore(tmp_path / "in.mkv", master)
    assert result.frames == 50

    source, src_frames = decoded(tmp_path / "in.mkv")
    out, out_frames = decoded(master)
    assert len(out_frames) == expected["frames"]
    assert [f.time for f in out_frames] == pytest.approx(
        [float(t) for t in expected["times"]], abs=1e-3
    )
    for a, b in zip(src_frames, out_frames, strict=True):
        assert np.array_equal(a.image.to_ndarray(), b.image.to_ndarray())  # lossless, same pix_fmt
    assert out.video.pix_fmt == source.video.pix_fmt
    assert (out.video.width, out.video.height) == expected["size"]

    sound = np.concatenate([b.samples for b in iter_audio(out)], axis=1)
    assert sound.shape[1] == pytest.approx(2.0 * expected["rate"], abs=2)
    assert tone_of(sound, expected["rate"]) == pytest.approx(440.0, abs=2)
    assert out.duration == pytest.approx(2.0, abs=0.05)


def test_variable_frame_rate_survives(tmp_path, clip):
    expected = clip(tmp_path / "vfr.mkv", frames=40, vfr=True)
    Pipeline().restore(tmp_path / "vfr.mkv", tmp_path / "m.mkv")
    _, frames = decoded(tmp_path / "m.mkv")
    gaps = np.diff([float(f.time) for f in frames])
    assert len(frames) == 40
    assert [float(f.time) for f in frames] == pytest.approx(
        [float(t) for t in expected["times"]], abs=1e-3
    )
    assert set(np.round(gaps, 3)) == {0.03, 0.05}  # not flattened to a constant rate


def test_aspect_ratio_and_colour_tags_are_kept(tmp_path, clip):
    clip(tmp_path / "anamorphic.mkv", frames=10, sar=Fraction(16, 11), bt709=True)
    Pipeline().restore(tmp_path / "anamorphic.mkv", tmp_path / "m.mkv")
    source, out = open_source(tmp_path / "anamorphic.mkv"), open_source(tmp_path / "m.mkv")
    assert out.video.sample_aspect_ratio == Fraction(16, 11) == source.video.sample_aspect_ratio
    assert out.video.color == source.video.color
    assert out.video.color.space == 1 and out.video.color.primaries == 1  # BT.709


def test_extra_audio_tracks_carried_and_chosen_track_restored(tmp_path, clip, tone_of):
    clip(tmp_path / "two.mkv", frames=25, tones=(440.0, 660.0))
    options = RunOptions(audio_track=1)
    result = Pipeline(options).restore(tmp_path / "two.mkv", tmp_path / "m.mkv")
    assert result.copied_tracks == (0,)
    out = open_source(tmp_path / "m.mkv")
    assert len(out.audio) == 2
    first = np.concatenate([b.samples for b in iter_audio(out, 0)], axis=1)
    second = np.concatenate([b.samples for b in iter_audio(out, 1)], axis=1)
    assert tone_of(first, 48000) == pytest.approx(660.0, abs=2)  # the restored track leads
    assert tone_of(second, 48000) == pytest.approx(440.0, abs=2)  # the other one, carried over


def test_audio_track_out_of_range_is_a_usage_error(tmp_path, clip):
    clip(tmp_path / "one.mkv", frames=5)
    with pytest.raises(UsageError, match="audio track"):
        Pipeline(RunOptions(audio_track=3)).restore(tmp_path / "one.mkv", tmp_path / "m.mkv")
    assert not list(tmp_path.glob("m.mkv*")) and not list(tmp_path.glob(".m.mkv*"))


@pytest.mark.parametrize(
    ("container", "suffix"), [("avi", "avi"), ("mov", "mov"), ("mp4", "mp4"), ("mpeg", "mpg")]
)
def test_common_containers_keep_every_frame_and_the_sound(
    tmp_path, clip, tone_of, container, suffix
):
    film = tmp_path / f"old.{suffix}"
    expected = clip(film, frames=30, container=container)
    Pipeline().restore(film, tmp_path / "m.mkv")
    source, frames = decoded(tmp_path / "m.mkv")
    assert len(frames) == expected["frames"]
    assert float(frames[-1].time - frames[0].time) == pytest.approx(29 / 25, abs=2e-3)
    sound = np.concatenate([b.samples for b in iter_audio(source)], axis=1)
    assert tone_of(sound, expected["rate"]) == pytest.approx(440.0, abs=3)


def test_full_range_mjpeg_is_kept_sample_for_sample(tmp_path):
    film = tmp_path / "scan.avi"
    with av.open(str(film), "w") as out:
        stream = out.add_stream("mjpeg", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        rng = np.random.default_rng(3)
        for i in range(10):
            rgb = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, "rgb24").reformat(format="yuvj420p")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    Pipeline().restore(film, tmp_path / "m.mkv")
    _, original = decoded(film)
    restored, frames = decoded(tmp_path / "m.mkv")
    assert len(frames) == 10
    assert restored.video.color.range == 2  # full range, as JPEG samples are
    for a, b in zip(original, frames, strict=True):
        assert all(
            np.array_equal(np.asarray(p), np.asarray(q))
            for p, q in zip(a.image.planes, b.image.planes, strict=True)
        )


def test_real_mpeg_program_stream_keeps_every_frame(media, tmp_path):
    film = media / "faces" / "grid" / "bbaf2n.mpg"
    Pipeline().restore(film, tmp_path / "m.mkv")
    _, frames = decoded(tmp_path / "m.mkv")
    _, original = decoded(film)
    assert len(frames) == len(original) == 75
    for a, b in zip(original, frames, strict=True):
        assert np.array_equal(a.image.to_ndarray(), b.image.to_ndarray())


def test_image_sequence_becomes_a_master_with_every_frame(media, tmp_path):
    folder = media / "film" / "bofb_001"
    source = open_source(folder, fps=24)
    assert source.kind == "images" and len(source.images) == 24
    assert [p.name for p in source.images][:3] == ["100.png", "102.png", "104.png"]
    result = Pipeline(RunOptions(fps="24")).restore(folder, tmp_path / "seq.mkv")
    assert result.frames == 24
    out, frames = decoded(tmp_path / "seq.mkv")
    assert len(frames) == 24
    assert frames[-1].time == pytest.approx(23 / 24, abs=1e-3)
    for path, frame in zip(source.images, frames, strict=True):
        with av.open(str(path)) as image:
            original = next(image.decode(video=0)).to_ndarray(format="rgb24")
        assert np.array_equal(original, frame.rgb())


def test_image_sequence_needs_a_rate(media):
    with pytest.raises(UsageError, match="--fps"):
        open_source(media / "film" / "bofb_001")


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("24", Fraction(24)),
        ("24000/1001", Fraction(24000, 1001)),
        ("23.976", Fraction(24000, 1001)),
        ("25.0", Fraction(25)),
    ],
)
def test_parse_fps(text, rate):
    assert parse_fps(text) == rate


@pytest.mark.parametrize("bad", ["0", "-3", "fast"])
def test_parse_fps_refuses_nonsense(bad):
    with pytest.raises(UsageError):
        parse_fps(bad)


def test_unreadable_inputs_say_what_is_wrong(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a film\n" * 50)
    with pytest.raises(MediaError, match="empty"):
        open_source(empty)
    with pytest.raises(MediaError, match="not a media file"):
        open_source(text)
    with pytest.raises(MediaError, match="does not exist"):
        open_source(tmp_path / "missing.mkv")
    with pytest.raises(MediaError, match="no numbered images"):
        open_source(tmp_path, fps=24)


def test_master_pixel_formats_are_lossless_choices():
    assert master_pix_fmt("yuv420p") == "yuv420p"
    assert master_pix_fmt("rgb24") == "bgr0"
    assert master_pix_fmt("gbrp10le") == "gbrp10le"
    assert master_pix_fmt("rgb48be") == "rgb48le"
    assert master_pix_fmt("gray") == "gray"


def test_failed_write_leaves_nothing_behind(tmp_path, clip):
    clip(tmp_path / "in.mkv", frames=20)
    source = open_source(tmp_path / "in.mkv")
    target = tmp_path / "out" / "master.mkv"
    target.parent.mkdir()
    with pytest.raises(RuntimeError), MasterWriter(target, source) as writer:
        for n, item in enumerate(interleave(iter_frames(source), iter_audio(source))):
            writer.write(item)
            if n == 10:
                raise RuntimeError("crash in the middle")
    assert list(target.parent.iterdir()) == []


def test_content_hash_follows_content_not_name(tmp_path, clip):
    clip(tmp_path / "a.mkv", frames=5)
    (tmp_path / "b.mkv").write_bytes((tmp_path / "a.mkv").read_bytes())
    clip(tmp_path / "c.mkv", frames=6)
    a, b, c = (content_hash(open_source(tmp_path / n)) for n in ("a.mkv", "b.mkv", "c.mkv"))
    assert a == b != c


@pytest.mark.parametrize(
    ("suffix", "pix_fmt"), [("tiff", "rgb24"), ("dpx", "rgb48be"), ("png", "rgb48be")]
)
def test_scanned_sequences_keep_their_depth(media, tmp_path, suffix, pix_fmt):
    """Archive scans: TIFF, 16-bit DPX and PNG frames (made from real film frames)."""
    scans = tmp_path / "scans"
    scans.mkdir()
    originals = []
    for n, png in enumerate(sorted((media / "film" / "bofb_001").glob("*.png"))[:6]):
        with av.open(str(png)) as image:
            rgb = next(image.decode(video=0)).to_ndarray(format="rgb24")
        frame = av.VideoFrame.from_ndarray(rgb, "rgb24").reformat(format=pix_fmt)
        with av.open(str(scans / f"reel1_{86400 + n:07d}.{suffix}"), "w", format="image2") as out:
            stream = out.add_stream(suffix if suffix != "tiff" else "tiff", rate=24)
            stream.width, stream.height, stream.pix_fmt = rgb.shape[1], rgb.shape[0], pix_fmt
            out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
        originals.append(frame.to_ndarray(format="rgb48le") if "48" in pix_fmt else rgb)
    source = open_source(scans, fps="24")
    assert len(source.images) == 6
    Pipeline(RunOptions(fps="24")).restore(scans, tmp_path / "m.mkv")
    restored, frames = decoded(tmp_path / "m.mkv")
    assert len(frames) == 6
    if "48" in pix_fmt:
        bits = {c.bits for c in av.VideoFormat(restored.video.pix_fmt).components}
        assert bits == {16}  # 16 bits per sample kept, not cut to 8
    for original, frame in zip(originals, frames, strict=True):
        fmt = "rgb48le" if "48" in pix_fmt else "rgb24"
        assert np.array_equal(original, frame.image.to_ndarray(format=fmt))
