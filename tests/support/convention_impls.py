"""Backward passes in the conventions real code uses, checked without an adapter:
channels-last arrays (Keras, TensorFlow, NumPy course code), CS231n's
``conv_backward_naive(dout, cache)``, no bias, and a torch ``autograd.Function``
built on ``unfold``/``fold``. Written with NumPy or torch only — no convgrad code."""

import numpy as np

from tests.support.narrow_impls import _conv2d_backward_loops, _pads


def channels_last(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """x (N, H, W, C), w (KH, KW, C, O), δ (N, Ho, Wo, O): 2-D, groups 1, as NumPy course code."""
    if x.ndim != 4 or groups != 1:
        raise NotImplementedError("2-D, groups 1")
    sh, sw = (stride,) * 2 if isinstance(stride, int) else stride
    dh, dw_ = (dilation,) * 2 if isinstance(dilation, int) else dilation
    dx, dw, db = _conv2d_backward_loops(
        x.transpose(0, 3, 1, 2), w.transpose(3, 2, 0, 1), delta.transpose(0, 3, 1, 2), sh, sw, _pads(padding),
        dh, dw_,
    )  # fmt: skip
    return dx.transpose(0, 2, 3, 1), dw.transpose(2, 3, 1, 0), db


def conv_backward_naive(dout, cache):
    """CS231n's assignment: cache = (x, w, b, conv_param) with conv_param {'stride', 'pad'}."""
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    n, c, h, wd = x.shape
    f, _, hh, ww = w.shape
    _, _, h_out, w_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.sum(dout, axis=(0, 2, 3))
    for i in range(n):
        for k in range(f):
            for r in range(h_out):
                for s in range(w_out):
                    h0, w0 = r * stride, s * stride
                    dw[k] += x_pad[i, :, h0 : h0 + hh, w0 : w0 + ww] * dout[i, k, r, s]
                    dx_pad[i, :, h0 : h0 + hh, w0 : w0 + ww] += w[k] * dout[i, k, r, s]
    dx = dx_pad[:, :, pad : pad + h, pad : pad + wd]
    return dx, dw, db


def no_bias(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """A layer without bias: returns (input_grad, weight_grad) only."""
    if x.ndim != 4 or groups != 1:
        raise NotImplementedError("2-D, groups 1")
    sh, sw = (stride,) * 2 if isinstance(stride, int) else stride
    dh, dw_ = (dilation,) * 2 if isinstance(dilation, int) else dilation
    dx, dw, _ = _conv2d_backward_loops(x, w, delta, sh, sw, _pads(padding), dh, dw_)
    return dx, dw


def _unfold_function():
    import torch
    import torch.nn.functional as F

    class Conv2dUnfold(torch.autograd.Function):
        """y = W · unfold(x): forward and backward by hand, with fold for ∂L/∂x."""

        @staticmethod
        def forward(ctx, x, w, b, stride, padding, dilation):
            n, c, h, wd = x.shape
            o, _, kh, kw = w.shape
            cols = F.unfold(x, (kh, kw), dilation=dilation, padding=padding, stride=stride)  # (N, C·kh·kw, L)
            ho = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
            wo = (wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
            y = w.reshape(o, -1) @ cols + b.reshape(1, -1, 1)
            ctx.save_for_backward(cols, w)
            ctx.geometry = (h, wd, stride, padding, dilation)
            return y.reshape(n, o, ho, wo)

        @staticmethod
        def backward(ctx, dy):
            cols, w = ctx.saved_tensors
            h, wd, stride, padding, dilation = ctx.geometry
            o, _, kh, kw = w.shape
            d = dy.reshape(dy.shape[0], o, -1)  # (N, O, L)
            dw = (d @ cols.transpose(1, 2)).sum(0).reshape(w.shape)
            dcols = w.reshape(o, -1).t() @ d
            dx = F.fold(dcols, (h, wd), (kh, kw), dilation=dilation, padding=padding, stride=stride)
            return dx, dw, dy.sum((0, 2, 3)), None, None, None

    return Conv2dUnfold


def torch_unfold(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """A torch autograd.Function on unfold/fold: 2-D, groups 1, symmetric padding (unfold's)."""
    import torch

    if x.ndim != 4 or groups != 1:
        raise NotImplementedError("2-D, groups 1")
    if isinstance(padding, list):
        raise NotImplementedError("unfold pads both sides alike")
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    x, w = x.detach().requires_grad_(), w.detach().requires_grad_()
    b = torch.zeros(w.shape[0], dtype=x.dtype, requires_grad=True)
    y = _unfold_function().apply(x, w, b, pair(stride), pair(padding), pair(dilation))
    y.backward(delta)
    return x.grad, w.grad, b.grad
