"""Shared fixtures: where the real media lives, and generated clips with known answers."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from restore._avstream import set_sample_aspect_ratio

ROOT = Path(__file__).resolve().parent.parent
MEDIA = ROOT.parent / "shared" / "media"


@pytest.fixture(scope="session")
def media() -> Path:
    if not MEDIA.is_dir():
        pytest.fail(f"real test media not found at {MEDIA} (../shared/media beside the checkout)")
    return MEDIA


@pytest.fixture(scope="session")
def talking_run(media, tmp_path_factory):
    """One real talking-head clip through `reelscribe run` (shared by the CLI and page checks)."""
    from sync.cli import main

    film = media / "faces" / "talking" / "face_1.mp4"
    out = tmp_path_factory.mktemp("run")
    code = main(["run", str(film), "-o", str(out), "--quiet"])
    return film, out, code


# container -> (video codec, audio codec) for generated clips
CODECS = {
    "matroska": ("ffv1", "flac"),
    "avi": ("mpeg4", "mp2"),
    "mov": ("mpeg4", "aac"),
    "mp4": ("libx264", "aac"),
    "mpeg": ("mpeg2video", "mp2"),
}


def frame_pattern(index: int, width: int, height: int) -> np.ndarray:
    """An RGB picture that encodes its own index (so a dropped or repeated frame is visible)."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = (index * 7) % 256
    image[..., 1] = (x * 255 // max(1, width - 1)).astype(np.uint8)
    image[..., 2] = ((y + index) * 3 % 256).astype(np.uint8)
    return image


def make_clip(
    path: Path,
    *,
    frames: int = 50,
    fps: int = 25,
    size: tuple[int, int] = (96, 64),
    tones: tuple[float, ...] = (440.0,),
    rate: int = 48000,
    vfr: bool = False,
    sar: Fraction | None = None,
    bt709: bool = False,
    container: str | None = None,
) -> dict:
    """Write a clip with known frames (lossless FFV1 or the container's codec) and tones.

    Returns what a decoder must find: frame times, and the tone of each audio track.
    """
    width, height = size
    times = []
    fmt = container or "matroska"
    video_codec, audio_codec = CODECS.get(fmt, ("mpeg4", "mp2"))
    with av.open(str(path), "w", format=fmt) as out:
        codec = video_codec
        video = out.add_stream(codec, rate=fps)
        video.width, video.height = width, height
        video.pix_fmt = "yuv420p"
        time_base = Fraction(1, 1000) if vfr else Fraction(1, fps)
        video.time_base = time_base
        video.codec_context.time_base = time_base
        if sar:
            video.codec_context.sample_aspect_ratio = sar
            assert set_sample_aspect_ratio(video, sar)
        if bt709:
            cc = video.codec_context
            cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = 1, 1, 1, 1
        audios = []
        for _ in tones:
            stream = out.add_stream(audio_codec, rate=rate, layout="stereo")
            audios.append(stream)
        pts = 0
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(frame_pattern(i, width, height), format="rgb24")
            frame = frame.reformat(format="yuv420p")
            frame.pts = pts
            frame.time_base = time_base
            times.append(pts * time_base)
            out.mux(video.encode(frame))
            # VFR: alternate 30 ms and 50 ms frame durations (average 25 fps)
            pts += (30 if i % 2 == 0 else 50) if vfr else 1
        out.mux(video.encode(None))
        duration = frames / fps
        n = int(duration * rate)
        t = np.arange(n) / rate
        for tone, stream in zip(tones, audios, strict=True):
            pcm = (0.3 * np.sin(2 * np.pi * tone * t)).astype(np.float32)
            stereo = np.stack([pcm, pcm])
            fmt_name = "s16"
            data = (stereo.T * 32767).astype(np.int16).reshape(1, -1)
            chunk = 4096
            for start in range(0, n, chunk):
                piece = np.ascontiguousarray(data[:, start * 2 : (start + chunk) * 2])
                block = av.AudioFrame.from_ndarray(piece, format=fmt_name, layout="stereo")
                block.sample_rate, block.pts, block.time_base = rate, start, Fraction(1, rate)
                out.mux(stream.encode(block))
            out.mux(stream.encode(None))
    return {"times": times, "frames": frames, "tones": tones, "rate": rate, "size": size}


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    mono = samples.mean(axis=0) if samples.ndim == 2 else samples
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.fft.rfftfreq(len(mono), 1 / rate)[int(np.argmax(spectrum))])


@pytest.fixture(scope="session")
def clip():
    """``clip(path, **options) -> expected``: write a generated clip with known answers."""
    return make_clip


@pytest.fixture(scope="session")
def tone_of():
    """``tone_of(samples, rate) -> Hz``: the dominant frequency."""
    return dominant_frequency


def speech_wav(
    source: Path, target: Path, start_s: float = 0.0, end_s: float | None = None
) -> Path:
    """Any media file's first audio track as the 16 kHz WAV the speech stage reads."""
    import soundfile as sf

    from restore.media import iter_audio, open_source
    from restore.tap import SpeechTap

    full = target.with_suffix(".full.wav")
    for _ in SpeechTap(full).process(iter_audio(open_source(source))):
        pass
    audio, rate = sf.read(full, dtype="float32")
    full.unlink()
    end = None if end_s is None else int(end_s * rate)
    sf.write(target, audio[int(start_s * rate) : end], rate, subtype="FLOAT")
    return target


@pytest.fixture(scope="session")
def to_wav():
    """``to_wav(source, target, start_s=0, end_s=None)``: a 16 kHz mono excerpt on disk."""
    return speech_wav


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory):
    """Models joined or cached during tests go to a temporary cache, never the user's."""
    import os

    folder = tmp_path_factory.mktemp("model-cache")
    old = os.environ.get("REELSCRIBE_CACHE")
    os.environ["REELSCRIBE_CACHE"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("REELSCRIBE_CACHE", None)
    else:
        os.environ["REELSCRIBE_CACHE"] = old


def compose_dialogue(
    path: Path, left: Path, right: Path, turns: str, aged: bool = False, gap_s: float = 0.6
) -> list[tuple[float, float, str]]:
    """A composed dialogue from two real single-speaker clips, side by side.

    For each turn ("L" or "R") both clips play (both mouths move), but only the
    speaker's own sound is heard. Returns (start, end, side) of every turn; between
    turns, ``gap_s`` of still frames and silence. ``aged``: monochrome, grain,
    flicker, dust, and hiss on the sound. Composed material, as ../shared/media's
    README allows: the ground truth is exact by construction.
    """
    from restore.media import iter_audio, iter_frames, open_source

    def load(clip):
        source = open_source(clip)
        frames = [f.rgb() for f in iter_frames(source)]
        sound = np.concatenate([b.samples for b in iter_audio(source)], axis=1).mean(axis=0)
        return frames, sound, source.audio[0].sample_rate

    (lf, ls, rate), (rf, rs, _) = load(left), load(right)
    fps, n = 25, min(len(lf), len(rf))
    rng = np.random.default_rng(7)
    truth, t = [], 0.0
    frames_out, sound_out = [], []
    for side in turns:
        gap = int(gap_s * fps)
        frames_out += [np.concatenate([lf[0], rf[0]], axis=1)] * gap
        sound_out.append(np.zeros(int(gap_s * rate), np.float32))
        t += gap / fps
        frames_out += [np.concatenate([a, b], axis=1) for a, b in zip(lf[:n], rf[:n], strict=True)]
        speech = (ls if side == "L" else rs)[: int(n / fps * rate)]
        speech = np.pad(speech, (0, int(n / fps * rate) - len(speech)))
        sound_out.append(speech.astype(np.float32))
        truth.append((t, t + n / fps, side))
        t += n / fps
    sound = np.concatenate(sound_out)
    if aged:
        sound = sound + rng.normal(0, 0.01, len(sound)).astype(np.float32)
    if aged:
        frames_out = [_films.age_frame(rgb, i, rng) for i, rgb in enumerate(frames_out)]
    _films.write_film(path, frames_out, sound, fps=fps, rate=rate)
    return truth


@pytest.fixture(scope="session")
def dialogue():
    return compose_dialogue


def age_frames(frames: list[np.ndarray], seed: int = 0) -> list[np.ndarray]:
    """Make clean frames look like an old print: monochrome, grain, flicker, dust."""
    rng = np.random.default_rng(seed)
    out = []
    for i, rgb in enumerate(frames):
        gray = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        gray = gray * (1.0 + 0.15 * np.sin(i * 1.7)) + rng.normal(0, 12, gray.shape)
        for _ in range(6):
            y, x = rng.integers(0, gray.shape[0] - 4), rng.integers(0, gray.shape[1] - 4)
            gray[y : y + 3, x : x + 3] = 0 if rng.random() < 0.5 else 255
        gray = np.clip(gray, 0, 255).astype(np.uint8)
        out.append(np.stack([gray] * 3, axis=-1))
    return out


@pytest.fixture(scope="session")
def age():
    """``age(frames, seed=0)``: the frames as an old print (monochrome, grain, flicker, dust)."""
    return age_frames


def age_sound(
    clean: np.ndarray,
    rate: int,
    snr_db: float | None = 20.0,
    hum_hz: float | None = 50.0,
    hum_db: float = -30.0,
    clicks_per_s: float = 0.0,
    seed: int = 0,
) -> tuple[np.ndarray, list[int]]:
    """An old soundtrack from a clean one (channels, n): white hiss at ``snr_db`` below the
    speech, mains hum with 4 harmonics at ``hum_db`` dBFS, and 1-4 sample clicks. Returns
    the aged samples and where the clicks start."""
    rng = np.random.default_rng(seed)
    aged = clean.astype(np.float64).copy()
    n = aged.shape[1]
    power = float(np.mean(clean.astype(np.float64) ** 2))
    if snr_db is not None:
        aged += rng.standard_normal(aged.shape) * np.sqrt(power / 10 ** (snr_db / 10))
    if hum_hz is not None:
        t = np.arange(n) / rate
        amp = np.sqrt(2) * 10 ** (hum_db / 20)
        for k, share in zip((1, 2, 3, 4), (1.0, 0.5, 0.3, 0.2), strict=True):
            aged += amp * share * np.sin(2 * np.pi * hum_hz * k * t + k)
    starts = sorted(rng.choice(np.arange(rate // 10, n - 10), int(clicks_per_s * n / rate)))
    peak = float(np.abs(clean).max()) or 1.0
    for s in starts:
        width = int(rng.integers(1, 5))
        aged[:, s : s + width] += rng.choice([-1, 1]) * rng.uniform(0.3, 0.8) * peak
    return aged.astype(np.float32), [int(s) for s in starts]


@pytest.fixture(scope="session")
def age_sound_fn():
    """``age_sound(clean, rate, snr_db=20, hum_hz=50, hum_db=-30, clicks_per_s=0, seed=0)``."""
    return age_sound


@pytest.fixture(scope="session")
def aged_jfk(media, tmp_path_factory) -> tuple[Path, int, int]:
    """JFK (44.1 kHz stereo) with hiss at 20 dB SNR, 50 Hz hum and 3 clicks a second, as a
    FLAC file: (path, sample rate, clicks added)."""
    import soundfile as sf

    from restore.media import iter_audio, open_source

    source = open_source(media / "speech" / "jfk.flac")
    clean = np.concatenate([b.samples for b in iter_audio(source)], axis=1)
    rate = source.audio[0].sample_rate
    aged, starts = age_sound(clean, rate, snr_db=20, hum_hz=50, clicks_per_s=3)
    path = tmp_path_factory.mktemp("aged") / "jfk_aged.flac"
    sf.write(path, aged.T, rate, subtype="PCM_24")
    return path, rate, len(starts)


# -- the dialogue archive and corpus (tests/corpus.py, tests/pgserver.py) --------------------
def _helper(name: str):
    """A helper module beside this file, loaded by path (tests/ is not a package)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(
        f"reelscribe_tests_{name}", Path(__file__).with_name(f"{name}.py")
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_corpus = _helper("corpus")
_films = _helper("films")  # film-like composed dialogues; compose_dialogue writes with it
_pgserver = _helper("pgserver")
postgres_url = _pgserver.postgres_url  # session fixture: a real server on loopback
postgres_db = _pgserver.postgres_db  # a fresh database on it, per test


@pytest.fixture(scope="session")
def film_scenes():
    """tests/films.py: film-like scenes composed from real clips, with their turns."""
    return _films


@pytest.fixture(scope="session")
def corpus():
    """tests/corpus.py: transcripts from the real media's ground truth, ``write_run()``."""
    return _corpus


@pytest.fixture(scope="session")
def real_transcripts(media, corpus):
    """Transcripts of the real media (pyannote call, a GRID sentence, the NOTLD excerpts)."""
    return corpus.real_transcripts(media)
