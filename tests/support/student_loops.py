"""A student's first conv backward: one sample, one channel, one filter, a loop over
(H, W) arrays with an int stride and padding — as course notebooks write it before
batches and channels (cf. ismlrn/cnn-scratch ``conv2d_backward``, which loops over
``dZ``'s positions and adds ``dZ[i, j] * region`` into dW). Written with NumPy only,
for ``check --layout spatial``."""

import numpy as np


def backward(x, w, delta, stride=1, padding=0, **kw):
    """x (H, W), w (kh, kw), δ (Ho, Wo): each δ entry meets the window it came from."""
    H, W = x.shape
    kh, kw_ = w.shape
    Ho, Wo = delta.shape
    s, p = stride, padding
    xp = np.pad(x, p)
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(Ho):
        for j in range(Wo):
            window = xp[i * s : i * s + kh, j * s : j * s + kw_]
            dw += delta[i, j] * window
            dxp[i * s : i * s + kh, j * s : j * s + kw_] += delta[i, j] * w
    return dxp[p : p + H, p : p + W], dw, delta.sum()


def backward_stride_forgotten(x, w, delta, stride=1, padding=0, **kw):
    """The same loop, its windows at (i, j) where they start at (i·s, j·s)."""
    H, W = x.shape
    kh, kw_ = w.shape
    Ho, Wo = delta.shape
    p = padding
    xp = np.pad(x, p)
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(Ho):
        for j in range(Wo):
            dw += delta[i, j] * xp[i : i + kh, j : j + kw_]
            dxp[i : i + kh, j : j + kw_] += delta[i, j] * w
    return dxp[p : p + H, p : p + W], dw, delta.sum()


def forward(x, w, bias=None, stride=1, padding=0, **kw):
    """y (Ho, Wo) of x (H, W) and w (kh, kw), plus the one filter's bias."""
    kh, kw_ = w.shape
    s, p = stride, padding
    xp = np.pad(x, p)
    Ho, Wo = (xp.shape[0] - kh) // s + 1, (xp.shape[1] - kw_) // s + 1
    y = np.zeros((Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            y[i, j] = np.sum(xp[i * s : i * s + kh, j * s : j * s + kw_] * w)
    return y + (0 if bias is None else bias)


def batched_backward(x, w, delta, stride=1, padding=0, **kw):
    """The same loop a chapter later, as assignments write it: NCHW, every filter and sample,
    an int stride and padding, no groups — each window's slice is (C, kh, kw)."""
    N, C, H, W = x.shape
    F, _, kh, kw_ = w.shape
    _, _, Ho, Wo = delta.shape
    s, p = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dw, dxp = np.zeros_like(w), np.zeros_like(xp)
    for n in range(N):
        for o in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    dw[o] += delta[n, o, i, j] * xp[n, :, i * s : i * s + kh, j * s : j * s + kw_]
                    dxp[n, :, i * s : i * s + kh, j * s : j * s + kw_] += delta[n, o, i, j] * w[o]
    return dxp[:, :, p : p + H, p : p + W], dw, delta.sum(axis=(0, 2, 3))
