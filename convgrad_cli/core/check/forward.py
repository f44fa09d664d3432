"""Checking a forward pass: ``y = conv(x, W) + b`` from a user's implementation
(``--forward``) held, entry by entry, against three references —

- ``definition``: for each kernel tap k, every window p adds ``W[o, c, k]·x[n, c, p·s + k·d − pad]``;
- ``windows``: the padded input's sliding windows (NumPy's ``sliding_window_view``),
  every stride-th, each multiplied by the kernel as one matrix product;
- ``adjoint``: ``⟨y − b, δ⟩ = ⟨x, ∂L/∂x⟩`` with ∂L/∂x from convgrad's backward pipeline —

within the same per-entry bounds as the gradients (:mod:`.tolerance`): an entry of y
is a sum of the products of the taps that read the input, plus the bias.
On a failure, the forward mistakes of :data:`.mistakes.CATALOGUE` are computed on
the case and held against y, as for the backward pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from convgrad_cli.core import rules
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.ops import pad, rot180
from convgrad_cli.errors import GeometryError

from .references import Comparison, compare
from .tolerance import Tolerance


def _with_bias(y: np.ndarray, b: np.ndarray) -> np.ndarray:
    return y + b.reshape(1, -1, *([1] * (y.ndim - 2)))


def definition_output(g: Geometry, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """y by the definition, one kernel tap at a time (no engine code)."""
    n, groups = g.batch, g.groups
    cg, og = g.in_channels // groups, g.out_channels // groups
    xp = pad(x, g.padding)
    y = np.zeros((n, groups, og, int(np.prod(g.out_size))))
    for k in np.ndindex(*g.kernel_size):
        where = tuple(
            slice(ki * dl, ki * dl + (o - 1) * s + 1, s)
            for ki, o, s, dl in zip(k, g.out_size, g.stride, g.dilation)
        )
        xk = xp[(slice(None), slice(None)) + where].reshape(n, groups, cg, -1)  # (N, g, C/g, P)
        wk = w[(Ellipsis,) + k].reshape(groups, og, cg)  # (g, O/g, C/g)
        y += np.matmul(wk, xk)
    return _with_bias(y.reshape(g.output_shape), b)


def windows_output(g: Geometry, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """y as the padded input's windows (every stride-th, taps every dilation-th) times the kernel."""
    nd, groups = g.ndim, g.groups
    cg, og = g.in_channels // groups, g.out_channels // groups
    spatial = tuple(range(2, 2 + nd))
    view = sliding_window_view(pad(x, g.padding), g.kernel_extent, axis=spatial)  # (N, C, *P, *extent)
    steps = tuple(slice(None, None, s) for s in (*g.stride, *g.dilation))  # windows, then taps
    view = view[(slice(None), slice(None)) + steps]
    out = []
    for gi in range(groups):
        part = view[:, gi * cg : (gi + 1) * cg]  # (N, C/g, *out, *k)
        rows = np.moveaxis(part, 1, 1 + nd).reshape(g.batch, -1, cg * int(np.prod(g.kernel_size)))
        kernel = w[gi * og : (gi + 1) * og].reshape(og, -1)
        out.append(np.moveaxis(rows @ kernel.T, 2, 1))  # (N, O/g, P)
    return _with_bias(np.concatenate(out, axis=1).reshape(g.output_shape), b)


def output_terms(g: Geometry, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per entry of y: Σ|terms| (|x·W| over the taps, and |b|) and the number of terms (the taps
    that read the input, not the padding, and b)."""
    sums = _with_bias(rules.forward(g, np.abs(x), np.abs(w)), np.abs(b))
    counts = rules.forward(g, np.ones_like(x), np.ones_like(w)) + 1
    return sums, counts


def forward_comparisons(
    g: Geometry,
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    delta: np.ndarray,
    y: np.ndarray,
    bounds: np.ndarray,
    tol: Tolerance,
) -> tuple[list[Comparison], np.ndarray]:
    """y against the definition, the windows and the adjoint identity; and the expected y."""
    expected = definition_output(g, x, w, b)
    out = [
        compare("output", "definition", y, expected, bounds),
        compare("output", "windows", y, windows_output(g, x, w, b), bounds),
    ]
    # ⟨y − b, δ⟩ = ⟨x, ∂L/∂x⟩: ∂L/∂x by the slides' pipeline, a route that shares nothing with y's
    lhs = float(np.vdot(y - _with_bias(np.zeros_like(y), b), delta))
    rhs = float(np.vdot(x, rules.input_grad(g, w, delta)))
    slack = tol.floor + float(np.sum(np.abs(delta) * (bounds - tol.floor)))
    rounding = (4 * np.sqrt(y.size) + 1) * 2.0**-53 * 4 * float(np.abs(y * delta).sum() + np.abs(x).sum())
    note = "⟨y − b, δ⟩ = ⟨x, ∂L/∂x⟩"
    out.append(compare("output", "adjoint", np.array(lhs), np.array(rhs), np.array(slack + rounding), note))
    return out, expected


# -- the forward mistakes of real code -------------------------------------------------------------


def _fit(y: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    """y cut, or filled with zeros, at the end of each spatial axis to ``size``."""
    return pad(y, tuple((0, m - n) for n, m in zip(y.shape[2:], size)))


def _forward(
    g: Geometry, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, **changes: object
) -> np.ndarray | None:
    """convgrad's forward on ``g`` with ``changes``, fitted to g's output size (None: no such geometry)."""
    try:
        other = replace(g, **changes) if changes else g  # type: ignore[arg-type]
    except GeometryError:
        return None
    y = rules.forward(other, x, w)
    y = _fit(y, g.out_size)
    return y if b is None else _with_bias(y, b)


def forward_candidates(
    g: Geometry, x: np.ndarray, w: np.ndarray, b: np.ndarray
) -> Iterator[tuple[str, np.ndarray | None]]:
    """Each forward mistake's y on this case (several variants may share an id)."""
    nd = g.ndim
    yield "forward_kernel_flipped", _forward(g, x, np.ascontiguousarray(rot180(w, nd)), b)
    yield "forward_bias_missing", _forward(g, x, w, None)
    if any(any(p) for p in g.padding):  # all of each axis's padding on one side
        yield (
            "forward_padding_one_side",
            _forward(g, x, w, b, padding=tuple((p + q, 0) for p, q in g.padding)),
        )
        yield (
            "forward_padding_one_side",
            _forward(g, x, w, b, padding=tuple((0, p + q) for p, q in g.padding)),
        )
    if any(any(p) for p in g.padding):  # where the sizes come out the same: 'valid' in place of the padding
        yield "forward_padding_ignored", _forward(g, x, w, b, padding=((0, 0),) * nd)
    if any(d > 1 for d in g.dilation):
        yield "forward_dilation_ignored", _forward(g, x, w, b, dilation=(1,) * nd)
    if g.stride != g.dilation:
        yield "forward_stride_on_kernel", _forward(g, x, w, b, stride=g.dilation, dilation=g.stride)
    if g.groups > 1:
        cg = g.in_channels // g.groups  # every output channel reading the first group's input
        first = np.ascontiguousarray(x[:, :cg])
        yield "forward_groups_ignored", _forward(g, first, w, b, in_channels=cg, groups=1)
    k0 = g.kernel_size[0]
    if any(k > k0 for k in g.kernel_size[1:]):
        masked = w.copy()
        for axis in range(1, nd):
            masked[(slice(None),) * (2 + axis) + (slice(k0, None),)] = 0
        yield "kernel_assumed_square", _forward(g, x, masked, b)
    right = _forward(g, x, w, b)
    assert right is not None
    for axis in range(2, right.ndim):  # the last window along an axis never written: 0, or the bias alone
        last = (slice(None),) * axis + (-1,)
        for fill in (np.zeros_like(right), _with_bias(np.zeros_like(right), b)):
            dropped = right.copy()
            dropped[last] = fill[last]
            yield "last_window_dropped", dropped


def output_shape_hint(
    g: Geometry, got: tuple[int, ...], want: tuple[int, ...]
) -> tuple[str, tuple[str, ...]]:
    """What a wrong y shape says in plain words, and the forward mistakes it names (every
    one whose size it is: a padding of 1 left out and a lost + 1 give the same)."""
    nd = g.ndim
    if len(got) != len(want) or got[: len(got) - nd] != want[: len(want) - nd]:
        return "", ()
    spatial, wanted = got[len(got) - nd :], want[len(want) - nd :]

    def size(padded: tuple[int, ...], spans: tuple[int, ...]) -> tuple[int, ...]:
        return tuple((p - e) // s + 1 for p, e, s in zip(padded, spans, g.stride))

    said, named = [], []
    if any(any(p) for p in g.padding) and spatial == size(g.in_size, g.kernel_extent):
        said.append("the size of an unpadded convolution: the padding was not applied")
        named.append("forward_padding_ignored")
    if any(d > 1 for d in g.dilation) and spatial == size(g.padded_in_size, g.kernel_size):
        said.append("the size of an undilated convolution: the dilation was left out")
        named.append("forward_dilation_ignored")
    if all(abs(n - m) <= 1 for n, m in zip(spatial, wanted)):
        said.append(
            "one row or column short: the size lost its + 1, (H + 2p − k)/s in place of (H + 2p − k)/s + 1"
            if all(n <= m for n, m in zip(spatial, wanted))
            else "one row or column too many: the size rounded up, or + 1 added twice"
        )
        named.append("forward_output_size_off_by_one")
    return (f" — {'; or '.join(said)}" if said else ""), tuple(named)
