"""Restoration chains: picture steps over frames, sound steps over audio blocks.

A step is a one-method object, ``process(items) -> items`` over a bounded
iterator, registered by name in ``PICTURE_STEPS`` or ``SOUND_STEPS``; after the
run, ``report()`` says what it changed, for the manifest. A chain with no steps
passes the film through untouched (this is what ``--no-restore`` gives).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from restore.errors import UsageError


class Step(Protocol):
    name: str

    def process(self, items: Iterator) -> Iterator: ...

    def report(self) -> dict: ...


PICTURE_STEPS: dict[str, Callable[[], Step]] = {}
SOUND_STEPS: dict[str, Callable[[], Step]] = {}


@dataclass(frozen=True)
class RestoreOptions:
    picture: tuple[str, ...] = ()
    """Picture steps, in order (names from ``PICTURE_STEPS``)."""
    sound: tuple[str, ...] = ()
    """Sound steps, in order (names from ``SOUND_STEPS``)."""


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
    return Chain(options.sound, SOUND_STEPS, "sound")
