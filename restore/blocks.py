"""Shared handling of audio blocks for the sound steps: context around a block, a lead-in buffer.

Sound steps see a bounded iterator of ``AudioBlock``s. A step that needs to
look around a sample (clicks, spectral noise reduction) processes each block
with ``pad`` samples of the blocks before and after it and keeps the middle, so
the stream gives the same result as the whole signal in one piece. A step that
must learn from the film before it starts (which mains frequency hums, what the
hiss sounds like) reads a bounded lead-in first and then replays it. A step
that is an ffmpeg filter runs it through PyAV's filter graph and gets the blocks
back with their own starts and sizes (``through_filter``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction

import av
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


# -- ffmpeg filters through PyAV ------------------------------------------------------
def filter_graph(rate: int, layout: str, *filters: tuple[str, str]) -> av.filter.Graph:
    graph = av.filter.Graph()
    node = graph.add_abuffer(
        format="fltp", sample_rate=rate, layout=layout, time_base=Fraction(1, rate)
    )
    for name, args in filters:
        following = graph.add(name, args)
        node.link_to(following)
        node = following
    sink = graph.add("aformat", "sample_fmts=fltp")
    node.link_to(sink)
    end = graph.add("abuffersink")
    sink.link_to(end)
    graph.configure()
    return graph


def push_samples(graph, samples: np.ndarray | None, rate: int, layout: str, sent: int) -> int:
    if samples is None:
        graph.push(None)
        return sent
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(samples, np.float32), format="fltp", layout=layout
    )
    frame.sample_rate = rate
    frame.time_base = Fraction(1, rate)
    frame.pts = sent
    graph.push(frame)
    return sent + samples.shape[1]


def pull_frames(graph) -> Iterator[av.AudioFrame]:
    while True:
        try:
            yield graph.pull()
        except (av.error.BlockingIOError, av.error.EOFError):
            return


def through_filter(
    blocks: Iterator[AudioBlock], graph: av.filter.Graph, delay: int = 0
) -> Iterator[AudioBlock]:
    """Blocks through an ffmpeg filter graph, given back with the same starts and sizes.

    ``delay``: samples the filter holds back (its output starts that late); they are
    dropped from the front and flushed out of the end with silence, so the sound stays
    on the film's clock.
    """
    pending: list[AudioBlock] = []
    fifo: list[np.ndarray] = []
    held = 0
    skip = delay
    sent = 0
    rate = layout = None
    channels = 1

    def take(frames) -> None:
        nonlocal held, skip
        for frame in frames:
            data = frame.to_ndarray()
            if skip:
                cut = min(skip, data.shape[1])
                data, skip = data[:, cut:], skip - cut
            fifo.append(data)
            held += data.shape[1]

    def emit(final: bool) -> Iterator[AudioBlock]:
        nonlocal held
        while pending and (held >= pending[0].samples.shape[1] or final):
            block = pending.pop(0)
            n = block.samples.shape[1]
            joined = np.concatenate(fifo, axis=1) if fifo else np.zeros((block.samples.shape[0], 0))
            out = joined[:, :n]
            if out.shape[1] < n:
                out = np.pad(out, ((0, 0), (0, n - out.shape[1])))
            fifo[:] = [joined[:, n:]]
            held = fifo[0].shape[1]
            yield AudioBlock(block.start, block.rate, block.layout, out.astype(np.float32))

    for block in blocks:
        rate, layout, channels = block.rate, block.layout, block.samples.shape[0]
        pending.append(block)
        sent = push_samples(graph, block.samples, rate, layout, sent)
        take(pull_frames(graph))
        yield from emit(False)
    if rate is not None and delay:
        sent = push_samples(graph, np.zeros((channels, delay), np.float32), rate, layout, sent)
    if rate is not None:
        push_samples(graph, None, rate, layout, sent)
        take(pull_frames(graph))
    yield from emit(True)
