"""Build data/sample.mp4, the demo film, and its cast file from GRID corpus clips (CC BY 4.0).

Run from the project root with ../shared/media beside it:
    .venv/bin/python data/make_sample.py

The film is what users bring: a short scene, aged, in which three real people take
turns. It is composed (GRID has one person per clip, each facing the camera), so who
says what is known exactly:

    a two-shot of Edith and Walter (each speaks once, the other listening),
    Harold alone, then close-ups cutting with the turns: Walter, Edith, Harold.

Each turn is a person's own clip with its own sound; a listener plays the quiet first
frames of their clip back and forth, mouth closed. The scene is then made old:
monochrome, grain, flicker, dust, a wandering scratch and a little gate weave; the sound
band-limited as optical sound is, with hiss, mains hum and a few crackles. It is encoded
as H.264 + AAC, as a film arrives from a digitisation service. The cast file names the
three from one still of each clean clip (data/cast/).

Everything is seeded: the same clips give the same film.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from scipy.signal import butter, resample_poly, sosfilt

from restore.media import iter_audio, iter_frames, open_source

HERE = Path(__file__).resolve().parent
MEDIA = HERE.parent.parent / "shared" / "media" / "faces" / "grid"
OUT = HERE / "sample.mp4"
CAST = HERE / "cast.toml"

CHARACTERS = {  # name: GRID clip (the sentence is in the clip's name, GRID grammar)
    "Walter": "id2_vcd_swwp2s",  # "set white with p two soon"
    "Edith": "lrwp9a",  # "lay red with p nine again"
    "Harold": "lbax4n",  # "lay blue at x four now"
}
SCENE = (  # (speaker, who is seen): the turns in order
    ("Walter", ("Edith", "Walter")),
    ("Edith", ("Edith", "Walter")),
    ("Harold", ("Harold",)),
    ("Walter", ("Walter",)),
    ("Edith", ("Edith",)),
    ("Harold", ("Harold",)),
)
WIDTH, HEIGHT, FPS, RATE = 480, 360, 25, 48000  # 4:3, as the films of the period
GAP_S, LEAD_S = 0.6, 1.0
IDLE_FRAMES = 8  # GRID clips open on about half a second of silence, mouth closed
SEED = 1931


@dataclass(frozen=True)
class Person:
    frames: tuple[np.ndarray, ...]  # RGB, as decoded
    sound: np.ndarray  # mono float32 at RATE, as long as the frames


def person(clip: str) -> Person:
    source = open_source(MEDIA / f"{clip}.mpg")
    frames = tuple(frame.rgb() for frame in iter_frames(source))
    rate = source.audio[0].sample_rate
    sound = np.concatenate([b.samples for b in iter_audio(source)], axis=1).mean(axis=0)
    sound = resample_poly(sound, RATE, rate).astype(np.float32)
    length = round(len(frames) / FPS * RATE)
    return Person(frames, np.pad(sound, (0, max(0, length - len(sound))))[:length])


def idle(p: Person, i: int) -> np.ndarray:
    """A listener: the clip's quiet opening frames played back and forth."""
    period = 2 * IDLE_FRAMES - 2
    k = i % period
    return p.frames[k if k < IDLE_FRAMES else period - k]


def close_up(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    scaled = cv2.resize(rgb, (WIDTH, round(h * WIDTH / w)), interpolation=cv2.INTER_AREA)
    top = (scaled.shape[0] - HEIGHT) // 2
    return scaled[top : top + HEIGHT]


def two_shot(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Two people side by side, a little further away than a close-up."""
    canvas = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    tall = 320
    for rgb, x0 in ((left, 0), (right, WIDTH // 2)):
        h, w = rgb.shape[:2]
        scaled = cv2.resize(rgb, (round(w * tall / h), tall), interpolation=cv2.INTER_AREA)
        left_edge = (scaled.shape[1] - WIDTH // 2) // 2
        half = scaled[:, left_edge : left_edge + WIDTH // 2]
        canvas[: HEIGHT - tall, x0 : x0 + WIDTH // 2] = half[:4].mean(axis=(0, 1))
        canvas[HEIGHT - tall :, x0 : x0 + WIDTH // 2] = half
    return canvas


def shot(speaker: str, seen: tuple[str, ...], people: dict[str, Person], i: int) -> np.ndarray:
    views = [people[n].frames[i] if n == speaker else idle(people[n], i) for n in seen]
    return close_up(views[0]) if len(views) == 1 else two_shot(*views)


def schedule(lengths: dict[str, int]) -> list[tuple[float, float, str, tuple[str, ...]]]:
    """(start, end, speaker, seen) of each turn, in seconds, from each person's clip
    length in frames: a lead-in, then the turns with a pause before each but the first."""
    turns, frame = [], round(LEAD_S * FPS)
    for number, (speaker, seen) in enumerate(SCENE):
        frame += round(GAP_S * FPS) if number else 0
        turns.append((frame / FPS, (frame + lengths[speaker]) / FPS, speaker, seen))
        frame += lengths[speaker]
    return turns


def compose(people: dict[str, Person]) -> tuple[list[np.ndarray], np.ndarray, list[tuple]]:
    """The clean scene: frames, sound, and the turns (``schedule``)."""
    turns = schedule({name: len(p.frames) for name, p in people.items()})
    frames: list[np.ndarray] = []
    sound = np.zeros(round((turns[-1][1] + GAP_S) * RATE), np.float32)
    for start, _, speaker, seen in turns:
        before = round(start * FPS) - len(frames)  # the lead-in or the pause: the cut comes first
        frames += [shot("", seen, people, i) for i in range(before)]
        frames += [shot(speaker, seen, people, i) for i in range(len(people[speaker].frames))]
        at = round(start * RATE)
        sound[at : at + len(people[speaker].sound)] = people[speaker].sound
    frames += [shot("", turns[-1][3], people, i) for i in range(round(GAP_S * FPS))]
    return frames, sound, turns


def age_picture(frames: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Monochrome with flicker, grain, dust, one wandering scratch and gate weave."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    vignette = 1.0 - 0.25 * (((xx - WIDTH / 2) / WIDTH) ** 2 + ((yy - HEIGHT / 2) / HEIGHT) ** 2)
    flicker = np.cumsum(rng.normal(0, 0.025, len(frames)))
    flicker = 1.0 + 0.6 * (flicker - np.convolve(flicker, np.ones(9) / 9, "same"))
    scratch_x, out = rng.uniform(0.3, 0.7) * WIDTH, []
    for i, rgb in enumerate(frames):
        grey = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        grey = (grey * 0.85 + 20) * vignette * flicker[i]
        dy, dx = rng.integers(-1, 2, 2)  # gate weave: the frame shifts by a pixel
        grey = np.roll(grey, (int(dy), int(dx)), axis=(0, 1))
        grey += cv2.GaussianBlur(rng.normal(0, 9, grey.shape).astype(np.float32), (3, 3), 0.6)
        for _ in range(int(rng.integers(2, 9))):  # dust: specks and hairs, new every frame
            y, x = int(rng.integers(0, HEIGHT)), int(rng.integers(0, WIDTH))
            colour = 15.0 if rng.random() < 0.6 else 240.0
            if rng.random() < 0.2:
                end = (x + int(rng.integers(-14, 15)), y + int(rng.integers(-14, 15)))
                cv2.line(grey, (x, y), end, colour, 1)
            else:
                cv2.circle(grey, (x, y), int(rng.integers(1, 4)), colour, -1)
        scratch_x += rng.normal(0, 0.6)
        if 0.15 * len(frames) < i < 0.8 * len(frames):
            x = int(np.clip(scratch_x, 2, WIDTH - 3))
            grey[:, x : x + 2] = np.maximum(grey[:, x : x + 2], 205.0)
        grey = np.clip(grey, 0, 255).astype(np.uint8)
        out.append(np.stack([grey] * 3, axis=-1))
    return out


def age_sound(sound: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Optical-track band (100 Hz to 5 kHz), hiss, 50 Hz hum with harmonics, crackles."""
    band = butter(4, (100, 5000), btype="bandpass", fs=RATE, output="sos")
    aged = sosfilt(band, sound).astype(np.float32)
    seconds = np.arange(len(aged)) / RATE
    hum = sum(a * np.sin(2 * np.pi * f * seconds) for f, a in ((50, 0.02), (150, 0.007)))
    aged += hum.astype(np.float32) + rng.normal(0, 0.006, len(aged)).astype(np.float32)
    for at in rng.integers(0, len(aged) - 40, 25):
        aged[at : at + 40] += rng.choice((-1, 1)) * rng.uniform(0.1, 0.3) * np.hanning(40)
    return aged


def write(frames: list[np.ndarray], sound: np.ndarray) -> None:
    tmp = OUT.with_suffix(".part.mp4")
    with av.open(str(tmp), "w", options={"movflags": "+faststart"}) as out:
        out.metadata["title"] = "reelscribe sample: an aged scene of three GRID corpus speakers"
        out.metadata["comment"] = (
            "composed from the GRID audio-visual corpus (Cooke et al. 2006), CC BY 4.0; "
            "see data/README.md"
        )
        video = out.add_stream("libx264", rate=FPS, options={"crf": "23", "preset": "slow"})
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        audio = out.add_stream("aac", rate=RATE, layout="mono")
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, "rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        pcm = np.clip(sound, -1, 1).astype(np.float32).reshape(1, -1)
        block = av.AudioFrame.from_ndarray(pcm, format="fltp", layout="mono")
        block.sample_rate, block.pts, block.time_base = RATE, 0, Fraction(1, RATE)
        out.mux(audio.encode(block))
        out.mux(audio.encode(None))
    tmp.replace(OUT)


def write_cast(people: dict[str, Person]) -> None:
    """One still of each clean clip (two thirds in) as the character's photo."""
    (HERE / "cast").mkdir(exist_ok=True)
    entries = []
    for name, p in people.items():
        still = p.frames[2 * len(p.frames) // 3]
        photo = f"cast/{name.lower()}.jpg"
        cv2.imwrite(str(HERE / photo), cv2.cvtColor(still, cv2.COLOR_RGB2BGR))
        entries.append(f'[[character]]\nname = "{name}"\nphotos = ["{photo}"]\n')
    CAST.write_text(
        "# The demo's cast: each photo is a still of the character's clean GRID clip.\n\n"
        + "\n".join(entries)
    )


def main() -> None:
    people = {name: person(clip) for name, clip in CHARACTERS.items()}
    rng = np.random.default_rng(SEED)
    frames, sound, turns = compose(people)
    write(age_picture(frames, rng), age_sound(sound, rng))
    write_cast(people)
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB, {len(frames) / FPS:.1f} s) and {CAST}")
    for start, end, speaker, _ in turns:
        print(f"  {start:5.2f}-{end:5.2f} s  {speaker}")


if __name__ == "__main__":
    main()
