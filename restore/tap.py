"""A tap on the sound on its way to the master: 16 kHz mono for speech recognition, on disk."""

from __future__ import annotations

import errno
import os
import resource
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import soundfile as sf

from restore.errors import write_error
from restore.media import AudioBlock

SPEECH_RATE = 16000


class SpeechTap:
    """Pass audio blocks through unchanged while writing a 16 kHz mono copy to ``path``.

    The copy starts at the source's origin (silence is padded in front of sound
    that starts late), so a time in it is a time in the film.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.samples = 0

    def process(self, blocks: Iterator[AudioBlock]) -> Iterator[AudioBlock]:
        resampler = None
        out = self._guard(lambda: sf.SoundFile(str(self.path), "w", SPEECH_RATE, 1, "FLOAT"))
        try:
            for block in blocks:
                if resampler is None:
                    resampler = av.AudioResampler(format="flt", layout="mono", rate=SPEECH_RATE)
                    lead = round(block.start * SPEECH_RATE / block.rate)
                    if lead > 0:
                        self._write(out, np.zeros(lead, np.float32))
                frame = av.AudioFrame.from_ndarray(
                    # the mean of the channels: FFmpeg's own downmix adds 3 dB to centred sound
                    np.ascontiguousarray(block.samples.mean(axis=0, keepdims=True), np.float32),
                    format="fltp",
                    layout="mono",
                )
                frame.sample_rate = block.rate
                for converted in resampler.resample(frame):
                    self._write(out, converted.to_ndarray()[0])
                yield block
            if resampler is not None:
                for converted in resampler.resample(None):
                    self._write(out, converted.to_ndarray()[0])
        finally:
            self._guard(out.close)  # the header is written on close

    def _write(self, out: sf.SoundFile, mono: np.ndarray) -> None:
        self._guard(lambda: out.write(mono))
        self.samples += len(mono)

    def _guard(self, write):
        """Run a write; a failed one (a full disk, mostly) becomes an OutputError."""
        try:
            return write()
        except (sf.LibsndfileError, OSError) as error:  # libsndfile hides the errno
            raise write_error(self.path, error, _disk_errno(self.path)) from error


def _disk_errno(path: Path) -> int | None:
    """ENOSPC when the folder has no room left, or EFBIG past this process's file-size limit."""
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    try:
        size = path.stat().st_size
        free = os.statvfs(path.parent).f_bavail
    except OSError:
        return None
    if limit != resource.RLIM_INFINITY and size >= limit - (1 << 16):
        return errno.EFBIG
    if free == 0:
        return errno.ENOSPC
    return None
