"""Reading a film: probing, and bounded iterators of frames, audio blocks and packets.

A source is a media file (any container FFmpeg reads) or a folder of numbered
images (DPX, TIFF, PNG scans) with a frame rate and an optional audio file. Time
is kept exact: every frame carries its own ``pts`` in its stream's time base, so
variable frame rates survive; all times are relative to the source's origin (the
container's start time), the zero of every timestamp reelscribe writes.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from restore.errors import MediaError, UsageError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".dpx", ".tif", ".tiff", ".png", ".exr", ".jpg", ".jpeg", ".bmp"}
_MAX_DAMAGE_LOGS = 10
# FFmpeg's AVFieldOrder, as the names its tools print
FIELD_ORDERS = {0: "unknown", 1: "progressive", 2: "tt", 3: "bb", 4: "tb", 5: "bt"}


@dataclass(frozen=True)
class ColorTags:
    """The colour description a master must carry over (FFmpeg's enum values)."""

    range: int
    space: int
    primaries: int
    transfer: int


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    pix_fmt: str
    codec: str
    time_base: Fraction
    average_rate: Fraction | None
    sample_aspect_ratio: Fraction | None
    color: ColorTags
    frames: int | None  # as the container declares it; None when unknown
    field_order: str = "unknown"  # "progressive", or interlaced: "tt", "bb", "tb", "bt"


@dataclass(frozen=True)
class AudioInfo:
    track: int  # 0-based position among the audio streams (ffmpeg's a:N)
    stream_index: int
    codec: str
    sample_rate: int
    channels: int
    layout: str
    sample_format: str
    language: str | None


@dataclass(frozen=True)
class Source:
    """A probed film: where its picture and sound come from, and what they are."""

    path: Path
    kind: str  # "file" | "images"
    duration: float  # seconds; 0.0 when unknown
    origin: Fraction  # the container's start time in seconds; t=0 of everything we write
    video: VideoInfo | None
    audio: tuple[AudioInfo, ...]
    audio_path: Path | None  # where the audio streams live (the file itself, or --audio)
    images: tuple[Path, ...] = field(default=(), repr=False)  # image-sequence frames, in order
    fps: Fraction | None = None  # image sequences only

    @property
    def stem(self) -> str:
        return self.path.stem if self.kind == "file" else self.path.name

    def audio_track(self, track: int) -> AudioInfo:
        if not self.audio:
            raise MediaError(self.path, "has no audio stream", "there is no sound to use")
        if not 0 <= track < len(self.audio):
            raise UsageError(
                f"--audio-track {track}: {self.path} has {len(self.audio)} audio track(s), "
                f"numbered 0 to {len(self.audio) - 1}"
            )
        return self.audio[track]


@dataclass(frozen=True)
class Frame:
    """One picture with its exact timestamp (``pts`` in ``time_base`` units from the origin)."""

    index: int
    pts: int
    time_base: Fraction
    image: av.VideoFrame

    @property
    def time(self) -> Fraction:
        return self.pts * self.time_base

    def rgb(self) -> np.ndarray:
        """The picture as an H x W x 3 uint8 RGB array (for restoration and analysis)."""
        return self.image.to_ndarray(format="rgb24")

    def with_rgb(self, array: np.ndarray) -> Frame:
        """A new frame with a changed picture and the same timing and colour tags."""
        image = av.VideoFrame.from_ndarray(np.ascontiguousarray(array, dtype=np.uint8), "rgb24")
        image.color_range = self.image.color_range
        image.colorspace = self.image.colorspace
        return Frame(self.index, self.pts, self.time_base, image)


@dataclass(frozen=True)
class AudioBlock:
    """A block of samples, float32 (channels, n), starting at sample ``start`` from the origin."""

    start: int
    rate: int
    layout: str
    samples: np.ndarray

    @property
    def time(self) -> Fraction:
        return Fraction(self.start, self.rate)

    @property
    def end(self) -> int:
        return self.start + self.samples.shape[1]


@dataclass(frozen=True)
class CopiedPacket:
    """A packet carried into the master unchanged (extra audio tracks)."""

    track: int
    time: Fraction
    packet: av.Packet


# --- probing --------------------------------------------------------------------------------


def _open(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise MediaError(path, "does not exist", "check the path")
    if path.is_file() and path.stat().st_size == 0:
        raise MediaError(path, "is an empty file", "give a film or an audio file")
    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as error:
        raise MediaError(
            path, "is not a media file FFmpeg can read", f"{error.strerror or error}"
        ) from error


def _video_info(stream: av.video.stream.VideoStream) -> VideoInfo:
    cc = stream.codec_context
    sar = stream.sample_aspect_ratio or cc.sample_aspect_ratio  # container's, else the codec's
    return VideoInfo(
        width=cc.width,
        height=cc.height,
        pix_fmt=cc.pix_fmt or "",
        codec=cc.name,
        time_base=Fraction(stream.time_base),
        average_rate=Fraction(stream.average_rate) if stream.average_rate else None,
        sample_aspect_ratio=Fraction(sar) if sar else None,
        color=ColorTags(cc.color_range, cc.colorspace, cc.color_primaries, cc.color_trc),
        frames=stream.frames or None,
        field_order=FIELD_ORDERS.get(cc.field_order, "unknown"),
    )


def _audio_infos(container: av.container.InputContainer) -> tuple[AudioInfo, ...]:
    infos = []
    for track, stream in enumerate(container.streams.audio):
        cc = stream.codec_context
        if not cc.sample_rate:
            continue
        infos.append(
            AudioInfo(
                track=track,
                stream_index=stream.index,
                codec=cc.name,
                sample_rate=cc.sample_rate,
                channels=cc.channels,
                layout=cc.layout.name,
                sample_format=cc.format.name if cc.format else "",
                language=stream.metadata.get("language"),
            )
        )
    return tuple(infos)


def _picture_streams(container: av.container.InputContainer) -> list:
    """Video streams that are a film's picture (cover art in MP3/MP4 files is not)."""
    return [
        s
        for s in container.streams.video
        if s.codec_context.width and not (s.disposition & av.stream.Disposition.attached_pic)
    ]


def _origin(container: av.container.InputContainer) -> Fraction:
    start = container.start_time
    return Fraction(start, av.time_base) if start else Fraction(0)


def parse_fps(text: str | float | Fraction) -> Fraction:
    """'24', '23.976', '24000/1001' -> an exact rate."""
    try:
        rate = Fraction(str(text)).limit_denominator(1001 * 1000)
    except (ValueError, ZeroDivisionError) as error:
        raise UsageError(f"--fps {text!r} is not a frame rate (e.g. 24, 25, 24000/1001)") from error
    if rate <= 0:
        raise UsageError(f"--fps {text!r} must be above zero")
    if str(text) in {"23.976", "29.97", "59.94", "47.952"}:
        rate = Fraction(round(float(rate) * 1.001) * 1000, 1001)
    return rate


def _numbered_images(folder: Path) -> tuple[Path, ...]:
    numbered = []
    for path in folder.iterdir():
        if path.suffix.lower() not in IMAGE_SUFFIXES or path.name.startswith("."):
            continue
        digits = re.findall(r"\d+", path.stem)
        if digits:
            numbered.append((int(digits[-1]), path.name, path))
    numbered.sort()
    if not numbered:
        raise MediaError(
            folder,
            "is a folder with no numbered images",
            "give a film file, or a folder of numbered DPX, TIFF or PNG frames",
        )
    numbers = [n for n, _, _ in numbered]
    steps = {b - a for a, b in zip(numbers, numbers[1:], strict=False)}
    if 0 in steps:
        raise MediaError(folder, "has two images with the same frame number", "keep one of each")
    if len(steps) > 1:
        stride = min(steps)
        missing = sum((b - a) // stride - 1 for a, b in zip(numbers, numbers[1:], strict=False))
        log.warning(
            "%s: frame numbers are not evenly spaced (%d frame(s) missing?); "
            "the images are played one after another",
            folder,
            missing,
        )
    return tuple(p for _, _, p in numbered)


def open_source(
    path: str | Path, fps: str | float | None = None, audio: str | Path | None = None
) -> Source:
    """Probe a film file or an image-sequence folder; raise MediaError if it cannot be used."""
    path = Path(path)
    if path.is_dir():
        return _open_sequence(path, fps, audio)
    if fps is not None:
        log.info("--fps applies to image sequences; %s keeps its own timing", path.name)
    if audio is not None:
        raise UsageError("--audio applies to image sequences; a film file brings its own sound")
    with _open(path) as container:
        videos = _picture_streams(container)
        audio_infos = _audio_infos(container)
        if not videos and not audio_infos:
            raise MediaError(
                path,
                "has neither a picture nor a sound stream FFmpeg can decode",
                f"it reads as {container.format.long_name or container.format.name}",
            )
        duration = container.duration / av.time_base if container.duration else 0.0
        return Source(
            path=path,
            kind="file",
            duration=float(duration),
            origin=_origin(container),
            video=_video_info(videos[0]) if videos else None,
            audio=audio_infos,
            audio_path=path if audio_infos else None,
        )


def _open_sequence(folder: Path, fps: str | float | None, audio: str | Path | None) -> Source:
    if fps is None:
        raise UsageError(f"{folder} is an image sequence: give its frame rate with --fps (e.g. 24)")
    rate = parse_fps(fps)
    images = _numbered_images(folder)
    with _open(images[0]) as container:
        if not container.streams.video:
            raise MediaError(images[0], "is not an image FFmpeg can read")
        info = _video_info(container.streams.video[0])
        first = next(container.decode(video=0), None)
        if first is None:
            raise MediaError(images[0], "holds no decodable picture")
        pix_fmt = first.format.name
    info = VideoInfo(
        width=info.width,
        height=info.height,
        pix_fmt=pix_fmt,
        codec=info.codec,
        time_base=1 / rate,
        average_rate=rate,
        sample_aspect_ratio=info.sample_aspect_ratio,
        color=info.color,
        frames=len(images),
        field_order=info.field_order,
    )
    audio_infos: tuple[AudioInfo, ...] = ()
    audio_path = None
    if audio is not None:
        audio_path = Path(audio)
        with _open(audio_path) as container:
            audio_infos = _audio_infos(container)
        if not audio_infos:
            raise MediaError(audio_path, "has no audio stream", "give a sound file with --audio")
    return Source(
        path=folder,
        kind="images",
        duration=float(len(images) / rate),
        origin=Fraction(0),
        video=info,
        audio=audio_infos,
        audio_path=audio_path,
        images=images,
        fps=rate,
    )


# --- iterators ------------------------------------------------------------------------------


@dataclass
class DecodeStats:
    """What a decoder had to skip: damaged packets are counted, not fatal."""

    decoded: int = 0
    damaged: int = 0
    interlaced: int = 0  # frames the decoder flags as two fields (kept as they are)

    def damage(self, where: object, error: Exception) -> None:
        self.damaged += 1
        if self.damaged <= _MAX_DAMAGE_LOGS:
            log.warning("skipped damaged data at %s: %s", where, error)
        elif self.damaged == _MAX_DAMAGE_LOGS + 1:
            log.warning("more damaged data; further skips are only counted")


def iter_frames(source: Source, stats: DecodeStats | None = None) -> Iterator[Frame]:
    """Every decodable frame of the source's picture, in presentation order."""
    if source.video is None:
        return
    stats = stats if stats is not None else DecodeStats()
    if source.kind == "images":
        yield from _iter_images(source, stats)
        return
    with _open(source.path) as container:
        stream = _picture_streams(container)[0]
        stream.thread_type = "AUTO"
        time_base = Fraction(stream.time_base)
        shift = round(source.origin / time_base)
        last: int | None = None
        step = _frame_step(stream)
        for packet in container.demux(stream):
            try:
                decoded = packet.decode()
            except av.error.FFmpegError as error:
                stats.damage(f"{source.path.name} packet pts {packet.pts}", error)
                continue
            for image in decoded:
                if image.pts is not None:
                    pts = image.pts - shift
                else:
                    pts = last + step if last is not None else 0
                if last is not None and pts <= last:
                    pts = last + 1  # a repeated timestamp: keep the frame, keep the order
                last = pts
                image.pts = None
                stats.interlaced += image.interlaced_frame
                yield Frame(stats.decoded, pts, time_base, image)
                stats.decoded += 1


def _frame_step(stream: av.video.stream.VideoStream) -> int:
    rate = stream.average_rate or stream.guessed_rate or 25
    return max(1, round(1 / (Fraction(rate) * Fraction(stream.time_base))))


def _iter_images(source: Source, stats: DecodeStats) -> Iterator[Frame]:
    assert source.fps is not None
    time_base = 1 / source.fps
    for index, path in enumerate(source.images):
        try:
            with av.open(str(path)) as container:
                image = next(container.decode(video=0))
        except (av.error.FFmpegError, StopIteration) as error:
            stats.damage(path.name, error)
            continue
        image.pts = None
        yield Frame(stats.decoded, index, time_base, image)
        stats.decoded += 1


def iter_audio(
    source: Source, track: int = 0, block_s: float = 1.0, stats: DecodeStats | None = None
) -> Iterator[AudioBlock]:
    """The samples of one audio track as float32 blocks, contiguous from the track's first pts."""
    info = source.audio_track(track)
    stats = stats if stats is not None else DecodeStats()
    assert source.audio_path is not None
    with _open(source.audio_path) as container:
        stream = container.streams[info.stream_index]
        origin = source.origin if source.audio_path == source.path else Fraction(0)
        resampler = av.AudioResampler(format="fltp", layout=info.layout, rate=info.sample_rate)
        block = max(1, round(block_s * info.sample_rate))
        pending: list[np.ndarray] = []
        held = 0
        start: int | None = None

        def chunks() -> Iterator[np.ndarray]:
            nonlocal start
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.error.FFmpegError as error:
                    stats.damage(f"{source.audio_path.name} audio pts {packet.pts}", error)
                    continue
                for frame in frames:
                    if start is None:
                        first = (
                            frame.pts * Fraction(stream.time_base) if frame.pts is not None else 0
                        )
                        start = round((first - origin) * info.sample_rate)
                    frame.pts = None
                    for out in resampler.resample(frame):
                        yield out.to_ndarray()
                    stats.decoded += 1
            for out in resampler.resample(None):
                yield out.to_ndarray()

        emitted = 0
        for chunk in chunks():
            if start is not None and start < 0:  # pre-roll before the origin: not part of the film
                drop = min(-start, chunk.shape[1])
                chunk, start = chunk[:, drop:], start + drop
            pending.append(chunk.astype(np.float32, copy=False))
            held += chunk.shape[1]
            while held >= block:
                joined = np.concatenate(pending, axis=1)
                yield AudioBlock(
                    (start or 0) + emitted, info.sample_rate, info.layout, joined[:, :block]
                )
                emitted += block
                pending = [joined[:, block:]]
                held = pending[0].shape[1]
        if held:
            joined = np.concatenate(pending, axis=1)
            yield AudioBlock((start or 0) + emitted, info.sample_rate, info.layout, joined)


def iter_packets(source: Source, track: int) -> Iterator[CopiedPacket]:
    """The packets of one audio track, for carrying it into the master without re-encoding."""
    info = source.audio_track(track)
    assert source.audio_path is not None
    origin = source.origin if source.audio_path == source.path else Fraction(0)
    with _open(source.audio_path) as container:
        stream = container.streams[info.stream_index]
        time_base = Fraction(stream.time_base)
        shift = round(origin / time_base)
        last: int | None = None
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            if packet.pts is None:  # AVI and raw streams often leave it out: dts, else count on
                packet.pts = packet.dts if packet.dts is not None else last
            if packet.pts is None:
                packet.pts = shift
            packet.pts -= shift
            if packet.dts is not None:
                packet.dts -= shift
            last = packet.pts + shift + (packet.duration or 0)
            yield CopiedPacket(track, packet.pts * time_base, packet)


def content_hash(source: Source, chunk: int = 1 << 20) -> str:
    """sha256 of what the source is made of: the file's bytes, or every image (and the audio)."""
    digest = hashlib.sha256()
    files = [source.path] if source.kind == "file" else list(source.images)
    if source.kind == "images" and source.audio_path is not None:
        files.append(source.audio_path)
    for path in files:
        if source.kind == "images":
            digest.update(path.name.encode() + b"\0")
        with open(path, "rb") as handle:
            while block := handle.read(chunk):
                digest.update(block)
    return digest.hexdigest()
