"""The classic mistakes in the backward of each layer kind, computed on a case,
so that a failure can be named (``docs/check.md`` lists them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from convgrad_cli.core import rules
from convgrad_cli.core.layers import AvgPool, ConvTranspose, Layer, MaxPool, PoolGeometry
from convgrad_cli.core.ops import rot180

#: Every mistake's id, the kind it belongs to, and what it is.
CATALOGUE = {
    "maxpool_every_cell": ("maxpool", "δ goes to every cell of its window, not only to the one that won it"),
    "maxpool_every_tie": (
        "maxpool",
        "δ goes to every cell tied for the maximum, not only the first in scan order",
    ),
    "maxpool_last_tie": (
        "maxpool",
        "a tie goes to the last greatest cell in scan order (≥ in place of >), where PyTorch keeps the first",
    ),  # fmt: skip
    "avgpool_divides_by_window": (
        "avgpool",
        "δ is divided by the window's size, where PyTorch divides by the cells "
        "it counts (padding left out, a ceil_mode overhang, a divisor)",
    ),  # fmt: skip
    "avgpool_count_include_pad_flipped": (
        "avgpool",
        "padding is counted in the divisor where it should not be, or the other way round",
    ),  # fmt: skip
    "relu_passes_at_zero": ("relu", "δ passes where x ≥ 0; PyTorch stops it at exactly 0"),
    "conv_transpose_output_padding_missing": (
        "conv_transpose",
        "the output_padding rows/columns of δ at the end are left out of ∂L/∂x",
    ),  # fmt: skip
    "conv_transpose_kernel_flipped": (
        "conv_transpose",
        "∂L/∂x correlates δ with W rotated by 180°; a transposed "
        "convolution's backward is a convolution with W as it is",
    ),  # fmt: skip
}


def mistaken(
    layer: Layer, x: np.ndarray, w: np.ndarray | None, delta: np.ndarray
) -> Iterator[tuple[str, np.ndarray]]:
    """Each mistake of the layer's kind and the ∂L/∂x it gives on this case."""
    for name, (kind, _) in CATALOGUE.items():
        if kind == layer.kind:
            yield name, MISTAKES[name](layer, x, w, delta)


def _taps(g: PoolGeometry, xp: np.ndarray) -> Iterator[tuple[tuple[slice, ...], np.ndarray]]:
    """Each tap's cells in the padded input, in the scan order the engine's pools read them."""
    window = g.window
    for tap in window.taps():
        where = window.tap_slice(tap, g.out_size)
        yield where, xp[where]


def _padded(g: PoolGeometry, a: np.ndarray, fill: float) -> np.ndarray:
    return np.pad(a, ((0, 0), (0, 0), *g.pads), constant_values=fill)


def _crop(g: PoolGeometry, a: np.ndarray) -> np.ndarray:
    return a[(slice(None), slice(None)) + tuple(slice(b, b + n) for (b, _), n in zip(g.pads, g.in_size))]


def _every_tie(layer: Layer, x: np.ndarray, w: np.ndarray | None, delta: np.ndarray) -> np.ndarray:
    assert isinstance(layer, MaxPool)
    g = layer.geom
    y, _ = layer.forward(x)
    xp, grad = _padded(g, x, -np.inf), _padded(g, np.zeros_like(x), 0.0)
    for where, value in _taps(g, xp):
        grad[where] += np.where(value == y, delta, 0)
    return _crop(g, grad)


def _last_tie(layer: Layer, x: np.ndarray, w: np.ndarray | None, delta: np.ndarray) -> np.ndarray:
    assert isinstance(layer, MaxPool)
    g = layer.geom
    xp, grad = _padded(g, x, -np.inf), _padded(g, np.zeros_like(x), 0.0)
    taps = list(_taps(g, xp))
    best = np.full(delta.shape, -np.inf)
    last = np.zeros(delta.shape, dtype=int)
    for i, (_, value) in enumerate(taps):
        at_least = value >= best
        best = np.where(at_least, value, best)
        last = np.where(at_least, i, last)
    for i, (where, _) in enumerate(taps):
        grad[where] += np.where(last == i, delta, 0)
    return _crop(g, grad)


def _every_cell(layer: Layer, x: np.ndarray, w: np.ndarray | None, delta: np.ndarray) -> np.ndarray:
    return layer.count_down(delta)  # a sum-pool's adjoint: δ to each cell of the window


def _by_window(layer: Layer, x: np.ndarray, w: np.ndarray | None, delta: np.ndarray) -> np.ndarray:
    assert isinstance(layer, AvgPool)
    return layer.count_down(delta / float(np.prod(layer.geom.kernel)))


def _pad_flipped(layer: Layer, x: np.ndarray, w: np.ndarray | None, delta: np.ndarray) -> np.ndarray:
    assert isinstance(layer, AvgPool)
    other = AvgPool(layer.geom, not layer.count_include_pad, layer.divisor)
    return other.backward(x, None, delta)[0]


def _relu_at_zero(layer: Layer, x: np.ndarray, w: np.ndarray | None, delta: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, delta, 0.0)


def _op_missing(layer: Layer, x: np.ndarray, w: np.ndarray | None, delta: np.ndarray) -> np.ndarray:
    assert isinstance(layer, ConvTranspose) and w is not None
    cut = delta.copy()
    for axis, op in enumerate(layer.output_padding):
        if op:
            index = [slice(None)] * delta.ndim
            index[axis + 2] = slice(delta.shape[axis + 2] - op, None)
            cut[tuple(index)] = 0
    return ConvTranspose(layer.conv, w, layer.in_shape, layer.output_padding).backward(x, None, cut)[0]


def _flipped(layer: Layer, x: np.ndarray, w: np.ndarray | None, delta: np.ndarray) -> np.ndarray:
    assert isinstance(layer, ConvTranspose) and w is not None
    full = rules.forward(layer.conv, delta, rot180(w, w.ndim - 2))
    return full[(slice(None), slice(None)) + tuple(slice(0, n) for n in layer.in_shape[2:])]


MISTAKES: dict[str, Callable[[Layer, np.ndarray, np.ndarray | None, np.ndarray], np.ndarray]] = {
    "maxpool_every_cell": _every_cell,
    "maxpool_every_tie": _every_tie,
    "maxpool_last_tie": _last_tie,
    "avgpool_divides_by_window": _by_window,
    "avgpool_count_include_pad_flipped": _pad_flipped,
    "relu_passes_at_zero": _relu_at_zero,
    "conv_transpose_output_padding_missing": _op_missing,
    "conv_transpose_kernel_flipped": _flipped,
}
