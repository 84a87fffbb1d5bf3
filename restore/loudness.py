"""Loudness: measure the film (ITU-R BS.1770 / EBU R128), then bring it to a target, in two passes.

Pass one spools the sound to a temporary file on disk (a two-hour film never
sits in memory) while ffmpeg's ``ebur128`` filter, through PyAV's filter graph,
measures integrated loudness, true peak and the loudness of every 400 ms gating
block as it goes (pyloudnorm, the reference the tests hold it to, needs the
whole signal in memory). BS.1770's absolute gate (-70 LUFS) means loudness does
not quite follow gain, so the gain is found on those blocks. Pass two reads the
spool back and applies it and, only where the gain would put the true peak over
the ceiling, a look-ahead limiter on the 4x-oversampled peak (measured again,
then, so the manifest says what came out).
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from restore.blocks import filter_graph, pull_frames, push_samples, with_context
from restore.errors import write_error
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
        self.momentary: list[float] = []
        """Loudness of the 400 ms block ending at each 100 ms step: BS.1770's gating blocks."""
        self.sent = 0

    def push(self, samples: np.ndarray | None) -> None:
        self.sent = push_samples(self.graph, samples, self.rate, self.layout, self.sent)
        for frame in pull_frames(self.graph):
            meta = frame.metadata
            if "lavfi.r128.I" in meta:
                self.lufs = float(meta["lavfi.r128.I"])
            if "lavfi.r128.M" in meta:
                self.momentary.append(float(meta["lavfi.r128.M"]))
            if "lavfi.r128.true_peak" in meta:
                self.peak = max(self.peak, float(meta["lavfi.r128.true_peak"]))

    def close(self) -> tuple[float, float]:
        """(integrated LUFS, true peak dBTP)."""
        self.push(None)
        return self.lufs, 20 * float(np.log10(max(self.peak, 1e-10)))


def gated_loudness(momentary: np.ndarray, gain_db: float) -> float:
    """Integrated loudness (BS.1770 gating) of the film after ``gain_db``, from its blocks."""
    blocks = momentary + gain_db
    blocks = blocks[blocks > -70.0]  # absolute gate
    if not len(blocks):
        return SILENT_LUFS - 1
    relative = 10 * np.log10(np.mean(10 ** (blocks / 10))) - 10.0
    blocks = blocks[blocks > relative]
    return float(10 * np.log10(np.mean(10 ** (blocks / 10))))


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
                if meter is None:
                    meter = Meter(block.rate, block.layout)
                meter.push(block.samples)
                try:
                    spool.write(np.ascontiguousarray(block.samples, np.float32).tobytes())
                except OSError as error:
                    where = f"the loudness step's temporary file in {tempfile.gettempdir()}"
                    raise write_error(where, error) from error
                shapes.append((block.start, block.rate, block.layout, block.samples.shape))
            if meter is None:
                return
            self.before = meter.close()
            lufs, peak = self.before
            _, rate, layout, _ = shapes[0]
            self.gain_db = self._gain(np.array(meter.momentary), lufs)
            self.limited = peak + self.gain_db > self.options.true_peak - 0.1
            log.info(
                "loudness %.1f LUFS, true peak %.1f dBTP: gain %+.1f dB%s",
                lufs,
                peak,
                self.gain_db,
                ", limited" if self.limited else "",
            )
            items = self._read(spool, shapes, self.gain_db)
            if not self.limited:
                # a gain moves every gating block by the same dB: the result is known exactly
                landed = gated_loudness(np.array(meter.momentary), self.gain_db)
                self.after = (landed, peak + self.gain_db)
                for start, rate_, layout_, samples in items:
                    yield AudioBlock(start, rate_, layout_, samples)
                return
            ceiling = 10 ** ((self.options.true_peak - 0.3) / 20)
            pad = int(2 * LIMIT_S * rate) + 8
            blocks_in = (AudioBlock(start, r, lay, x) for start, r, lay, x in items)
            after = Meter(rate, layout)
            for block in with_context(blocks_in, pad, lambda x, r, m, f: _limit(x, r, ceiling)):
                after.push(block.samples)
                yield block
            self.after = after.close()

    def _gain(self, momentary: np.ndarray, lufs: float) -> float:
        """The gain that lands the target: BS.1770's absolute gate (-70 LUFS) makes loudness
        not quite follow gain (quiet blocks come in or drop out), so it is refined on the
        film's own gating blocks."""
        if lufs <= SILENT_LUFS:
            log.info("sound is silent: loudness left as it is")
            return 0.0
        gain = self.options.target - lufs
        for _ in range(5):
            landed = gated_loudness(momentary, gain)
            if abs(landed - self.options.target) < 0.01:
                break
            gain += self.options.target - landed
        return min(gain, self.options.max_gain_db)

    @staticmethod
    def _read(spool, shapes, gain_db: float) -> Iterator[tuple]:
        spool.seek(0)
        gain = np.float32(10 ** (gain_db / 20))
        for start, rate, layout, shape in shapes:
            raw = np.frombuffer(spool.read(4 * shape[0] * shape[1]), np.float32).reshape(shape)
            yield start, rate, layout, (raw * gain).astype(np.float32)

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
