"""conv2d_backward implementations for `check --impl`: one correct, and each
classic mistake once. Written with NumPy and the slides' steps only."""

import numpy as np

from convgrad_cli import conv2d_backward


def _pairs(padding):
    if isinstance(padding, int):
        return [(padding, padding)] * 2
    if isinstance(padding[0], (list, tuple)):
        return [tuple(p) for p in padding]
    return [(p, p) for p in padding]


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _correlate(a, k, dilation):
    """Single-channel 2-D correlation, stride 1."""
    (kh, kw), (dh, dw) = k.shape, dilation
    oh, ow = a.shape[0] - dh * (kh - 1), a.shape[1] - dw * (kw - 1)
    out = np.zeros((oh, ow))
    for i in range(kh):
        for j in range(kw):
            out += k[i, j] * a[i * dh : i * dh + oh, j * dw : j * dw + ow]
    return out


def _single(x, w, delta, stride=1, padding=0, dilation=1, groups=1, *, flip=True, dilate=True,
            pad_shift=0, bias_sum=True):  # fmt: skip
    """The slides' pipeline for one channel and one filter, with switches for the mistakes."""
    s, d = _pair(stride), _pair(dilation)
    pads = _pairs(padding)
    kh, kw = w.shape
    dd = delta
    if dilate:
        dd = np.zeros(((delta.shape[0] - 1) * s[0] + 1, (delta.shape[1] - 1) * s[1] + 1))
        dd[:: s[0], :: s[1]] = delta
    ext = [d[a] * (w.shape[a] - 1) for a in range(2)]
    xp_size = [x.shape[a] + pads[a][0] + pads[a][1] for a in range(2)]
    extra = [(xp_size[a] - ext[a] - 1) % s[a] for a in range(2)]
    before = [ext[a] - pads[a][0] + pad_shift for a in range(2)]
    after = [ext[a] - pads[a][1] + extra[a] + pad_shift for a in range(2)]
    padded = np.pad(dd, [(max(b, 0), max(e, 0)) for b, e in zip(before, after)])
    padded = padded[max(-before[0], 0) : padded.shape[0] - max(-after[0], 0),
                    max(-before[1], 0) : padded.shape[1] - max(-after[1], 0)]  # fmt: skip
    kernel = w[::-1, ::-1] if flip else w
    dx = _correlate(padded, kernel, d)
    dx = dx[: x.shape[0], : x.shape[1]]
    dx = np.pad(dx, [(0, x.shape[0] - dx.shape[0]), (0, x.shape[1] - dx.shape[1])])
    xp = np.pad(x, pads)
    dw = np.zeros_like(w, dtype=float)
    for i in range(kh):
        for j in range(kw):
            win = xp[i * d[0] : i * d[0] + (delta.shape[0] - 1) * s[0] + 1 : s[0],
                     j * d[1] : j * d[1] + (delta.shape[1] - 1) * s[1] + 1 : s[1]]  # fmt: skip
            dw[i, j] = (win * delta).sum()
    db = np.array([delta.sum() if bias_sum else delta.mean()])
    return dx, dw, db


def correct(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    return conv2d_backward(x, w, delta, stride=stride, padding=padding, dilation=dilation, groups=groups)


def slides_correct(x, w, delta, **kw):
    return _single(x, w, delta, **kw)


def no_flip(x, w, delta, **kw):
    return _single(x, w, delta, flip=False, **kw)


def no_dilation(x, w, delta, **kw):
    return _single(x, w, delta, dilate=False, **kw)


def off_by_one_padding(x, w, delta, **kw):
    return _single(x, w, delta, pad_shift=1, **kw)


def mean_bias(x, w, delta, **kw):
    return _single(x, w, delta, bias_sum=False, **kw)


def raises(x, w, delta, **kw):
    raise RuntimeError("not implemented yet")
