"""An independent reference: the definition of a convolution, one product at a time.

Written from the definition only — no convgrad code — so that it can judge
convgrad: y[n, o, p] = Σ_c Σ_k x_pad[n, g·C/g + c, p·s + k·d] · w[o, c, k].
"""

from __future__ import annotations

import itertools

import numpy as np


def _padded(x, padding):
    return np.pad(x, [(0, 0), (0, 0), *padding])


def out_size(in_size, kernel, stride, dilation, padding):
    return tuple(
        (n + b + a - d * (k - 1) - 1) // s + 1
        for n, k, s, d, (b, a) in zip(in_size, kernel, stride, dilation, padding)
    )


def _windows(x_shape, w_shape, stride, dilation, padding, groups):
    """Yield (n, o, p, c_in, c_local, k, position in padded x) for every product."""
    n_batch, in_ch = x_shape[:2]
    out_ch, cg = w_shape[:2]
    og = out_ch // groups
    outs = out_size(x_shape[2:], w_shape[2:], stride, dilation, padding)
    for n, o in itertools.product(range(n_batch), range(out_ch)):
        g = o // og
        for p in itertools.product(*map(range, outs)):
            for c in range(cg):
                for k in itertools.product(*map(range, w_shape[2:])):
                    pos = tuple(pi * s + ki * d for pi, ki, s, d in zip(p, k, stride, dilation))
                    yield n, o, p, g * cg + c, c, k, pos


def forward(x, w, bias, stride, dilation, padding, groups):
    xp = _padded(x, padding)
    outs = out_size(x.shape[2:], w.shape[2:], stride, dilation, padding)
    y = np.zeros((x.shape[0], w.shape[0], *outs))
    for n, o, p, ci, c, k, pos in _windows(x.shape, w.shape, stride, dilation, padding, groups):
        y[(n, o, *p)] += xp[(n, ci, *pos)] * w[(o, c, *k)]
    if bias is not None:
        y += np.asarray(bias).reshape(1, -1, *([1] * (x.ndim - 2)))
    return y


def backward(x, w, delta, stride, dilation, padding, groups):
    """(dx, dw, db): each product's two partial derivatives, summed."""
    xp = _padded(x, padding)
    dxp = np.zeros(xp.shape)
    dw = np.zeros(w.shape)
    for n, o, p, ci, c, k, pos in _windows(x.shape, w.shape, stride, dilation, padding, groups):
        d = delta[(n, o, *p)]
        dxp[(n, ci, *pos)] += w[(o, c, *k)] * d
        dw[(o, c, *k)] += xp[(n, ci, *pos)] * d
    crop = tuple(slice(b, b + n) for n, (b, _) in zip(x.shape[2:], padding))
    db = delta.sum(axis=(0, *range(2, delta.ndim)))
    return dxp[(slice(None), slice(None), *crop)], dw, db
