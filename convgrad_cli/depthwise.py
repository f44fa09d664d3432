"""Depthwise layers: one input and one output channel per group.

No product is large enough for BLAS, so each rule runs tap by tap as
multiply-adds over the flat slices of :mod:`convgrad_cli.layout` (junk
included: there is no GEMM to waste work on), with the samples — or, when
there are fewer samples than cores, the channels — shared among the cores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from math import prod
from typing import Any

import numpy as np

from . import parallel
from .geometry import Pair
from .layout import Buffered, Layout, emit, layout_for, merge, outputs, split, tap_view, widen, with_buffers

#: Bytes of buffers per block: a benchmark sample (64 channels of 56×56 float32,
#: with its scratch) at a time ran fastest; smaller blocks cut samples into rows
#: and ran slower.
BUDGET = 4 * 2**20

#: Below this many bytes a layer runs on one core: a thread costs more.
PARALLEL_BYTES = 2**20


def correlate(
    x: np.ndarray,
    w: np.ndarray,
    stride: tuple[int, ...],
    padding: tuple[Pair, ...],
    dilation: tuple[int, ...],
    bias: np.ndarray | None,
) -> np.ndarray:
    """``y[n, c, p] = Σ_k w[c, k] · x_pad[n, c, p·s + k·d] + b[c]``."""
    lay = layout_for(x.shape[2:], padding, w.shape[2:], stride, dilation, compact=False)
    n, c = x.shape[:2]
    y = np.empty((n, c, *lay.out), dtype=np.result_type(x, w))
    phases = split(x, lay)
    wk = w.reshape(c, -1)

    def share(samples: range, ch: slice) -> None:
        for block, _, (acc, tmp) in _blocks(lay, samples, (c, c), y.dtype):
            acc, tmp = (a.reshape(block.count, c, -1)[:, ch] for a in (acc, tmp))
            for t in range(len(lay.taps)):
                np.multiply(tap_view(lay, block, phases[:, :, ch], t), wk[ch, t, None], out=tmp if t else acc)
                if t:
                    acc += tmp
            found = outputs(lay, block, acc.swapaxes(0, 1))
            emit(y, (block.samples, ch, *block.where), found, None if bias is None else bias[ch])

    _shared(share, n, c, y.nbytes)
    return y


def input_grad(
    delta: np.ndarray,
    w: np.ndarray,
    in_size: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[Pair, ...],
    dilation: tuple[int, ...],
) -> np.ndarray:
    """``dx_pad[n, c, p·s + k·d] += w[c, k] · δ[n, c, p]``, the padding then dropped."""
    lay = layout_for(in_size, padding, w.shape[2:], stride, dilation, compact=False)
    n, c = delta.shape[:2]
    phases = np.zeros((n, lay.phases, c, prod(lay.phase_size)), dtype=np.result_type(delta, w))
    wk = w.reshape(c, -1)

    def share(samples: range, ch: slice) -> None:
        for block, same, (wide, tmp) in _blocks(lay, samples, (c, c), phases.dtype):
            wide = widen(lay, block, delta[:, ch], wide.reshape(c, block.count, -1)[ch], same).swapaxes(0, 1)
            tmp = tmp.reshape(block.count, c, -1)[:, ch]
            for t in range(len(lay.taps)):
                np.multiply(wide, wk[ch, t, None], out=tmp)
                target = tap_view(lay, block, phases[:, :, ch], t)
                target += tmp

    _shared(share, n, c, phases.nbytes)
    return merge(phases, lay)


def weight_grad(
    x: np.ndarray,
    delta: np.ndarray,
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[Pair, ...],
    dilation: tuple[int, ...],
) -> np.ndarray:
    """``dw[c, k] = Σ_{n, p} δ[n, c, p] · x_pad[n, c, p·s + k·d]``: a batched dot
    product per tap."""
    lay = layout_for(x.shape[2:], padding, kernel_size, stride, dilation, compact=False)
    n, c = delta.shape[:2]
    phases = split(x, lay)
    dtype = np.result_type(phases, delta)

    def share(samples: range, ch: slice) -> np.ndarray:
        grad = np.zeros((c, len(lay.taps)), dtype=dtype)
        for block, same, (wide,) in _blocks(lay, samples, (c,), dtype):
            wide = widen(lay, block, delta[:, ch], wide.reshape(c, block.count, -1)[ch], same).swapaxes(0, 1)
            for t in range(len(lay.taps)):
                seen = tap_view(lay, block, phases[:, :, ch], t)
                # (n, c, 1, w) @ (n, c, w, 1): one dot product per sample and channel
                grad[ch, t] += np.matmul(wide[:, :, None, :], seen[:, :, :, None]).sum(axis=(0, 2, 3))
        return grad

    return sum(_shared(share, n, c, delta.nbytes)).reshape(c, 1, *kernel_size)


def _blocks(lay: Layout, samples: range, parts: tuple[int, ...], dtype: np.dtype) -> Iterator[Buffered]:
    """The blocks of one share, sized by :data:`BUDGET`."""
    return with_buffers(lay, samples, tuple((rows, 0) for rows in parts), dtype, BUDGET)


def _shared(work: Callable[[range, slice], Any], batch: int, channels: int, nbytes: int) -> list[Any]:
    """Run ``work(samples, channels)`` on disjoint shares, one per core: by samples,
    or by channels when there are fewer samples than cores. Shares never write the
    same entries."""
    workers = parallel.cores() if nbytes >= PARALLEL_BYTES else 1
    if batch >= workers:
        parts = [(samples, slice(None)) for samples in parallel.shares(batch, workers)]
    else:
        parts = [(range(batch), slice(ch.start, ch.stop)) for ch in parallel.shares(channels, workers)]
    return parallel.run(lambda part: work(*part), parts)
