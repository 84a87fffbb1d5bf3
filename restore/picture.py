"""What the picture steps share: settings, presets, the frame window, and the account kept.

Each step (``restore/deflicker.py``, ``dust.py``, ``scratch.py``, ``denoise.py``,
``stabilise.py``, ``colour.py``) is a :class:`PictureStep`: one frozen options
dataclass, ``process(frames) -> frames`` over a bounded iterator, and ``report()``
for the manifest (its settings and what it changed). Temporal steps see a small
window of neighbours (:func:`window`), never the whole film.

Presets name a chain and its settings: ``archival`` repairs defects and keeps the
grain; ``access`` cleans harder for viewing copies. ``--steps`` and
``--set step.param=value`` adjust either.
"""

from __future__ import annotations

import dataclasses
import typing
from collections import deque
from collections.abc import Iterator, Mapping
from typing import ClassVar

import av
import cv2
import numpy as np

from restore.errors import UsageError
from restore.media import Frame

PICTURE_ORDER = ("deflicker", "scratch", "dust", "denoise", "stabilise", "colour")
"""Every classic step, in the order a chain runs them (brightness first, so flicker does not
read as dirt; dirt before denoise, so specks are not smeared into their neighbours)."""

PRESETS: dict[str, tuple[tuple[str, ...], dict[str, dict[str, object]]]] = {
    # Repairs defects, keeps the grain; stabilise and colour act only when measured to be needed.
    "archival": (
        PICTURE_ORDER,
        {"denoise": {"strength": 0.5}, "stabilise": {"mode": "auto"}, "colour": {"mode": "auto"}},
    ),
    # A viewing copy: less grain, steadier, colour corrected.
    "access": (
        PICTURE_ORDER,
        {"denoise": {"strength": 1.0}, "stabilise": {"mode": "on"}, "colour": {"mode": "on"}},
    ),
}


def picture_plan(
    preset: str | None = "archival",
    steps: str | None = None,
    sets: tuple[str, ...] = (),
) -> tuple[tuple[str, ...], dict[str, dict[str, object]]]:
    """The chain (step names) and settings a preset, ``--steps`` and ``--set`` ask for."""
    from restore.chain import PICTURE_STEPS

    if preset is None:
        names: tuple[str, ...] = ()
        settings: dict[str, dict[str, object]] = {}
    elif preset in PRESETS:
        names, base = PRESETS[preset]
        settings = {step: dict(values) for step, values in base.items()}
    else:
        raise UsageError(f"--preset {preset!r}: known presets are {', '.join(PRESETS)}")
    if steps is not None:
        wanted = tuple(s.strip() for s in steps.split(",") if s.strip())
        for name in wanted:
            if name not in PICTURE_STEPS:
                raise UsageError(
                    f"--steps: unknown picture step {name!r} (known: {', '.join(PICTURE_STEPS)})"
                )
        names = tuple(wanted)
    for text in sets:
        step, param, value = _parse_set(text)
        if step not in PICTURE_STEPS:
            raise UsageError(
                f"--set {text}: unknown picture step {step!r} (known: {', '.join(PICTURE_STEPS)})"
            )
        options = step_options(step)
        settings.setdefault(step, {})[param] = _coerce(text, options, param, value)
    for step, values in settings.items():
        step_options(step)(**values)  # validates every value before any frame is read
    return names, {step: values for step, values in settings.items() if step in names}


def step_options(step: str) -> type:
    from restore.chain import PICTURE_STEPS

    factory = PICTURE_STEPS[step]
    return factory.options_type() if hasattr(factory, "options_type") else factory.Options


def _parse_set(text: str) -> tuple[str, str, str]:
    key, sep, value = text.partition("=")
    step, dot, param = key.strip().partition(".")
    if not sep or not dot or not step or not param:
        raise UsageError(f"--set {text!r}: write it as step.param=value (e.g. dust.threshold=30)")
    return step, param.strip(), value.strip()


def _coerce(text: str, options: type, param: str, value: str) -> object:
    hints = typing.get_type_hints(options)
    if param not in hints:
        known = ", ".join(f.name for f in dataclasses.fields(options))
        raise UsageError(f"--set {text}: {options.__name__} has no {param!r} (known: {known})")
    kind = hints[param]
    try:
        if kind is bool:
            if value.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(value)
            return value.lower() in ("1", "true", "yes", "on")
        return kind(value)
    except ValueError as error:
        raise UsageError(f"--set {text}: {value!r} is not a {kind.__name__}") from error


def check(condition: bool, step: str, message: str) -> None:
    """Options validation: a bad value is a usage error naming the step."""
    if not condition:
        raise UsageError(f"picture step {step}: {message}")


# --- frames as arrays, in a window ----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Picture:
    """A frame with its RGB array (uint8, H x W x 3), converted once for the whole chain."""

    original: Frame
    rgb: np.ndarray
    edited: bool = False

    @property
    def frame(self) -> Frame:
        """The frame to pass on: the original, untouched, unless a step changed the picture."""
        return self.original.with_rgb(self.rgb) if self.edited else self.original

    def replaced(self, rgb: np.ndarray) -> Picture:
        return Picture(self.original, rgb, True)


def pictures(frames: Iterator[Frame]) -> Iterator[Picture]:
    for frame in frames:
        yield Picture(frame, frame.rgb())


class _Frames:
    """Frames out of a picture step; the next picture step takes the pictures underneath,
    so a chain converts to RGB and back once, not once per step."""

    def __init__(self, items: Iterator[Picture], shared: dict) -> None:
        self.pictures = items
        self.shared = shared  # what the chain's steps share (the motion between frames)

    def __iter__(self) -> _Frames:
        return self

    def __next__(self) -> Frame:
        return next(self.pictures).frame


def window(
    items: Iterator, before: int, after: int
) -> Iterator[tuple[object, list[object], list[object]]]:
    """``(item, past, future)`` for each item: up to ``before`` items before it (nearest last)
    and up to ``after`` after it (nearest first). Holds ``before + after + 1`` items at most."""
    past: deque = deque(maxlen=max(before, 1))
    ahead: deque = deque()
    source = iter(items)
    done = False
    while True:
        while not done and len(ahead) < after + 1:
            try:
                ahead.append(next(source))
            except StopIteration:
                done = True
        if not ahead:
            return
        item = ahead.popleft()
        yield item, list(past)[-before:] if before else [], list(ahead)
        if before:
            past.append(item)


def bits_per_channel(frame: Frame) -> int:
    try:
        return max(c.bits for c in av.VideoFormat(frame.image.format.name).components)
    except (ValueError, AttributeError):
        return 8


class PictureStep:
    """Base of the picture steps: options, counts, and the manifest entry."""

    name: ClassVar[str]
    Options: ClassVar[type]

    def __init__(self, **settings: object) -> None:
        self.options = self.Options(**settings)
        self.frames = 0
        self.frames_changed = 0
        self.pixels_changed = 0
        self.pixels_seen = 0
        self.depth_in: int | None = None
        self.shared: dict = {}

    def process(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        if isinstance(frames, _Frames):
            source, self.shared = frames.pictures, frames.shared
        else:
            source, self.shared = pictures(frames), {}
        return _Frames(self.run(self._counted(source)), self.shared)

    def _counted(self, items: Iterator[Picture]) -> Iterator[Picture]:
        for picture in items:
            if self.depth_in is None:
                self.depth_in = bits_per_channel(picture.original)
            self.frames += 1
            yield picture

    def run(self, pictures: Iterator[Picture]) -> Iterator[Picture]:  # pragma: no cover
        raise NotImplementedError

    def changed(self, picture: Picture, rgb: np.ndarray, mask: np.ndarray | None = None) -> Picture:
        """The picture with ``rgb`` in place; counts the pixels that moved (or ``mask``'s)."""
        if mask is None:  # counted on every other row and column: the share is what matters
            difference = cv2.split(cv2.absdiff(rgb[::2, ::2], picture.rgb[::2, ::2]))
            mask = cv2.max(cv2.max(difference[0], difference[1]), difference[2])
        count = cv2.countNonZero(mask.view(np.uint8) if mask.dtype == bool else mask)
        total = mask.size
        scale = picture.rgb.shape[0] * picture.rgb.shape[1] / total
        self.pixels_seen += round(total * scale)
        if count == 0:
            return picture
        self.frames_changed += 1
        self.pixels_changed += round(count * scale)
        return picture.replaced(rgb)

    def unchanged(self, picture: Picture) -> Picture:
        self.pixels_seen += picture.rgb.shape[0] * picture.rgb.shape[1]
        return picture

    def measures(self) -> dict:
        return {}

    def report(self) -> dict:
        entry: dict[str, object] = {
            "settings": dataclasses.asdict(self.options),
            "frames": self.frames,
            "frames_changed": self.frames_changed,
            "share_of_pixels_changed": round(self.pixels_changed / self.pixels_seen, 6)
            if self.pixels_seen
            else 0.0,
        }
        entry.update(self.measures())
        if self.depth_in and self.depth_in > 8 and self.frames_changed:
            entry["depth"] = f"reduced from {self.depth_in} to 8 bits per channel"
        return entry


def settings_of(settings: Mapping[str, Mapping[str, object]], step: str) -> dict[str, object]:
    return dict(settings.get(step, {}))
