"""The fast engine: correlation and its two adjoints as large BLAS products.

Each function picks one of four paths, all exact and all tested against the
definition (``tests/test_core.py`` forces each on small problems):

- depthwise (one channel per group): one einsum over the window view, a few
  channels at a time;
- few products per output: one kernel tap at a time;
- stride 1 on large images: one GEMM per tap on a flattened image, where a tap
  is a plain offset (no im2col);
- otherwise im2col / col2im GEMMs in blocks (batch entries × output rows) whose
  buffers never exceed :data:`MEMORY_BUDGET`, whatever the layer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import lru_cache
from itertools import product
from math import prod
from typing import Any

import numpy as np

from .ops import windows

#: Bytes one im2col block may take; ``CONVGRAD_MEMORY_MB`` overrides it. Small
#: blocks stay in cache: 8 MB ran the benchmark layers as fast as 256 MB or faster.
MEMORY_BUDGET = int(float(os.environ.get("CONVGRAD_MEMORY_MB", "8")) * 2**20)

# Below this many (channel × tap) products per output, im2col's copy costs
# more than it saves; sum one kernel offset at a time instead.
MIN_IM2COL_DEPTH = 32

# The flat stride-1 path pays off when each GEMM runs over this many positions
# or more (measured: it wins at 56×56 images, loses at 14×14 and 28×28).
MIN_FLAT_SPAN = 2048

# col2im one tap at a time needs this many channels per group to keep its GEMMs
# efficient (measured: wins at 64, loses badly at 3).
MIN_TAP_ROWS = 16


def correlate(
    x: np.ndarray,
    w: np.ndarray,
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """Grouped cross-correlation of an already padded ``x`` with ``w``.

    ``y[n, o, p] = Σ_{c, k} x[n, group(o)·C/g + c, p·s + k·d] · w[o, c, k]``

    Shapes: ``x (N, C, *S)``, ``w (O, C/g, *k)`` → ``y (N, O, *out)``.
    """
    nsp = w.ndim - 2
    out_ch, cg = w.shape[:2]
    ks = w.shape[2:]
    og = out_ch // groups
    win = windows(x, ks, stride, dilation)  # (N, C, *out, *k)
    out = win.shape[2 : 2 + nsp]
    y = np.empty((x.shape[0], out_ch, *out), dtype=np.result_type(x, w))
    if cg == og == 1:  # depthwise: one einsum over the window view per block
        sp, kk = _letters(nsp)
        # einsum copies its block of windows, K values per output: keep that in budget
        for ch in _channel_blocks(out_ch, x.shape[0] * prod(out) * prod(ks) * x.itemsize):
            y[:, ch] = np.einsum(f"nc{sp}{kk},c{kk}->nc{sp}", win[:, ch], w[ch, 0], optimize=True)
        return y
    if cg * prod(ks) < MIN_IM2COL_DEPTH:  # few products per output: one kernel tap at a time
        y[...] = 0
        for tap in np.ndindex(*ks):
            slab = _grouped(win[(..., *tap)], groups)  # (N, g, C/g, *out)
            wk = w[(..., *tap)].reshape(groups, og, cg)
            y += np.einsum("ngc...,goc->ngo...", slab, wk).reshape(y.shape)
        return y
    if all(st == 1 for st in stride) and _flat_span(x.shape[2:], out) >= MIN_FLAT_SPAN:
        return _correlate_flat(x, w, dilation, groups, out, y)
    wg = w.reshape(groups, og, cg * prod(ks))
    for ns, rs in _blocks(x.shape[0], out, cg * prod(ks) * x.itemsize):
        for g in range(groups):
            cols = _im2col(win[ns, g * cg : (g + 1) * cg, rs])  # (n, C/g·K, P)
            y[ns, g * og : (g + 1) * og, rs] = np.matmul(wg[g], cols).reshape(
                y[ns, g * og : (g + 1) * og, rs].shape
            )
    return y


def correlate_input_grad(
    delta: np.ndarray,
    w: np.ndarray,
    padded_in_size: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """The adjoint of :func:`correlate` with respect to ``x`` (still padded).

    ``dx[n, c, p·s + k·d] += Σ_o δ[n, o, p] · w[o, c, k]`` — a col2im scatter:
    the dilated δ's zeros are never multiplied.
    """
    out_ch, cg = w.shape[:2]
    ks = w.shape[2:]
    og = out_ch // groups
    n = delta.shape[0]
    out = delta.shape[2:]
    dx = np.zeros((n, cg * groups, *padded_in_size), dtype=np.result_type(delta, w))
    if cg * prod(ks) < MIN_IM2COL_DEPTH:
        dg = _grouped(delta, groups)  # (N, g, O/g, *out)
        for tap in np.ndindex(*ks):
            wk = w[(..., *tap)].reshape(groups, og, cg)
            part = np.einsum("ngo...,goc->ngc...", dg, wk).reshape(n, cg * groups, *out)
            dx[(slice(None), slice(None), *_tap_slices(tap, out, stride, dilation))] += part
        return dx
    if cg >= MIN_TAP_ROWS:
        return _input_grad_per_tap(delta, w, dx, stride, dilation, groups)
    wg_t = w.reshape(groups, og, cg * prod(ks)).transpose(0, 2, 1)  # (g, C/g·K, O/g)
    for ns, rs in _blocks(n, out, cg * prod(ks) * dx.itemsize):
        r0 = rs.start
        rows = len(range(out[0])[rs])
        block_out = (rows, *out[1:])
        for g in range(groups):
            d = delta[ns, g * og : (g + 1) * og, rs].reshape(-1, og, prod(block_out))
            cols = np.matmul(wg_t[g], d).reshape(-1, cg, *ks, *block_out)
            target = dx[ns, g * cg : (g + 1) * cg]
            places = []
            for tap in np.ndindex(*ks):
                where = _tap_slices(tap, block_out, stride, dilation)
                first = where[0]
                shifted = slice(first.start + r0 * stride[0], first.stop + r0 * stride[0], first.step)
                places.append((tap, (shifted, *where[1:])))

            def scatter(channels: slice, target=target, cols=cols, places=places) -> None:
                for tap, where in places:
                    target[(slice(None), channels, *where)] += cols[(slice(None), channels, *tap)]

            _by_channel(scatter, cg, cols.nbytes)
    return dx


def correlate_weight_grad(
    x: np.ndarray,
    delta: np.ndarray,
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """The adjoint of :func:`correlate` with respect to ``w`` (``x`` padded).

    ``dw[o, c, k] = Σ_{n, p} δ[n, o, p] · x[n, group(o)·C/g + c, p·s + k·d]``
    """
    n, in_ch = x.shape[:2]
    out_ch = delta.shape[1]
    cg, og = in_ch // groups, out_ch // groups
    out = delta.shape[2:]
    win = windows(x, kernel_size, stride, dilation)
    dw = np.zeros((out_ch, cg, *kernel_size), dtype=np.result_type(x, delta))
    if cg == og == 1:  # depthwise, in blocks as in correlate
        sp, kk = _letters(len(kernel_size))
        for ch in _channel_blocks(out_ch, n * prod(out) * prod(kernel_size) * x.itemsize):
            dw[ch, 0] = np.einsum(f"nc{sp},nc{sp}{kk}->c{kk}", delta[:, ch], win[:, ch], optimize=True)
        return dw
    if cg * prod(kernel_size) < MIN_IM2COL_DEPTH:
        dg = _grouped(delta, groups).reshape(n, groups, og, -1)
        for tap in np.ndindex(*kernel_size):
            slab = _grouped(win[(..., *tap)], groups).reshape(n, groups, cg, -1)
            dw[(..., *tap)] = np.einsum("ngop,ngcp->goc", dg, slab).reshape(out_ch, cg)
        return dw
    if all(st == 1 for st in stride) and _flat_span(x.shape[2:], out) >= MIN_FLAT_SPAN:
        return _weight_grad_flat(x, delta, kernel_size, dilation, groups, dw)
    dwg = dw.reshape(groups, og, cg * prod(kernel_size))
    for ns, rs in _blocks(n, out, cg * prod(kernel_size) * x.itemsize):
        for g in range(groups):
            cols = _im2col(win[ns, g * cg : (g + 1) * cg, rs])  # (n, C/g·K, P)
            d = delta[ns, g * og : (g + 1) * og, rs].reshape(cols.shape[0], og, -1)
            for i in range(cols.shape[0]):  # one GEMM per sample beats a transposing tensordot
                dwg[g] += d[i] @ cols[i].T
    return dw


def _input_grad_per_tap(delta, w, dx, stride, dilation, groups):
    """col2im one kernel tap and one sample at a time: each product stays in cache
    and is added straight into place (measured ~1.5× faster than one big col2im
    buffer for 64 channels at stride 2; slower when a tap's GEMM has few rows)."""
    out_ch, cg = w.shape[:2]
    ks = w.shape[2:]
    og = out_ch // groups
    n, out = delta.shape[0], delta.shape[2:]
    taps = np.ascontiguousarray(w.reshape(groups, og, cg, -1).transpose(0, 3, 2, 1))  # (g, K, C/g, O/g)
    for ns, rs in _blocks(n, out, cg * dx.itemsize):
        r0 = rs.start
        block_out = (len(range(out[0])[rs]), *out[1:])
        places = []
        for tap in np.ndindex(*ks):
            where = _tap_slices(tap, block_out, stride, dilation)
            first = where[0]
            places.append(
                (slice(first.start + r0 * stride[0], first.stop + r0 * stride[0], first.step), *where[1:])
            )
        product_ = np.empty((cg, prod(block_out)), dtype=dx.dtype)
        for m in range(ns.start, ns.stop):
            for g in range(groups):
                d = delta[m, g * og : (g + 1) * og, rs].reshape(og, -1)
                target = dx[m, g * cg : (g + 1) * cg]
                for t, where in enumerate(places):
                    np.matmul(taps[g, t], d, out=product_)
                    target[(slice(None), *where)] += product_.reshape(cg, *block_out)
    return dx


def _correlate_flat(x, w, dilation, groups, out, y):
    """Stride-1 correlation with no im2col: in each flattened padded image
    ``(C, H·W)`` a kernel tap is a plain offset, so every tap is one GEMM on a
    view, ``Y += W[:, :, tap] @ x[:, offset : offset + span]``. Rows come out as
    wide as the padded image; the extra columns are cut at the end."""
    n, in_ch = x.shape[:2]
    out_ch, cg = w.shape[:2]
    og = out_ch // groups
    padded = x.shape[2:]
    flat_strides = [prod(padded[i + 1 :]) for i in range(len(padded))]
    span = _flat_span(padded, out)
    offsets = [
        sum(k * d * st for k, d, st in zip(tap, dilation, flat_strides)) for tap in np.ndindex(*w.shape[2:])
    ]
    taps = np.ascontiguousarray(w.reshape(groups, og, cg, -1).transpose(3, 0, 1, 2))  # (K, g, O/g, C/g)
    wide = np.empty((n, out_ch, out[0], *padded[1:]), dtype=y.dtype)
    wide_flat = wide.reshape(n, out_ch, -1)
    x_flat = x.reshape(n, in_ch, -1)
    tmp = np.empty((og, span), dtype=y.dtype)
    for i in range(n):
        for g in range(groups):
            acc = wide_flat[i, g * og : (g + 1) * og, :span]
            xg = x_flat[i, g * cg : (g + 1) * cg]
            np.matmul(taps[0, g], xg[:, offsets[0] : offsets[0] + span], out=acc)
            for t in range(1, len(offsets)):
                np.matmul(taps[t, g], xg[:, offsets[t] : offsets[t] + span], out=tmp)
                acc += tmp
    y[...] = wide[(slice(None), slice(None), slice(None), *(slice(0, o) for o in out[1:]))]
    return y


def _weight_grad_flat(x, delta, kernel_size, dilation, groups, dw):
    """Stride-1 ``dW`` with no im2col: flatten each padded image to ``(C, H·W)``;
    a kernel tap is then a plain offset into it, and δ — widened with zero
    columns to the image's row length — meets that slice in one GEMM per tap."""
    n, in_ch = x.shape[:2]
    out_ch = delta.shape[1]
    cg, og = in_ch // groups, out_ch // groups
    padded, out = x.shape[2:], delta.shape[2:]
    flat_strides = [prod(padded[i + 1 :]) for i in range(len(padded))]
    span = _flat_span(padded, out)
    wide = np.zeros((n, out_ch, out[0], *padded[1:]), dtype=delta.dtype)
    wide[(slice(None), slice(None), *(slice(0, o) for o in out))] = delta
    wide_flat = wide.reshape(n, groups, og, -1)[..., :span]
    x_flat = x.reshape(n, groups, cg, -1)
    dwg = dw.reshape(groups, og, cg, -1)
    for t, tap in enumerate(np.ndindex(*kernel_size)):
        offset = sum(k * d * st for k, d, st in zip(tap, dilation, flat_strides))
        for g in range(groups):
            acc = dwg[g, :, :, t]
            for i in range(n):
                acc += wide_flat[i, g] @ x_flat[i, g, :, offset : offset + span].T
    return dw


def _flat_span(padded: tuple[int, ...], out: tuple[int, ...]) -> int:
    """Flat distance from the first window's corner to the last's, plus one."""
    return sum((o - 1) * prod(padded[i + 1 :]) for i, o in enumerate(out)) + 1


# -- helpers ------------------------------------------------------------------


def _letters(nsp: int) -> tuple[str, str]:
    """einsum letters for ``nsp`` output axes and ``nsp`` kernel axes."""
    return "ijl"[:nsp], "pqr"[:nsp]


def _grouped(a: np.ndarray, groups: int) -> np.ndarray:
    """``(N, C, *s)`` → ``(N, g, C/g, *s)``, a view."""
    return a.reshape(a.shape[0], groups, a.shape[1] // groups, *a.shape[2:])


def _im2col(win: np.ndarray) -> np.ndarray:
    """Windows ``(n, C, *out, *k)`` → a contiguous ``(n, C·K, P)`` matrix per sample.

    The gather is memory-bound and NumPy's copy releases the GIL, so the samples
    are split over the cores by channel (measured: 9.6 → 6.4 ms for 8×64×56×56 float32 on 2 cores).
    """
    nsp = (win.ndim - 2) // 2
    order = (0, 1, *range(2 + nsp, 2 + 2 * nsp), *range(2, 2 + nsp))
    view = win.transpose(order)
    cols = np.empty(view.shape, dtype=win.dtype)
    _by_channel(lambda ch: np.copyto(cols[:, ch], view[:, ch]), win.shape[1], cols.nbytes)
    return cols.reshape(win.shape[0], -1, prod(win.shape[2 : 2 + nsp]))


def _by_channel(work: Callable[[slice], object], channels: int, nbytes: int) -> None:
    """Run ``work`` on disjoint channel ranges, one per core, when the data is large
    enough to pay for it; NumPy's copies and additions release the GIL."""
    workers = min(channels, _pool_size())
    if workers < 2 or nbytes < 2**20:
        work(slice(None))
        return
    bounds = [channels * i // workers for i in range(workers + 1)]
    list(_pool().map(work, [slice(a, b) for a, b in zip(bounds, bounds[1:])]))


@lru_cache(maxsize=1)
def _pool() -> Any:
    # imported here: concurrent.futures (and the logging it loads) costs ~10 ms
    # of start-up that the one-line commands never need
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(_pool_size(), thread_name_prefix="convgrad")


def _pool_size() -> int:
    return os.cpu_count() or 1


def _tap_slices(
    tap: tuple[int, ...], out: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...]
) -> tuple[slice, ...]:
    """Where kernel offset ``tap`` lands in the padded input for every output."""
    return tuple(slice(k * d, k * d + (o - 1) * s + 1, s) for k, o, s, d in zip(tap, out, stride, dilation))


def _channel_blocks(channels: int, bytes_per_channel: int) -> Iterator[slice]:
    """Channel ranges whose copies fit the budget (one channel at least)."""
    step = max(1, MEMORY_BUDGET // max(bytes_per_channel, 1))
    for start in range(0, channels, step):
        yield slice(start, min(start + step, channels))


def _blocks(n: int, out: tuple[int, ...], bytes_per_output: int) -> Iterator[tuple[slice, slice]]:
    """Split (batch × first output axis) so one im2col block fits the budget."""
    per_row = bytes_per_output * prod(out[1:])
    per_sample = per_row * out[0]
    if per_sample <= MEMORY_BUDGET:
        step = max(1, MEMORY_BUDGET // max(per_sample, 1))
        for start in range(0, n, step):
            yield slice(start, min(start + step, n)), slice(0, out[0])
        return
    rows = max(1, MEMORY_BUDGET // max(per_row, 1))
    for i, start in product(range(n), range(0, out[0], rows)):
        yield slice(i, i + 1), slice(start, min(start + rows, out[0]))
