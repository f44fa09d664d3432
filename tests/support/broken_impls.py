"""Backward passes for `check --impl`: correct ones, each classic mistake once, and
ones that misbehave. Written with NumPy and the slides' steps only — no convgrad
code — for any rank, groups and batch, in the layout `check` calls with:
x (N, C, *S), w (O, C/g, *k), δ (N, O, *out)."""

import os
import sys
import time

import numpy as np


def _tuple(v, n):
    return (v,) * n if isinstance(v, int) else tuple(v)


def _pairs(padding, n):
    if isinstance(padding, int):
        return [(padding, padding)] * n
    if isinstance(padding[0], (list, tuple)):
        return [tuple(p) for p in padding]
    return [(p, p) for p in padding]


def _dilate(a, stride):
    lead, spatial = a.shape[:2], a.shape[2:]
    out = np.zeros(lead + tuple((m - 1) * s + 1 for m, s in zip(spatial, stride)))
    out[(slice(None), slice(None), *(slice(None, None, s) for s in stride))] = a
    return out


def _pad(a, pads):
    """Zeros before/after each spatial axis; a negative count crops."""
    out = np.pad(a, [(0, 0), (0, 0), *((max(b, 0), max(e, 0)) for b, e in pads)])
    cut = tuple(slice(max(-b, 0), out.shape[2 + i] - max(-e, 0)) for i, (b, e) in enumerate(pads))
    return out[(slice(None), slice(None), *cut)]


def _correlate(a, kernel, dilation, groups):
    """Grouped correlation at stride 1: a (N, C, *P), kernel (O, C/g, *K) → (N, O, *out)."""
    n, c = a.shape[:2]
    o, cg = kernel.shape[:2]
    og = o // groups
    ks = kernel.shape[2:]
    out_size = tuple(p - d * (k - 1) for p, k, d in zip(a.shape[2:], ks, dilation))
    out = np.zeros((n, o, *out_size), dtype=a.dtype)
    for tap in np.ndindex(*ks):
        window = (
            slice(None),
            slice(None),
            *(slice(t * d, t * d + m) for t, d, m in zip(tap, dilation, out_size)),
        )
        part = a[window].reshape(n, groups, cg, *out_size)
        weights = kernel[(slice(None), slice(None), *tap)].reshape(groups, og, cg)
        out += np.einsum("goc,ngc...->ngo...", weights, part).reshape(out.shape)
    return out


def _fit(a, size):
    """Cut, or fill with zeros, at the end of each spatial axis."""
    return _pad(a, [(0, m - n) for n, m in zip(a.shape[2:], size)])


def backward(
    x,
    w,
    delta,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    *,
    flip="all",
    swap=True,
    dilate=True,
    pad_shift=0,
    output_padding=True,
    swap_stride_dilation=False,
    ignore_groups=False,
    bias="sum",
    kernel_dilated=True,
    precision=np.float64,
):
    """The slides' pipeline for ∂L/∂x, the definition for ∂L/∂W; each switch one mistake."""
    x, w, delta = (np.asarray(a, dtype=precision) for a in (x, w, delta))
    nd = x.ndim - 2
    s, d, pads = _tuple(stride, nd), _tuple(dilation, nd), _pairs(padding, nd)
    ks, size = w.shape[2:], x.shape[2:]
    extent = [di * (k - 1) + 1 for k, di in zip(ks, d)]
    uncovered = [(n + b + a - e) % si for n, (b, a), e, si in zip(size, pads, extent, s)]
    cg, og = w.shape[1], w.shape[0] // groups

    kernel = w
    if flip == "all":
        kernel = kernel[(slice(None), slice(None), *([slice(None, None, -1)] * nd))]
    elif flip != "none":
        kernel = np.flip(kernel, axis=2 + flip)
    if ignore_groups:  # every output channel reads every input channel, W[o, c mod C/g]
        every = np.concatenate([kernel] * groups, axis=1)
        kernel, kernel_groups = every.swapaxes(0, 1), 1
    elif swap:
        kernel = kernel.reshape(groups, og, cg, *ks).swapaxes(1, 2).reshape(groups * cg, og, *ks)
        kernel_groups = groups
    else:
        kernel_groups = groups  # W's (out, in) order kept: only sized right when C/g = O/g
    sd, kd = (d, s) if swap_stride_dilation else (s, d)
    if not kernel_dilated:  # the flipped kernel's taps side by side, δ padded for that compact kernel
        kd = (1,) * nd
    spread = _dilate(delta, sd) if dilate else delta
    around = [
        (kdi * (k - 1) - b + shift, kdi * (k - 1) - a + (u if output_padding else 0) + shift)
        for kdi, k, (b, a), u, shift in zip(kd, ks, pads, uncovered, (pad_shift * any(p) for p in pads))
    ]
    dx = _correlate(_pad(spread, around), np.ascontiguousarray(kernel), kd, kernel_groups)
    if output_padding:
        dx = _fit(dx, size)

    xp = _pad(x, pads)
    dw = np.zeros(w.shape, dtype=precision)
    out = delta.shape[2:]
    for tap in np.ndindex(*ks):
        window = (
            slice(None),
            slice(None),
            *(slice(t * di, t * di + (m - 1) * si + 1, si) for t, di, m, si in zip(tap, d, out, s)),
        )
        seen = xp[window]
        for o in range(w.shape[0]):
            first = 0 if ignore_groups else (o // og) * cg
            products = seen[:, first : first + cg] * delta[:, o][:, None]
            dw[(o, slice(None), *tap)] = products.sum(axis=(0, *range(2, products.ndim)))
    axes = (0, *range(2, delta.ndim))
    db = delta.sum(axis=axes) if bias == "sum" else delta.mean(axis=axes)
    return dx.astype(np.float64), dw.astype(np.float64), db.astype(np.float64)


# -- correct -------------------------------------------------------------------------------------------


def correct(x, w, delta, **kw):
    """convgrad's own backward, through its public API."""
    import convgrad_cli

    fn = {3: convgrad_cli.conv1d_backward, 4: convgrad_cli.conv2d_backward, 5: convgrad_cli.conv3d_backward}[
        np.ndim(x)
    ]
    return fn(x, w, delta, **kw)


def pipeline(x, w, delta, **kw):
    """The slides' pipeline, written here."""
    return backward(x, w, delta, **kw)


def given_rank_2d(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """A 2-D, single-channel backward that takes the arrays in the rank a config gives
    them (H, W): checked with --layout given."""
    dx, dw, db = backward(
        x[None, None],
        w[None, None],
        delta[None, None],
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
    )
    return dx[0, 0], dw[0, 0], db


# -- one classic mistake each, named by its catalogue id -------------------------------------------------


def kernel_not_flipped(x, w, delta, **kw):
    return backward(x, w, delta, flip="none", **kw)


def kernel_flipped_one_axis(x, w, delta, **kw):
    return backward(x, w, delta, flip=0, **kw)


def delta_not_dilated(x, w, delta, **kw):
    return backward(x, w, delta, dilate=False, **kw)


def padding_off_by_one(x, w, delta, **kw):
    return backward(x, w, delta, pad_shift=1, **kw)


def output_padding_missing(x, w, delta, **kw):
    return backward(x, w, delta, output_padding=False, **kw)


def stride_dilation_swapped(x, w, delta, **kw):
    return backward(x, w, delta, swap_stride_dilation=True, **kw)


def kernel_not_dilated(x, w, delta, **kw):
    return backward(x, w, delta, kernel_dilated=False, **kw)


def groups_ignored(x, w, delta, **kw):
    return backward(x, w, delta, ignore_groups=True, **kw)


def channel_axes_not_swapped(x, w, delta, **kw):
    return backward(x, w, delta, swap=False, **kw)


def bias_averaged(x, w, delta, **kw):
    return backward(x, w, delta, bias="mean", **kw)


def low_precision_accumulation(x, w, delta, **kw):
    return backward(x, w, delta, precision=np.float32, **kw)


def scatter_without_dilation(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """The same mistake as a hand-written 2-D loop makes it: each w·δ added where its
    tap would land without dilation, in the padded input, then the padding cut."""
    if x.ndim != 4:
        raise NotImplementedError("2-D only")
    s, pads = _tuple(stride, 2), _pairs(padding, 2)
    _, dw, db = backward(x, w, delta, stride=stride, padding=padding, dilation=dilation, groups=groups)
    xp = np.zeros((x.shape[0], x.shape[1], *(n + b + a for n, (b, a) in zip(x.shape[2:], pads))))
    o_per_group, cg = w.shape[0] // groups, w.shape[1]
    for n, o, i, j in np.ndindex(*delta.shape):
        first = o // o_per_group * cg
        for c, a, b in np.ndindex(cg, *w.shape[2:]):
            r, q = i * s[0] + a, j * s[1] + b  # should be a·d and b·d
            if r < xp.shape[2] and q < xp.shape[3]:
                xp[n, first + c, r, q] += w[o, c, a, b] * delta[n, o, i, j]
    (top, _), (left, _) = pads
    return xp[:, :, top : top + x.shape[2], left : left + x.shape[3]], dw, db


def loop_without_stride(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """A student's 2-D loop over the output positions that steps its windows by 1: window
    (i, j) read at x[i : i + kh] instead of x[i·s : i·s + kh], in ∂L/∂x and ∂L/∂W alike."""
    if x.ndim != 4 or groups != 1 or max(_tuple(dilation, 2)) > 1:
        raise NotImplementedError("2-D, groups 1, no dilation")
    pads = _pairs(padding, 2)
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), *pads))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i, j in np.ndindex(*delta.shape[2:]):
        dw += np.einsum("no,nchw->ochw", delta[:, :, i, j], xp[:, :, i : i + kh, j : j + kw])
        dxp[:, :, i : i + kh, j : j + kw] += np.einsum("no,ochw->nchw", delta[:, :, i, j], w)
    (top, _), (left, _) = pads
    return dxp[:, :, top : top + x.shape[2], left : left + x.shape[3]], dw, delta.sum(axis=(0, 2, 3))


MISTAKES = [
    "kernel_not_flipped",
    "kernel_flipped_one_axis",
    "delta_not_dilated",
    "padding_off_by_one",
    "output_padding_missing",
    "stride_dilation_swapped",
    "kernel_not_dilated",
    "groups_ignored",
    "channel_axes_not_swapped",
    "bias_averaged",
    "low_precision_accumulation",
    "kernel_assumed_square",
    "last_window_dropped",
    "stride_assumed_to_divide",
    "padding_crop_empty",
    "padding_cropped_wrong_axes",
    "padding_not_cropped",
    "delta_reshaped_not_transposed",
    "stride_dilation_dropped",
]


# -- ones that misbehave ---------------------------------------------------------------------------------


def raises(x, w, delta, **kw):
    raise RuntimeError("not implemented yet")


def only_2d(x, w, delta, **kw):
    if np.ndim(x) != 4:
        raise NotImplementedError("2-D only")
    return correct(x, w, delta, **kw)


def exits(x, w, delta, **kw):
    sys.exit(3)


def ends_the_process(x, w, delta, **kw):
    os._exit(7)


def prints(x, w, delta, **kw):
    print("debugging output on stdout")
    return correct(x, w, delta, **kw)


def hangs(x, w, delta, **kw):
    time.sleep(3600)


def returns_nan(x, w, delta, **kw):
    dx, dw, db = correct(x, w, delta, **kw)
    dx = dx.copy()
    dx.flat[0] = np.nan
    return dx, dw, db


def transposed(x, w, delta, **kw):
    dx, dw, db = correct(x, w, delta, **kw)
    return np.swapaxes(dx, -1, -2), dw, db


def complex_result(x, w, delta, **kw):
    dx, dw, db = correct(x, w, delta, **kw)
    return dx.astype(complex), dw, db


def returns_none(x, w, delta, **kw):
    return None, None, None


def integers(x, w, delta, **kw):
    dx, dw, db = correct(x, w, delta, **kw)
    return dx.astype(int), dw, db


def generator_exit(x, w, delta, **kw):
    raise GeneratorExit


# -- bugs of real code (2-D loops, tests/support/real_bugs.py) --------------------------------------------

# loaded as a file of its own folder (an --impl in check's child): make `tests` importable
if not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.support.real_bugs import (  # noqa: E402 — listed here so that every catalogue id has one
    delta_reshaped_not_transposed,
    kernel_assumed_square,
    last_window_dropped,
    padding_crop_empty,
    padding_cropped_wrong_axes,
    padding_not_cropped,
    stride_assumed_to_divide,
    stride_dilation_dropped,
)

__all__ = [
    "kernel_assumed_square", "last_window_dropped", "padding_crop_empty", "padding_cropped_wrong_axes",
    "padding_not_cropped", "stride_assumed_to_divide", "delta_reshaped_not_transposed", "stride_dilation_dropped",
]  # fmt: skip
