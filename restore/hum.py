"""Mains hum: find 50 or 60 Hz and its harmonics in the film's own spectrum, notch them out.

The first seconds of sound (a bounded lead-in) give a spectrum averaged over
time; hum is a line that stands out from its neighbouring bins (its
prominence), which speech, whose low end is broad and moving, does not. Each
harmonic that stands out gets a narrow IIR notch (scipy.signal.iirnotch, 2 Hz
wide), run as one cascade of second-order sections with its state carried from
block to block. The filter starts settled: it is first run over a whole number
of hum periods of the lead-in, so the film's first second does not ring.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from restore.blocks import lead_in, replay
from restore.media import AudioBlock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HumOptions:
    listen_s: float = 10.0
    """Seconds of sound the spectrum is measured on (held in memory while measured)."""
    min_prominence_db: float = 10.0
    """A line this far above its neighbours is hum; weaker lines are left alone."""
    max_harmonics: int = 16
    """Harmonics notched at most (16 x 50 Hz = 800 Hz)."""
    width_hz: float = 2.0
    """Width of each notch at -3 dB."""


def spectrum(mono: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Welch power spectrum at 0.25 Hz resolution (4 s segments, shorter signals zero-padded)."""
    from scipy.signal import welch

    per = min(len(mono), 4 * rate)
    return welch(mono, rate, nperseg=per, nfft=4 * rate, detrend=False)


def prominence(freqs: np.ndarray, power: np.ndarray, hz: float) -> tuple[float, float]:
    """(peak frequency, dB over the median of the neighbourhood 3-10 Hz away) near ``hz``."""
    near = (freqs > hz - 1.0) & (freqs < hz + 1.0)
    off = np.abs(freqs - hz)
    around = (off >= 3.0) & (off <= 10.0)
    if not near.any() or not around.any():
        return hz, 0.0
    i = np.flatnonzero(near)[np.argmax(power[near])]
    floor = np.median(power[around])
    return float(freqs[i]), float(10 * np.log10(max(power[i], 1e-30) / max(floor, 1e-30)))


def find_hum(
    mono: np.ndarray, rate: int, options: HumOptions = HumOptions()
) -> tuple[float | None, list[tuple[float, float]]]:
    """The mains frequency (50 or 60) and its prominent harmonics as (Hz, dB), or (None, [])."""
    freqs, power = spectrum(mono, rate)
    best: tuple[float, float | None, list[tuple[float, float]]] = (0.0, None, [])
    for mains in (50.0, 60.0):
        top = min(options.max_harmonics, int((rate / 2 - 20) // mains))
        lines = [prominence(freqs, power, mains * k) for k in range(1, top + 1)]
        found = [(f, p) for f, p in lines if p >= options.min_prominence_db]
        # each harmonic that stands out is evidence, the strongest counts most
        score = sum(p for _, p in found)
        if found and score > best[0]:
            best = (score, mains, found)
    return best[1], best[2]


class Dehum:
    name = "hum"

    def __init__(self, options: HumOptions = HumOptions()) -> None:
        self.options = options
        self.mains: float | None = None
        self.lines: list[tuple[float, float]] = []
        self.after: list[tuple[float, float]] = []

    def process(self, blocks: Iterator[AudioBlock]) -> Iterator[AudioBlock]:
        from scipy.signal import iirnotch, sosfilt, tf2sos

        held, rest = lead_in(blocks, self.options.listen_s)
        if not held:
            return
        rate = held[0].rate
        listened = np.concatenate([b.samples for b in held], axis=1)
        self.mains, self.lines = find_hum(listened.mean(axis=0), rate, self.options)
        if self.mains is None:
            log.info("no mains hum found")
            yield from replay(held, rest)
            return
        sos = np.concatenate(
            [tf2sos(*iirnotch(f, f / self.options.width_hz, fs=rate)) for f, _ in self.lines]
        )
        channels = listened.shape[0]
        state = np.zeros((sos.shape[0], channels, 2))
        # settle the notches on a whole number of periods of the hum: the state they end
        # in is the state they would have at the film's first sample
        base = self.lines[0][0] / round(self.lines[0][0] / self.mains)
        periods = max(1, round(min(1.0, listened.shape[1] / rate) * base))
        warm = round(periods * rate / base)
        if warm <= listened.shape[1]:
            _, state = sosfilt(sos, listened[:, :warm].astype(np.float64), axis=-1, zi=state)
        log.info(
            "mains hum at %.2f Hz: notching %s Hz",
            self.mains,
            ", ".join(f"{f:.1f}" for f, _ in self.lines),
        )
        cleaned = []
        for block in replay(held, rest):
            out, state = sosfilt(sos, block.samples.astype(np.float64), axis=-1, zi=state)
            restored = AudioBlock(block.start, block.rate, block.layout, out.astype(np.float32))
            if len(cleaned) < len(held):
                cleaned.append(restored.samples)
                if len(cleaned) == len(held):
                    freqs, power = spectrum(np.concatenate(cleaned, axis=1).mean(axis=0), rate)
                    self.after = [prominence(freqs, power, f) for f, _ in self.lines]
            yield restored

    def report(self) -> dict:
        if self.mains is None:
            return {"found": False, "settings": dataclasses.asdict(self.options)}
        before = self.lines[0][1]
        after = self.after[0][1] if self.after else None
        return {
            "found": True,
            "settings": dataclasses.asdict(self.options),
            "mains_hz": self.mains,
            "notches_hz": [round(f, 2) for f, _ in self.lines],
            "prominence_db_before": [round(p, 1) for _, p in self.lines],
            "prominence_db_after": [round(p, 1) for _, p in self.after],
            "removed_db": None if after is None else round(before - after, 1),
        }
