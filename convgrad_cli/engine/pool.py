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
from dataclasses import dataclass
from itertools import product

import numpy as np

from .layout import Pair


@dataclass(frozen=True)
class Window:
    """How a pool's window slides, per spatial axis: its ``kernel``, ``stride``,
    ``padding`` ``(before, after)`` and ``dilation``. Every entry point here takes
    one (the sizes come with the arrays, the output's from the caller)."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[Pair, ...]
    dilation: tuple[int, ...]

    def taps(self) -> Iterator[tuple[int, ...]]:
        """The kernel's taps in PyTorch's scan order: depth, then row, then column."""
        return product(*(range(k) for k in self.kernel))

    def tap_slice(self, tap: tuple[int, ...], out: tuple[int, ...]) -> tuple[slice, ...]:
        """Where tap ``tap`` of every window lies in the padded input."""
        return (slice(None), slice(None)) + tuple(
            slice(t * d, t * d + (o - 1) * s + 1, s)
            for t, o, s, d in zip(tap, out, self.stride, self.dilation)
        )


def _pad(x: np.ndarray, padding: tuple[Pair, ...], fill: float) -> np.ndarray:
    if not any(b or a for b, a in padding):
        return x  # no copy: most pools read the input as it is
    return np.pad(x, ((0, 0), (0, 0), *padding), constant_values=fill)


def _crop(grad: np.ndarray, padding: tuple[Pair, ...]) -> np.ndarray:
    inner = tuple(slice(b, size - a) for size, (b, a) in zip(grad.shape[2:], padding))
    return grad[(slice(None), slice(None)) + inner]


def max_pool(x: np.ndarray, window: Window, out: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The maximum of each window and which tap won it (index in :meth:`Window.taps` order).

    A tap replaces the best so far only if strictly greater, so of equal values
    the first in scan order wins, as in PyTorch's CPU kernel (``val > maxval``).
    Padding reads −∞ and never wins a window that holds an input cell.
    """
    xp = _pad(x, window.padding, -np.inf)
    first, *rest = window.taps()
    best = xp[window.tap_slice(first, out)].copy()
    winner = np.zeros(best.shape, dtype=np.int8 if len(rest) < 127 else np.int32)
    greater = np.empty(best.shape, dtype=bool)
    for i, tap in enumerate(rest, start=1):
        value = xp[window.tap_slice(tap, out)]
        np.greater(value, best, out=greater)
        np.copyto(best, value, where=greater)
        np.copyto(winner, i, where=greater)
    return best, winner


def max_pool_backward(
    delta: np.ndarray, winner: np.ndarray, in_size: tuple[int, ...], window: Window
) -> np.ndarray:
    """``dX[winner of window o] += δ[o]``: each δ goes to the one cell that won its window."""
    out = delta.shape[2:]
    grad = _zeros_padded(delta, in_size, window.padding)
    for i, tap in enumerate(window.taps()):
        cells = grad[window.tap_slice(tap, out)]
        np.add(cells, delta, out=cells, where=winner == i)
    return _crop(grad, window.padding)


def sum_pool(x: np.ndarray, window: Window, out: tuple[int, ...]) -> np.ndarray:
    """The sum of each window, padding read as zeros."""
    xp = _pad(x, window.padding, 0.0)
    total = np.zeros((*x.shape[:2], *out), dtype=x.dtype)
    for tap in window.taps():
        total += xp[window.tap_slice(tap, out)]
    return total


def sum_pool_backward(delta: np.ndarray, in_size: tuple[int, ...], window: Window) -> np.ndarray:
    """``dX[cell] += δ[o]`` for every cell of window ``o``: the adjoint of :func:`sum_pool`."""
    out = delta.shape[2:]
    grad = _zeros_padded(delta, in_size, window.padding)
    for tap in window.taps():
        grad[window.tap_slice(tap, out)] += delta
    return _crop(grad, window.padding)


def _zeros_padded(delta: np.ndarray, in_size: tuple[int, ...], padding: tuple[Pair, ...]) -> np.ndarray:
    shape = tuple(s + b + a for s, (b, a) in zip(in_size, padding))
    return np.zeros((*delta.shape[:2], *shape), dtype=delta.dtype)
