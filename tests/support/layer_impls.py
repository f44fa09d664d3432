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


def maxpool_every_tie(x, delta, kernel_size, stride, padding, dilation, ceil_mode):
    """δ to every cell that equals its window's maximum, where PyTorch picks the first."""
    dx = np.zeros_like(x)
    for n, c in itertools.product(*map(range, x.shape[:2])):
        for o, cells in _windows(x, kernel_size, stride, padding, dilation, ceil_mode):
            top = max(x[(n, c, *cell)] for cell in cells)
            for cell in cells:
                if x[(n, c, *cell)] == top:
                    dx[(n, c, *cell)] += delta[(n, c, *o)]
    return dx


def maxpool_every_cell_undilated(x, delta, kernel_size, stride, padding, dilation, ceil_mode):
    """maxpool_every_cell, written for dilation 1 only: it raises on any other."""
    if any(d != 1 for d in (dilation if isinstance(dilation, tuple) else (dilation,))):
        raise ValueError("dilation is not handled")
    return maxpool_every_cell(x, delta, kernel_size, stride, padding, dilation, ceil_mode)


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


# -- PyTorch's autograd as the backward of each kind, in the dtype and framework it is given --------


def _as_torch(a):
    import torch

    return a.detach().clone() if isinstance(a, torch.Tensor) else torch.from_numpy(np.array(a))


def _autograd(kind, x, delta, w=None, **kw):
    """∂L/∂x (and ∂L/∂W) of L = ⟨f(x), δ⟩ by torch.autograd, computed in x's own dtype."""
    import torch

    F = torch.nn.functional
    tx = _as_torch(x).requires_grad_(True)
    nd = tx.ndim - 2
    if kind == "maxpool":
        y = getattr(F, f"max_pool{nd}d")(tx, kw["kernel_size"], kw["stride"], kw["padding"], kw["dilation"],
                                         kw["ceil_mode"])  # fmt: skip
    elif kind == "avgpool":
        y = _avg_pool(tx, **kw)
    elif kind == "relu":
        y = torch.relu(tx)
    else:
        tw = _as_torch(w).requires_grad_(True)
        y = getattr(F, f"conv_transpose{nd}d")(tx, tw, None, kw["stride"], kw["padding"], kw["output_padding"],
                                               kw["groups"], kw["dilation"])  # fmt: skip
    y.backward(_as_torch(delta).to(y.dtype))
    grads = (tx.grad,) if w is None else (tx.grad, tw.grad)
    if not isinstance(x, torch.Tensor):
        grads = tuple(g.numpy() for g in grads)
    return grads[0] if w is None else grads


def _avg_pool(tx, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """avg_pool1d takes no divisor_override: a 1-D pool as a 2-D one of height 1."""
    import torch.nn.functional as F

    if tx.ndim == 3:
        one = lambda v: (1, v if isinstance(v, int) else v[0])  # noqa: E731
        y = F.avg_pool2d(tx.unsqueeze(2), one(kernel_size), one(stride), (0, one(padding)[1]), ceil_mode,
                         count_include_pad, divisor_override)  # fmt: skip
        return y.squeeze(2)
    return getattr(F, f"avg_pool{tx.ndim - 2}d")(tx, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                                 divisor_override)  # fmt: skip


def maxpool_autograd(x, delta, **kw):
    return _autograd("maxpool", x, delta, **kw)


def avgpool_autograd(x, delta, **kw):
    return _autograd("avgpool", x, delta, **kw)


def relu_autograd(x, delta):
    return _autograd("relu", x, delta)


def conv_transpose_autograd(x, w, delta, **kw):
    return _autograd("conv_transpose", x, delta, w, **kw)


def _torch_only(fn):
    def checked(x, *args, **kw):
        import torch

        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
        return fn(x, *args, **kw)

    return checked


def _float32_only(fn):
    def checked(x, *args, **kw):
        if np.asarray(x).dtype != np.float32:
            raise TypeError(f"expected float32, got {np.asarray(x).dtype}")
        return fn(x, *args, **kw)

    return checked


def _in_float16(fn):
    """The backward computed in float16 and handed back in the dtype it was given: too coarse for float32."""

    def coarse(*args, **kw):
        given = np.asarray(args[0]).dtype
        out = fn(*(np.asarray(a).astype(np.float16).astype(np.float32) for a in args), **kw)
        return out.astype(np.float16).astype(given)

    return coarse


maxpool_torch_only = _torch_only(maxpool_autograd)
avgpool_torch_only = _torch_only(avgpool_autograd)
relu_torch_only = _torch_only(relu_autograd)
conv_transpose_torch_only = _torch_only(conv_transpose_autograd)
maxpool_float32_only = _float32_only(maxpool_autograd)
avgpool_float32_only = _float32_only(avgpool_autograd)
relu_float32_only = _float32_only(relu_autograd)
conv_transpose_float32_only = _float32_only(conv_transpose_autograd)
avgpool_in_float16 = _in_float16(avgpool_autograd)
