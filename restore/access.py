"""The access copy and review stills: small H.264/AAC pictures and sound a browser can play.

A browser cannot play the FFV1/FLAC master, so the review page gets a small
MP4 beside it: the picture scaled down (at most ``AccessOptions.height`` lines),
H.264 at a constant quality with a fast preset, AAC sound. It is decoded from the
master in one bounded pass (frames and sound blocks stream through) and written
under a temporary name, renamed when complete.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from restore.errors import MediaError, OutputError
from restore.master import atomic_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccessOptions:
    height: int = 360
    """Largest picture height in lines; smaller pictures keep their size."""
    crf: int = 30
    """x264 constant quality (higher is smaller; 30 is a fair review quality at 360 lines)."""
    preset: str = "veryfast"
    """x264 speed preset."""
    audio_bitrate: int = 96_000
    """AAC bits per second."""


@dataclass(frozen=True)
class AccessResult:
    frames: int
    width: int
    height: int
    bytes: int
    encoder: str


def _encoder() -> str:
    for name in ("libx264", "libopenh264", "h264"):
        try:
            av.Codec(name, "w")
            return name
        except Exception:  # noqa: BLE001 - PyAV raises a few kinds for a missing codec
            continue
    raise OutputError("this PyAV has no H.264 encoder, so no access copy can be made")


def _scaled(width: int, height: int, sar: Fraction, limit: int) -> tuple[int, int]:
    """Square-pixel display size, at most ``limit`` lines, both sides even."""
    display_w = width * sar if sar else Fraction(width)
    out_h = min(height, limit)
    out_w = round(display_w * out_h / height)
    return max(2, out_w - out_w % 2), max(2, out_h - out_h % 2)


def write_access_copy(
    master: str | Path, out: str | Path, options: AccessOptions = AccessOptions()
) -> AccessResult:
    """Encode ``master``'s picture and first sound track into the MP4 ``out``."""
    with atomic_path(out) as tmp:
        try:
            return _encode(Path(master), tmp, options)
        except av.FFmpegError as error:
            raise OutputError(f"cannot encode the access copy {out}: {error}") from error


def _encode(master: Path, tmp: Path, options: AccessOptions) -> AccessResult:
    try:
        source = av.open(str(master))
    except av.FFmpegError as error:
        raise MediaError(master, f"cannot be opened for the access copy: {error}") from error
    with source, av.open(str(tmp), "w", format="mp4") as sink:
        vin = source.streams.video[0] if source.streams.video else None
        ain = source.streams.audio[0] if source.streams.audio else None
        vout = aout = None
        encoder = ""
        size = (0, 0)
        if vin is not None:
            encoder = _encoder()
            rate = vin.average_rate or vin.guessed_rate or Fraction(25)
            sar = vin.sample_aspect_ratio or Fraction(1)
            size = _scaled(vin.codec_context.width, vin.codec_context.height, sar, options.height)
            vout = sink.add_stream(encoder, rate=rate)
            vout.width, vout.height = size
            vout.pix_fmt = "yuv420p"
            vout.time_base = vin.time_base
            if encoder == "libx264":
                vout.options = {"crf": str(options.crf), "preset": options.preset}
            else:
                vout.bit_rate = 600_000
        if ain is not None:
            rate = ain.rate if ain.rate in (44100, 48000, 32000, 22050, 16000) else 48000
            aout = sink.add_stream("aac", rate=rate)
            aout.bit_rate = options.audio_bitrate
            aout.layout = "stereo" if (ain.channels or 1) > 1 else "mono"
            resampler = av.AudioResampler(format="fltp", layout=aout.layout.name, rate=rate)
        if vout is None and aout is None:
            raise MediaError(master, "has neither picture nor sound for an access copy")
        frames = 0
        streams = [s for s in (vin, ain) if s is not None]
        for frame in source.decode(*streams):
            if isinstance(frame, av.VideoFrame):
                scaled = frame.reformat(width=size[0], height=size[1], format="yuv420p")
                scaled.pts, scaled.time_base = frame.pts, frame.time_base
                sink.mux(vout.encode(scaled))
                frames += 1
            else:
                frame.pts = None  # the resampler and encoder count samples themselves
                for block in resampler.resample(frame):
                    sink.mux(aout.encode(block))
        if aout is not None:
            for block in resampler.resample(None):
                sink.mux(aout.encode(block))
            sink.mux(aout.encode(None))
        if vout is not None:
            sink.mux(vout.encode(None))
    return AccessResult(frames, size[0], size[1], tmp.stat().st_size, encoder or "none")


def still_jpeg(path: str | Path, seconds: float, width: int = 480) -> bytes | None:
    """The first frame at or after ``seconds``, as a JPEG ``width`` wide (None: no picture)."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if stream.start_time and stream.time_base:  # times from the stream's first frame
            seconds += float(stream.start_time * stream.time_base)
        if seconds > 1 and stream.time_base:
            container.seek(int(max(0.0, seconds - 1) / stream.time_base), stream=stream)
        chosen = None
        for frame in container.decode(stream):
            chosen = frame
            if frame.time is not None and frame.time >= seconds - 1e-3:
                break
        if chosen is None:
            return None
        sar = stream.sample_aspect_ratio or Fraction(1)
        w, h = _scaled(chosen.width, chosen.height, sar, 10**6)
        height = max(2, round(h * width / w))
        image = chosen.to_image().resize((width, height))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=82)
        return buffer.getvalue()


def review_stills(
    source, master: str | Path, at: float = 0.4
) -> tuple[float | None, bytes | None, bytes | None]:
    """(seconds, source JPEG, master JPEG): one still of each, taken at the same time."""
    if source.video is None:
        return None, None, None
    seconds = round((source.duration or 0.0) * at, 3)
    if source.kind == "images":
        index = min(len(source.images) - 1, int(seconds * float(source.fps or 25)))
        before = still_at(source.images[index], 0.0) if source.images else None
    else:
        before = still_at(source.path, seconds)
    return seconds, before, still_at(master, seconds)


def still_at(path: str | Path, seconds: float) -> bytes | None:
    """A still for the page, or None (with a warning): a page without it is still a page."""
    try:
        return still_jpeg(path, seconds)
    except (av.FFmpegError, OSError, ValueError) as error:
        log.warning("no review still from %s at %.2f s: %s", Path(path).name, seconds, error)
        return None
