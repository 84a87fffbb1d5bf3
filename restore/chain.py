"""Restoration chains: picture steps over frames, sound steps over audio blocks.

A step is a one-method object, ``process(items) -> items`` over a bounded
iterator, registered by name in ``PICTURE_STEPS`` or ``SOUND_STEPS``; after the
run, ``report()`` says what it changed, for the manifest. A chain with no steps
passes the film through untouched (this is what ``--no-restore`` gives).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from restore.clicks import Declick
from restore.denoise import Denoise
from restore.errors import UsageError
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
    "denoise": lambda options: Denoise(),
    "loudness": lambda options: Loudness(LoudnessOptions(target=options.loudness)),
}
"""Sound steps are built from the whole ``RestoreOptions`` (the loudness target lives there)."""
SOUND_DEFAULT = ("clicks", "hum", "denoise", "loudness")


@dataclass(frozen=True)
class RestoreOptions:
    picture: tuple[str, ...] = ()
    """Picture steps, in order (names from ``PICTURE_STEPS``)."""
    sound: tuple[str, ...] = SOUND_DEFAULT
    """Sound steps, in order (names from ``SOUND_STEPS``): clicks before the filters they
    would ring through, loudness last, on what the master will carry."""
    loudness: float = -23.0
    """Integrated loudness (LUFS) the ``loudness`` step brings the master to."""

    @classmethod
    def none(cls) -> RestoreOptions:
        """No restoration at all: the film passes through untouched."""
        return cls(picture=(), sound=())


class Chain:
    def __init__(self, names: tuple[str, ...], registry: dict[str, Callable[[], Step]], kind: str):
        unknown = [n for n in names if n not in registry]
        if unknown:
            known = ", ".join(sorted(registry)) or "none yet"
            raise UsageError(f"unknown {kind} restoration step {unknown[0]!r} (known: {known})")
        self.kind = kind
        self.steps = [registry[name]() for name in names]

    def process(self, items: Iterator) -> Iterator:
        for step in self.steps:
            items = step.process(items)
        return items

    def report(self) -> list[dict]:
        return [{"step": step.name, **step.report()} for step in self.steps]


def picture_chain(options: RestoreOptions) -> Chain:
    return Chain(options.picture, PICTURE_STEPS, "picture")


def sound_chain(options: RestoreOptions) -> Chain:
    steps = {name: partial(make, options) for name, make in SOUND_STEPS.items()}
    return Chain(options.sound, steps, "sound")
