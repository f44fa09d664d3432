"""Max- and average-pooling layers, with PyTorch's sizes, padding rules and gradients.

A window of output ``o`` reads ``o·s − p + t·d`` for taps ``t = 0 … k−1`` on
each axis. The output size is PyTorch's ``pooling_output_shape``:
``⌊(H + 2p − d·(k−1) − 1 (+ s−1 with ceil_mode)) / s⌋ + 1``, less one if a
``ceil_mode`` window would start past the input and its left padding.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from math import prod
from typing import TYPE_CHECKING, Any

import numpy as np

from convgrad_cli.core.axes import MAX_SIZE, Pair, compact, is_int, per_axis, short
from convgrad_cli.errors import GeometryError

from .base import Saved

if TYPE_CHECKING:
    from convgrad_cli.engine.pool import Window


@dataclass(frozen=True)
class PoolGeometry:
    """Sizes of one pool on ``(N, C, *in_size)``; ``padding`` is one int per axis, as PyTorch takes it."""

    kind: str  # "maxpool" or "avgpool", for messages
    in_shape: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    ceil_mode: bool

    @classmethod
    def build(
        cls,
        kind: str,
        in_shape: tuple[int, ...],
        kernel: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        ceil_mode: Any = False,
    ) -> PoolGeometry:
        """Ints spread over the axes; ``stride`` defaults to the kernel, as in PyTorch."""
        n = len(in_shape) - 2
        kernel_t = per_axis(kernel, n, f"{kind} kernel")
        stride_t = kernel_t if stride is None else per_axis(stride, n, f"{kind} stride")
        if not isinstance(ceil_mode, bool):
            raise GeometryError(f"{kind} ceil_mode {ceil_mode!r} is not allowed; give true or false")
        return cls(
            kind,
            tuple(in_shape),
            kernel_t,
            stride_t,
            per_axis(padding, n, f"{kind} padding"),
            per_axis(dilation, n, f"{kind} dilation"),
            ceil_mode,
        )

    def __post_init__(self) -> None:
        kind = self.kind
        for name in ("kernel", "stride", "dilation"):
            values = getattr(self, name)
            if any(not is_int(v) or v < 1 or v > MAX_SIZE for v in values):
                raise GeometryError(
                    f"{kind} {name} {list(values)} is not allowed; each must be 1 to {MAX_SIZE:,}"
                )
        for k, p in zip(self.kernel, self.padding):
            if p < 0 or p > k // 2:
                raise GeometryError(
                    f"{kind} padding {list(self.padding)} is not allowed with kernel {list(self.kernel)}; "
                    "PyTorch allows 0 to half the kernel size on each axis"
                )
        for axis, (size, o) in enumerate(zip(self.in_size, self.out_size)):
            if o < 1:
                raise GeometryError(
                    f"{kind} window spans {self.extent[axis]} cells on axis {axis} but the padded input "
                    f"has only {size + 2 * self.padding[axis]}; use a smaller kernel or dilation, or more padding"
                )
        self._check_windows_hold_input()

    def _check_windows_hold_input(self) -> None:
        """A window of padding alone has no cell to send its gradient to (PyTorch returns −∞ there)."""
        for axis, (size, o, s, p, k, d) in enumerate(
            zip(self.in_size, self.out_size, self.stride, self.padding, self.kernel, self.dilation)
        ):
            cells = np.arange(o)[:, None] * s - p + np.arange(k)[None, :] * d
            empty = np.flatnonzero(~((cells >= 0) & (cells < size)).any(axis=1))
            if empty.size:
                raise GeometryError(
                    f"{self.kind} window {int(empty[0])} on axis {axis} covers only padding "
                    f"(input size {size}, kernel {k}, dilation {d}, padding {p}); "
                    "every window must hold an input cell"
                )

    @property
    def ndim(self) -> int:
        return len(self.kernel)

    @property
    def in_size(self) -> tuple[int, ...]:
        return self.in_shape[2:]

    @cached_property
    def extent(self) -> tuple[int, ...]:
        """Cells a dilated window spans: ``d·(k−1) + 1``."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))

    @cached_property
    def out_size(self) -> tuple[int, ...]:
        return tuple(
            _out_size(i, e, s, p, self.ceil_mode)
            for i, e, s, p in zip(self.in_size, self.extent, self.stride, self.padding)
        )

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (*self.in_shape[:2], *self.out_size)

    @cached_property
    def pads(self) -> tuple[Pair, ...]:
        """Cells added before and after: the padding, and after it what a ``ceil_mode``
        window reaches past the padded input (read as −∞ or 0, never counted)."""
        return tuple(
            (p, max(p, (o - 1) * s + e - i - p))
            for i, o, s, p, e in zip(self.in_size, self.out_size, self.stride, self.padding, self.extent)
        )

    @cached_property
    def window(self) -> Window:
        """The engine's window of this pool, padded with :attr:`pads`."""
        return _engine().Window(self.kernel, self.stride, self.pads, self.dilation)

    def describe(self) -> str:
        text = f"k{compact(self.kernel)} s{compact(self.stride)}"
        text += f" p{compact(self.padding)}" if any(self.padding) else ""
        text += f" d{compact(self.dilation)}" if set(self.dilation) != {1} else ""
        return text + (" ceil" if self.ceil_mode else "")


def _out_size(size: int, extent: int, stride: int, pad: int, ceil_mode: bool) -> int:
    """PyTorch's ``pooling_output_shape``."""
    span = size + 2 * pad - extent + (stride - 1 if ceil_mode else 0)
    out = span // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1  # the last window must start inside the input or its left padding
    return out


def _engine() -> Any:
    # imported here: a config is read (and trace runs) without loading the engine
    from convgrad_cli.engine import pool

    return pool


class _Sliding:
    """What both pools share: the shape they give, and the paths they count, each
    cell of a window passing (a sum-pool)."""

    geom: PoolGeometry

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.geom.out_shape

    def count_up(self, a: np.ndarray) -> np.ndarray:
        return _engine().sum_pool(a, self.geom.window, self.geom.out_size)

    def count_down(self, d: np.ndarray) -> np.ndarray:
        return _engine().sum_pool_backward(d, self.geom.in_size, self.geom.window)

    def window_params(self, *names: str) -> dict[str, Any]:
        """The geometry's ``names`` as PyTorch's arguments, in that order (tuples as lists)."""
        values = {name: getattr(self.geom, name) for name in names}
        return {name: list(v) if isinstance(v, tuple) else v for name, v in values.items()}


@dataclass(frozen=True)
class MaxPool(_Sliding):
    """``y[o] = max over window o``; ``∂L/∂x`` gets each δ at the cell that won its window.

    Ties go to the first cell of the window in scan order (depth, row, column),
    as PyTorch's CPU kernel keeps a maximum unless a later value is strictly
    greater. Overlapping windows that share a winner add their δs there.
    """

    geom: PoolGeometry
    kind: str = "maxpool"
    weights: None = None

    @property
    def params(self) -> dict[str, Any]:
        return self.window_params("kernel", "stride", "padding", "dilation", "ceil_mode")

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Saved]:
        y, winner = _engine().max_pool(x, self.geom.window, self.geom.out_size)
        return y, winner

    def backward(self, x: np.ndarray, saved: Saved, delta: np.ndarray) -> tuple[np.ndarray, None]:
        assert isinstance(saved, np.ndarray)
        return _engine().max_pool_backward(delta, saved, self.geom.in_size, self.geom.window), None


@dataclass(frozen=True)
class AvgPool(_Sliding):
    """``y[o] = Σ window o / divisor[o]``; ``∂L/∂x`` spreads ``δ[o] / divisor[o]`` over window o.

    The divisor is PyTorch's: with ``count_include_pad`` the window clipped to
    the padded input (a ``ceil_mode`` overhang is not counted), else the input
    cells alone; ``divisor`` overrides both.
    """

    geom: PoolGeometry
    count_include_pad: bool = True
    divisor: int | None = None
    kind: str = "avgpool"
    weights: None = None

    def __post_init__(self) -> None:
        if not isinstance(self.count_include_pad, bool):
            raise GeometryError(
                f"avgpool count_include_pad {self.count_include_pad!r} is not allowed; give true or false"
            )
        if self.divisor is not None and not (is_int(self.divisor) and 1 <= self.divisor <= MAX_SIZE):
            raise GeometryError(f"avgpool divisor {short(self.divisor)} is not allowed; give an int from 1")

    @property
    def params(self) -> dict[str, Any]:
        window = self.window_params("kernel", "stride", "padding", "ceil_mode")
        return {**window, "count_include_pad": self.count_include_pad, "divisor": self.divisor}

    @cached_property
    def divisors(self) -> np.ndarray:
        """The divisor of each output position, shape ``out_size`` (a product of one count per axis)."""
        g = self.geom
        if self.divisor is not None:
            return np.full(g.out_size, float(self.divisor))
        counts = []
        for size, o, s, p, k in zip(g.in_size, g.out_size, g.stride, g.padding, g.kernel):
            start = np.arange(o) * s - p
            end = np.minimum(start + k, size + p)
            counted = end - start if self.count_include_pad else np.minimum(end, size) - np.maximum(start, 0)
            counts.append(counted.astype(float))
        return np.asarray(prod(np.ix_(*counts)), dtype=float)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Saved]:
        total = _engine().sum_pool(x, self.geom.window, self.geom.out_size)
        return total / self.divisors.astype(x.dtype), None

    def backward(self, x: np.ndarray, saved: Saved, delta: np.ndarray) -> tuple[np.ndarray, None]:
        share = delta / self.divisors.astype(delta.dtype)
        return _engine().sum_pool_backward(share, self.geom.in_size, self.geom.window), None
