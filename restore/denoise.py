"""Hiss: stationary spectral gating (noisereduce), the noise profile from the film's quiet parts.

The profile: the quietest 10% of 50 ms frames in a bounded lead-in (30 s by
default), at least 0.5 s of them; frames of digital silence don't count. Each
block is then gated against that profile with its neighbours around it as
context. The default is gentle (bins judged noise are turned down by 12 dB,
not removed), which keeps speech from sounding watery. noisereduce imports
torch when it is imported, so it is imported only when the step runs.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from restore.blocks import lead_in, replay, with_context
from restore.media import AudioBlock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DenoiseOptions:
    listen_s: float = 30.0
    """Seconds of sound the noise profile is learned from (held in memory while learned)."""
    quietest: float = 0.1
    """Share of the lead-in's 50 ms frames, the quietest, taken as noise."""
    reduction_db: float = 12.0
    """How far a bin judged noise is turned down."""
    n_std: float = 1.5
    """A bin is sound when it stands this many standard deviations above the noise."""
    fft_ms: float = 32.0
    """FFT window, in ms, rounded up to a power of two samples (512 at 16 kHz, 2048 at 48 kHz)."""


def noise_profile(mono: np.ndarray, rate: int, quietest: float) -> tuple[np.ndarray, float]:
    """The quietest frames of ``mono``, joined, and how far (dB) they sit under the median frame."""
    frame = int(0.05 * rate)
    n = len(mono) // frame
    if n == 0:
        return mono, 0.0
    frames = mono[: n * frame].reshape(n, frame)
    energy = (frames.astype(np.float64) ** 2).mean(axis=1)
    live = np.flatnonzero(energy > 1e-12)
    if not len(live):
        return mono, 0.0
    take = max(int(np.ceil(quietest * len(live))), min(len(live), 10))
    chosen = live[np.argsort(energy[live])[:take]]
    depth = 10 * np.log10(np.median(energy[live]) / max(energy[chosen].mean(), 1e-30))
    return frames[np.sort(chosen)].reshape(-1), float(depth)


class Denoise:
    name = "denoise"

    def __init__(self, options: DenoiseOptions = DenoiseOptions()) -> None:
        self.options = options
        self.noise_dbfs: float | None = None
        self.profile_s = 0.0
        self.depth_db = 0.0
        self._gate = None

    def process(self, blocks: Iterator[AudioBlock]) -> Iterator[AudioBlock]:
        held, rest = lead_in(blocks, self.options.listen_s)
        if not held:
            return
        rate = held[0].rate
        mono = np.concatenate([b.samples for b in held], axis=1).mean(axis=0)
        noise, self.depth_db = noise_profile(mono, rate, self.options.quietest)
        self.profile_s = len(noise) / rate
        self.noise_dbfs = round(10 * float(np.log10(np.mean(noise**2) + 1e-30)), 1)
        log.info("noise profile: %.1f s at %.1f dBFS", self.profile_s, self.noise_dbfs)
        self._gate = self._make_gate(noise, rate)
        n_fft = self._gate._n_fft
        yield from with_context(replay(held, rest), 2 * n_fft, self._reduce)

    def _make_gate(self, noise: np.ndarray, rate: int):
        from noisereduce.spectralgate.stationary import SpectralGateStationary

        n_fft = 1 << int(np.ceil(np.log2(self.options.fft_ms / 1000 * rate)))
        return SpectralGateStationary(
            y=noise[None, :],
            sr=rate,
            y_noise=noise,
            n_std_thresh_stationary=self.options.n_std,
            chunk_size=len(noise),
            clip_noise_stationary=False,
            padding=0,
            n_fft=n_fft,
            win_length=None,
            hop_length=None,
            time_constant_s=2.0,
            freq_mask_smooth_hz=500,
            time_mask_smooth_ms=50,
            tmp_folder=None,
            prop_decrease=1.0 - 10 ** (-self.options.reduction_db / 20),
            use_tqdm=False,
            n_jobs=1,
        )

    def _reduce(self, samples: np.ndarray, rate: int, middle: slice, first: int) -> np.ndarray:
        n_fft, hop = self._gate._n_fft, self._gate._hop_length
        # STFT windows on the film's own grid (multiples of the hop from its first sample),
        # whatever the block sizes: the stream gives what the whole film in one piece gives
        skip = (-first) % hop
        if samples.shape[1] - skip < n_fft:
            return samples
        # the STFT drops a last partial window: mirror the edges so the film's own are kept
        padded = np.pad(samples[:, skip:], ((0, 0), (n_fft, n_fft)), mode="reflect")
        out = samples.copy()
        out[:, skip:] = self._gate.spectral_gating_stationary(padded)[:, n_fft:-n_fft]
        return out

    def report(self) -> dict:
        return {
            "settings": dataclasses.asdict(self.options),
            "noise_dbfs": self.noise_dbfs,
            "profile_s": round(self.profile_s, 2),
            "profile_below_median_db": round(self.depth_db, 1),
        }
