"""Forward passes for `check --forward`: correct ones written three ways (a loop
over windows for any rank, a 2-D im2col, torch's), real course code's conventions,
and each forward mistake found in public code, made once. NumPy (or torch) only —
no convgrad code. Called as f(x, w, bias=None, stride=…, padding=…, dilation=…, groups=…)
with x (N, C, *S), w (O, C/g, *k); each returns y (N, O, *out)."""

import numpy as np


def _tuple(v, n):
    return (v,) * n if isinstance(v, int) else tuple(v)


def _pairs(padding, n):
    if isinstance(padding, int):
        return [(padding, padding)] * n
    if isinstance(padding[0], (list, tuple)):
        return [tuple(p) for p in padding]
    return [(p, p) for p in padding]


def loops(
    x, w, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
    flip=False, add_bias=True, pad_one_side=False, dilate=True, step_taps=False, all_groups=True,
):  # fmt: skip
    """y by a loop over output positions, any rank; each keyword but the geometry's makes one mistake:
    ``flip`` a true convolution; ``add_bias=False`` no bias; ``pad_one_side`` every axis's padding
    before the input; ``dilate=False`` taps side by side; ``step_taps`` the stride on the taps;
    ``all_groups=False`` every output channel reads the first group."""
    nd = x.ndim - 2
    s, d, pads = _tuple(stride, nd), _tuple(dilation, nd), _pairs(padding, nd)
    if pad_one_side:
        pads = [(b + a, 0) for b, a in pads]
    k = w.shape[2:]
    if flip:
        w = w[(Ellipsis,) + (slice(None, None, -1),) * nd]
    xp = np.pad(x, [(0, 0), (0, 0), *pads])
    span = [di * (ki - 1) + 1 for ki, di in zip(k, d)]  # the output sized right, whatever the taps do
    sizes = [(n + b + a - e) // si + 1 for n, (b, a), e, si in zip(x.shape[2:], pads, span, s)]
    n, o = x.shape[0], w.shape[0]
    cg, og = w.shape[1], o // groups
    y = np.zeros((n, o, *sizes))
    for p in np.ndindex(*sizes):
        if step_taps:  # x[p·d + k·s]: the stride moves the taps, the dilation the windows
            cut = tuple(slice(pi * di, pi * di + si * (ki - 1) + 1, si) for pi, di, si, ki in zip(p, d, s, k))
        else:
            cut = tuple(
                slice(pi * si, pi * si + (di if dilate else 1) * (ki - 1) + 1, di if dilate else 1)
                for pi, si, di, ki in zip(p, s, d, k)
            )
        for g in range(groups):
            first = g * cg if all_groups else 0
            window = xp[(slice(None), slice(first, first + cg)) + cut]  # (N, C/g, *k)
            kernel = w[g * og : (g + 1) * og]  # (O/g, C/g, *k)
            y[(slice(None), slice(g * og, (g + 1) * og)) + p] = np.tensordot(
                window, kernel, axes=(list(range(1, nd + 2)), list(range(1, nd + 2)))
            )
    if bias is not None and add_bias:
        y += bias.reshape(1, -1, *([1] * nd))
    return y


def correct(x, w, bias=None, **kw):
    return loops(x, w, bias, **kw)


def _im2col_2d(xp, kh, kw, sh, sw, dh, dw, ho, wo):
    """(N, C·kh·kw, ho·wo): each window's taps as a column, as course im2col code builds it."""
    n, c = xp.shape[:2]
    cols = np.empty((n, c, kh, kw, ho, wo))
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[
                :, :, i * dh : i * dh + sh * (ho - 1) + 1 : sh, j * dw : j * dw + sw * (wo - 1) + 1 : sw
            ]
    return cols.reshape(n, c * kh * kw, ho * wo)


def im2col(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D, groups 1: y = W · im2col(x), as NumPy course code computes it."""
    if x.ndim != 4 or groups != 1:
        raise NotImplementedError("2-D, groups 1")
    (sh, sw), (dh, dw) = _tuple(stride, 2), _tuple(dilation, 2)
    (top, bottom), (left, right) = _pairs(padding, 2)
    f, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    y = (w.reshape(f, -1) @ _im2col_2d(xp, kh, kw, sh, sw, dh, dw, ho, wo)).reshape(x.shape[0], f, ho, wo)
    return y if bias is None else y + bias.reshape(1, -1, 1, 1)


def torch_forward(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """torch.nn.functional.conv{1,2,3}d on NumPy arrays; asymmetric padding by F.pad first."""
    import torch
    import torch.nn.functional as F

    nd = x.ndim - 2
    t = lambda a: None if a is None else torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    xt = t(x)
    pads = _pairs(padding, nd)
    xt = F.pad(xt, [v for pair in reversed(pads) for v in pair])
    conv = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    return conv(xt, t(w), t(bias), stride=stride, dilation=dilation, groups=groups).numpy()


def conv_forward_naive(x, w, b, conv_param):
    """CS231n's assignment: (out, cache), one stride and one pad."""
    stride, pad = conv_param["stride"], conv_param["pad"]
    n, _, h, wd = x.shape
    f, _, hh, ww = w.shape
    h_out, w_out = 1 + (h + 2 * pad - hh) // stride, 1 + (wd + 2 * pad - ww) // stride
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((n, f, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            window = xp[:, :, i * stride : i * stride + hh, j * stride : j * stride + ww]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, conv_param)


def refuses_everything(x, w, bias=None, **kw):
    raise NotImplementedError("work in progress")


# -- the forward mistakes of real code, each once --------------------------------------------------


def forward_kernel_flipped(x, w, bias=None, **kw):
    """scipy.signal.convolve in a layer: a true convolution, the kernel rotated by 180°."""
    return loops(x, w, bias, flip=True, **kw)


def forward_bias_missing(x, w, bias=None, **kw):
    return loops(x, w, bias, add_bias=False, **kw)


def forward_padding_one_side(x, w, bias=None, **kw):
    """np.pad(x, (0, 2p))-style: the whole padding put before the input."""
    return loops(x, w, bias, pad_one_side=True, **kw)


def forward_dilation_ignored(x, w, bias=None, **kw):
    """The output sized for the dilated kernel, its taps read side by side."""
    return loops(x, w, bias, dilate=False, **kw)


def forward_stride_on_kernel(x, w, bias=None, **kw):
    return loops(x, w, bias, step_taps=True, **kw)


def forward_groups_ignored(x, w, bias=None, **kw):
    """for c in range(w.shape[1]): every output channel reads x[:, c], the first group's channels."""
    return loops(x, w, bias, all_groups=False, **kw)


def forward_output_size_off_by_one(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """out_h = (H + 2·pad − FH) / stride, its + 1 lost, then im2col (2-D, groups 1, no dilation)."""
    if x.ndim != 4 or groups != 1 or _tuple(dilation, 2) != (1, 1):
        raise NotImplementedError("2-D, groups 1, no dilation")
    (sh, sw), ((top, bottom), (left, right)) = _tuple(stride, 2), _pairs(padding, 2)
    f, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    ho, wo = (xp.shape[2] - kh) // sh, (xp.shape[3] - kw) // sw  # the mistake: no + 1
    y = (w.reshape(f, -1) @ _im2col_2d(xp, kh, kw, sh, sw, 1, 1, ho, wo)).reshape(x.shape[0], f, ho, wo)
    return y if bias is None else y + bias.reshape(1, -1, 1, 1)


def forward_padding_ignored(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """A layer that takes padding= and never pads."""
    return loops(x, w, bias, stride=stride, padding=0, dilation=dilation, groups=groups)


def kernel_assumed_square(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """A 2-D loop with kw = kh, as code written for square kernels has."""
    if x.ndim != 4 or groups != 1:
        raise NotImplementedError("2-D, groups 1")
    (sh, sw), (dh, dw), ((top, bottom), (left, right)) = (
        _tuple(stride, 2),
        _tuple(dilation, 2),
        _pairs(padding, 2),
    )
    kh = w.shape[2]
    kw = kh  # the mistake
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    wo = (xp.shape[3] - dw * (w.shape[3] - 1) - 1) // sw + 1
    y = np.zeros((x.shape[0], w.shape[0], ho, wo))
    for i in range(ho):
        for j in range(wo):
            for a in range(kh):
                for c in range(kw):
                    y[:, :, i, j] += xp[:, :, i * sh + a * dh, j * sw + c * dw] @ w[:, :, a, c].T
    return y if bias is None else y + bias.reshape(1, -1, 1, 1)


def last_window_dropped(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Windows from range(0, Hp − extent, s): the last row and column never written (2-D, groups 1)."""
    if x.ndim != 4 or groups != 1:
        raise NotImplementedError("2-D, groups 1")
    (sh, sw), (dh, dw), ((top, bottom), (left, right)) = (
        _tuple(stride, 2),
        _tuple(dilation, 2),
        _pairs(padding, 2),
    )
    f, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    ho, wo = (xp.shape[2] - eh) // sh + 1, (xp.shape[3] - ew) // sw + 1
    y = np.zeros((x.shape[0], f, ho, wo))
    for r in range(0, xp.shape[2] - eh, sh):
        for c in range(0, xp.shape[3] - ew, sw):
            window = xp[:, :, r : r + eh : dh, c : c + ew : dw]
            y[:, :, r // sh, c // sw] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))
            if bias is not None:
                y[:, :, r // sh, c // sw] += bias
    return y


def stride_assumed_to_divide(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """CS231n's fast layer: asserts the stride tiles the padded input (2-D, groups 1, no dilation)."""
    if x.ndim != 4 or groups != 1 or _tuple(dilation, 2) != (1, 1):
        raise NotImplementedError("2-D, groups 1, no dilation")
    (sh, sw), ((top, bottom), (left, right)) = _tuple(stride, 2), _pairs(padding, 2)
    assert (x.shape[2] + top + bottom - w.shape[2]) % sh == 0, "height does not work"
    assert (x.shape[3] + left + right - w.shape[3]) % sw == 0, "width does not work"
    return im2col(x, w, bias, stride, padding, dilation, groups)


#: Each forward mistake and the implementation that makes it.
FORWARD_MISTAKES = {
    name: globals()[name]
    for name in (
        "forward_kernel_flipped", "forward_bias_missing", "forward_padding_one_side", "forward_dilation_ignored",
        "forward_stride_on_kernel", "forward_groups_ignored", "forward_output_size_off_by_one",
        "forward_padding_ignored", "kernel_assumed_square", "last_window_dropped", "stride_assumed_to_divide",
    )
}  # fmt: skip


def channels_last(x, w, bias=None, **kw):
    """x (N, *S, C), w (*k, C/g, O) → y (N, *out, O), as Keras lays them out."""
    nd = x.ndim - 2
    y = loops(np.moveaxis(x, -1, 1), np.moveaxis(w, (nd, nd + 1), (1, 0)), bias, **kw)
    return np.moveaxis(y, 1, -1)
