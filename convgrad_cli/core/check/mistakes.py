"""The classic mistakes of a convolution's backward pass, computed on a case, so
that a failure can be named: the user's gradient is held against each, and the
share of its entries each one explains says which it looks like.

Each mistake is the slides' pipeline — dilate δ, pad it, correlate with the
flipped kernel — with one step done wrong; a result of the wrong size is fitted
to the input (cut, or zeros added, at the end). ``docs/check.md`` lists them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from convgrad_cli.core import rules
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.ops import dilate, flip_kernel, pad, rot180

from .tolerance import Tolerance

#: Every mistake's id and what it is, in the order reports list them.
CATALOGUE = {
    "kernel_not_flipped": "∂L/∂x meets each δ entry with the kernel's taps in mirrored order (tap k − 1 − i "
    "where tap i belongs): a correlation of the padded δ with W not rotated by 180°, or a loop that scatters "
    "δ through W rotated",
    "kernel_flipped_one_axis": "the kernel is flipped along one spatial axis only",
    "delta_not_dilated": "the stride is left out where δ meets the windows: δ padded (or, for ∂L/∂W, "
    "correlated with x) without stride − 1 zeros between its entries, or a loop that puts window i at i "
    "instead of i·stride (stride > 1)",
    "padding_off_by_one": "the layer's padding p is taken as p ± 1 when δ is padded (d·(k−1) − p zeros on "
    "each side): one zero too few, or too many (padding > 0)",
    "output_padding_missing": "the uncovered rows/columns at the end are left out (uneven coverage)",
    "stride_dilation_swapped": "δ is dilated by the dilation and the kernel by the stride",
    "kernel_not_dilated": "the flipped kernel's taps sit side by side, without dilation − 1 holes (dilation > 1)",
    "groups_ignored": "every output channel is taken to read every input channel (groups > 1)",
    "channel_axes_not_swapped": "the flipped kernel keeps W's (out, in) channel order instead of (in, out)",
    "bias_averaged": "∂L/∂bias is the mean of δ instead of its sum",
    "low_precision_accumulation": "the sums run in a lower precision than the dtype checked",
    "kernel_assumed_square": "the kernel's width is taken from its height (kw = kh): the taps past the first "
    "kh columns are left out",
    "last_window_dropped": "the last window along an axis is left out (a loop bound one short, as in "
    "range(0, H − k, s))",
    "stride_assumed_to_divide": "the stride is assumed to divide the padded input: an assertion or an index "
    "past the end where it does not",
    "padding_crop_empty": "∂L/∂x is cropped as [p:-p], which is empty when p = 0",
    "padding_cropped_wrong_axes": "the padding is cropped off the batch and channel axes instead of the "
    "spatial ones",
    "padding_not_cropped": "∂L/∂x keeps the padded size: the padding is not cropped off",
    "delta_reshaped_not_transposed": "δ (N, O, …) is flattened as δ.reshape(O, −1), without moving its batch "
    "axis behind the channels first: samples and channels mixed (batch > 1)",
    "stride_dilation_dropped": "the gradients are computed by calls at their defaults — conv_transpose(δ, W), "
    "conv(xᵀ, δᵀ) — the forward's stride and dilation not passed (named from the shape)",
    # the forward's (--forward); kernel_assumed_square and last_window_dropped are named there too
    "forward_kernel_flipped": "y is a true convolution, the kernel rotated by 180°, where a layer computes a "
    "cross-correlation (W as it is)",
    "forward_bias_missing": "the bias is not added to y",
    "forward_padding_one_side": "all of an axis's padding is put on one side of the input instead of "
    "before and after it",
    "forward_dilation_ignored": "the kernel's taps are read side by side, without dilation − 1 cells between "
    "them (dilation > 1)",
    "forward_stride_on_kernel": "the stride steps the kernel's taps (x[p·d + k·s]) instead of the windows "
    "(x[p·s + k·d])",
    "forward_groups_ignored": "every output channel reads the first group's input channels (groups > 1)",
    "forward_output_size_off_by_one": "y has one row or column too few or too many: (H + 2p − d·(k−1) − 1)/s "
    "+ 1 computed with a + 1 lost or added, or rounded up",
    "forward_padding_ignored": "y has the size of an unpadded convolution: the padding is not applied",
}
#: Mistakes named from what an implementation raises or returns, not from its numbers.
SHAPE_MISTAKES = ("stride_assumed_to_divide", "padding_crop_empty", "padding_cropped_wrong_axes",
                  "padding_not_cropped", "stride_dilation_dropped")  # fmt: skip
#: The forward's mistakes (the ids ``check --forward`` can name, besides the two it shares).
FORWARD_MISTAKES = tuple(m for m in CATALOGUE if m.startswith("forward_")) + (
    "kernel_assumed_square", "last_window_dropped", "stride_assumed_to_divide",
)  # fmt: skip


def _padded(g: Geometry) -> bool:
    return any(any(p) for p in g.padding)


#: Mistakes that can only be made on some geometries: never suggested elsewhere, whatever share of
#: a case's entries they happen to give (a padding mistake on a layer without padding confuses).
APPLIES = {
    "padding_off_by_one": _padded,
    "forward_padding_one_side": _padded,
    "forward_padding_ignored": _padded,
    "delta_not_dilated": lambda g: max(g.stride) > 1,
    "output_padding_missing": lambda g: any(g.uncovered),
    "kernel_not_dilated": lambda g: max(g.dilation) > 1,
    "forward_dilation_ignored": lambda g: max(g.dilation) > 1,
    "groups_ignored": lambda g: g.groups > 1,
    "forward_groups_ignored": lambda g: g.groups > 1,
    "kernel_assumed_square": lambda g: len(set(g.kernel_size)) > 1,
    "delta_reshaped_not_transposed": lambda g: g.batch > 1 and g.out_channels > 1,
}


@dataclass(frozen=True)
class Diagnosis:
    mistake: str
    explains: float  # the share of the quantity's entries the mistake gives


Gradients = dict[str, np.ndarray]


def _fit(a: np.ndarray, size: tuple[int, ...], at_end: bool = False) -> np.ndarray:
    """``a``'s spatial axes cut, or filled with zeros, to ``size`` — at the end, or
    (``at_end``) at the start so that ``a`` ends where the input does."""
    pads = []
    for n, m in zip(a.shape[2:], size):
        pads.append((m - n, 0) if at_end else (0, m - n))
    return pad(a, tuple(pads))


def _pipeline(
    g: Geometry, kernel: np.ndarray, delta: np.ndarray, stride: tuple[int, ...], pads: tuple[tuple[int, int], ...],
    dilation: tuple[int, ...], groups: int, at_end: bool = False,
) -> np.ndarray:  # fmt: skip
    """correlate(pad(dilate(δ, stride), pads), kernel) with the kernel dilated by ``dilation``, fitted."""
    dilated = dilate(delta, stride)
    sizes = tuple(n + b + a for n, (b, a) in zip(dilated.shape[2:], pads))
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel.shape[2:], dilation))
    if any(p < e for p, e in zip(sizes, extent)):  # an empty correlation, fitted: zeros
        return np.zeros((delta.shape[0], kernel.shape[0], *g.in_size))
    out = rules.correlate_flipped(pad(dilated, pads), kernel, dilation, groups)
    return _fit(out, g.in_size, at_end)


def _swap(w: np.ndarray, groups: int) -> np.ndarray:
    """W's in/out channel axes swapped within each group, not rotated."""
    out_ch, cg = w.shape[:2]
    og = out_ch // groups
    return w.reshape(groups, og, cg, *w.shape[2:]).swapaxes(1, 2).reshape(groups * cg, og, *w.shape[2:])


def _input_grads(g: Geometry, w: np.ndarray, delta: np.ndarray) -> Iterator[tuple[str, np.ndarray | None]]:
    """The input gradient of each mistake that touches it (several variants may share an id)."""
    pads, s, d, gr = g.delta_padding, g.stride, g.dilation, g.groups
    yield "kernel_not_flipped", _pipeline(g, _swap(w, gr), delta, s, pads, d, gr)
    if g.ndim > 1:
        for axis in range(g.ndim):
            reverse = [slice(None)] * w.ndim
            reverse[2 + axis] = slice(None, None, -1)
            yield "kernel_flipped_one_axis", _pipeline(g, _swap(w[tuple(reverse)], gr), delta, s, pads, d, gr)
    flipped = flip_kernel(w, gr)
    if any(v > 1 for v in s):
        yield "delta_not_dilated", _pipeline(g, flipped, delta, (1,) * g.ndim, pads, d, gr)
        # or a loop that puts window i at i: each w·δ lands up to the input's end
        ends = tuple(
            (di * (k - 1) - b, di * (k - 1) + n)
            for k, di, (b, _), n in zip(g.kernel_size, d, g.padding, g.in_size)
        )
        yield "delta_not_dilated", _pipeline(g, flipped, delta, (1,) * g.ndim, ends, d, gr)
    for shift in (1, -1):  # p ∓ 1 on each padded axis: one zero more, or fewer, on each side of δ
        shifted = tuple((b + shift, a + shift) if any(p) else (b, a) for (b, a), p in zip(pads, g.padding))
        yield "padding_off_by_one", _pipeline(g, flipped, delta, s, shifted, d, gr)
    if any(g.uncovered):
        short = tuple((b, a - u) for (b, a), u in zip(pads, g.uncovered))
        yield "output_padding_missing", _pipeline(g, flipped, delta, s, short, d, gr, at_end=True)
    if s != d:
        swapped = tuple(
            (si * (k - 1) - b, si * (k - 1) - a + u)
            for si, k, (b, a), u in zip(s, g.kernel_size, g.padding, g.uncovered)
        )
        yield "stride_dilation_swapped", _pipeline(g, flipped, delta, d, swapped, s, gr)
    if any(v > 1 for v in d):
        one = (1,) * g.ndim
        compact = tuple(
            (k - 1 - b, k - 1 - a + u) for k, (b, a), u in zip(g.kernel_size, g.padding, g.uncovered)
        )
        yield "kernel_not_dilated", _pipeline(g, flipped, delta, s, compact, one, gr)
        # or each w·δ added where its compact tap lands, up to the input's end (a loop that scatters)
        scattered = tuple((k - 1 - b, k - 1 + n) for k, (b, _), n in zip(g.kernel_size, g.padding, g.in_size))
        yield "kernel_not_dilated", _pipeline(g, flipped, delta, s, scattered, one, gr)
        yield "kernel_not_dilated", _pipeline(g, flipped, delta, s, pads, one, gr)  # δ padded for the holes
    cg, og = g.in_channels // gr, g.out_channels // gr
    if gr > 1:
        every = np.concatenate([w] * gr, axis=1)  # (O, C, k): W[o, c mod C/g] for every channel
        yield "groups_ignored", _pipeline(g, flip_kernel(every, 1), delta, s, pads, d, 1)
    if cg == og and g.out_channels > 1:
        yield (
            "channel_axes_not_swapped",
            _pipeline(g, np.ascontiguousarray(rot180(w, g.ndim)), delta, s, pads, d, gr),
        )


def _square(g: Geometry, w: np.ndarray) -> np.ndarray | None:
    """W with the taps a loop sized by the first axis (kw = kh) never reaches set to 0;
    ``None`` when every axis is as wide as the first or narrower (then the loop raises)."""
    k0 = g.kernel_size[0]
    if not any(k > k0 for k in g.kernel_size[1:]):
        return None
    masked = w.copy()
    for axis in range(1, g.ndim):
        cut = [slice(None)] * w.ndim
        cut[2 + axis] = slice(k0, None)
        masked[tuple(cut)] = 0
    return masked


def _last_dropped(delta: np.ndarray) -> Iterator[np.ndarray]:
    """δ with its last window along each spatial axis (and along all) set to 0."""
    every = delta.copy()
    for axis in range(2, delta.ndim):
        one = delta.copy()
        one[(slice(None),) * axis + (-1,)] = 0
        every[(slice(None),) * axis + (-1,)] = 0
        yield one
    if delta.ndim > 3:
        yield every


def _real_code_input_grads(
    g: Geometry, w: np.ndarray, delta: np.ndarray
) -> Iterator[tuple[str, np.ndarray | None]]:
    """Mistakes found in public course and library code."""
    square = _square(g, w)
    if square is not None:
        yield "kernel_assumed_square", rules.input_grad(g, square, delta)
    for dropped in _last_dropped(delta):
        yield "last_window_dropped", rules.input_grad(g, w, dropped)
    for mixed in _reshaped(delta):
        yield "delta_reshaped_not_transposed", rules.input_grad(g, w, mixed)


def _reshaped(delta: np.ndarray) -> Iterator[np.ndarray]:
    """The δ a gradient uses when δ (N, O, *out) is flattened as δ.reshape(O, −1) where
    δ.transpose(1, 0, …).reshape(O, −1) belongs — im2col columns ordered (n, position), or
    (position, n) as CS231n's fast layers order them."""
    n, o, out = delta.shape[0], delta.shape[1], delta.shape[2:]
    if n > 1 and o > 1:
        yield np.ascontiguousarray(delta.reshape(o, n, *out).swapaxes(0, 1))
        yield np.ascontiguousarray(np.moveaxis(delta.reshape(o, *out, n), -1, 0))


def _weight_grads(g: Geometry, x: np.ndarray, delta: np.ndarray) -> Iterator[tuple[str, np.ndarray | None]]:
    right = rules.weight_grad(g, x, delta)
    mask = _square(g, np.ones_like(right))
    if mask is not None:
        yield "kernel_assumed_square", right * mask
    for dropped in _last_dropped(delta):
        yield "last_window_dropped", rules.weight_grad(g, x, dropped)
    for mixed in _reshaped(delta):
        yield "delta_reshaped_not_transposed", rules.weight_grad(g, x, mixed)
    if g.groups > 1:
        cg = g.in_channels // g.groups
        first = np.ascontiguousarray(x[:, :cg])  # every output channel reading the first group's input
        yield "groups_ignored", rules.weight_grad(replace(g, in_channels=cg, groups=1), first, delta)
    if max(g.stride) > 1:  # window i read at i: δ's entries meet x as if the stride were 1
        g1 = replace(g, stride=(1,) * g.ndim)
        stepped = np.zeros((*delta.shape[:2], *g1.out_size))
        corner = (slice(None), slice(None)) + tuple(slice(0, n) for n in delta.shape[2:])
        stepped[corner] = delta
        yield "delta_not_dilated", rules.weight_grad(g1, x, stepped)


def _bias_grads(delta: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    axes = (0, *range(2, delta.ndim))
    yield "bias_averaged", delta.mean(axis=axes)
    yield "bias_averaged", delta.sum(axis=axes) / delta.shape[0]


def diagnose(
    g: Geometry,
    x: np.ndarray,
    w: np.ndarray,
    delta: np.ndarray,
    actual: Gradients,
    expected: Gradients,
    bounds: Gradients,
    sums: Gradients,
    counts: Gradients,
    failing: set[str],
    tolerance: Tolerance,
    bias: np.ndarray | None = None,
) -> dict[str, list[Diagnosis]]:
    """For each failing quantity, the mistakes that explain more of its entries than
    the right answer does, best first."""
    found: dict[str, list[Diagnosis]] = {}
    for quantity in sorted(failing):
        user, right, bound = actual[quantity], expected[quantity], bounds[quantity]
        agrees = float(np.mean(np.abs(user - right) <= bound))
        best: dict[str, float] = {}
        for mistake, candidate in _candidates(quantity, g, x, w, delta, bias):
            if (
                not APPLIES.get(mistake, lambda _: True)(g)
                or candidate is None
                or candidate.shape != user.shape
                or np.all(np.abs(candidate - right) <= bound)
            ):
                continue  # this mistake changes nothing here, so it cannot explain a failure
            share = float(np.mean(np.abs(user - candidate) <= bound))
            best[mistake] = max(best.get(mistake, 0.0), share)
        coarser = [d for d in ("float32", "float16") if Tolerance(d).unit > tolerance.unit]
        for dtype in coarser[:1]:
            loose = Tolerance(dtype).bounds(sums[quantity], counts[quantity])
            share = float(np.mean(np.abs(user - right) <= loose))
            if share == 1.0:
                best["low_precision_accumulation"] = share
        ranked = sorted(
            (Diagnosis(m, s) for m, s in best.items() if s > agrees and s >= 0.5),
            key=lambda d: (-d.explains, list(CATALOGUE).index(d.mistake)),
        )
        found[quantity] = ranked
    return _prefer_broader(found)


def _prefer_broader(found: dict[str, list[Diagnosis]]) -> dict[str, list[Diagnosis]]:
    """Among equal shares, the mistake that explains more of the failing quantities first:
    one slip that gives both ∂L/∂x and ∂L/∂W wrong is likelier than two."""
    reach = {m: sum(any(d.mistake == m for d in ds) for ds in found.values()) for m in CATALOGUE}
    order = list(CATALOGUE)
    return {
        q: sorted(ds, key=lambda d: (-d.explains, -reach[d.mistake], order.index(d.mistake)))
        for q, ds in found.items()
    }


def _candidates(
    quantity: str, g: Geometry, x: np.ndarray, w: np.ndarray, delta: np.ndarray, bias: np.ndarray | None
) -> Iterator[tuple[str, np.ndarray | None]]:
    if quantity == "output":
        from .forward import forward_candidates

        assert bias is not None
        yield from forward_candidates(g, x, w, bias)
    elif quantity == "input_grad":
        yield from _input_grads(g, w, delta)
        yield from _real_code_input_grads(g, w, delta)
    elif quantity == "weight_grad":
        yield from _weight_grads(g, x, delta)
    else:
        yield from _bias_grads(delta)
