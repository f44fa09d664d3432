"""Blocks of outputs, and what a block sees of the phase images.

Outputs are taken a few whole samples at a time, or runs of rows, or of
single outputs, so that whatever the layer a block's buffers stay within a
budget (step 4 of :mod:`.layout`); the views here give each kernel tap's
slice of the phase images over a block, and the block's real outputs among
its columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product
from math import prod
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .layout import Layout


@dataclass(frozen=True)
class Block:
    """Outputs ``[samples, :, *where]``, ``shape`` of them per sample: ``where``
    fixes the indices before output axis ``axis`` and cuts that axis with a
    slice. The block's first output sits at flat position ``start`` of the phase
    images, its last ``span − 1`` positions further."""

    samples: slice
    where: tuple[Any, ...]
    axis: int
    start: int
    shape: tuple[int, ...]
    span: int
    compact: bool

    @property
    def count(self) -> int:
        return self.samples.stop - self.samples.start

    @property
    def width(self) -> int:
        """Columns per sample: the outputs alone, or their whole flat span."""
        return prod(self.shape) if self.compact else self.span

    @property
    def index(self) -> tuple[Any, ...]:
        """The block's outputs in ``(N, O, *out)``."""
        return (self.samples, slice(None), *self.where)


def blocks(lay: Layout, samples: range, columns: int, reach: int = 0) -> Iterator[Block]:
    """Cut the outputs into blocks of at most ``columns`` columns (counting
    ``reach`` more per sample): whole samples when one fits, else runs of rows on
    the first axis whose rows fit, down to runs of single outputs on the last
    axis. The first block is the largest."""
    whole = lay.columns(0, lay.out[0]) + reach
    if whole <= columns:
        step = columns // whole
        for first in range(samples.start, samples.stop, step):
            last = min(first + step, samples.stop)
            yield Block(slice(first, last), (slice(None),), 0, 0, lay.out, lay.span, lay.compact)
        return
    room = max(1, columns - reach)  # a sample's own columns
    axis = next(a for a in range(len(lay.out)) if lay.columns(a, 1) <= room or a == len(lay.out) - 1)
    rows = max(1, (room - lay.columns(axis, 1)) // (lay.columns(axis, 2) - lay.columns(axis, 1)) + 1)
    for i, *prefix in product(samples, *map(range, lay.out[:axis])):
        for first in range(0, lay.out[axis], rows):
            last = min(first + rows, lay.out[axis])
            start = sum(p * f for p, f in zip(prefix, lay.flat_strides)) + first * lay.flat_strides[axis]
            span = (last - first - 1) * lay.flat_strides[axis] + lay.width(axis)
            shape = (last - first, *lay.out[axis + 1 :])
            yield Block(slice(i, i + 1), (*prefix, slice(first, last)), axis, start, shape, span, lay.compact)


#: A block, whether it has the last one's shape, and its buffers.
Buffered = tuple["Block", bool, list[np.ndarray]]


def with_buffers(
    lay: Layout, samples: range, parts: tuple[tuple[int, int], ...], dtype: np.dtype, budget: int
) -> Iterator[Buffered]:
    """Every block, with a buffer ``(rows, n·(width + extra))`` for each part
    ``(rows, extra)``, all of them within ``budget`` bytes. Each part reuses one
    allocation for all blocks (fresh ones would cost page faults each time), so
    ``same`` — the block has the last one's shape — means what a part holds at
    fixed places is still there."""
    rows = sum(r for r, _ in parts)
    reach = max(e for _, e in parts)
    stores: list[np.ndarray] = []
    last = None
    for block in blocks(lay, samples, budget // (rows * dtype.itemsize), reach):
        shapes = [(r, block.count * (block.width + e)) for r, e in parts]
        stores = stores or [np.empty(prod(shape), dtype) for shape in shapes]
        buffers = [store[: prod(shape)].reshape(shape) for store, shape in zip(stores, shapes)]
        yield block, (block.count, block.width) == last, buffers
        last = (block.count, block.width)


# -- views of a block -------------------------------------------------------------


def tap_view(lay: Layout, block: Block, phases: np.ndarray, tap: int) -> np.ndarray:
    """What kernel tap ``tap`` meets over the block in the phase images
    ``(N, phases, …, flat)``: ``(n, …, width)``, or ``(n, …, *shape)`` when
    compact — a view, writable (col2im adds through it)."""
    phase, offset = lay.taps[tap]
    start = block.start + offset
    flat = phases[block.samples, phase, ..., start : start + block.span]
    if not block.compact:
        return flat
    steps = tuple(f * flat.itemsize for f in lay.flat_strides[block.axis :])
    return as_strided(flat, (*flat.shape[:-1], *block.shape), (*flat.strides[:-1], *steps))


def source_view(lay: Layout, block: Block, phases: np.ndarray, source: int) -> np.ndarray:
    """What im2col copies for one source: like :func:`tap_view`, ``reach``
    columns longer (``(n, …, width + reach)``)."""
    if block.compact:  # compact layouts copy every tap: their sources are the taps
        return tap_view(lay, block, phases, source)
    phase, offset = lay.sources[source]
    start = block.start + offset
    return phases[block.samples, phase, ..., start : start + block.span + lay.reach]


def cells(block: Block, columns: np.ndarray) -> np.ndarray:
    """A block's columns ``(…, width)`` shaped as :func:`tap_view` gives them."""
    return columns.reshape(*columns.shape[:-1], *block.shape) if block.compact else columns


def outputs(lay: Layout, block: Block, columns: np.ndarray) -> np.ndarray:
    """The real outputs among a block's columns ``(O, n, width)``, seen as
    ``(n, O, *shape)`` — a view that skips the junk."""
    if block.compact:
        return columns.reshape(*columns.shape[:2], *block.shape).swapaxes(0, 1)
    steps = tuple(f * columns.itemsize for f in lay.flat_strides[block.axis :])
    seen = as_strided(columns, (*columns.shape[:2], *block.shape), (*columns.strides[:2], *steps))
    return seen.swapaxes(0, 1)


def widen(lay: Layout, block: Block, delta: np.ndarray, out: np.ndarray, zeroed: bool) -> np.ndarray:
    """δ of the block's outputs as columns ``out (O, n, width)``, zero in the junk
    (``zeroed``: it already is, from the last block of the same shape)."""
    if not (block.compact or zeroed):
        out.fill(0)
    outputs(lay, block, out)[...] = delta[block.index]
    return out


def emit(y: np.ndarray, where: tuple[Any, ...], found: np.ndarray, bias: np.ndarray | None) -> None:
    """``y[where] = found (+ bias)``: the bias rides on the copy out of the columns."""
    if bias is None:
        y[where] = found
    else:
        np.add(found, bias.reshape(-1, *[1] * (found.ndim - 2)), out=y[where])
