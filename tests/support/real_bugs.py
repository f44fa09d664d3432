"""Bugs found in public course and library code, each made once in a 2-D loop as
such code is written (2-D, groups 1; the rest refused with NotImplementedError).
NumPy only — no convgrad code."""

import numpy as np

from tests.support.narrow_impls import _conv2d_backward_loops, _one, _pads


def _geometry(x, stride, padding, dilation, groups):
    if x.ndim != 4 or groups != 1:
        raise NotImplementedError("2-D, groups 1")
    sh, sw = (stride,) * 2 if isinstance(stride, int) else stride
    dh, dw_ = (dilation,) * 2 if isinstance(dilation, int) else dilation
    return sh, sw, dh, dw_, _pads(padding)


def _symmetric(padding):
    if isinstance(padding, list):
        raise NotImplementedError("one symmetric padding")
    return _one(padding, "padding")


def kernel_assumed_square(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """A 2-D loop that reads the kernel's width from its height (``kw = kh``), as
    code written for square kernels does."""
    sh, sw, dh, dw_, (top, bottom, left, right) = _geometry(x, stride, padding, dilation, groups)
    kh = w.shape[2]
    kw = kh  # the mistake
    ho, wo = delta.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(ho):
        for j in range(wo):
            for a in range(kh):
                for c in range(kw):
                    r, s = i * sh + a * dh, j * sw + c * dw_
                    dw[:, :, a, c] += np.einsum("nf,nc->fc", delta[:, :, i, j], xp[:, :, r, s])
                    dxp[:, :, r, s] += np.einsum("nf,fc->nc", delta[:, :, i, j], w[:, :, a, c])
    return dxp[:, :, top : top + x.shape[2], left : left + x.shape[3]], dw, delta.sum(axis=(0, 2, 3))


def stride_assumed_to_divide(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """CS231n-style code that asserts the stride tiles the padded input exactly."""
    sh, sw, dh, dw_, _ = _geometry(x, stride, padding, dilation, groups)
    s, p = _one(stride, "stride"), _symmetric(padding)
    if dh != 1 or dw_ != 1:
        raise NotImplementedError("no dilation")
    (h, wd), (kh, kw) = x.shape[2:], w.shape[2:]
    assert (h + 2 * p - kh) % s == 0, "height does not work"
    assert (wd + 2 * p - kw) % s == 0, "width does not work"
    return _conv2d_backward_loops(x, w, delta, s, s, (p,) * 4)


def padding_cropped_wrong_axes(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """∂L/∂x cropped as dx[p:-p, p:-p] — the batch and channel axes — instead of the spatial ones."""
    sh, sw, dh, dw_, _ = _geometry(x, stride, padding, dilation, groups)
    p = _symmetric(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw, db = _conv2d_backward_loops(xp, w, delta, sh, sw, (0,) * 4, dh, dw_)
    return (dxp[p:-p, p:-p] if p else dxp), dw, db  # the mistake: the leading axes are cropped


def padding_crop_empty(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """Crops the padding as dx_pad[:, :, p:-p, p:-p]: with p = 0 that is empty."""
    sh, sw, dh, dw_, _ = _geometry(x, stride, padding, dilation, groups)
    p = _symmetric(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw, db = _conv2d_backward_loops(xp, w, delta, sh, sw, (0,) * 4, dh, dw_)
    return dxp[:, :, p:-p, p:-p], dw, db


def padding_not_cropped(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """Returns the gradient of the padded input, as if it were the input's."""
    sh, sw, dh, dw_, pads = _geometry(x, stride, padding, dilation, groups)
    top, bottom, left, right = pads
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    return _conv2d_backward_loops(xp, w, delta, sh, sw, (0,) * 4, dh, dw_)


def last_window_dropped(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """Windows from ``range(0, Hp - extent, s)``: one short when the stride divides Hp − extent."""
    sh, sw, dh, dw_, (top, bottom, left, right) = _geometry(x, stride, padding, dilation, groups)
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    eh, ew = dh * (kh - 1) + 1, dw_ * (kw - 1) + 1
    for r0 in range(0, xp.shape[2] - eh, sh):
        for c0 in range(0, xp.shape[3] - ew, sw):
            g = delta[:, :, r0 // sh, c0 // sw]
            rows, cols = slice(r0, r0 + eh, dh), slice(c0, c0 + ew, dw_)
            dw += np.einsum("nf,nchw->fchw", g, xp[:, :, rows, cols])
            dxp[:, :, rows, cols] += np.einsum("nf,fchw->nchw", g, w)
    dx = dxp[:, :, top : top + x.shape[2], left : left + x.shape[3]]
    return dx, dw, delta.sum(axis=(0, 2, 3))


def scatter_with_rotated_kernel(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """A scatter loop, dx[window] += W·δ, that rotates W by 180° first, as if the backward
    needed the flip the slides' correlation form has: the same numbers as a correlation that
    forgets it (kernel_not_flipped)."""
    sh, sw, dh, dw_, pads = _geometry(x, stride, padding, dilation, groups)
    _, dw, db = _conv2d_backward_loops(x, w, delta, sh, sw, pads, dh, dw_)
    dx, _, _ = _conv2d_backward_loops(
        x, np.ascontiguousarray(w[:, :, ::-1, ::-1]), delta, sh, sw, pads, dh, dw_
    )
    return dx, dw, db


def delta_reshaped_not_transposed(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """An im2col backward, columns ordered (sample, position), that flattens δ as
    delta.reshape(F, -1) where delta.transpose(1, 0, 2, 3).reshape(F, -1) belongs."""
    sh, sw, dh, dw_, (top, bottom, left, right) = _geometry(x, stride, padding, dilation, groups)
    f, c, kh, kw = w.shape
    n, _, ho, wo = delta.shape
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))

    def taps(i, j):
        return (slice(None), slice(None), slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
                slice(j * dw_, j * dw_ + sw * (wo - 1) + 1, sw))  # fmt: skip

    cols = np.empty((n, c, kh, kw, ho, wo))
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[taps(i, j)]
    cols = cols.transpose(1, 2, 3, 0, 4, 5).reshape(c * kh * kw, n * ho * wo)
    flat = delta.reshape(f, -1)  # the mistake: the batch axis is not moved behind the channels first
    dw = (flat @ cols.T).reshape(w.shape)
    dcols = (w.reshape(f, -1).T @ flat).reshape(c, kh, kw, n, ho, wo)
    dxp = np.zeros_like(xp)
    for i in range(kh):
        for j in range(kw):
            dxp[taps(i, j)] += dcols[:, i, j].transpose(1, 0, 2, 3)
    return dxp[:, :, top : top + x.shape[2], left : left + x.shape[3]], dw, delta.sum(axis=(0, 2, 3))


def stride_dilation_dropped(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """PyTorch's custom-Function tutorial backward, grad_x = conv_transpose2d(δ, W) and
    grad_w = conv2d(xᵀ, δᵀ)ᵀ, carried over to a layer with stride, padding and dilation
    without passing them (2-D, groups 1; the input padded for grad_w)."""
    import torch
    import torch.nn.functional as F

    _, _, _, _, (top, bottom, left, right) = _geometry(x, stride, padding, dilation, groups)
    xt, wt, dt = (torch.from_numpy(np.ascontiguousarray(a)) for a in (x, w, delta))
    grad_x = F.conv_transpose2d(dt, wt)
    grad_w = F.conv2d(F.pad(xt, (left, right, top, bottom)).transpose(0, 1), dt.transpose(0, 1)).transpose(
        0, 1
    )
    return grad_x.numpy(), grad_w.numpy(), delta.sum(axis=(0, 2, 3))
