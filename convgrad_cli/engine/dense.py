"""The fast engine: a correlation and its two adjoints as BLAS products.

With the phase images and flat offsets of :mod:`.layout`, im2col
is a few contiguous copies (one per kernel column and phase; every kernel row
is then a shifted view of them) or, on small images, one strided copy per tap.
Each block of outputs is then a handful of GEMMs:

- forward: ``Y = Σ_rows W_row·cols_row``;
- weight gradient: ``dW_rowᵀ += cols_row·δᵀ``;
- input gradient: ``cols = Wᵀ·δ``, each tap's rows then added back where that
  tap reads (col2im), so the zeros of the dilated δ are never multiplied.

Deep layers on wide images skip im2col for the forward and the input gradient:
one product per tap, read from (or added into) the phase images in place, BLAS
adding each to the sum (:mod:`.blas`): ``Y = Σ_t W_t·x_t`` and
``dx_t += W_tᵀ·δ``.

Large layers share their samples among the cores (:mod:`.runtime`):
each share splits, copies and multiplies its own samples, BLAS on one thread.

Depthwise layers go to :mod:`.depthwise`: one channel per group
leaves no product large enough for BLAS.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product
from math import prod

import numpy as np

from . import blas, depthwise, runtime
from .blocks import Block, Buffered, cells, emit, outputs, source_view, tap_view, widen, with_buffers
from .layout import Conv, Layout, layout_for, merge, split
from .tuning import Tuning


def correlate(
    x: np.ndarray, w: np.ndarray, conv: Conv, bias: np.ndarray | None, tuning: Tuning
) -> np.ndarray:
    """Grouped cross-correlation of ``pad(x)`` with ``w``, plus ``bias`` if given.

    ``y[n, o, p] = Σ_{c, k} x_pad[n, group(o)·C/g + c, p·s + k·d] · w[o, c, k] + b[o]``

    Shapes: ``x (N, C, *S)``, ``w (O, C/g, *k)``, ``bias (O,)`` → ``y (N, O, *out)``.
    """
    n, c = x.shape[:2]
    out_ch, cg = w.shape[:2]
    groups = conv.groups
    if cg == out_ch // groups == 1:
        return depthwise.correlate(x, w, conv, bias, tuning)
    by_rows = _by_rows(cg, w.shape[2:], tuning)
    lay = layout_for(x.shape[2:], w.shape[2:], conv, tuning.compact_waste, by_rows=by_rows)
    y = np.empty((n, out_ch, *lay.out), dtype=np.result_type(x, w))
    shares = _shares(n, n * y[0, 0].size * w.size, tuning)
    direct = _direct(lay, (cg, out_ch // groups), tuning, y.dtype, x.dtype, w.dtype)
    weights = _row_weights(w, groups, 1 if direct else lay.row_taps)
    parts = [(out_ch, 0 if direct else lay.reach)]  # the result, then im2col's buffers
    if not direct:
        parts += [(len(lay.sources) * c, lay.reach), (out_ch if len(lay.rows) > 1 else 0, lay.reach)]

    def share(samples: slice) -> None:
        ys, phases = y[samples], split(x[samples], lay)
        for block, _, (result, *scratch) in _blocks(lay, len(ys), tuple(parts), y.dtype, len(shares), tuning):
            if direct:
                _sum_of_taps(lay, block, weights, phases, result)
            else:
                _sum_of_rows(lay, block, weights, phases, result, *scratch)
            columns = result.reshape(out_ch, block.count, -1)  # samples width + reach apart
            emit(ys, block.index, outputs(lay, block, columns), bias)

    runtime.run(share, shares, tuning)
    return y


def correlate_input_grad(
    delta: np.ndarray, w: np.ndarray, in_size: tuple[int, ...], conv: Conv, tuning: Tuning
) -> np.ndarray:
    """The adjoint of :func:`correlate` with respect to ``x``.

    ``dx_pad[n, c, p·s + k·d] += Σ_o δ[n, o, p] · w[o, c, k]``, then the padding
    dropped — a col2im scatter: the dilated δ's zeros are never multiplied.
    """
    n, out_ch = delta.shape[:2]
    cg, groups = w.shape[1], conv.groups
    c, og = cg * groups, out_ch // groups
    if cg == og == 1:
        return depthwise.input_grad(delta, w, tuple(in_size), conv, tuning)
    lay = layout_for(tuple(in_size), w.shape[2:], conv, tuning.compact_waste)
    dtype = np.result_type(delta, w)
    dx = (np.zeros if lay.in_place else np.empty)((n, c, *in_size), dtype=dtype)
    direct = _direct(lay, (cg, og), tuning, dtype, delta.dtype, w.dtype)
    weights = _row_weights(w, groups, 1 if direct else len(lay.taps))
    parts = [(out_ch, 0)]  # δ widened, then col2im's columns
    if not direct:
        parts += [(len(lay.taps) * c, 0)]
    shares = _shares(n, n * delta[0, 0].size * w.size, tuning)

    def share(samples: slice) -> None:
        deltas, count = delta[samples], samples.stop - samples.start
        if lay.in_place:  # the input is its only phase image: add straight into dx
            phases = dx[samples].reshape(count, 1, c, -1)
        else:
            phases = np.zeros((count, lay.phases, c, prod(lay.phase_size)), dtype=dtype)
        for block, same, (wide, *columns) in _blocks(lay, count, tuple(parts), dtype, len(shares), tuning):
            wide = widen(lay, block, deltas, wide.reshape(out_ch, block.count, -1), same)
            if direct:
                _scatter_taps(lay, block, weights, wide, phases)
            else:
                _scatter_columns(lay, block, weights, wide, phases, *columns)
        if not lay.in_place:
            merge(phases, lay, out=dx[samples])

    runtime.run(share, shares, tuning)
    return dx


def correlate_weight_grad(
    x: np.ndarray, delta: np.ndarray, kernel_size: tuple[int, ...], conv: Conv, tuning: Tuning
) -> np.ndarray:
    """The adjoint of :func:`correlate` with respect to ``w``.

    ``dw[o, c, k] = Σ_{n, p} δ[n, o, p] · x_pad[n, group(o)·C/g + c, p·s + k·d]``
    """
    n, c = x.shape[:2]
    out_ch, groups = delta.shape[1], conv.groups
    cg, og = c // groups, out_ch // groups
    if cg == og == 1:
        return depthwise.weight_grad(x, delta, tuple(kernel_size), conv, tuning)
    by_rows = _by_rows(cg, tuple(kernel_size), tuning)
    lay = layout_for(x.shape[2:], tuple(kernel_size), conv, tuning.compact_waste, by_rows)
    dtype = np.result_type(x, delta)
    parts = ((len(lay.sources) * c, lay.reach), (out_ch, lay.reach))
    shares = _shares(n, n * delta[0, 0].size * out_ch * cg * prod(kernel_size), tuning)

    def share(samples: slice) -> np.ndarray:
        deltas, phases = delta[samples], split(x[samples], lay)
        grad_t = np.zeros((len(lay.rows), groups, lay.row_taps * cg, og), dtype=dtype)
        for block, same, (copies, wide) in _blocks(lay, len(deltas), parts, dtype, len(shares), tuning):
            # δ with zeros in the junk, and between samples where the copies reach on
            wide = widen(lay, block, deltas, wide.reshape(out_ch, block.count, -1), same)
            _im2col(lay, block, phases, groups, copies)
            for i in range(len(lay.rows)):
                # dW_rowᵀ += cols_row·δᵀ (faster than δ·colsᵀ: docs/performance.md)
                cols = _row(lay, block, copies, groups, i)
                grad_t[i] += cols @ wide.reshape(groups, og, -1)[..., : cols.shape[-1]].transpose(0, 2, 1)
        return grad_t

    by_tap = np.sum(runtime.run(share, shares, tuning), axis=0).reshape(
        len(lay.rows), groups, lay.row_taps, cg, og
    )
    return np.ascontiguousarray(by_tap.transpose(1, 4, 3, 0, 2)).reshape(out_ch, cg, *kernel_size)


def _direct(lay: Layout, depths: tuple[int, int], tuning: Tuning, *dtypes: np.dtype) -> bool:
    """Whether a layer runs tap by tap on BLAS (:func:`_sum_of_taps`,
    :func:`_scatter_taps`): flat rows, products ``direct_bytes`` deep and
    ``direct_columns`` wide, and operands and result of one dtype that
    :mod:`.blas` serves (mixed dtypes take im2col, where NumPy casts)."""
    dtype = dtypes[0]
    deep = min(depths) * dtype.itemsize >= tuning.direct_bytes
    same = all(other == dtype for other in dtypes)
    wide = not lay.compact and lay.span >= tuning.direct_columns
    return same and wide and deep and blas.available(dtype)


def _sum_of_rows(
    lay: Layout,
    block: Block,
    wrows: np.ndarray,
    phases: np.ndarray,
    result: np.ndarray,
    copies: np.ndarray,
    extra: np.ndarray,
) -> None:
    """``Y = Σ_rows W_row · cols_row`` into ``result (O, n·(width + reach))``: im2col
    copies the layout's sources, each kernel row a view of them (the columns reach
    past the last sample: cut)."""
    groups, og = wrows.shape[1:3]
    _im2col(lay, block, phases, groups, copies)
    used = slice(0, copies.shape[-1] - lay.reach)
    for i in range(len(lay.rows)):
        partial = (extra if i else result).reshape(groups, og, -1)[..., used]
        np.matmul(wrows[i], _row(lay, block, copies, groups, i), out=partial)
        if i:
            result[:, used] += extra[:, used]


def _sum_of_taps(
    lay: Layout, block: Block, wtaps: np.ndarray, phases: np.ndarray, result: np.ndarray
) -> None:
    """``Y = Σ_t W_t · x_t`` into ``result (O, n·width)``: ``x_t`` is what tap ``t``
    meets, read in place from the phase images; each product lands on the running
    sum."""
    groups, og, cg = wtaps.shape[1:]
    grouped = phases.reshape(*phases.shape[:2], groups, cg, -1)
    by_group = result.reshape(groups, og, block.count, -1)
    for t in range(len(lay.taps)):
        seen = tap_view(lay, block, grouped, t)
        for i, g in product(range(block.count), range(groups)):
            blas.gemm(wtaps[t, g], seen[i, g], by_group[g, :, i], accumulate=t > 0)


def _scatter_columns(
    lay: Layout, block: Block, wmat: np.ndarray, wide: np.ndarray, phases: np.ndarray, columns: np.ndarray
) -> None:
    """col2im: ``cols = Wᵀ · δ`` for every tap at once into ``columns``, then each
    tap's rows added to the phase images where that tap reads."""
    groups, og, depth = wmat.shape[1:]
    taps, cg = len(lay.taps), depth // len(lay.taps)
    np.matmul(
        wmat[0].transpose(0, 2, 1), wide.reshape(groups, og, -1), out=columns.reshape(groups, depth, -1)
    )
    by_tap = columns.reshape(groups, taps, cg, block.count, -1)
    grouped = phases.reshape(*phases.shape[:2], groups, cg, -1)
    for t in range(taps):
        target = tap_view(lay, block, grouped, t)
        target += np.moveaxis(cells(block, by_tap[:, t]), 2, 0)


def _scatter_taps(lay: Layout, block: Block, wtaps: np.ndarray, wide: np.ndarray, phases: np.ndarray) -> None:
    """``dx_t += W_tᵀ · δ`` straight into the phase images, where tap ``t`` reads:
    col2im with no columns to copy (the junk of ``wide (O, n, width)`` is zero,
    so what lands past a row's end adds nothing)."""
    groups, og, cg = wtaps.shape[1:]
    grouped = phases.reshape(*phases.shape[:2], groups, cg, -1)
    by_group = wide.reshape(groups, og, block.count, -1)
    for t in range(len(lay.taps)):
        target = tap_view(lay, block, grouped, t)
        for i, g in product(range(block.count), range(groups)):
            blas.gemm(wtaps[t, g].T, by_group[g, :, i], target[i, g], accumulate=True)


def _by_rows(channels: int, kernel_size: tuple[int, ...], tuning: Tuning) -> bool:
    """Whether kernel rows of ``channels`` per group are deep enough for products of their own."""
    return channels * kernel_size[-1] >= tuning.row_depth


def _shares(batch: int, macs: int, tuning: Tuning) -> list[slice]:
    """The batch cut into runs of samples, one per core, when the layer takes
    ``parallel_macs`` multiply-adds or more and each core's BLAS can be held to
    one thread (:mod:`.runtime`); else one run, BLAS on every core."""
    if macs < tuning.parallel_macs:
        return [slice(0, batch)]
    shareable = runtime.blas_per_thread() if tuning.dense_shares is None else tuning.dense_shares
    workers = runtime.cores(tuning) if shareable else 1
    return [slice(run.start, run.stop) for run in runtime.shares(batch, workers)]


def _blocks(
    lay: Layout, batch: int, parts: tuple[tuple[int, int], ...], dtype: np.dtype, shares: int, tuning: Tuning
) -> Iterator[Buffered]:
    """The blocks of a share of ``batch`` samples, about ``gemm_entries`` entries
    but ``gemm_columns`` columns at least; the ``shares`` running at once stay
    within the memory budget."""
    height = sum(rows for rows, _ in parts)
    columns = max(tuning.gemm_entries // height, tuning.gemm_columns)
    budget = min(tuning.memory_budget // shares, columns * height * dtype.itemsize)
    return with_buffers(lay, range(batch), parts, dtype, budget)


def _im2col(lay: Layout, block: Block, phases: np.ndarray, groups: int, copies: np.ndarray) -> None:
    """``copies (kinds·g·row_taps·C/g, n·(width + reach))`` ← every source of the layout,
    rows ordered (kind of kernel row, group, last kernel index, channel)."""
    n, _, c, _ = phases.shape
    grouped = phases.reshape(n, lay.phases, groups, c // groups, -1)
    kinds = len(lay.sources) // lay.row_taps
    by_source = copies.reshape(kinds, groups, lay.row_taps, c // groups, block.count, -1)
    for s in range(len(lay.sources)):
        kind, j = divmod(s, lay.row_taps)
        cells(block, by_source[kind, :, j])[...] = np.moveaxis(source_view(lay, block, grouped, s), 0, 2)


def _row(lay: Layout, block: Block, copies: np.ndarray, groups: int, row: int) -> np.ndarray:
    """Kernel row ``row``'s im2col matrix ``(g, row_taps·C/g, columns)``, a view of
    ``copies``: its sources seen ``shift`` columns on. The block's samples lie
    ``width + reach`` columns apart; the ``reach`` between them is junk."""
    first, shift = lay.rows[row]
    kinds = len(lay.sources) // lay.row_taps
    by_kind = copies.reshape(kinds, groups, -1, copies.shape[-1])
    return by_kind[first // lay.row_taps, :, :, shift : shift + copies.shape[-1] - lay.reach]


def _row_weights(w: np.ndarray, groups: int, row_taps: int) -> np.ndarray:
    """``(O, C/g, *k)`` → ``(kernel rows, g, O/g, row_taps·C/g)``: each kernel row's
    matrix, columns ordered (last kernel index, channel) as :func:`_im2col` stacks them."""
    out_ch, cg = w.shape[:2]
    by_tap = w.reshape(groups, out_ch // groups, cg, -1, row_taps).transpose(3, 0, 1, 4, 2)
    return np.ascontiguousarray(by_tap).reshape(-1, groups, out_ch // groups, row_taps * cg)
