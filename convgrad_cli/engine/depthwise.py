"""Depthwise layers: one input and one output channel per group.

No product is large enough for BLAS, so each rule runs tap by tap as
multiply-adds over the flat slices of :mod:`.layout` (junk
included: there is no GEMM to waste work on), with the samples — or, when
there are fewer samples than cores, the channels — shared among the cores.
Each share cuts its own part of the input into phase images (and merges its
part of ∂L/∂x), so that those copies run side by side too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from math import prod
from typing import TypeVar

import numpy as np

from . import runtime
from .blocks import Buffered, emit, outputs, tap_view, widen, with_buffers
from .layout import Conv, Layout, layout_for, merge, split
from .tuning import Tuning

T = TypeVar("T")

#: One core's part of a layer: ``(samples, channels)``.
Part = tuple[slice, slice]


def correlate(
    x: np.ndarray, w: np.ndarray, conv: Conv, bias: np.ndarray | None, tuning: Tuning
) -> np.ndarray:
    """``y[n, c, p] = Σ_k w[c, k] · x_pad[n, c, p·s + k·d] + b[c]``."""
    lay = layout_for(x.shape[2:], w.shape[2:], conv, compact=False)
    n, c = x.shape[:2]
    y = np.empty((n, c, *lay.out), dtype=np.result_type(x, w))
    wk = w.reshape(c, -1)

    def share(part: Part) -> None:
        ch = part[1]
        phases = split(x[part], lay)
        for block, _, (acc, tmp) in _blocks(lay, phases, 2, y.dtype, tuning):
            acc, tmp = (a.reshape(block.count, -1, block.width) for a in (acc, tmp))
            for t in range(len(lay.taps)):
                np.multiply(tap_view(lay, block, phases, t), wk[ch, t, None], out=tmp if t else acc)
                if t:
                    acc += tmp
            found = outputs(lay, block, acc.swapaxes(0, 1))
            emit(y[part], block.index, found, None if bias is None else bias[ch])

    _shared(share, n, c, y.nbytes, tuning)
    return y


def input_grad(
    delta: np.ndarray, w: np.ndarray, in_size: tuple[int, ...], conv: Conv, tuning: Tuning
) -> np.ndarray:
    """``dx_pad[n, c, p·s + k·d] += w[c, k] · δ[n, c, p]``, the padding then dropped."""
    lay = layout_for(in_size, w.shape[2:], conv, compact=False)
    n, c = delta.shape[:2]
    dx = (np.zeros if lay.in_place else np.empty)((n, c, *in_size), dtype=np.result_type(delta, w))
    wk = w.reshape(c, -1)

    def share(part: Part) -> None:
        ch, deltas, found = part[1], delta[part], dx[part]
        count, cc = deltas.shape[:2]
        if lay.in_place:  # the input is its only phase image: add straight into dx (a view: H, W whole)
            phases = found.reshape(count, 1, cc, -1)
        else:
            phases = np.zeros((count, lay.phases, cc, prod(lay.phase_size)), dtype=dx.dtype)
        for block, same, (wide, tmp) in _blocks(lay, phases, 2, dx.dtype, tuning):
            wide = widen(lay, block, deltas, wide.reshape(cc, block.count, -1), same).swapaxes(0, 1)
            tmp = tmp.reshape(block.count, cc, -1)
            for t in range(len(lay.taps)):
                np.multiply(wide, wk[ch, t, None], out=tmp)
                target = tap_view(lay, block, phases, t)
                target += tmp
        if not lay.in_place:
            merge(phases, lay, out=found)

    _shared(share, n, c, dx.nbytes, tuning)
    return dx


def weight_grad(
    x: np.ndarray, delta: np.ndarray, kernel_size: tuple[int, ...], conv: Conv, tuning: Tuning
) -> np.ndarray:
    """``dw[c, k] = Σ_{n, p} δ[n, c, p] · x_pad[n, c, p·s + k·d]``: a batched dot
    product per tap."""
    lay = layout_for(x.shape[2:], kernel_size, conv, compact=False)
    n, c = delta.shape[:2]
    dtype = np.result_type(x, delta)

    def share(part: Part) -> np.ndarray:
        ch, phases, deltas = part[1], split(x[part], lay), delta[part]
        cc = deltas.shape[1]
        grad = np.zeros((c, len(lay.taps)), dtype=dtype)
        for block, same, (wide,) in _blocks(lay, phases, 1, dtype, tuning):
            wide = widen(lay, block, deltas, wide.reshape(cc, block.count, -1), same).swapaxes(0, 1)
            for t in range(len(lay.taps)):
                seen = tap_view(lay, block, phases, t)
                # (n, c, 1, w) @ (n, c, w, 1): one dot product per sample and channel
                grad[ch, t] += np.matmul(wide[:, :, None, :], seen[:, :, :, None]).sum(axis=(0, 2, 3))
        return grad

    return np.sum(_shared(share, n, c, delta.nbytes, tuning), axis=0).reshape(c, 1, *kernel_size)


def _blocks(
    lay: Layout, phases: np.ndarray, buffers: int, dtype: np.dtype, tuning: Tuning
) -> Iterator[Buffered]:
    """The blocks of one share whose phase images are ``phases (n, phases, C, flat)``,
    each with ``buffers`` buffers of ``C`` rows, within ``depthwise_budget``."""
    n, _, c, _ = phases.shape
    return with_buffers(lay, range(n), ((c, 0),) * buffers, dtype, tuning.depthwise_budget)


def _shared(work: Callable[[Part], T], batch: int, channels: int, nbytes: int, tuning: Tuning) -> list[T]:
    """Run ``work(part)`` on disjoint parts, one per core: runs of samples, or of
    channels when there are fewer samples than cores. Parts never write the same
    entries."""
    workers = runtime.cores(tuning) if nbytes >= tuning.depthwise_parallel_bytes else 1
    every = slice(None)
    if batch >= workers:
        parts = [(slice(run.start, run.stop), every) for run in runtime.shares(batch, workers)]
    else:
        parts = [(every, slice(run.start, run.stop)) for run in runtime.shares(channels, workers)]
    return runtime.run(work, parts, tuning)
