"""Composed dialogues cut like films, from real single-speaker clips, with exact truth.

Composed material, as ../shared/media's README allows: each person is a real clip (a
GRID speaker or a talking head) whose own sound is their voice. A scene is a list of
turns; in each, one person speaks (their clip and sound) and the shot decides who is
seen:

- ``side``: speaker and listener side by side, both mouths moving (the listener's clip
  plays muted);
- ``shot``: the speaker alone (shot/reverse-shot: the cut comes with the turn);
- ``reaction``: the listener alone, moving their mouth, while the speaker talks off
  screen; ``still``: the listener alone and still;
- ``wide``: three people side by side, small (faces about 60 px high);
- ``small``: two people with faces about 40 px high;
- ``turned``: side by side, both faces turned partly away (foreshortened to 65 % width).

``aged``: monochrome, grain, flicker, dust, a scratch, hiss and hum.

People are split into two groups (``TUNE``, ``JUDGE``): constants are chosen on dialogues
of the first and reported on dialogues of the second.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"
FPS = 25
RATE = 16000
SIZE = 288  # each person's picture, square
WIDTH, HEIGHT = 512, 288  # the composed film's frame
GAP_S = 0.6

TUNE = ("bbaf2n", "brbk7n", "lbax4n", "face_1")
JUDGE = ("lbbc2a", "lrwp9a", "id2_vcd_swwp2s", "face_2", "face_3")


@dataclass(frozen=True)
class Person:
    name: str
    frames: tuple[np.ndarray, ...]  # SIZE x SIZE RGB at FPS
    sound: np.ndarray  # mono float32 at RATE

    @property
    def seconds(self) -> float:
        return len(self.frames) / FPS


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: str
    shot: str
    seen: tuple[str, ...]  # who is on screen

    @property
    def on_screen(self) -> bool:
        return self.speaker in self.seen


def clip_path(name: str) -> Path:
    if name.startswith("face_"):
        return MEDIA / "faces" / "talking" / f"{name}.mp4"
    return MEDIA / "faces" / "grid" / f"{name}.mpg"


@lru_cache(maxsize=16)
def person(name: str) -> Person:
    """One real clip as a person: square frames resampled to FPS, the sound at RATE."""
    import cv2
    from scipy.signal import resample_poly

    from restore.media import iter_audio, iter_frames, open_source

    source = open_source(clip_path(name))
    frames, times = [], []
    for frame in iter_frames(source):
        rgb = frame.rgb()
        h, w = rgb.shape[:2]
        side = min(h, w)
        y0, x0 = (h - side) // 2, (w - side) // 2
        frames.append(cv2.resize(rgb[y0 : y0 + side, x0 : x0 + side], (SIZE, SIZE)))
        times.append(float(frame.time))
    rate = source.audio[0].sample_rate
    sound = np.concatenate([b.samples for b in iter_audio(source)], axis=1).mean(axis=0)
    sound = resample_poly(sound, RATE, rate).astype(np.float32)
    times = np.asarray(times) - times[0]
    grid = np.arange(0, times[-1] + 1e-6, 1 / FPS)
    picked = [frames[int(np.argmin(np.abs(times - t)))] for t in grid]
    count = min(len(picked), int(len(sound) / RATE * FPS))
    return Person(name, tuple(picked[:count]), sound[: int(count / FPS * RATE)])


def scene_turns(a: str, b: str, c: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(speaker, shot, seen) for the twelve turns of one scene of people a, b and c."""
    return [
        (a, "side", (a, b)),
        (b, "side", (a, b)),
        (a, "shot", (a,)),
        (b, "shot", (b,)),
        (a, "reaction", (b,)),
        (b, "still", (a,)),
        (c, "wide", (a, b, c)),
        (b, "wide", (a, b, c)),
        (a, "small", (a, b)),
        (b, "small", (a, b)),
        (a, "turned", (a, b)),
        (b, "turned", (a, b)),
    ]


def scenes(group: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """Every pair of a group, with a third person from it for the wide shots."""
    out = []
    for a, b in itertools.combinations(group, 2):
        c = next(p for p in group if p not in (a, b))
        out.append((a, b, c))
    return out


def _frame_of(p: Person, i: int, still: bool = False) -> np.ndarray:
    """Frame ``i`` of a person's clip, played back and forth (a listener outlasts it)."""
    if still:
        return p.frames[0]
    n = len(p.frames)
    period = 2 * n - 2 if n > 1 else 1
    k = i % period
    return p.frames[k if k < n else period - k]


def _place(canvas: np.ndarray, face: np.ndarray, cx: int, size: int, squeeze: float = 1.0):
    import cv2

    w = max(2, int(round(size * squeeze)))
    view = cv2.resize(face, (w, size), interpolation=cv2.INTER_AREA)
    y0 = (HEIGHT - size) // 2
    x0 = int(cx - w / 2)
    canvas[y0 : y0 + size, x0 : x0 + w] = view


def _layout(shot: str, seen: tuple[str, ...], people: dict, i: int, speaker: str) -> np.ndarray:
    canvas = np.full((HEIGHT, WIDTH, 3), 40, np.uint8)
    frames = [_frame_of(people[n], i, still=(shot == "still")) for n in seen]
    if shot in ("side", "turned"):
        squeeze = 0.65 if shot == "turned" else 1.0
        for face, cx in zip(frames, (WIDTH // 4, 3 * WIDTH // 4), strict=True):
            _place(canvas, face, cx, 250, squeeze)
    elif shot in ("shot", "reaction", "still"):
        _place(canvas, frames[0], WIDTH // 2, HEIGHT)
    elif shot == "wide":
        for face, cx in zip(frames, (WIDTH // 6, WIDTH // 2, 5 * WIDTH // 6), strict=True):
            _place(canvas, face, cx, 150)
    elif shot == "small":
        for face, cx in zip(frames, (WIDTH // 3, 2 * WIDTH // 3), strict=True):
            _place(canvas, face, cx, 100)
    else:
        raise ValueError(shot)
    return canvas


def halves(p: Person) -> tuple[Person, Person]:
    """A person's clip cut in two at its quietest 80 ms in the middle third: two different
    stretches of one voice (a profile from one, a line judged from the other)."""
    n = len(p.frames)
    step = RATE // FPS * 2  # two frames
    first, last = n // 3 // 2, 2 * n // 3 // 2
    loudness = [float(np.mean(p.sound[k * step : (k + 1) * step] ** 2)) for k in range(first, last)]
    cut = 2 * (first + int(np.argmin(loudness)))
    split = cut * RATE // FPS
    return (
        Person(f"{p.name}:1", p.frames[:cut], p.sound[:split]),
        Person(f"{p.name}:2", p.frames[cut:], p.sound[split:]),
    )


def compose(
    path: Path,
    cast: tuple[str, ...],
    aged: bool = False,
    seed: int = 0,
    turns_of: list[tuple[str, str, tuple[str, ...]]] | None = None,
):
    """Write one scene of ``cast`` (three people's names) to ``path`` (FFV1 + FLAC in
    Matroska) and return its turns: ``scene_turns``, or ``turns_of`` ((speaker, shot,
    seen) each; a speaker "NAME:1" or "NAME:2" says only that half of NAME's clip)."""
    people = {n: person(n) for n in cast}
    for name in cast:
        people[f"{name}:1"], people[f"{name}:2"] = halves(people[name])
    rng = np.random.default_rng(seed)
    frames, sound, turns = [], [], []
    t = 0
    for who, shot, seen in turns_of or scene_turns(*cast):
        speaker = who.split(":")[0]
        gap = int(GAP_S * FPS)
        frames += [_layout(shot, seen, people, 0, speaker)] * gap
        sound.append(np.zeros(int(GAP_S * RATE), np.float32))
        t += gap
        voice = people[who]
        count = len(voice.frames)
        shown = {**people, speaker: voice}  # the speaker's face says what is heard
        frames += [_layout(shot, seen, shown, i, speaker) for i in range(count)]
        sound.append(voice.sound[: int(count / FPS * RATE)])
        sound.append(np.zeros(int(count / FPS * RATE) - len(sound[-1]), np.float32))
        turns.append(Turn(t / FPS, (t + count) / FPS, speaker, shot, seen))
        t += count
    frames += [frames[-1]] * int(GAP_S * FPS)
    sound.append(np.zeros(int(GAP_S * RATE), np.float32))
    sound = np.concatenate(sound)
    if aged:
        frames = _aged_frames(frames, rng)
        seconds = np.arange(len(sound)) / RATE
        sound = sound + rng.normal(0, 0.01, len(sound)).astype(np.float32)
        sound = sound + 0.01 * np.sin(2 * np.pi * 50 * seconds).astype(np.float32)
    write_film(path, frames, sound)
    return turns


def _aged_frames(frames: list[np.ndarray], rng) -> list[np.ndarray]:
    scratch = int(rng.integers(40, WIDTH - 40))
    out = []
    for i, rgb in enumerate(frames):
        aged = age_frame(rgb, i, rng)
        x = scratch + int(3 * np.sin(i / 7))
        aged[:, x : x + 2] = 235
        out.append(aged)
    return out


def age_frame(rgb: np.ndarray, i: int, rng) -> np.ndarray:
    """Frame ``i`` of a composed film made old: monochrome, flicker, grain, five specks of
    dust (conftest's composed dialogues age theirs the same way)."""
    grey = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    grey = grey * (1.0 + 0.12 * np.sin(i * 1.3)) + rng.normal(0, 10, grey.shape)
    for _ in range(5):
        y, x = rng.integers(0, grey.shape[0] - 4), rng.integers(0, grey.shape[1] - 4)
        grey[y : y + 3, x : x + 3] = 0 if rng.random() < 0.5 else 255
    return np.stack([np.clip(grey, 0, 255).astype(np.uint8)] * 3, axis=-1)


def write_film(
    path: Path, frames: list[np.ndarray], sound: np.ndarray, fps: int = FPS, rate: int = RATE
) -> None:
    """RGB frames and mono float sound as FFV1 + FLAC in Matroska."""
    import av

    with av.open(str(path), "w") as out:
        video = out.add_stream("ffv1", rate=fps)
        video.width, video.height = frames[0].shape[1], frames[0].shape[0]
        video.pix_fmt = "yuv420p"
        audio = out.add_stream("flac", rate=rate, layout="mono")
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), "rgb24")
            frame = frame.reformat(format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        pcm = (np.clip(sound, -1, 1) * 32767).astype(np.int16).reshape(1, -1)
        block = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        block.sample_rate, block.pts, block.time_base = rate, 0, Fraction(1, rate)
        out.mux(audio.encode(block))
        out.mux(audio.encode(None))


def judge(lines, turns: list[Turn], names: dict[str, str]) -> list[dict]:
    """Per turn: the lines holding its words (a word belongs to the turn its middle falls
    in) and what they were given. ``names`` maps a speaker id to a person's name (from the
    face tracks' truth). Each turn: {"turn", "verdict": "right" | "none" | "wrong" |
    "listener" | "unheard", "lines": [...]}"""
    out = []
    for turn in turns:
        given = []
        for line in lines:
            words = line.words or ()
            inside = [w for w in words if turn.start <= (w.start + w.end) / 2 <= turn.end]
            if not words and turn.start <= (line.start + line.end) / 2 <= turn.end:
                inside = [line]
            if inside:
                given.append((names.get(line.speaker) if line.speaker else None, line))
        if not given:
            verdict = "unheard"
        else:
            who = {g for g, _ in given}
            if who == {turn.speaker}:
                verdict = "right"
            elif who == {None}:
                verdict = "none"
            elif any(g is not None and g != turn.speaker and g in turn.seen for g in who):
                verdict = "listener" if not turn.on_screen else "wrong"
            elif None in who and turn.speaker in who:
                verdict = "partly"
            else:
                verdict = "wrong"
        out.append({"turn": turn, "verdict": verdict, "lines": [ln for _, ln in given]})
    return out


def character_names(faces, turns: list[Turn]) -> dict[str, str]:
    """Which person each character is: the one on screen at that place most often
    (ground truth from the layout; each character votes by its tracks' box centres)."""
    votes: dict[str, dict[str, int]] = {}
    for track in faces.tracks:
        if track.character is None:
            continue
        for time, box in zip(track.times, track.boxes, strict=True):
            turn = next((t for t in turns if t.start - GAP_S <= time <= t.end), None)
            if turn is None:
                continue
            who = person_at(turn, box[0] + box[2] / 2)
            if who:
                tally = votes.setdefault(track.character, {})
                tally[who] = tally.get(who, 0) + 1
    return {c: max(v, key=v.get) for c, v in votes.items()}


def person_at(turn: Turn, x: float) -> str | None:
    """Who stands at column ``x`` of a turn's layout."""
    seen = turn.seen
    if len(seen) == 1:
        return seen[0]
    slot = min(int(x / (WIDTH / len(seen))), len(seen) - 1)
    return seen[slot]
