"""Hiss: spectral noise reduction, the noise profile learned from the film's quiet passages.

The profile: the quietest 10% of 50 ms frames in a bounded lead-in (30 s by
default), at least 0.5 s of them; frames of digital silence don't count.
Two engines: ffmpeg's ``afftdn`` (the default: a Wiener-style spectral
denoiser, told the profile's level as its noise floor, through PyAV's filter
graph; its delay is measured and taken back out, so the sound stays on the
film's clock), and noisereduce's stationary spectral gate (given the profile
itself). Both are gentle by default (12 dB of reduction, not removal), which
keeps speech from sounding watery. noisereduce imports torch when it is
imported, so it is imported only when that engine runs.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from restore.blocks import (
    filter_graph,
    lead_in,
    pull_frames,
    push_samples,
    replay,
    through_filter,
    with_context,
)
from restore.media import AudioBlock

log = logging.getLogger(__name__)


ENGINES = ("afftdn", "noisereduce")


@dataclass(frozen=True)
class HissOptions:
    engine: str = "afftdn"
    """``afftdn`` (ffmpeg) or ``noisereduce``."""
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
    overlap: int = 2
    """Windows overlapping each sample (2: half-window hops; noisereduce's own default is 4)."""


def quiet_frames(samples: np.ndarray, rate: int, quietest: float) -> tuple[np.ndarray, float]:
    """A mask of the samples in the quietest 50 ms frames (at least 10 frames), and how far
    (dB) those frames sit under the median frame."""
    frame = int(0.05 * rate)
    n = samples.shape[1] // frame
    mask = np.zeros(samples.shape[1], bool)
    if n == 0:
        return mask, 0.0
    energy = (
        (samples[:, : n * frame].astype(np.float64) ** 2).reshape(-1, n, frame).mean(axis=(0, 2))
    )
    live = np.flatnonzero(energy > 1e-12)
    if not len(live):
        return mask, 0.0
    take = max(int(np.ceil(quietest * len(live))), min(len(live), 10))
    chosen = live[np.argsort(energy[live])[:take]]
    depth = 10 * np.log10(np.median(energy[live]) / max(energy[chosen].mean(), 1e-30))
    mask[: n * frame] = np.repeat(np.isin(np.arange(n), chosen), frame)
    return mask, float(depth)


class Dehiss:
    name = "denoise"

    def __init__(self, options: HissOptions = HissOptions()) -> None:
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
        listened = np.concatenate([b.samples for b in held], axis=1)
        chosen, self.depth_db = quiet_frames(listened, rate, self.options.quietest)
        noise = listened[:, chosen].mean(axis=0)
        self.profile_s = float(chosen.sum() / rate)
        # the level each channel's noise has (a mean of channels would hide uncorrelated hiss)
        power = (
            float(np.mean(np.square(listened[:, chosen]), dtype=np.float64)) if chosen.any() else 0
        )
        if power > 0:
            self.noise_dbfs = round(10 * float(np.log10(power)), 1)
            log.info("noise profile: %.1f s at %.1f dBFS", self.profile_s, self.noise_dbfs)
        else:
            log.info("no quiet passage with sound in it: the noise floor is taken as -80 dBFS")
        if self.options.engine == "afftdn":
            yield from self._afftdn(replay(held, rest), rate, held[0].layout)
            return
        if len(noise) < 2048:  # too little quiet sound to learn a spectrum from
            log.info("no noise profile to gate against: sound left as it is")
            yield from replay(held, rest)
            return
        self._gate = self._make_gate(noise, rate)
        n_fft = self._gate._n_fft
        yield from with_context(replay(held, rest), 2 * n_fft, self._reduce)

    def _afftdn(self, blocks: Iterator[AudioBlock], rate: int, layout: str):
        floor = min(-20.0, max(-80.0, self.noise_dbfs if self.noise_dbfs is not None else -80.0))
        args = f"nr={self.options.reduction_db}:nf={floor:.1f}"
        delay = _delay(rate, args)
        graph = filter_graph(rate, layout, ("afftdn", args))
        yield from through_filter(blocks, graph, delay)

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
            hop_length=n_fft // self.options.overlap,
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


@lru_cache(maxsize=8)
def _delay(rate: int, args: str) -> int:
    """Samples afftdn holds back at this rate: where a click put through it comes out."""
    graph = filter_graph(rate, "mono", ("afftdn", args))
    probe = np.zeros((1, rate), np.float32)
    probe[0, rate // 4] = 0.5
    push_samples(graph, probe, rate, "mono", 0)
    push_samples(graph, None, rate, "mono", rate)
    out = np.concatenate([f.to_ndarray() for f in pull_frames(graph)], axis=1)[0]
    return int(np.argmax(np.abs(out))) - rate // 4
