"""Shared handling of audio blocks for the sound steps: context around a block, a lead-in buffer.

Sound steps see a bounded iterator of ``AudioBlock``s. A step that needs to
look around a sample (clicks, spectral noise reduction) processes each block
with ``pad`` samples of the blocks before and after it and keeps the middle, so
the stream gives the same result as the whole signal in one piece. A step that
must learn from the film before it starts (which mains frequency hums, what the
hiss sounds like) reads a bounded lead-in first and then replays it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from restore.media import AudioBlock


def with_context(
    blocks: Iterator[AudioBlock],
    pad: int,
    process: Callable[[np.ndarray, int, slice, int], np.ndarray],
) -> Iterator[AudioBlock]:
    """Yield each block processed with up to ``pad`` samples of its neighbours on each side.

    ``process(samples, rate, middle, first)`` gets float32 (channels, n), where
    ``samples[:, middle]`` is the block itself and ``first`` is the stream's index of
    ``samples[:, 0]``, and returns the same shape;
    block boundaries, starts and layouts come out as they went in. The film's first
    and last samples have no neighbours there: ``process`` sees the signal's own edge.
    """
    queue: list[AudioBlock] = []  # the block to emit, then the blocks that look ahead of it
    history = None  # up to pad samples from before queue[0]
    for block in blocks:
        queue.append(block)
        while queue and sum(b.samples.shape[1] for b in queue[1:]) >= pad:
            history = yield from _emit(queue, history, pad, process)
    while queue:
        history = yield from _emit(queue, history, pad, process)


def _emit(queue: list[AudioBlock], history, pad, process) -> Iterator[AudioBlock]:
    current = queue.pop(0)
    ahead = np.concatenate([b.samples for b in queue], axis=1)[:, :pad] if queue else None
    parts = [p for p in (history, current.samples, ahead) if p is not None and p.shape[1]]
    joined = np.concatenate(parts, axis=1) if len(parts) > 1 else current.samples
    left = 0 if history is None else history.shape[1]
    n = current.samples.shape[1]
    middle = slice(left, left + n)
    out = process(joined, current.rate, middle, current.start - left)[:, middle]
    yield AudioBlock(current.start, current.rate, current.layout, out.astype(np.float32))
    tail = current.samples if history is None else np.concatenate([history, current.samples], 1)
    return tail[:, -pad:] if pad else None


def lead_in(
    blocks: Iterator[AudioBlock], seconds: float
) -> tuple[list[AudioBlock], Iterator[AudioBlock]]:
    """Read up to ``seconds`` of blocks (bounded), and return them with the rest of the stream."""
    held: list[AudioBlock] = []
    total = 0
    for block in blocks:
        held.append(block)
        total += block.samples.shape[1]
        if total >= seconds * block.rate:
            break
    return held, blocks


def replay(held: list[AudioBlock], rest: Iterator[AudioBlock]) -> Iterator[AudioBlock]:
    yield from held
    yield from rest


def db(ratio: float) -> float:
    """A power ratio in decibels (rounded for the manifest; -inf stays a finite floor)."""
    return round(10 * float(np.log10(max(ratio, 1e-30))), 2)
