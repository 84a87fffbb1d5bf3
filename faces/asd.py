"""Active-speaker scores from Light-ASD (Liao et al., CVPR 2023), with its input contract.

Light-ASD hears 13 MFCC a hundredth of a second and sees a 112 x 112 grey crop of a face
at 25 frames a second; for each frame it gives the logit of "this face is speaking"
(above 0: speaking). What the authors' demo (Columbia_test.py) does before the network
is reproduced here, because the weights only work on inputs made the same way:

- ``smooth_boxes``: a median filter of 13 frames over each track's box centre and size
  (crop_video);
- ``face_crop``: a square of 2.8 box half-sizes around the box, reaching 1.8 half-sizes
  below its centre and 1 above, padded with grey 110 past the frame, resized to 224 and
  cut to its central 112 (crop_video, then evaluate_network);
- ``audio_features``: python_speech_features' MFCC of 16 kHz sound at 16-bit scale
  (evaluate_network reads a 16-bit WAV);
- ``ActiveSpeakerModel.score``: the track scored in windows of 1 to 6 seconds and the six
  results averaged (evaluate_network).

Two weight files are packaged: ``ava`` (pretrained on AVA-ActiveSpeaker, the authors'
default) and ``talkset`` (fine-tuned on TalkSet). torch is imported only when a model is
built, never with this module.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

from restore.errors import ModelNotFound

log = logging.getLogger(__name__)

CROP_SIZE = 112
VIDEO_RATE = 25  # frames a second the model sees
AUDIO_RATE = 100  # MFCC rows a second it hears (4 a frame)
CROP_SCALE = 0.40  # Columbia_test.py's --cropScale
PAD_VALUE = 110  # the grey crop_video pads the frame with
SMOOTH_KERNEL = 13  # crop_video's median filter, in frames
DURATIONS = (1, 2, 3, 4, 5, 6)
"""Window lengths in seconds whose scores are averaged. evaluate_network writes
``durationSet = {1,1,1,2,2,2,3,3,4,5,6}``, a set literal: Python keeps each length once,
so the authors' scores are the plain mean over 1 to 6 s, as here."""
MAX_BATCH_FRAMES = 1500
"""At most this many frames go through the network in one batch (60 s: about 1 GB of
activations on a CPU); windows of one length are batched together up to it."""
_SAMPLE_RATE = 16000

MODELS = Path(__file__).parent / "models"
WEIGHTS = {
    "ava": MODELS / "lightasd_ava.model",
    "talkset": MODELS / "lightasd_talkset.model",
}


def face_crop(grey: np.ndarray, box, *, scale: float = 1.0) -> np.ndarray:
    """Light-ASD's 112 x 112 grey face crop of one frame.

    ``grey``: the frame (H, W) uint8, as OpenCV's BGR/RGB-to-grey makes it; ``box``:
    (x, y, w, h) in its pixels. The half-size is ``max(w, h) / 2`` (S3FD's boxes, which
    the model was trained on, give ``max`` of half width and half height the same way),
    times ``scale``. Slicing follows crop_video on the padded frame exactly, without
    building the padded frame. A box that leaves nothing to crop gives a flat grey crop.
    """
    import cv2

    grey = np.asarray(grey)
    if grey.ndim != 2 or grey.dtype != np.uint8:
        raise ValueError(
            f"face_crop wants a grey uint8 (H, W) frame, got {grey.dtype} {grey.shape}"
        )
    x, y, w, h = (float(v) for v in box)
    bs = max(w, h) / 2 * scale
    pad = int(bs * (1 + 2 * CROP_SCALE))  # crop_video pads each side by this much
    my, mx = y + h / 2 + pad, x + w / 2 + pad  # the box centre in the padded frame
    rows = slice(int(my - bs), int(my + bs * (1 + 2 * CROP_SCALE)))
    cols = slice(int(mx - bs * (1 + CROP_SCALE)), int(mx + bs * (1 + CROP_SCALE)))
    height, width = grey.shape
    top, bottom, _ = rows.indices(height + 2 * pad)  # numpy's own slice rules
    left, right, _ = cols.indices(width + 2 * pad)
    if bottom <= top or right <= left:
        return np.full((CROP_SIZE, CROP_SIZE), PAD_VALUE, np.uint8)
    face = np.full((bottom - top, right - left), PAD_VALUE, np.uint8)
    y0, y1 = max(top - pad, 0), min(bottom - pad, height)
    x0, x1 = max(left - pad, 0), min(right - pad, width)
    if y1 > y0 and x1 > x0:
        face[y0 + pad - top : y1 + pad - top, x0 + pad - left : x1 + pad - left] = grey[
            y0:y1, x0:x1
        ]
    face = cv2.resize(face, (2 * CROP_SIZE, 2 * CROP_SIZE))  # bilinear, as the original
    lo, hi = CROP_SIZE // 2, CROP_SIZE // 2 + CROP_SIZE
    return np.ascontiguousarray(face[lo:hi, lo:hi])


def smooth_boxes(boxes: np.ndarray) -> np.ndarray:
    """A track's boxes (N, 4) x, y, w, h, one a frame, smoothed as crop_video smooths
    them: SciPy's median filter of 13 (zero-padded at the ends, as there) over the
    centre's x and y and the half-size ``max(w, h) / 2``.

    The result is square boxes (x, y, 2s, 2s) around the smoothed centres, so that
    ``face_crop`` of a smoothed box is the authors' crop. Light-ASD never scores tracks of
    10 frames or fewer; under 7 frames the zero padding would shrink every box to
    nothing, so such tracks are only made square, not filtered.
    """
    from scipy import signal

    boxes = np.asarray(boxes, np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"smooth_boxes wants (N, 4) x, y, w, h boxes, got shape {boxes.shape}")
    half = np.maximum(boxes[:, 2], boxes[:, 3]) / 2
    cx = boxes[:, 0] + boxes[:, 2] / 2
    cy = boxes[:, 1] + boxes[:, 3] / 2
    if len(boxes) > SMOOTH_KERNEL // 2:
        half = signal.medfilt(half, kernel_size=SMOOTH_KERNEL)
        cx = signal.medfilt(cx, kernel_size=SMOOTH_KERNEL)
        cy = signal.medfilt(cy, kernel_size=SMOOTH_KERNEL)
    return np.stack([cx - half, cy - half, 2 * half, 2 * half], axis=1)


def audio_features(samples: np.ndarray, rate: int = _SAMPLE_RATE) -> np.ndarray:
    """13 MFCC per 10 ms (float32 (T, 13)) of mono float sound in -1..1 at ``rate``.

    As evaluate_network computes them: python_speech_features' ``mfcc`` (25 ms windows,
    10 ms steps, log energy in place of the 0th coefficient) of 16 kHz samples at the
    scale a 16-bit WAV reads back (FFmpeg's float-to-s16 rounding). Other rates are
    resampled to 16 kHz first. T is ``1 + ceil((n - 400) / 160)`` for n samples at 16 kHz.
    """
    import python_speech_features
    from scipy import signal

    samples = np.asarray(samples, np.float32)
    if samples.ndim != 1:
        raise ValueError(f"audio_features wants mono samples (n,), got shape {samples.shape}")
    if rate != _SAMPLE_RATE:
        g = np.gcd(int(rate), _SAMPLE_RATE)
        samples = signal.resample_poly(samples, _SAMPLE_RATE // g, int(rate) // g)
    if len(samples) == 0:
        return np.zeros((0, 13), np.float32)
    pcm = np.clip(np.rint(samples * 32768.0), -32768, 32767).astype(np.int16)
    mfcc = python_speech_features.mfcc(pcm, _SAMPLE_RATE, numcep=13, winlen=0.025, winstep=0.010)
    return mfcc.astype(np.float32)


def weights_path(weights: str | Path) -> Path:
    """The checkpoint file for ``"ava"``, ``"talkset"`` or a path."""
    path = WEIGHTS.get(weights) if isinstance(weights, str) else None
    path = path or Path(weights).expanduser()
    if not path.is_file():
        raise ModelNotFound(
            f"Light-ASD weights {str(weights)!r}: no such file ({path}); give 'ava', "
            "'talkset' or the path of a Light-ASD .model checkpoint"
        )
    return path


def _split_state(state: dict, path: Path) -> tuple[dict, dict]:
    """The checkpoint's network (``model.``) and score head (``lossAV.``) weights; the
    visual-only head (``lossV.``) is for training. ``module.`` (DataParallel) is dropped,
    as the authors' loadParameters drops it."""
    net, head = {}, {}
    for name, value in state.items():
        name = name.removeprefix("module.")
        if name.startswith("model."):
            net[name.removeprefix("model.")] = value
        elif name.startswith("lossAV."):
            head[name.removeprefix("lossAV.")] = value
        elif not name.startswith("lossV."):
            raise ModelNotFound(f"{path}: unexpected weight {name!r}; not a Light-ASD checkpoint")
    return net, head


class ActiveSpeakerModel:
    """Light-ASD loaded once: ``score(crops, features)`` for one face track."""

    def __init__(self, weights: str = "ava", device: str = "cpu") -> None:
        import torch

        from faces.lightasd.model import ASD_Model, ScoreHead

        self.path = weights_path(weights)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as error:
            raise ModelNotFound(
                f"{self.path}: cannot be read as a torch checkpoint ({error})"
            ) from error
        net_state, head_state = _split_state(state, self.path)
        self._net, self._head = ASD_Model(), ScoreHead()
        try:
            self._net.load_state_dict(net_state, strict=True)
            self._head.load_state_dict(head_state, strict=True)
        except RuntimeError as error:
            raise ModelNotFound(f"{self.path}: not Light-ASD's weights ({error})") from error
        self._net.to(self.device).eval()
        self._head.to(self.device).eval()
        log.debug("Light-ASD %s on %s", self.path.name, self.device)

    def score(self, crops: np.ndarray, features: np.ndarray, exact: bool = False) -> np.ndarray:
        """Per-frame scores (float32 (N,), logits: above 0 speaking) of one track.

        ``crops``: (N, 112, 112) uint8 ``face_crop``s at 25 fps; ``features``: at least
        4N rows of ``audio_features`` starting at the first crop's time (more are
        ignored). As evaluate_network: the track is cut into windows of d seconds for
        each d in ``DURATIONS`` (the last one shorter), each window scored on its own,
        and the per-frame scores averaged over the six lengths (not rounded, unlike the
        demo's 1-decimal output). Windows of one length run as one batch. ``exact``: the
        front ends run per window too, as the authors' loop runs them (six times the cost;
        the default shares them: ``_shared``).
        """
        crops = np.asarray(crops)
        features = np.asarray(features, np.float32)
        if crops.ndim != 3 or crops.shape[1:] != (CROP_SIZE, CROP_SIZE) or crops.dtype != np.uint8:
            raise ValueError(
                f"score wants (N, {CROP_SIZE}, {CROP_SIZE}) uint8 crops, "
                f"got {crops.dtype} {crops.shape}"
            )
        frames = len(crops)
        if features.ndim != 2 or features.shape[1] != 13 or len(features) < 4 * frames:
            raise ValueError(
                f"score wants at least {4 * frames} rows of 13 MFCC for {frames} frames, "
                f"got shape {features.shape}"
            )
        # evaluate_network's trimming: the sound to whole frames (4 rows each), both to the
        # shorter. (It compares the sound's seconds with the picture's frame count; in its
        # own pipeline the two are cut to the same time, so that is this rule.)
        seconds = min((len(features) - len(features) % 4) / AUDIO_RATE, frames / VIDEO_RATE)
        audio = features[: int(round(seconds * AUDIO_RATE))]
        video = crops[: int(round(seconds * VIDEO_RATE))]
        if len(video) == 0:
            return np.zeros(0, np.float32)
        if exact:
            total = np.zeros(len(video), np.float64)
            for duration in DURATIONS:
                total += self._windows(video, audio, duration)
            return (total / len(DURATIONS)).astype(np.float32)
        return self._shared(video, audio)

    def _shared(self, video: np.ndarray, audio: np.ndarray) -> np.ndarray:
        """As the windows loop, with the two front ends run once over the whole track and
        only the recurrent back end run per window: the front ends are nearly all of the
        cost, and they see at most 6 frames of context, so only a window's edge frames
        differ from running them per window (tests/faces/test_asd.py measures by how
        much). The track goes through in pieces of MAX_BATCH_FRAMES (with 6 frames of
        context either side) to bound memory. On the CPU the small layers (the sound's
        front end, the GRUs) run on one thread: on two busy cores, OpenMP's hand-offs
        made 250 GRU steps take 2 s instead of 5 ms."""
        import torch

        context = 6
        embeds = []
        threads = torch.get_num_threads()
        small = 1 if self.device.type == "cpu" else threads
        try:
            with torch.inference_mode():
                for first in range(0, len(video), MAX_BATCH_FRAMES):
                    lo = max(0, first - context)
                    hi = min(len(video), first + MAX_BATCH_FRAMES + context)
                    v = torch.from_numpy(np.ascontiguousarray(video[lo:hi])).to(self.device)
                    seen = self._net.forward_visual_frontend(v[None].float())
                    a = torch.from_numpy(np.ascontiguousarray(audio[4 * lo : 4 * hi]))
                    torch.set_num_threads(small)
                    heard = self._net.forward_audio_frontend(a[None].to(self.device))
                    torch.set_num_threads(threads)
                    end = min(first + MAX_BATCH_FRAMES, len(video))
                    embeds.append((seen + heard)[:, first - lo : end - lo])
                fused = torch.cat(embeds, dim=1)[0]  # (N, 128)
                torch.set_num_threads(small)
                total = torch.zeros(len(video), dtype=torch.float64)
                for duration in DURATIONS:
                    step = duration * VIDEO_RATE
                    full = len(video) // step
                    parts = []
                    if full:
                        windows = fused[: full * step].reshape(full, step, -1)
                        parts.append(self._head(self._net.GRU(windows).reshape(-1, 128)))
                    if full * step < len(video):
                        rest = fused[full * step :][None]
                        parts.append(self._head(self._net.GRU(rest).reshape(-1, 128)))
                    total += torch.cat(parts).double().cpu()
        finally:
            torch.set_num_threads(threads)
        return (total / len(DURATIONS)).float().numpy()

    def _windows(self, video: np.ndarray, audio: np.ndarray, duration: int) -> np.ndarray:
        """Scores of consecutive windows of ``duration`` seconds: the full ones batched (up
        to MAX_BATCH_FRAMES frames at a time), the shorter last one alone."""
        step_v, step_a = duration * VIDEO_RATE, duration * AUDIO_RATE
        full = len(video) // step_v
        per_batch = max(1, MAX_BATCH_FRAMES // step_v)
        out = []
        for first in range(0, full, per_batch):
            last = min(first + per_batch, full)
            v = video[first * step_v : last * step_v].reshape(-1, step_v, CROP_SIZE, CROP_SIZE)
            a = audio[first * step_a : last * step_a].reshape(-1, step_a, audio.shape[1])
            out.append(self._run(v, a))
        if full * step_v < len(video):
            rest = len(video) - full * step_v
            v = video[full * step_v :][None]
            a = audio[full * step_a : full * step_a + 4 * rest][None]
            out.append(self._run(v, a))
        return np.concatenate(out)

    def _run(self, video: np.ndarray, audio: np.ndarray) -> np.ndarray:
        """(B, T, 112, 112) uint8 and (B, 4T, 13) -> (B * T,) scores, window by window."""
        import torch

        with torch.inference_mode():
            v = torch.from_numpy(np.ascontiguousarray(video)).to(self.device).float()
            a = torch.from_numpy(np.ascontiguousarray(audio, np.float32)).to(self.device)
            return self._head(self._net(a, v)).float().cpu().numpy()


@lru_cache(maxsize=4)
def load_model(weights: str = "ava", device: str = "cpu") -> ActiveSpeakerModel:
    """One ActiveSpeakerModel per (weights, device) in a process."""
    return ActiveSpeakerModel(weights, device)
