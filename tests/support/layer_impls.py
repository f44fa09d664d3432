"""Layer backwards written by hand, as a student might: right ones, and each classic mistake.
Loops on purpose: they stand in for user code, not for convgrad's."""

import itertools

import numpy as np


def _windows(x, kernel_size, stride, padding, dilation, ceil_mode):
    nd = x.ndim - 2
    k, s, p, d = (v if isinstance(v, tuple) else (v,) * nd for v in (kernel_size, stride, padding, dilation))
    outs = []
    for n, kk, ss, pp, dd in zip(x.shape[2:], k, s, p, d):
        num = n + 2 * pp - dd * (kk - 1) - 1
        o = (-(-num // ss) if ceil_mode else num // ss) + 1
        if ceil_mode and (o - 1) * ss >= n + pp:
            o -= 1
        outs.append(o)
    for o in itertools.product(*map(range, outs)):
        cells = []
        for t in itertools.product(*map(range, k)):
            cell = tuple(oi * ss - pp + ti * dd for oi, ti, ss, pp, dd in zip(o, t, s, p, d))
            if all(0 <= c < n for c, n in zip(cell, x.shape[2:])):
                cells.append(cell)
        yield o, cells


def maxpool_right(x, delta, kernel_size, stride, padding, dilation, ceil_mode):
    dx = np.zeros_like(x)
    for n, c in itertools.product(*map(range, x.shape[:2])):
        for o, cells in _windows(x, kernel_size, stride, padding, dilation, ceil_mode):
            best = max(cells, key=lambda cell: (x[(n, c, *cell)], -cells.index(cell)))
            dx[(n, c, *best)] += delta[(n, c, *o)]
    return dx


def maxpool_every_cell(x, delta, kernel_size, stride, padding, dilation, ceil_mode):
    dx = np.zeros_like(x)
    for n, c in itertools.product(*map(range, x.shape[:2])):
        for o, cells in _windows(x, kernel_size, stride, padding, dilation, ceil_mode):
            for cell in cells:
                dx[(n, c, *cell)] += delta[(n, c, *o)]
    return dx


def maxpool_last_tie(x, delta, kernel_size, stride, padding, dilation, ceil_mode):
    dx = np.zeros_like(x)
    for n, c in itertools.product(*map(range, x.shape[:2])):
        for o, cells in _windows(x, kernel_size, stride, padding, dilation, ceil_mode):
            best = max(cells, key=lambda cell: (x[(n, c, *cell)], cells.index(cell)))
            dx[(n, c, *best)] += delta[(n, c, *o)]
    return dx


def avgpool_by_window(x, delta, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    nd = x.ndim - 2
    k = kernel_size if isinstance(kernel_size, tuple) else (kernel_size,) * nd
    dx = np.zeros_like(x)
    for n, c in itertools.product(*map(range, x.shape[:2])):
        for o, cells in _windows(x, kernel_size, stride, padding, 1, ceil_mode):
            for cell in cells:
                dx[(n, c, *cell)] += delta[(n, c, *o)] / np.prod(k)
    return dx


def relu_at_zero(x, delta):
    return np.where(x >= 0, delta, 0.0)


def relu_wrong_shape(x, delta):
    return delta[..., :-1]


def conv_transpose_flipped(x, w, delta, stride, padding, output_padding, dilation, groups):
    import torch

    F = torch.nn.functional
    fn = getattr(F, f"conv{x.ndim - 2}d")
    t = torch.tensor(delta)
    dx = fn(
        t,
        torch.tensor(np.flip(w, axis=tuple(range(2, w.ndim))).copy()),
        None,
        stride,
        padding,
        dilation,
        groups,
    )
    dx = dx[(slice(None), slice(None)) + tuple(slice(0, n) for n in x.shape[2:])].numpy()
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    y = getattr(F, f"conv_transpose{x.ndim - 2}d")(
        tx, tw, None, stride, padding, output_padding, groups, dilation
    )
    y.backward(torch.tensor(delta))
    return dx, tw.grad.numpy()


def conv_transpose_torch(x, w, delta, stride, padding, output_padding, dilation, groups):
    import torch

    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    fn = getattr(torch.nn.functional, f"conv_transpose{x.ndim - 2}d")
    fn(tx, tw, None, stride, padding, output_padding, groups, dilation).backward(torch.tensor(delta))
    return tx.grad.numpy(), tw.grad.numpy()


def relu_hangs(x, delta):
    import time

    time.sleep(60)


def relu_exits(x, delta):
    import sys

    sys.exit(3)


def maxpool_refused(x, delta, kernel_size, stride, padding, dilation, ceil_mode):
    raise NotImplementedError("work in progress")
