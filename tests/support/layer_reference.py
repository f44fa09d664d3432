"""Independent references for the layers other than convolution: their
definitions, one window or one product at a time, written without convgrad code.

A window of output o reads o·s − p + t·d on each axis for taps t in scan order.
"""

from __future__ import annotations

import itertools

import numpy as np


def pool_out(size, k, s, p, d, ceil_mode):
    """PyTorch's documented output size of a pool."""
    num = size + 2 * p - d * (k - 1) - 1
    out = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _outs(x, kernel, stride, padding, dilation, ceil_mode):
    return tuple(pool_out(*a, ceil_mode) for a in zip(x.shape[2:], kernel, stride, padding, dilation))


def _cells(o, kernel, stride, padding, dilation, size):
    """The input cells of window o, in scan order, padding left out."""
    for t in itertools.product(*map(range, kernel)):
        cell = tuple(oi * s - p + ti * d for oi, ti, s, p, d in zip(o, t, stride, padding, dilation))
        if all(0 <= c < n for c, n in zip(cell, size)):
            yield cell


def max_pool(x, delta, kernel, stride, padding, dilation, ceil_mode):
    """(y, ∂L/∂x): the first greatest cell of each window takes its δ."""
    outs = _outs(x, kernel, stride, padding, dilation, ceil_mode)
    y = np.zeros(x.shape[:2] + outs)
    dx = np.zeros_like(x)
    for n, c in itertools.product(*map(range, x.shape[:2])):
        for o in itertools.product(*map(range, outs)):
            best = None
            for cell in _cells(o, kernel, stride, padding, dilation, x.shape[2:]):
                if best is None or x[(n, c, *cell)] > x[(n, c, *best)]:
                    best = cell
            y[(n, c, *o)] = x[(n, c, *best)]
            if delta is not None:
                dx[(n, c, *best)] += delta[(n, c, *o)]
    return y, dx


def avg_pool(x, delta, kernel, stride, padding, ceil_mode, count_include_pad, divisor):
    """(y, ∂L/∂x) with PyTorch's divisor, counted window by window."""
    ones = (1,) * len(kernel)
    outs = _outs(x, kernel, stride, padding, ones, ceil_mode)
    y = np.zeros(x.shape[:2] + outs)
    dx = np.zeros_like(x)
    for o in itertools.product(*map(range, outs)):
        cells = list(_cells(o, kernel, stride, padding, ones, x.shape[2:]))
        padded = 1
        for oi, s, p, k, n in zip(o, stride, padding, kernel, x.shape[2:]):
            start = oi * s - p
            padded *= min(start + k, n + p) - start
        div = divisor or (padded if count_include_pad else len(cells))
        for n, c in itertools.product(*map(range, x.shape[:2])):
            y[(n, c, *o)] = sum(x[(n, c, *cell)] for cell in cells) / div
            if delta is not None:
                for cell in cells:
                    dx[(n, c, *cell)] += delta[(n, c, *o)] / div
    return y, dx


def conv_transpose(x, w, delta, stride, padding, output_padding, dilation, groups):
    """(y, ∂L/∂x, ∂L/∂W): each input cell scattered through the kernel,
    y[n, g·Og + o, i·s + k·d − p] += x[n, c, i] · w[c, o, k]."""
    k = w.shape[2:]
    out = tuple(
        (i - 1) * s - 2 * p + d * (kk - 1) + op + 1
        for i, kk, s, p, op, d in zip(x.shape[2:], k, stride, padding, output_padding, dilation)
    )
    cin, og = w.shape[:2]
    cg = cin // groups
    y = np.zeros((x.shape[0], og * groups, *out))
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for n, c in itertools.product(range(x.shape[0]), range(cin)):
        g = c // cg
        for i in itertools.product(*map(range, x.shape[2:])):
            for o, t in itertools.product(range(og), itertools.product(*map(range, k))):
                j = tuple(ii * s + ti * d - p for ii, ti, s, d, p in zip(i, t, stride, dilation, padding))
                if all(0 <= jj < m for jj, m in zip(j, out)):
                    y[(n, g * og + o, *j)] += x[(n, c, *i)] * w[(c, o, *t)]
                    if delta is not None:
                        dx[(n, c, *i)] += delta[(n, g * og + o, *j)] * w[(c, o, *t)]
                        dw[(c, o, *t)] += delta[(n, g * og + o, *j)] * x[(n, c, *i)]
    return y, dx, dw
