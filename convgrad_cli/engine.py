"""The fast engine: a correlation and its two adjoints as BLAS products.

With the phase images and flat offsets of :mod:`convgrad_cli.layout`, im2col
is K contiguous copies (or, compact, K strided ones) into a block's columns,
and each block is one GEMM:

- forward: ``Y = W·cols``;
- weight gradient: ``dWᵀ += cols·δᵀ``;
- input gradient: ``cols = Wᵀ·δ``, each tap's rows then added back where that
  tap reads (col2im), so the zeros of the dilated δ are never multiplied.

Depthwise layers go to :mod:`convgrad_cli.depthwise`: one channel per group
leaves no product large enough for BLAS.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from math import prod

import numpy as np

from . import depthwise
from .geometry import Pair
from .layout import (
    Block,
    Buffered,
    Layout,
    cells,
    emit,
    layout_for,
    merge,
    outputs,
    split,
    tap_view,
    widen,
    with_buffers,
)

#: Bytes the buffers of one block may take, at most; ``CONVGRAD_MEMORY_MB``
#: overrides it. Whatever the layer, the engine needs no more than this beyond
#: the operands, a padded copy of the input, and the results.
MEMORY_BUDGET = int(float(os.environ.get("CONVGRAD_MEMORY_MB", "256")) * 2**20)

#: Within the budget a block takes about GEMM_ENTRIES entries (8 MB in float32,
#: so it stays in cache) but at least GEMM_COLUMNS columns: fewer ran the GEMMs
#: slowly (14×14 float64 layers ran 25 % faster with this floor).
GEMM_ENTRIES = 2**21
GEMM_COLUMNS = 2500


def correlate(
    x: np.ndarray,
    w: np.ndarray,
    stride: tuple[int, ...],
    padding: tuple[Pair, ...],
    dilation: tuple[int, ...],
    groups: int,
    bias: np.ndarray | None = None,
) -> np.ndarray:
    """Grouped cross-correlation of ``pad(x)`` with ``w``, plus ``bias`` if given.

    ``y[n, o, p] = Σ_{c, k} x_pad[n, group(o)·C/g + c, p·s + k·d] · w[o, c, k] + b[o]``

    Shapes: ``x (N, C, *S)``, ``w (O, C/g, *k)``, ``bias (O,)`` → ``y (N, O, *out)``.
    """
    lay = layout_for(x.shape[2:], padding, w.shape[2:], stride, dilation)
    n, c = x.shape[:2]
    out_ch, cg = w.shape[:2]
    y = np.empty((n, out_ch, *lay.out), dtype=np.result_type(x, w))
    phases = split(x, lay)
    if cg == out_ch // groups == 1:
        return depthwise.correlate(lay, phases, w, y, bias)
    taps = len(lay.taps)
    wmat = _weights(w, groups)
    for block, _, (columns, result) in _blocks(lay, n, (taps * c, out_ch), y.dtype):
        # Y = W·cols
        _im2col(lay, block, phases, groups, columns)
        np.matmul(
            wmat, columns.reshape(groups, taps * cg, -1), out=result.reshape(groups, -1, columns.shape[1])
        )
        emit(y, block.index, outputs(lay, block, result.reshape(out_ch, block.count, -1)), bias)
    return y


def correlate_input_grad(
    delta: np.ndarray,
    w: np.ndarray,
    in_size: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[Pair, ...],
    dilation: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """The adjoint of :func:`correlate` with respect to ``x``.

    ``dx_pad[n, c, p·s + k·d] += Σ_o δ[n, o, p] · w[o, c, k]``, then the padding
    dropped — a col2im scatter: the dilated δ's zeros are never multiplied.
    """
    lay = layout_for(tuple(in_size), padding, w.shape[2:], stride, dilation)
    n, out_ch = delta.shape[:2]
    cg = w.shape[1]
    c, og = cg * groups, out_ch // groups
    dtype = np.result_type(delta, w)
    phases = np.zeros((n, lay.phases, c, prod(lay.phase_size)), dtype=dtype)
    if cg == og == 1:
        depthwise.input_grad(lay, phases, w, delta)
        return merge(phases, lay)
    taps = len(lay.taps)
    wmat_t = _weights(w, groups).transpose(0, 2, 1)
    grouped = phases.reshape(n, lay.phases, groups, cg, -1)
    for block, same, (wide, columns) in _blocks(lay, n, (out_ch, taps * c), dtype):
        wide = widen(lay, block, delta, wide.reshape(out_ch, block.count, -1), same)
        # cols = Wᵀ·δ, then each tap's rows added where that tap reads
        np.matmul(wmat_t, wide.reshape(groups, og, -1), out=columns.reshape(groups, taps * cg, -1))
        by_tap = columns.reshape(groups, taps, cg, block.count, -1)
        for t in range(taps):
            target = tap_view(lay, block, grouped, t)
            target += np.moveaxis(cells(block, by_tap[:, t]), 2, 0)
    return merge(phases, lay)


def correlate_weight_grad(
    x: np.ndarray,
    delta: np.ndarray,
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[Pair, ...],
    dilation: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """The adjoint of :func:`correlate` with respect to ``w``.

    ``dw[o, c, k] = Σ_{n, p} δ[n, o, p] · x_pad[n, group(o)·C/g + c, p·s + k·d]``
    """
    lay = layout_for(x.shape[2:], padding, tuple(kernel_size), stride, dilation)
    n, c = x.shape[:2]
    out_ch = delta.shape[1]
    cg, og = c // groups, out_ch // groups
    phases = split(x, lay)
    if cg == og == 1:
        return depthwise.weight_grad(lay, phases, delta, kernel_size)
    taps = len(lay.taps)
    grad_t = np.zeros((groups, taps * cg, og), dtype=np.result_type(x, delta))
    for block, same, (wide, columns) in _blocks(lay, n, (out_ch, taps * c), grad_t.dtype):
        wide = widen(lay, block, delta, wide.reshape(out_ch, block.count, -1), same)
        _im2col(lay, block, phases, groups, columns)
        # dWᵀ += cols·δᵀ (this orientation ran ~25 % faster than δ·colsᵀ)
        grad_t += columns.reshape(groups, taps * cg, -1) @ wide.reshape(groups, og, -1).transpose(0, 2, 1)
    by_tap = grad_t.reshape(groups, taps, cg, og)
    return np.ascontiguousarray(by_tap.transpose(0, 3, 2, 1)).reshape(out_ch, cg, *kernel_size)


def _blocks(lay: Layout, batch: int, parts: tuple[int, ...], dtype: np.dtype) -> Iterator[Buffered]:
    """The blocks of a GEMM, sized as :data:`GEMM_ENTRIES` and :data:`GEMM_COLUMNS`
    say, within :data:`MEMORY_BUDGET`."""
    rows = sum(parts)
    columns = min(MEMORY_BUDGET // (rows * dtype.itemsize), max(GEMM_ENTRIES // rows, GEMM_COLUMNS))
    return with_buffers(lay, range(batch), parts, dtype, columns)


def _im2col(lay: Layout, block: Block, phases: np.ndarray, groups: int, columns: np.ndarray) -> None:
    """``columns (g·K·C/g, n·width)`` ← what each tap meets, rows ordered
    (group, tap, channel) as :func:`_weights` orders the kernel."""
    n, _, c, _ = phases.shape
    grouped = phases.reshape(n, lay.phases, groups, c // groups, -1)
    by_tap = columns.reshape(groups, len(lay.taps), c // groups, block.count, -1)
    for t in range(len(lay.taps)):
        cells(block, by_tap[:, t])[...] = np.moveaxis(tap_view(lay, block, grouped, t), 0, 2)


def _weights(w: np.ndarray, groups: int) -> np.ndarray:
    """``(O, C/g, *k)`` → ``(g, O/g, K·C/g)``, columns ordered (tap, channel)."""
    out_ch, cg = w.shape[:2]
    taps = prod(w.shape[2:])
    by_tap = w.reshape(groups, out_ch // groups, cg, taps).transpose(0, 1, 3, 2)
    return np.ascontiguousarray(by_tap).reshape(groups, out_ch // groups, taps * cg)
