"""The fast engine: a correlation and its two adjoints as BLAS products.

One method serves every geometry:

1. **Phases.** The padded input is cut into ``stride`` phase images per axis,
   ``phase_r[i] = x_pad[i·s + r]``. Kernel tap ``k`` then reads phase
   ``(k·d) mod s`` shifted by ``(k·d) div s``: every stride is a stride-1
   problem. At stride 1 the padded input is its only phase, and without
   padding that is the input itself, used in place.
2. **Flat offsets.** In a flattened phase image a shift is a plain offset, so
   what one tap meets over a block of outputs is one contiguous slice. Rows
   come out as wide as the phase image; the few columns past each row's last
   output are junk, never copied into a result, and δ is widened with zeros
   there.
3. **GEMMs.** im2col is then K contiguous copies into a block of at most
   :data:`MEMORY_BUDGET` bytes, and each block is one GEMM: ``Y = W·cols``,
   ``dWᵀ += cols·δᵀ``, and ``cols = Wᵀ·δ`` added back tap by tap (col2im) for
   the input gradient, so the zeros of the dilated δ are never multiplied.

Depthwise layers (one input and one output channel per group) hold no
product large enough for BLAS: they run tap by tap as multiply-adds over the
same flat slices, the channels split over the cores.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import product
from math import prod
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .geometry import Pair

#: Bytes the buffers of one block may take, at most; ``CONVGRAD_MEMORY_MB``
#: overrides it. Whatever the layer, the engine needs no more than this beyond
#: the operands, a padded copy of the input and the results.
MEMORY_BUDGET = int(float(os.environ.get("CONVGRAD_MEMORY_MB", "64")) * 2**20)

#: Below the budget, a GEMM block takes about GEMM_ENTRIES entries (8 MB in
#: float32: it stays in cache) but at least GEMM_COLUMNS columns (fewer ran the
#: GEMM slowly: 14×14 float64 layers ran 25 % faster with this floor).
GEMM_ENTRIES = 2**21
GEMM_COLUMNS = 2500

#: Columns hold the outputs alone (strided copies) rather than the flat span once
#: the span's junk columns would add more than this share of work: measured, 15 %
#: junk (14×14 images) ran faster compact, 7 % (28×28) faster with the junk.
COMPACT_WASTE = 0.1

#: The depthwise path's blocks: a sample of a benchmark layer (64 channels of
#: 56×56, float32, with its scratch) at a time ran fastest; smaller blocks cut
#: samples into rows and ran slower.
DEPTHWISE_BUDGET = 4 * 2**20

#: Below this many bytes a depthwise block runs on one core: a thread costs more.
PARALLEL_BYTES = 2**20


# -- where every tap reads ------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """The phase images of a padded input and where each kernel tap reads them.

    ``taps[t] = (phase, offset)``: tap ``t`` (row-major over the kernel) meets
    flattened phase image ``phase`` at ``offset`` plus the output's own flat
    position ``Σ i_a · flat_strides[a]``. ``compact``: whether im2col columns hold
    the outputs alone rather than the whole flat span (see :class:`Block`).
    """

    in_size: tuple[int, ...]
    padding: tuple[Pair, ...]
    stride: tuple[int, ...]
    out: tuple[int, ...]
    phase_size: tuple[int, ...]
    flat_strides: tuple[int, ...]
    taps: tuple[tuple[int, int], ...]
    compact: bool = False

    @property
    def phases(self) -> int:
        return prod(self.stride)

    @property
    def in_place(self) -> bool:
        """Stride 1 and no padding: the input is its own (only) phase image."""
        return self.phases == 1 and not any(b or a for b, a in self.padding)

    def width(self, axis: int) -> int:
        """Flat columns from an output to the last one that shares its indices
        before ``axis`` (and its index on ``axis``)."""
        return sum((o - 1) * f for o, f in zip(self.out[axis + 1 :], self.flat_strides[axis + 1 :])) + 1

    @property
    def span(self) -> int:
        """Flat columns from a sample's first output to its last."""
        return self.width(-1)

    def columns(self, axis: int, rows: int) -> int:
        """Columns per sample of a block of ``rows`` rows on ``axis``."""
        if self.compact:
            return rows * prod(self.out[axis + 1 :])
        return (rows - 1) * self.flat_strides[axis] + self.width(axis)

    def phase_slices(self) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
        """For each phase: where in the ``(N, phases, C, *phase_size)`` images the
        input lands, and the input's entries ``(N, C, *in)`` (every ``stride``-th)
        that land there; the rest of the image is padding."""
        for index, phase in enumerate(np.ndindex(*self.stride)):
            inside, source = [], []
            for r, s, (before, _), n, m in zip(
                phase, self.stride, self.padding, self.in_size, self.phase_size
            ):
                lo = max(0, -(-(before - r) // s))  # first i with 0 ≤ i·s + r − before
                hi = max(lo, min(m, -(-(n + before - r) // s)))
                first = lo * s + r - before
                inside.append(slice(lo, hi))
                source.append(slice(first, first + (hi - lo - 1) * s + 1, s) if hi > lo else slice(0, 0))
            yield (slice(None), index, slice(None), *inside), (slice(None), slice(None), *source)


@lru_cache(maxsize=256)
def layout(
    in_size: tuple[int, ...],
    padding: tuple[Pair, ...],
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
) -> Layout:
    padded = [n + b + a for n, (b, a) in zip(in_size, padding)]
    out = tuple((p - d * (k - 1) - 1) // s + 1 for p, k, s, d in zip(padded, kernel_size, stride, dilation))
    phase_size = tuple(-(-p // s) for p, s in zip(padded, stride))
    flat = tuple(prod(phase_size[a + 1 :]) for a in range(len(phase_size)))
    taps = tuple(
        (
            int(np.ravel_multi_index(tuple(k * d % s for k, d, s in zip(tap, dilation, stride)), stride)),
            sum(k * d // s * f for k, d, s, f in zip(tap, dilation, stride, flat)),
        )
        for tap in np.ndindex(*kernel_size)
    )
    lay = Layout(tuple(in_size), tuple(padding), tuple(stride), out, phase_size, flat, taps)
    # the span's junk columns cost GEMM work; past COMPACT_WASTE, strided copies cost less
    return replace(lay, compact=lay.span > (1 + COMPACT_WASTE) * prod(out))


def split(x: np.ndarray, lay: Layout) -> np.ndarray:
    """``(N, C, *in)`` → ``(N, phases, C, flat)``: zero padded, cut into phases."""
    n, c = x.shape[:2]
    if lay.in_place:
        return x.reshape(n, 1, c, -1)
    phases = np.zeros((n, lay.phases, c, *lay.phase_size), dtype=x.dtype)
    for inside, source in lay.phase_slices():
        phases[inside] = x[source]
    return phases.reshape(n, lay.phases, c, -1)


def merge(phases: np.ndarray, lay: Layout) -> np.ndarray:
    """The adjoint of :func:`split`: ``(N, phases, C, flat)`` → ``(N, C, *in)``
    (what fell on the padding is dropped)."""
    n, _, c, _ = phases.shape
    if lay.in_place:
        return phases.reshape(n, c, *lay.in_size)
    x = np.empty((n, c, *lay.in_size), dtype=phases.dtype)
    images = phases.reshape(n, lay.phases, c, *lay.phase_size)
    for inside, source in lay.phase_slices():
        x[source] = images[inside]
    return x


# -- blocks of outputs ------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """Outputs ``[samples, :, *where]``, ``shape`` of them per sample; ``where``
    fixes the indices before output axis ``axis`` and cuts that axis with a slice.
    The first sits at flat position ``start`` of the phase images, the last
    ``span − 1`` positions further. A sample's columns are that whole span
    (junk included) or, when ``compact``, its outputs alone."""

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
        """Columns per sample."""
        return prod(self.shape) if self.compact else self.span


def blocks(lay: Layout, samples: range, columns: int) -> Iterator[Block]:
    """Cut the outputs into blocks of at most ``columns`` columns: whole samples
    when one fits, else runs of rows on the first axis whose rows fit, down to
    runs of single outputs on the last axis. The first block is the largest."""
    whole = lay.columns(0, lay.out[0])
    if whole <= columns:
        step = columns // whole
        for first in range(samples.start, samples.stop, step):
            last = min(first + step, samples.stop)
            yield Block(slice(first, last), (slice(None),), 0, 0, lay.out, lay.span, lay.compact)
        return
    axis = next(a for a in range(len(lay.out)) if lay.columns(a, 1) <= columns or a == len(lay.out) - 1)
    rows = max(1, (columns - lay.columns(axis, 1)) // (lay.columns(axis, 2) - lay.columns(axis, 1)) + 1)
    for i, *prefix in product(samples, *map(range, lay.out[:axis])):
        for first in range(0, lay.out[axis], rows):
            last = min(first + rows, lay.out[axis])
            start = sum(p * f for p, f in zip(prefix, lay.flat_strides)) + first * lay.flat_strides[axis]
            span = (last - first - 1) * lay.flat_strides[axis] + lay.width(axis)
            shape = (last - first, *lay.out[axis + 1 :])
            yield Block(slice(i, i + 1), (*prefix, slice(first, last)), axis, start, shape, span, lay.compact)


def _grid(lay: Layout, block: Block, flat: np.ndarray) -> np.ndarray:
    """``flat (..., span)``, the phase images from the block's first output (plus a
    tap's offset) on, as the block's columns: the span itself, or, compact, the
    ``(..., *shape)`` grid of output positions in it (a strided view)."""
    if not block.compact:
        return flat
    steps = tuple(f * flat.itemsize for f in lay.flat_strides[block.axis :])
    return as_strided(flat, (*flat.shape[:-1], *block.shape), (*flat.strides[:-1], *steps))


def _outputs(lay: Layout, block: Block, columns: np.ndarray) -> np.ndarray:
    """The real outputs among a block's columns ``(O, n, width)``, seen as
    ``(n, O, *shape)`` (a view)."""
    if block.compact:
        return columns.reshape(*columns.shape[:2], *block.shape).swapaxes(0, 1)
    steps = tuple(f * columns.itemsize for f in lay.flat_strides[block.axis :])
    return as_strided(columns, (*columns.shape[:2], *block.shape), (*columns.strides[:2], *steps)).swapaxes(
        0, 1
    )


def _cells(block: Block, columns: np.ndarray) -> np.ndarray:
    """A buffer ``(..., width)`` as what :func:`_tap` gives: ``(..., *shape)`` when compact."""
    return columns.reshape(*columns.shape[:-1], *block.shape) if block.compact else columns


def _emit(
    y: np.ndarray,
    where: tuple[Any, ...],
    outputs: np.ndarray,
    bias: np.ndarray | None,
    ch: slice = slice(None),
) -> None:
    """``y[where] = outputs (+ bias)``: the bias rides on the copy out of the columns."""
    if bias is None:
        y[where] = outputs
    else:
        np.add(outputs, bias[ch].reshape(-1, *[1] * (outputs.ndim - 2)), out=y[where])


def _index(block: Block) -> tuple[Any, ...]:
    return (block.samples, slice(None), *block.where)


def _widen(lay: Layout, block: Block, delta: np.ndarray, out: np.ndarray, zeroed: bool) -> np.ndarray:
    """δ of the block's outputs as columns ``(O, n, width)``, zero in the junk ones
    (``zeroed``: they already are, from the last block of the same shape)."""
    if not (block.compact or zeroed):
        out.fill(0)
    _outputs(lay, block, out)[...] = delta[_index(block)]
    return out


def _tap(lay: Layout, block: Block, phases: np.ndarray, tap: int) -> np.ndarray:
    """What kernel tap ``tap`` meets over the block: ``(n, …, columns)`` of the
    phase images ``(N, phases, …, flat)``, a view (writable, for col2im)."""
    phase, offset = lay.taps[tap]
    start = block.start + offset
    return _grid(lay, block, phases[block.samples, phase, ..., start : start + block.span])


def _columns(phases: np.ndarray, lay: Layout, block: Block, groups: int, out: np.ndarray) -> np.ndarray:
    """im2col: ``out (g, K, C/g, n, width)`` ← what each tap meets."""
    n, _, c, _ = phases.shape
    grouped = phases.reshape(n, lay.phases, groups, c // groups, -1)
    for t in range(len(lay.taps)):
        _cells(block, out[:, t])[...] = np.moveaxis(_tap(lay, block, grouped, t), 0, 2)
    return out


def _with_buffers(
    lay: Layout, samples: range, parts: tuple[int, ...], dtype: np.dtype, budget: int | None = None
) -> Iterator[tuple[Block, bool, list[np.ndarray]]]:
    """Every block, with a buffer of ``rows × (n · width)`` for each ``rows`` in
    ``parts``. Each part reuses one allocation for all blocks (fresh ones would
    cost page faults each time), so ``same`` — the block has the last one's
    shape — means what a part holds at fixed places is still there."""
    stores: list[np.ndarray] = []
    last = None
    rows = sum(parts)
    if budget is None:  # a GEMM: the columns that ran fastest, within the memory budget
        columns = min(MEMORY_BUDGET // (rows * dtype.itemsize), max(GEMM_ENTRIES // rows, GEMM_COLUMNS))
    else:
        columns = budget // (rows * dtype.itemsize)
    for block in blocks(lay, samples, max(1, columns)):
        columns = block.count * block.width
        stores = stores or [np.empty(rows * columns, dtype) for rows in parts]
        shape = (block.count, block.width)
        yield (
            block,
            shape == last,
            [store[: rows * columns].reshape(rows, columns) for store, rows in zip(stores, parts)],
        )
        last = shape


def _weights(w: np.ndarray, groups: int) -> np.ndarray:
    """``(O, C/g, *k)`` → ``(g, O/g, K·C/g)``, columns ordered (tap, channel) as
    :func:`_columns` stacks them."""
    out_ch, cg = w.shape[:2]
    taps = prod(w.shape[2:])
    by_tap = w.reshape(groups, out_ch // groups, cg, taps).transpose(0, 1, 3, 2)
    return np.ascontiguousarray(by_tap).reshape(groups, out_ch // groups, taps * cg)


# -- the three products -------------------------------------------------------


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
    lay = layout(x.shape[2:], padding, w.shape[2:], stride, dilation)
    n, c = x.shape[:2]
    out_ch, cg = w.shape[:2]
    y = np.empty((n, out_ch, *lay.out), dtype=np.result_type(x, w))
    phases = split(x, lay)
    if cg == out_ch // groups == 1:
        return _depthwise(lay, phases, w, y, bias)
    taps = len(lay.taps)
    wmat = _weights(w, groups)
    for block, _, (columns, result) in _with_buffers(lay, range(n), (taps * c, out_ch), y.dtype):
        # Y = W·cols
        _columns(phases, lay, block, groups, columns.reshape(groups, taps, cg, block.count, -1))
        np.matmul(
            wmat, columns.reshape(groups, taps * cg, -1), out=result.reshape(groups, out_ch // groups, -1)
        )
        _emit(y, _index(block), _outputs(lay, block, result.reshape(out_ch, block.count, -1)), bias)
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
    lay = layout(tuple(in_size), padding, w.shape[2:], stride, dilation)
    n, out_ch = delta.shape[:2]
    cg = w.shape[1]
    c, og = cg * groups, out_ch // groups
    dtype = np.result_type(delta, w)
    phases = np.zeros((n, lay.phases, groups, cg, prod(lay.phase_size)), dtype=dtype)
    if cg == og == 1:
        _depthwise_input_grad(lay, phases.reshape(n, lay.phases, c, -1), w, delta)
        return merge(phases.reshape(n, lay.phases, c, -1), lay)
    taps = len(lay.taps)
    wmat_t = _weights(w, groups).transpose(0, 2, 1)
    for block, same, (wide, columns) in _with_buffers(lay, range(n), (out_ch, taps * c), dtype):
        wide = _widen(lay, block, delta, wide.reshape(out_ch, block.count, -1), same)
        # cols = Wᵀ·δ, then each tap's rows added where that tap reads
        np.matmul(wmat_t, wide.reshape(groups, og, -1), out=columns.reshape(groups, taps * cg, -1))
        by_tap = columns.reshape(groups, taps, cg, block.count, -1)
        for t in range(taps):
            target = _tap(lay, block, phases, t)
            target += np.moveaxis(_cells(block, by_tap[:, t]), 2, 0)
    return merge(phases.reshape(n, lay.phases, c, -1), lay)


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
    lay = layout(x.shape[2:], padding, tuple(kernel_size), stride, dilation)
    n, c = x.shape[:2]
    out_ch = delta.shape[1]
    cg, og = c // groups, out_ch // groups
    dtype = np.result_type(x, delta)
    phases = split(x, lay)
    if cg == og == 1:
        return _depthwise_weight_grad(lay, phases, delta, kernel_size)
    taps = len(lay.taps)
    grad_t = np.zeros((groups, taps * cg, og), dtype=dtype)
    for block, same, (wide, columns) in _with_buffers(lay, range(n), (out_ch, taps * c), dtype):
        wide = _widen(lay, block, delta, wide.reshape(out_ch, block.count, -1), same)
        _columns(phases, lay, block, groups, columns.reshape(groups, taps, cg, block.count, -1))
        # dWᵀ += cols·δᵀ (this orientation ran ~25 % faster than δ·colsᵀ)
        grad_t += np.matmul(
            columns.reshape(groups, taps * cg, -1), wide.reshape(groups, og, -1).transpose(0, 2, 1)
        )
    by_tap = grad_t.reshape(groups, taps, cg, og)
    return np.ascontiguousarray(by_tap.transpose(0, 3, 2, 1)).reshape(out_ch, cg, *kernel_size)


# -- depthwise: multiply-adds tap by tap -------------------------------------------


def _depthwise(
    lay: Layout, phases: np.ndarray, w: np.ndarray, y: np.ndarray, bias: np.ndarray | None
) -> np.ndarray:
    """``y[n, c, p] = Σ_k w[c, k] · x_pad[n, c, p·s + k·d]``, one tap at a time."""
    n, c = y.shape[:2]
    wk = w.reshape(c, -1)
    lay = replace(lay, compact=False)  # no GEMM to waste work on: the flat span is cheapest

    def share(samples: range, ch: slice) -> None:
        for block, _, (acc, tmp) in _with_buffers(lay, samples, (c, c), y.dtype, DEPTHWISE_BUDGET):
            acc, tmp = (a.reshape(block.count, c, -1)[:, ch] for a in (acc, tmp))
            for t in range(len(lay.taps)):
                seen = _tap(lay, block, phases[:, :, ch], t)
                np.multiply(seen, wk[ch, t, None], out=tmp if t else acc)
                if t:
                    acc += tmp
            _emit(y, (block.samples, ch, *block.where), _outputs(lay, block, acc.swapaxes(0, 1)), bias, ch)

    _shared(share, n, c, y.nbytes)
    return y


def _depthwise_input_grad(lay: Layout, phases: np.ndarray, w: np.ndarray, delta: np.ndarray) -> None:
    """``dx_pad[n, c, p·s + k·d] += w[c, k] · δ[n, c, p]``, into ``phases``."""
    n, c = delta.shape[:2]
    wk = w.reshape(c, -1)
    lay = replace(lay, compact=False)

    def share(samples: range, ch: slice) -> None:
        for block, same, (wide, tmp) in _with_buffers(lay, samples, (c, c), phases.dtype, DEPTHWISE_BUDGET):
            wide = _widen(lay, block, delta[:, ch], wide.reshape(c, block.count, -1)[ch], same).swapaxes(0, 1)
            tmp = tmp.reshape(block.count, c, -1)[:, ch]
            for t in range(len(lay.taps)):
                np.multiply(wide, wk[ch, t, None], out=tmp)
                target = _tap(lay, block, phases[:, :, ch], t)
                target += tmp

    _shared(share, n, c, phases.nbytes)


def _depthwise_weight_grad(
    lay: Layout, phases: np.ndarray, delta: np.ndarray, kernel_size: tuple[int, ...]
) -> np.ndarray:
    """``dw[c, k] = Σ_{n, p} δ[n, c, p] · x_pad[n, c, p·s + k·d]``: one batched dot
    product per tap."""
    n, c = delta.shape[:2]
    dtype = np.result_type(phases, delta)
    lay = replace(lay, compact=False)

    def share(samples: range, ch: slice) -> np.ndarray:
        grad = np.zeros((c, len(lay.taps)), dtype=dtype)
        for block, same, (wide,) in _with_buffers(lay, samples, (c,), dtype, DEPTHWISE_BUDGET):
            wide = _widen(lay, block, delta[:, ch], wide.reshape(c, block.count, -1)[ch], same).swapaxes(0, 1)
            for t in range(len(lay.taps)):
                seen = _tap(lay, block, phases[:, :, ch], t)
                # (n, c, 1, w) @ (n, c, w, 1): one dot product per sample and channel
                grad[ch, t] += np.matmul(wide[:, :, None, :], seen[:, :, :, None]).sum(axis=(0, 2, 3))
        return grad

    return sum(_shared(share, n, c, delta.nbytes)).reshape(c, 1, *kernel_size)


# -- threads ------------------------------------------------------------------------


def _shared(work: Callable[[range, slice], Any], batch: int, channels: int, nbytes: int) -> list[Any]:
    """Run ``work(samples, channels)`` on disjoint shares, one per core: by samples,
    or by channels when there are fewer samples than cores. Shares never write the
    same entries, and NumPy's arithmetic releases the GIL. Small problems stay on
    one core: a thread costs more than it saves below :data:`PARALLEL_BYTES`."""
    workers = _pool_size() if nbytes >= PARALLEL_BYTES else 1
    if batch >= workers:
        shares = [
            (range(batch * i // workers, batch * (i + 1) // workers), slice(None)) for i in range(workers)
        ]
    else:
        workers = min(workers, channels)
        shares = [
            (range(batch), slice(channels * i // workers, channels * (i + 1) // workers))
            for i in range(workers)
        ]
    if len(shares) == 1:
        return [work(*shares[0])]
    return list(_pool().map(lambda share: work(*share), shares))


@lru_cache(maxsize=1)
def _pool() -> Any:
    # imported here: concurrent.futures (and the logging it loads) costs ~10 ms
    # of start-up that the one-line commands never need
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(_pool_size(), thread_name_prefix="convgrad")


def _pool_size() -> int:
    return os.cpu_count() or 1
