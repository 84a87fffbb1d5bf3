"""Restoration chains: picture steps over frames, sound steps over audio blocks.

A step is a one-method object, ``process(items) -> items`` over a bounded
iterator, registered by name in ``PICTURE_STEPS`` or ``SOUND_STEPS``; after the
run, ``report()`` says what it changed, for the manifest. A chain with no steps
passes the film through untouched (this is what ``--no-restore`` gives).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from restore.clicks import Declick
from restore.errors import UsageError
from restore.hiss import Dehiss
from restore.hum import Dehum
from restore.loudness import Loudness, LoudnessOptions


class Step(Protocol):
    name: str

    def process(self, items: Iterator) -> Iterator: ...

    def report(self) -> dict: ...


PICTURE_STEPS: dict[str, Callable[[], Step]] = {}
SOUND_STEPS: dict[str, Callable[[RestoreOptions], Step]] = {
    "clicks": lambda options: Declick(),
    "hum": lambda options: Dehum(),
    "denoise": lambda options: Dehiss(),
    "loudness": lambda options: Loudness(LoudnessOptions(target=options.loudness)),
}
"""Sound steps are built from the whole ``RestoreOptions`` (the loudness target lives there)."""
SOUND_DEFAULT = ("clicks", "hum", "denoise", "loudness")
SPEECH_DEFAULT = ("clicks", "hum", "loudness")
"""The sound steps speech recognition hears by default: not the broadband denoiser, which
takes speech away with the hiss where speech hardly stands above it (restore/speechsound.py)."""
SECOND_DEFAULT = ("denoise",)
"""What a second copy for speech adds by default: the denoiser, which gives back consonants
that lighter hiss hides; Whisper keeps, stretch by stretch, the reading it is surer of
(speech/readings.py)."""


class _Lazy:
    """A registry entry that imports its step's module (OpenCV, torch) only when used."""

    def __init__(self, module: str, cls: str) -> None:
        self.module, self.cls = module, cls

    def _class(self) -> type:
        return getattr(importlib.import_module(self.module), self.cls)

    def options_type(self) -> type:
        return self._class().Options

    def __call__(self, **settings: object) -> Step:
        return self._class()(**settings)


PICTURE_STEPS.update(
    {
        "deflicker": _Lazy("restore.deflicker", "Deflicker"),
        "scratch": _Lazy("restore.scratch", "Scratch"),
        "dust": _Lazy("restore.dust", "Dust"),
        "denoise": _Lazy("restore.denoise", "Denoise"),
        "stabilise": _Lazy("restore.stabilise", "Stabilise"),
        "colour": _Lazy("restore.colour", "Colour"),
        "learned": _Lazy("restore.learned", "Learned"),
    }
)


@dataclass(frozen=True)
class RestoreOptions:
    picture: tuple[str, ...] = ()
    """Picture steps, in order (names from ``PICTURE_STEPS``)."""
    sound: tuple[str, ...] = SOUND_DEFAULT
    """Sound steps, in order (names from ``SOUND_STEPS``): clicks before the filters they
    would ring through, loudness last, on what the master will carry."""
    loudness: float = -23.0
    """Integrated loudness (LUFS) the ``loudness`` step brings the master to."""
    speech_sound: tuple[str, ...] = SPEECH_DEFAULT
    """Which of the ``sound`` steps speech recognition hears (the master always gets them all;
    ``restore/speechsound.py`` says how the speech copy gets its own)."""
    speech_second: tuple[str, ...] = SECOND_DEFAULT
    """Steps of ``sound`` that a second copy for speech hears besides ``speech_sound``; Whisper
    reads both copies and keeps, stretch by stretch, the reading it was surer of. Empty (or
    nothing that ``speech_sound`` lacks): one copy, one reading."""
    picture_settings: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    """Settings per picture step (``{"dust": {"threshold": 30}}``); unset ones keep defaults."""
    preset: str | None = None
    """The preset the picture chain came from (for the manifest), if any."""

    @classmethod
    def none(cls) -> RestoreOptions:
        """No restoration at all: the film passes through untouched."""
        return cls(picture=(), sound=())


class Chain:
    def __init__(
        self,
        names: tuple[str, ...],
        registry: dict[str, Callable[..., Step]],
        kind: str,
        settings: Mapping[str, Mapping[str, object]] | None = None,
    ):
        unknown = [n for n in names if n not in registry]
        if unknown:
            known = ", ".join(sorted(registry)) or "none yet"
            raise UsageError(f"unknown {kind} restoration step {unknown[0]!r} (known: {known})")
        self.kind = kind
        settings = settings or {}
        self.steps = [registry[name](**settings.get(name, {})) for name in names]

    def process(
        self,
        items: Iterator,
        tap: Callable[[Iterator], Iterator] | None = None,
        at: int = 0,
    ) -> Iterator:
        """The items through every step; ``tap`` (a pass-through, such as the speech tap)
        sees them after the first ``at`` steps."""
        for i, step in enumerate(self.steps):
            if tap is not None and i == at:
                items = tap(items)
            items = step.process(items)
        if tap is not None and at >= len(self.steps):
            items = tap(items)
        return items

    def report(self) -> list[dict]:
        return [{"step": step.name, **step.report()} for step in self.steps]


def picture_chain(options: RestoreOptions) -> Chain:
    return Chain(options.picture, PICTURE_STEPS, "picture", options.picture_settings)


def sound_chain(options: RestoreOptions) -> Chain:
    steps = {name: partial(make, options) for name, make in SOUND_STEPS.items()}
    return Chain(options.sound, steps, "sound")
