"""Backward passes written as engineers and students write them: each handles part
of what `check` draws and refuses the rest with NotImplementedError, as real
course and library code does. Written with NumPy (or torch) only — no convgrad
code — so that `check --random 40 --impl` has something narrow to fit itself to."""

import numpy as np


def _one(v, name):
    """An int, or a tuple whose entries are all the same, as one int (else refused)."""
    values = (v,) if isinstance(v, int) else tuple(v)
    if len(set(values)) != 1:
        raise NotImplementedError(f"one {name} for both axes only")
    return values[0]


def _conv2d_backward_loops(x, w, dout, sh, sw, pads, dh=1, dw_=1):
    """A hand-written 2-D loop over output positions, groups 1: x (N, C, H, W),
    w (F, C, HH, WW), dout (N, F, Ho, Wo); pads (top, bottom, left, right)."""
    top, bottom, left, right = pads
    n, c, h, wd = x.shape
    f, _, hh, ww = w.shape
    ho, wo = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(ho):
        for j in range(wo):
            rows = slice(i * sh, i * sh + dh * (hh - 1) + 1, dh)
            cols = slice(j * sw, j * sw + dw_ * (ww - 1) + 1, dw_)
            window = xp[:, :, rows, cols]  # (N, C, HH, WW)
            g = dout[:, :, i, j]  # (N, F)
            dw += np.einsum("nf,nchw->fchw", g, window)
            dxp[:, :, rows, cols] += np.einsum("nf,fchw->nchw", g, w)
    dx = dxp[:, :, top : top + h, left : left + wd]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def _pads(padding):
    """(top, bottom, left, right) from the padding check passes."""
    if isinstance(padding, int):
        return (padding,) * 4
    if isinstance(padding[0], (list, tuple)):
        (top, bottom), (left, right) = padding
        return top, bottom, left, right
    return padding[0], padding[0], padding[1], padding[1]


def only_2d(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """2-D only; any stride, padding and dilation; groups 1."""
    if x.ndim != 4:
        raise NotImplementedError("conv2d only")
    if groups != 1:
        raise NotImplementedError("groups are not supported")
    sh, sw = (stride,) * 2 if isinstance(stride, int) else stride
    dh, dw_ = (dilation,) * 2 if isinstance(dilation, int) else dilation
    return _conv2d_backward_loops(x, w, delta, sh, sw, _pads(padding), dh, dw_)


def _any_rank(x, w, delta, **kw):
    """An implementation for any rank: torch's autograd, as a library would wrap it."""
    import torch

    from tests.support.framework_impls import torch_backward

    out = torch_backward(*(torch.from_numpy(np.ascontiguousarray(a)) for a in (x, w, delta)), **kw)
    return tuple(t.numpy() for t in out)


def groups_one(x, w, delta, groups=1, **kw):
    """Any rank, stride, padding, dilation; no groups."""
    if groups != 1:
        raise NotImplementedError("grouped convolution is not supported")
    return _any_rank(x, w, delta, groups=1, **kw)


def symmetric_padding_only(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """2-D, groups 1, one symmetric padding for both axes (as an int), no dilation."""
    if x.ndim != 4 or groups != 1:
        raise NotImplementedError("2-D, groups 1")
    if _one(dilation, "dilation") != 1:
        raise NotImplementedError("no dilation")
    p = _one(padding, "padding") if not (isinstance(padding, list)) else None
    if p is None:
        raise NotImplementedError("symmetric padding only")
    sh, sw = (stride,) * 2 if isinstance(stride, int) else stride
    return _conv2d_backward_loops(x, w, delta, sh, sw, (p,) * 4)


def square_kernels_only(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """2-D, square kernels (one k for both axes), groups 1; any stride and padding."""
    if x.ndim != 4 or groups != 1:
        raise NotImplementedError("2-D, groups 1")
    k = w.shape[2]
    if w.shape[3] != k:
        raise NotImplementedError("square kernels only")
    sh, sw = (stride,) * 2 if isinstance(stride, int) else stride
    dh, dw_ = (dilation,) * 2 if isinstance(dilation, int) else dilation
    return _conv2d_backward_loops(x, w, delta, sh, sw, _pads(padding), dh, dw_)


def stride1_no_padding(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """A 'valid' convolution only: 2-D, stride 1, no padding, no dilation, groups 1 —
    ∂L/∂x as the full correlation of δ with the flipped kernel."""
    if x.ndim != 4 or groups != 1:
        raise NotImplementedError("2-D, groups 1")
    if _one(stride, "stride") != 1 or padding not in (0, (0, 0)) or _one(dilation, "dilation") != 1:
        raise NotImplementedError("stride 1, padding 0 and dilation 1 only")
    hh, ww = w.shape[2:]
    full = np.pad(delta, ((0, 0), (0, 0), (hh - 1, hh - 1), (ww - 1, ww - 1)))
    flipped = w[:, :, ::-1, ::-1]
    dx = np.zeros_like(x)
    for i in range(x.shape[2]):
        for j in range(x.shape[3]):
            dx[:, :, i, j] = np.einsum("nfhw,fchw->nc", full[:, :, i : i + hh, j : j + ww], flipped)
    dw = np.zeros_like(w)
    for i in range(hh):
        for j in range(ww):
            seen = x[:, :, i : i + delta.shape[2], j : j + delta.shape[3]]
            dw[:, :, i, j] = np.einsum("nchw,nfhw->fc", seen, delta)
    return dx, dw, delta.sum(axis=(0, 2, 3))


def refuses_everything(x, w, delta, **kw):
    raise NotImplementedError("work in progress")


def one_class_only(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """Accepts nothing but a 3×3 kernel on one channel in and out: one class of case."""
    if w.shape[:2] != (1, 1) or w.shape[2:] != (3, 3):
        raise NotImplementedError("a 3×3 kernel on one channel only")
    return only_2d(x, w, delta, stride, padding, dilation, groups)


def declares_its_scope(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """Like ``symmetric_padding_only``, but says so up front: never probed outside it."""
    if x.ndim != 4 or groups != 1 or _one(dilation, "dilation") != 1 or isinstance(padding, list):
        raise AssertionError("called outside the scope it declared")
    if w.shape[2] != w.shape[3] or len({padding} if isinstance(padding, int) else set(padding)) != 1:
        raise AssertionError("called outside the scope it declared")
    return symmetric_padding_only(x, w, delta, stride, padding, dilation, groups)


declares_its_scope.convgrad_scope = (
    "2-D, groups 1, no dilation, symmetric padding, one padding for every axis, square kernels"
)


def crashes_outside_2d_int_geometry(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """A course's loop as first written: 2-D, one int stride and padding, groups and
    dilation never read. It refuses nothing: a 1-D case fails to unpack x.shape, a
    per-axis stride (a tuple) fails in the index arithmetic, groups > 1 fails to broadcast."""
    n, c, h, wd = x.shape
    f, _, hh, ww = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(delta.shape[2]):
        for j in range(delta.shape[3]):
            window = xp[:, :, i * stride : i * stride + hh, j * stride : j * stride + ww]
            dw += np.einsum("nf,nchw->fchw", delta[:, :, i, j], window)
            dxp[:, :, i * stride : i * stride + hh, j * stride : j * stride + ww] += np.einsum(
                "nf,fchw->nchw", delta[:, :, i, j], w
            )
    return dxp[:, :, padding : padding + h, padding : padding + wd], dw, delta.sum(axis=(0, 2, 3))
