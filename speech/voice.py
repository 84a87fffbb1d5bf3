"""Voice identity: a 192-d embedding of who is speaking in a stretch of sound.

CAM++ (3D-Speaker's ``speech_campplus_sv_zh_en_16k-common_advanced``, trained on Chinese
and English speech at 16 kHz; Apache-2.0), whose weights ship inside the package
(speech/weights, NOTICE beside them): nothing is downloaded. Its input is Kaldi's 80-bin
log-mel filterbank of 16-bit-scale samples (kaldi-native-fbank), mean-normalised over the
stretch, as 3D-Speaker computes it. Embeddings are compared by cosine.

On the pyannote sample (two people on a phone call, 13 turns) each turn's nearest
speaker centroid of the other turns was right 13 of 13 times, where resemblyzer did no
better than chance (docs/benchmarks.md).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

from restore.errors import ModelNotFound

log = logging.getLogger(__name__)

RATE = 16000
WEIGHTS = Path(__file__).parent / "weights" / "campplus_cn_en_common.pt"
MIN_SECONDS = 0.5
"""Shorter stretches give no embedding (too few frames to say whose voice it is)."""


def fbank(samples: np.ndarray) -> np.ndarray:
    """80 log-mel energies per 10 ms (25 ms windows, no dither), mean over the stretch
    taken away: (T, 80) float32 of mono float samples in -1..1 at 16 kHz."""
    import kaldi_native_fbank as knf

    options = knf.FbankOptions()
    options.frame_opts.dither = 0.0
    options.frame_opts.samp_freq = RATE
    options.mel_opts.num_bins = 80
    bank = knf.OnlineFbank(options)
    bank.accept_waveform(RATE, (np.asarray(samples, np.float32) * 32768.0).tolist())
    bank.input_finished()
    count = bank.num_frames_ready
    if count == 0:
        return np.zeros((0, 80), np.float32)
    frames = np.stack([bank.get_frame(i) for i in range(count)]).astype(np.float32)
    return frames - frames.mean(axis=0, keepdims=True)


def check_voice_model(weights: Path | None = None) -> None:
    """The voice model's weights are there (they ship in the package), or one clear line."""
    weights = WEIGHTS if weights is None else weights
    if not Path(weights).is_file():
        raise ModelNotFound(
            f"voice model {weights}: no such file; reinstall reelscribe, or run with --no-voice"
        )


class VoiceModel:
    """CAM++ loaded once: ``embed(samples)`` for a stretch of 16 kHz sound."""

    def __init__(self, device: str = "cpu", weights: Path | None = None) -> None:
        import torch

        from speech.voicemodel.campplus import CAMPPlus

        weights = WEIGHTS if weights is None else weights
        check_voice_model(weights)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        self._net = CAMPPlus(feat_dim=80, embedding_size=192)
        state = torch.load(weights, map_location="cpu", weights_only=True)
        self._net.load_state_dict(state, strict=True)
        self._net.to(self.device).eval()

    def embed(self, samples: np.ndarray) -> np.ndarray | None:
        """The unit-length voice embedding (192,) of mono 16 kHz samples; None when the
        stretch is shorter than MIN_SECONDS."""
        import torch

        if len(samples) < MIN_SECONDS * RATE:
            return None
        features = torch.from_numpy(fbank(samples))[None].to(self.device)
        with torch.inference_mode():
            vector = self._net(features)[0].float().cpu().numpy()
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else None


@lru_cache(maxsize=2)
def load_voice_model(device: str = "cpu") -> VoiceModel:
    """One VoiceModel per device in a process."""
    return VoiceModel(device)


def read_span(wav: str | Path, start: float, end: float) -> np.ndarray:
    """Mono 16 kHz samples of ``wav`` from ``start`` to ``end`` seconds (only that part is
    read)."""
    import soundfile as sf

    with sf.SoundFile(str(wav)) as handle:
        rate = handle.samplerate
        first = max(0, int(start * rate))
        handle.seek(min(first, handle.frames))
        samples = handle.read(max(0, int(end * rate) - first), dtype="float32", always_2d=True)
    samples = samples.mean(axis=1)
    if rate != RATE:
        from scipy.signal import resample_poly

        g = np.gcd(int(rate), RATE)
        samples = resample_poly(samples, RATE // g, int(rate) // g).astype(np.float32)
    return samples


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))
