"""Convolution and transposed convolution as layers of a stack, on the existing rules.

A transposed convolution is the input gradient of the convolution that maps
its output's size back to its input's: its forward is that convolution's
``∂L/∂x`` (each input cell scattered through the kernel), its backward that
convolution's forward (δ correlated with the same kernel) and its weight
gradient that convolution's, with the roles of input and δ swapped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from convgrad_cli.core import rules
from convgrad_cli.core.axes import per_axis
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.errors import GeometryError

from .base import Saved


@dataclass(frozen=True)
class Conv:
    """``y = correlate(pad(x), W)``, as ``torch.nn.functional.conv{1,2,3}d``."""

    geom: Geometry
    w: np.ndarray
    kind: str = "conv"
    bias: np.ndarray | None = None  # (O,), added to each output channel

    @property
    def weights(self) -> np.ndarray:
        return self.w

    @property
    def params(self) -> dict[str, Any]:
        g = self.geom
        return {
            "kernel_shape": list(self.w.shape),
            "stride": list(g.stride),
            "padding": [list(p) for p in g.padding],
            "dilation": list(g.dilation),
            "groups": g.groups,
        }

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.geom.output_shape

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Saved]:
        return rules.forward(self.geom, x, self.w, self.bias), None

    def bias_grad(self, delta: np.ndarray) -> np.ndarray | None:
        """``db[o] = Σ δ[n, o, p]``, or None without a bias."""
        return None if self.bias is None else rules.bias_grad(delta)

    def backward(self, x: np.ndarray, saved: Saved, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return rules.input_grad(self.geom, self.w, delta), rules.weight_grad(self.geom, x, delta)

    def count_up(self, a: np.ndarray) -> np.ndarray:
        return rules.forward(self.geom, a, np.ones(self.geom.kernel_shape, dtype=a.dtype))

    def count_down(self, d: np.ndarray) -> np.ndarray:
        return rules.input_grad(self.geom, np.ones(self.geom.kernel_shape, dtype=d.dtype), d)


def transposed_size(
    size: int, kernel: int, stride: int, padding: int, output_padding: int, dilation: int
) -> int:
    """PyTorch's ``(H − 1)·s − 2p + d·(k − 1) + output_padding + 1``."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


@dataclass(frozen=True)
class ConvTranspose:
    """``y = conv_transpose(x, W)``, as ``torch.nn.functional.conv_transpose{1,2,3}d``;
    ``W`` is ``(C_in, C_out / groups, *k)``.

    ``conv`` is the convolution whose input gradient this is: input of ``y``'s
    size, output of ``x``'s (or up to one stride longer where
    ``output_padding ≥ stride``, which PyTorch allows when dilation is larger;
    those extra outputs meet zeros).
    """

    conv: Geometry
    w: np.ndarray
    in_shape: tuple[int, ...]
    output_padding: tuple[int, ...]
    kind: str = "conv_transpose"
    bias: np.ndarray | None = None  # (C_out,), added to each output channel

    @classmethod
    def build(
        cls,
        in_shape: tuple[int, ...],
        w: np.ndarray,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        dilation: Any = 1,
        groups: Any = 1,
        bias: np.ndarray | None = None,
    ) -> ConvTranspose:
        n = len(in_shape) - 2
        s, d = per_axis(stride, n, "stride"), per_axis(dilation, n, "dilation")
        p, op = per_axis(padding, n, "padding"), per_axis(output_padding, n, "output_padding")
        for o, si, di in zip(op, s, d):
            if not 0 <= o < max(si, di):
                raise GeometryError(
                    f"output_padding {list(op)} is not allowed with stride {list(s)} and dilation {list(d)}; "
                    "each must be at least 0 and smaller than the stride or the dilation"
                )
        k = w.shape[2:]
        out = tuple(transposed_size(*a) for a in zip(in_shape[2:], k, s, p, op, d))
        if any(o < 1 for o in out) or any(q < 0 for q in p):
            raise GeometryError(
                f"conv_transpose of input {list(in_shape[2:])} with kernel {list(k)}, stride {list(s)}, "
                f"padding {list(p)} gives size {list(out)}; the output must have at least one cell per axis"
            )
        conv = Geometry.build(
            out,
            k,
            batch=in_shape[0],
            in_channels=w.shape[1] * groups,
            out_channels=w.shape[0],
            groups=groups,
            stride=s,
            dilation=d,
            padding=p,
        )
        return cls(conv, w, tuple(in_shape), op, bias=bias)

    @property
    def weights(self) -> np.ndarray:
        return self.w

    @property
    def params(self) -> dict[str, Any]:
        g = self.conv
        return {
            "kernel_shape": list(self.w.shape),
            "stride": list(g.stride),
            "padding": [b for b, _ in g.padding],
            "output_padding": list(self.output_padding),
            "dilation": list(g.dilation),
            "groups": g.groups,
        }

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.conv.input_shape

    def _widen(self, x: np.ndarray) -> np.ndarray:
        """``x`` with zeros after it up to the convolution's output size."""
        extra = [(0, o - i) for o, i in zip(self.conv.out_size, x.shape[2:])]
        return np.pad(x, [(0, 0), (0, 0), *extra]) if any(e for _, e in extra) else x

    def _narrow(self, a: np.ndarray) -> np.ndarray:
        return a[(slice(None), slice(None)) + tuple(slice(0, i) for i in self.in_shape[2:])]

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Saved]:
        # y = the convolution's ∂L/∂x with x as its δ: each x cell scattered through W, then + b
        y = rules.input_grad(self.conv, self.w, self._widen(x))
        if self.bias is not None:
            y = y + self.bias.reshape(-1, *(1,) * (y.ndim - 2)).astype(y.dtype, copy=False)
        return y, None

    def bias_grad(self, delta: np.ndarray) -> np.ndarray | None:
        """``db[c] = Σ δ[n, c, p]`` over the batch and every output position, or None without a bias."""
        return None if self.bias is None else rules.bias_grad(delta)

    def backward(self, x: np.ndarray, saved: Saved, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # dX = correlate(pad(δ), W): the convolution's forward; dW: its weight gradient, δ as its input
        input_grad = self._narrow(rules.forward(self.conv, delta, self.w))
        return input_grad, rules.weight_grad(self.conv, delta, self._widen(x))

    def count_up(self, a: np.ndarray) -> np.ndarray:
        return rules.input_grad(self.conv, np.ones_like(self.w, dtype=a.dtype), self._widen(a))

    def count_down(self, d: np.ndarray) -> np.ndarray:
        return self._narrow(rules.forward(self.conv, d, np.ones_like(self.w, dtype=d.dtype)))
