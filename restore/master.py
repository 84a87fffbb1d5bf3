"""Writing the master: FFV1 picture, FLAC sound, carried-over tracks, subtitle streams, in MKV.

The master is the archival copy: lossless codecs, every frame at its own
timestamp, the source's frame size, pixel aspect ratio and colour tags. It is
written under a temporary name in the destination folder and renamed only when
complete, so a crash never leaves a file that looks finished.
"""

from __future__ import annotations

import heapq
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from restore._avstream import set_sample_aspect_ratio
from restore.errors import MediaError, OutputError, write_error
from restore.media import FIELD_ORDERS, AudioBlock, CopiedPacket, Frame, Source

log = logging.getLogger(__name__)

_FULL_RANGE = 2  # AVCOL_RANGE_JPEG
FIELD_CODES = {name: code for code, name in FIELD_ORDERS.items()}
_FFV1_FORMATS = {f.name for f in av.Codec("ffv1", "w").video_formats}
# ISO 639-1 -> ISO 639-2/B, as Matroska language tags want them.
_LANG3 = {
    "en": "eng",
    "de": "ger",
    "fr": "fre",
    "es": "spa",
    "it": "ita",
    "nl": "dut",
    "pt": "por",
    "ru": "rus",
    "ja": "jpn",
    "zh": "chi",
    "sv": "swe",
    "pl": "pol",
}


def master_pix_fmt(source_fmt: str) -> str:
    """The FFV1 pixel format that stores ``source_fmt`` losslessly (or as close as FFV1 can)."""
    if source_fmt in _FFV1_FORMATS:
        return source_fmt
    if source_fmt.startswith("yuvj") and source_fmt.replace("yuvj", "yuv") in _FFV1_FORMATS:
        return source_fmt.replace("yuvj", "yuv")  # same samples, tagged full range
    desc = av.VideoFormat(source_fmt) if source_fmt else None
    deep = desc is not None and max((c.bits for c in desc.components), default=8) > 8
    name = source_fmt.lower()
    if any(tag in name for tag in ("rgb", "bgr", "gbr", "pal")):
        if "a" in name.replace("gbr", "").replace("pal", "") and not deep:
            return "bgra"
        return "rgb48le" if deep else "bgr0"
    if name.startswith("gray") or name.startswith("ya"):
        return "gray16le" if deep else "gray"
    return "yuv444p16le" if deep else "yuv444p"


def language_tag(code: str | None) -> str:
    if not code:
        return "und"
    return _LANG3.get(code, code)


@dataclass
class MasterStats:
    frames: int = 0
    audio_samples: int = 0
    copied_packets: int = 0


class MasterWriter:
    """Encode frames and audio blocks into a new MKV, one pass, interleaved by time.

    Use as a context manager: the file appears at ``path`` only if the block
    completes without an exception.
    """

    def __init__(
        self,
        path: str | Path,
        source: Source,
        *,
        video: bool = True,
        audio_track: int | None = 0,
        copy_tracks: Sequence[int] = (),
        threads: int = 0,
    ) -> None:
        self.path = Path(path)
        self.source = source
        self.stats = MasterStats()
        self._want_video = video and source.video is not None
        self._audio_track = audio_track if source.audio else None
        self._copy_tracks = tuple(copy_tracks)
        self._threads = threads
        self._container: av.container.OutputContainer | None = None
        self._tmp: Path | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> MasterWriter:
        self._tmp = _temp_beside(self.path)
        self._container = av.open(str(self._tmp), "w", format="matroska")
        self._container.metadata["encoder_note"] = "reelscribe master"
        if self._want_video:
            self._add_video()
        if self._audio_track is not None:
            self._add_audio()
        self._add_copies()
        return self

    def __exit__(self, kind, value, traceback) -> None:
        assert self._container is not None and self._tmp is not None
        try:
            if kind is None:
                self._flush()
            self._container.close()
        except BaseException as error:
            self._tmp.unlink(missing_ok=True)
            if isinstance(error, OSError):  # the last packets and the index go out on close
                raise write_error(self.path, error) from error
            raise
        if kind is None:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)

    # -- streams -----------------------------------------------------------------------------
    def _add_video(self) -> None:
        info = self.source.video
        assert info is not None and self._container is not None
        stream = self._container.add_stream(
            "ffv1", options={"level": "3", "slicecrc": "1", "g": "1"}
        )
        stream.width, stream.height = info.width, info.height
        stream.pix_fmt = master_pix_fmt(info.pix_fmt)
        stream.time_base = info.time_base
        cc = stream.codec_context
        cc.time_base = info.time_base
        if info.average_rate:
            cc.framerate = info.average_rate
        if info.sample_aspect_ratio:
            cc.sample_aspect_ratio = info.sample_aspect_ratio
            set_sample_aspect_ratio(stream, info.sample_aspect_ratio)  # what Matroska writes
        cc.color_range = _FULL_RANGE if info.pix_fmt.startswith("yuvj") else info.color.range
        cc.colorspace = info.color.space
        cc.color_primaries = info.color.primaries
        cc.color_trc = info.color.transfer
        if info.field_order not in ("unknown", "progressive"):  # interlaced: say so, keep fields
            cc.field_order = FIELD_CODES[info.field_order]
        cc.thread_count = self._threads
        self._video = stream

    def _add_audio(self) -> None:
        assert self._container is not None and self._audio_track is not None
        info = self.source.audio_track(self._audio_track)
        stream = self._container.add_stream("flac", rate=info.sample_rate, layout=info.layout)
        deep = info.sample_format not in {"s16", "s16p", "u8", "u8p"}
        stream.format = "s32" if deep else "s16"
        stream.time_base = Fraction(1, info.sample_rate)
        stream.metadata["title"] = "restored"
        stream.metadata["language"] = language_tag(info.language) if info.language else "und"
        self._audio = stream
        self._audio_scale = float(2**31 if deep else 2**15)
        self._audio_dtype = np.int32 if deep else np.int16

    def _add_copies(self) -> None:
        assert self._container is not None
        self._copies: dict[int, av.stream.Stream] = {}
        if not self._copy_tracks:
            return
        assert self.source.audio_path is not None
        with av.open(str(self.source.audio_path)) as template:
            for track in self._copy_tracks:
                info = self.source.audio_track(track)
                stream = self._container.add_stream_from_template(
                    template.streams[info.stream_index]
                )
                stream.metadata["title"] = f"original track {track}"
                if info.language:
                    stream.metadata["language"] = info.language
                self._copies[track] = stream

    # -- writing -----------------------------------------------------------------------------
    def write(self, item: Frame | AudioBlock | CopiedPacket) -> None:
        if isinstance(item, Frame):
            self.write_frame(item)
        elif isinstance(item, AudioBlock):
            self.write_audio(item)
        else:
            self.write_packet(item)

    def write_frame(self, frame: Frame) -> None:
        image = frame.image
        if image.format.name.startswith("yuvj"):  # a plain copy of the planes, range kept
            image = image.reformat(
                format=image.format.name.replace("yuvj", "yuv"),
                src_color_range="JPEG",
                dst_color_range="JPEG",
            )
        if image.format.name != self._video.pix_fmt:
            image = image.reformat(format=self._video.pix_fmt)
        image.pts = frame.pts
        image.time_base = frame.time_base
        self._mux(self._video.encode(image))
        self.stats.frames += 1

    def write_audio(self, block: AudioBlock) -> None:
        scale = self._audio_scale
        pcm = np.clip(np.round(block.samples.T * scale), -scale, scale - 1).astype(
            self._audio_dtype
        )
        fmt = "s32" if self._audio_dtype is np.int32 else "s16"
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format=fmt, layout=block.layout)
        frame.sample_rate = block.rate
        frame.pts = block.start
        frame.time_base = Fraction(1, block.rate)
        self._mux(self._audio.encode(frame))
        self.stats.audio_samples += block.samples.shape[1]

    def write_packet(self, item: CopiedPacket) -> None:
        item.packet.stream = self._copies[item.track]
        self._mux([item.packet])
        self.stats.copied_packets += 1

    def _mux(self, packets: Iterable[av.Packet]) -> None:
        assert self._container is not None
        try:
            self._container.mux(packets)
        except OSError as error:
            raise write_error(self.path, error) from error

    def _flush(self) -> None:
        if self._want_video:
            self._mux(self._video.encode(None))
        if self._audio_track is not None:
            self._mux(self._audio.encode(None))


def interleave(*streams: Iterable[Frame | AudioBlock | CopiedPacket]) -> Iterator:
    """Merge time-ordered iterators into one time-ordered stream (lazily: memory stays bounded)."""
    return heapq.merge(*streams, key=lambda item: item.time)


def _temp_beside(path: Path) -> Path:
    """A fresh hidden name in the destination folder (same file system: the rename is atomic)."""
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"output folder {folder} does not exist: create it or choose another")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write in {folder}: permission denied; choose another folder")
    return folder / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.part"


# The temporary names reelscribe writes beside its outputs, each carrying its writer's pid.
_TEMPORARY = (
    re.compile(r"^\..+\.(?P<pid>\d+)-[0-9a-f]{8}\.part$"),  # a file before its rename
    re.compile(r"^\..+\.reelscribe-(?P<pid>\d+)-[0-9a-z_]+$"),  # a run's work folder
    re.compile(r"^\.subs-(?P<pid>\d+)-[0-9a-z_]+$"),  # subtitle files on their way into a master
)


def temporary_prefix(stem: str) -> str:
    """The prefix of a run's work folder (``tempfile``'s ``prefix``): recognisable, with our pid."""
    return f".{stem}.reelscribe-{os.getpid()}-"


def remove_stale_temporaries(folder: str | Path) -> int:
    """Remove what killed runs left in ``folder``: temporaries whose writer no longer runs.

    A run killed outright (SIGKILL, power cut) cannot clean up after itself; the next
    run in the same folder does. Temporaries of a live process (another run writing
    here now) are kept. Pids are this machine's: an output folder shared by runs on
    several machines at once (a network share) is not supported. Returns how many were
    removed.
    """
    removed = 0
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    for entry in folder.iterdir():
        match = next((m for p in _TEMPORARY if (m := p.match(entry.name))), None)
        if match is None or _running(int(match["pid"])):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    if removed:
        log.info("%s: removed %d temporary file(s) left by an interrupted run", folder, removed)
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place if the block succeeds."""
    path = Path(path)
    tmp = _temp_beside(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        try:
            tmp.write_text(text, encoding="utf-8")
        except OSError as error:
            raise write_error(path, error) from error


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        try:
            tmp.write_bytes(data)
        except OSError as error:
            raise write_error(path, error) from error


@dataclass(frozen=True)
class SubtitleTrack:
    """A subtitle file to carry into the master as a stream."""

    path: Path
    language: str | None
    title: str


def mux_subtitles(master: str | Path, subtitles: Sequence[SubtitleTrack], out: str | Path) -> None:
    """Copy every picture and sound stream of ``master`` into ``out`` and add the subtitle files.

    Stream copy only: nothing is re-encoded. Subtitle streams already in ``master``
    are dropped, so this also swaps a master's subtitles for new ones.
    """
    master, out = Path(master), Path(out)
    with av.open(str(master)) as source, atomic_path(out) as tmp:
        with av.open(str(tmp), "w", format="matroska") as target:
            target.metadata.update(source.metadata)
            kept = [s for s in source.streams if s.type in ("video", "audio")]
            mapping = {}
            for stream in kept:
                copy = target.add_stream_from_template(stream)
                copy.metadata.update(stream.metadata)
                sar = stream.sample_aspect_ratio if stream.type == "video" else None
                if sar and sar != 1:
                    set_sample_aspect_ratio(copy, Fraction(sar))
                mapping[stream.index] = copy
            sub_packets = []
            opened = []
            for track in subtitles:
                try:
                    sub = av.open(str(track.path))
                except av.error.FFmpegError as error:
                    raise MediaError(
                        track.path, "is not a subtitle file FFmpeg can read"
                    ) from error
                opened.append(sub)
                sub_stream = sub.streams.subtitles[0]
                copy = target.add_stream_from_template(sub_stream)
                copy.metadata["language"] = language_tag(track.language)
                copy.metadata["title"] = track.title
                for packet in sub.demux(sub_stream):
                    if packet.size and packet.pts is not None:
                        packet.stream = copy
                        sub_packets.append((packet.pts * Fraction(sub_stream.time_base), packet))
            try:

                def master_packets() -> Iterator[tuple[Fraction, av.Packet]]:
                    for packet in source.demux(kept):
                        if packet.size == 0 or packet.dts is None:
                            continue
                        when = packet.dts * Fraction(packet.stream.time_base)
                        packet.stream = mapping[packet.stream.index]
                        yield when, packet

                sub_packets.sort(key=lambda pair: pair[0])
                for _, packet in heapq.merge(master_packets(), sub_packets, key=lambda p: p[0]):
                    target.mux(packet)
            finally:
                for sub in opened:
                    sub.close()
