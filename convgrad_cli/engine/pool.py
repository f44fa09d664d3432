"""Pooling on whole arrays, one vectorised pass per kernel tap (never a loop per window).

Every window of a pool reads tap ``t`` at ``o·s − p + t·d`` on each axis; over
all outputs at once that tap is one strided slice of the padded input. A pool
of ``k`` taps is then ``k`` array operations, whatever the image size.

Arrays are ``(N, C, *spatial)``; ``padding`` is ``(before, after)`` per axis,
``after`` already including the cells a ``ceil_mode`` window reaches past the
input (the caller derives both from the geometry).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product

import numpy as np

Pair = tuple[int, int]


def taps(kernel: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    """The kernel's taps in PyTorch's scan order: depth, then row, then column."""
    return product(*(range(k) for k in kernel))


def _tap_slice(
    tap: tuple[int, ...], out: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...]
) -> tuple[slice, ...]:
    """Where tap ``tap`` of every window lies in the padded input."""
    return (slice(None), slice(None)) + tuple(
        slice(t * d, t * d + (o - 1) * s + 1, s) for t, o, s, d in zip(tap, out, stride, dilation)
    )


def _pad(x: np.ndarray, padding: tuple[Pair, ...], fill: float) -> np.ndarray:
    if not any(b or a for b, a in padding):
        return x  # no copy: most pools read the input as it is
    return np.pad(x, ((0, 0), (0, 0), *padding), constant_values=fill)


def _crop(grad: np.ndarray, padding: tuple[Pair, ...]) -> np.ndarray:
    inner = tuple(slice(b, size - a) for size, (b, a) in zip(grad.shape[2:], padding))
    return grad[(slice(None), slice(None)) + inner]


def max_pool(
    x: np.ndarray,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[Pair, ...],
    dilation: tuple[int, ...],
    out: tuple[int, ...],
) -> tuple[np.ndarray, np.ndarray]:
    """The maximum of each window and which tap won it (index in :func:`taps` order).

    A tap replaces the best so far only if strictly greater, so of equal values
    the first in scan order wins, as in PyTorch's CPU kernel (``val > maxval``).
    Padding reads −∞ and never wins a window that holds an input cell.
    """
    xp = _pad(x, padding, -np.inf)
    first, *rest = taps(kernel)
    best = xp[_tap_slice(first, out, stride, dilation)].copy()
    winner = np.zeros(best.shape, dtype=np.int8 if len(rest) < 127 else np.int32)
    greater = np.empty(best.shape, dtype=bool)
    for i, tap in enumerate(rest, start=1):
        value = xp[_tap_slice(tap, out, stride, dilation)]
        np.greater(value, best, out=greater)
        np.copyto(best, value, where=greater)
        np.copyto(winner, i, where=greater)
    return best, winner


def max_pool_backward(
    delta: np.ndarray,
    winner: np.ndarray,
    in_size: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[Pair, ...],
    dilation: tuple[int, ...],
) -> np.ndarray:
    """``dX[winner of window o] += δ[o]``: each δ goes to the one cell that won its window."""
    out = delta.shape[2:]
    grad = _zeros_padded(delta, in_size, padding)
    for i, tap in enumerate(taps(kernel)):
        cells = grad[_tap_slice(tap, out, stride, dilation)]
        np.add(cells, delta, out=cells, where=winner == i)
    return _crop(grad, padding)


def sum_pool(
    x: np.ndarray,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[Pair, ...],
    dilation: tuple[int, ...],
    out: tuple[int, ...],
) -> np.ndarray:
    """The sum of each window, padding read as zeros."""
    xp = _pad(x, padding, 0.0)
    total = np.zeros((*x.shape[:2], *out), dtype=x.dtype)
    for tap in taps(kernel):
        total += xp[_tap_slice(tap, out, stride, dilation)]
    return total


def sum_pool_backward(
    delta: np.ndarray,
    in_size: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[Pair, ...],
    dilation: tuple[int, ...],
) -> np.ndarray:
    """``dX[cell] += δ[o]`` for every cell of window ``o``: the adjoint of :func:`sum_pool`."""
    out = delta.shape[2:]
    grad = _zeros_padded(delta, in_size, padding)
    for tap in taps(kernel):
        grad[_tap_slice(tap, out, stride, dilation)] += delta
    return _crop(grad, padding)


def _zeros_padded(delta: np.ndarray, in_size: tuple[int, ...], padding: tuple[Pair, ...]) -> np.ndarray:
    shape = tuple(s + b + a for s, (b, a) in zip(in_size, padding))
    return np.zeros((*delta.shape[:2], *shape), dtype=delta.dtype)
