"""Loudness: measure the film (ITU-R BS.1770 / EBU R128), then bring it to a target, in passes.

Pass one spools the sound to a temporary file on disk (a two-hour film never
sits in memory) while ffmpeg's ``ebur128`` filter, through PyAV's filter graph,
measures integrated loudness as it goes (pyloudnorm, the reference the tests
hold it to, needs the whole signal in memory). A check pass over the spool
with that gain measures the true peak and where the loudness lands: BS.1770's
absolute gate (-70 LUFS) means loudness does not quite follow gain, so the gain
is corrected once. The last pass applies it and, only where the gain would put
the true peak over the ceiling, a look-ahead limiter on the 4x-oversampled
peak. The output is measured again, so the manifest says what came out, not
what was intended.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from restore.blocks import filter_graph, pull_frames, push_samples, with_context
from restore.media import AudioBlock

log = logging.getLogger(__name__)

LIMIT_S = 0.005  # the limiter looks 5 ms around each peak
SILENT_LUFS = -69.0  # ebur128 says -70 for silence: nothing to normalise


@dataclass(frozen=True)
class LoudnessOptions:
    target: float = -23.0
    """Integrated loudness to land, in LUFS (EBU R128 broadcast: -23)."""
    true_peak: float = -1.0
    """Ceiling for the true peak, in dBTP."""
    max_gain_db: float = 30.0
    """At most this much gain: a near-silent track is not blown up into its noise."""


class Meter:
    """Streaming BS.1770 integrated loudness and true peak (ffmpeg's ebur128 filter)."""

    def __init__(self, rate: int, layout: str, peak: bool = True) -> None:
        self.rate, self.layout = rate, layout
        args = "metadata=1:peak=true" if peak else "metadata=1"
        self.graph = filter_graph(rate, layout, ("ebur128", args))
        self.lufs = SILENT_LUFS - 1
        self.peak = 0.0  # stays 0 (-200 dBTP) without peak measurement
        self.sent = 0

    def push(self, samples: np.ndarray | None) -> None:
        self.sent = push_samples(self.graph, samples, self.rate, self.layout, self.sent)
        for frame in pull_frames(self.graph):
            meta = frame.metadata
            if "lavfi.r128.I" in meta:
                self.lufs = float(meta["lavfi.r128.I"])
            if "lavfi.r128.true_peak" in meta:
                self.peak = max(self.peak, float(meta["lavfi.r128.true_peak"]))

    def close(self) -> tuple[float, float]:
        """(integrated LUFS, true peak dBTP)."""
        self.push(None)
        return self.lufs, 20 * float(np.log10(max(self.peak, 1e-10)))


def measure(samples: np.ndarray, rate: int, layout: str) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of float32 (channels, n) samples."""
    meter = Meter(rate, layout)
    for i in range(0, samples.shape[1], rate):
        meter.push(samples[:, i : i + rate])
    return meter.close()


class Loudness:
    name = "loudness"

    def __init__(self, options: LoudnessOptions = LoudnessOptions()) -> None:
        self.options = options
        self.before: tuple[float, float] | None = None
        self.after: tuple[float, float] | None = None
        self.gain_db = 0.0
        self.limited = False

    def process(self, blocks: Iterator[AudioBlock]) -> Iterator[AudioBlock]:
        with tempfile.TemporaryFile(prefix="reelscribe-loudness-") as spool:
            shapes: list[tuple[int, int, str, int]] = []
            meter = None
            for block in blocks:
                if meter is None:  # loudness only: the peak is measured on the check pass
                    meter = Meter(block.rate, block.layout, peak=False)
                meter.push(block.samples)
                spool.write(np.ascontiguousarray(block.samples, np.float32).tobytes())
                shapes.append((block.start, block.rate, block.layout, block.samples.shape))
            if meter is None:
                return
            lufs, _ = meter.close()
            _, rate, layout, _ = shapes[0]
            if lufs <= SILENT_LUFS:
                log.info("sound is silent: loudness left as it is")
                self.gain_db = 0.0
            else:
                self.gain_db = min(self.options.target - lufs, self.options.max_gain_db)
            # BS.1770's absolute gate (-70 LUFS) makes loudness not quite follow gain:
            # check the gain on the spool (the meter is cheap) and correct it once
            check = Meter(rate, layout)
            for _, _, _, samples in self._read(spool, shapes, self.gain_db):
                check.push(samples)
            landed, peak_after = check.close()
            peak = peak_after - self.gain_db
            self.before = (lufs, peak)
            if lufs > SILENT_LUFS and landed > SILENT_LUFS:
                correction = min(
                    self.options.target - landed, self.options.max_gain_db - self.gain_db
                )
                self.gain_db += correction
                peak_after += correction
            self.limited = peak_after > self.options.true_peak - 0.1
            log.info(
                "loudness %.1f LUFS, true peak %.1f dBTP: gain %+.1f dB%s",
                lufs,
                peak,
                self.gain_db,
                ", limited" if self.limited else "",
            )
            after = Meter(rate, layout)
            items = self._read(spool, shapes, self.gain_db)
            if self.limited:
                ceiling = 10 ** ((self.options.true_peak - 0.3) / 20)
                pad = int(2 * LIMIT_S * rate) + 8
                blocks_in = (AudioBlock(start, r, lay, x) for start, r, lay, x in items)
                limited = with_context(blocks_in, pad, lambda x, r, m, f: _limit(x, r, ceiling))
                items = ((b.start, b.rate, b.layout, b.samples) for b in limited)
            for start, rate_, layout_, samples in items:
                after.push(samples)
                yield AudioBlock(start, rate_, layout_, samples.astype(np.float32))
            self.after = after.close()

    @staticmethod
    def _read(spool, shapes, gain_db: float) -> Iterator[tuple]:
        spool.seek(0)
        gain = np.float32(10 ** (gain_db / 20))
        for start, rate, layout, shape in shapes:
            raw = np.frombuffer(spool.read(4 * shape[0] * shape[1]), np.float32).reshape(shape)
            yield start, rate, layout, raw * gain

    def report(self) -> dict:
        def pair(value):
            if value is None:
                return None
            return {"lufs": round(value[0], 2), "dbtp": round(value[1], 2)}

        return {
            "settings": dataclasses.asdict(self.options),
            "before": pair(self.before),
            "after": pair(self.after),
            "gain_db": round(self.gain_db, 2),
            "limited": self.limited,
        }


def _limit(samples: np.ndarray, rate: int, ceiling: float) -> np.ndarray:
    """Turn down only where the 4x-oversampled (true) peak would pass ``ceiling`` (linear).

    The gain needed at each sample is held for the look-around window (a minimum filter)
    and then smoothed over half of it, so it ramps down before a peak and back up after,
    and never rises above what any sample in reach needs.
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d
    from scipy.signal import resample_poly

    over = np.abs(resample_poly(samples, 4, 1, axis=1)).max(axis=0)
    peak = over[: 4 * samples.shape[1]].reshape(-1, 4).max(axis=1)
    needed = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
    window = int(LIMIT_S * rate)
    held = minimum_filter1d(needed, 2 * window + 1, mode="nearest")
    return samples * uniform_filter1d(held, window, mode="nearest")
