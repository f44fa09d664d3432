"""The Python API, shaped like ``torch.nn.functional``.

>>> import numpy as np
>>> from convgrad_cli import conv2d, conv2d_backward
>>> x = np.arange(1.0, 17.0).reshape(4, 4)     # a … p = 1 … 16
>>> w = np.array([[1.0, 2.0], [3.0, 4.0]])     # w1 … w4 = 1 … 4
>>> conv2d(x, w)[0, 0]                          # y1 = a·w1 + b·w2 + e·w3 + f·w4
np.float64(44.0)
>>> dx, dw, db = conv2d_backward(x, w, np.ones((3, 3)))
>>> dx[0, 1]                                    # ∂L/∂b = w2·δ1 + w1·δ2
np.float64(3.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import conv
from .errors import ArrayError
from .geometry import Geometry

Gradients = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Ranks:
    """How the arrays a user gave map onto full rank ``(N, C, *spatial)``.

    Inputs may drop the batch axis, or batch and channel; a kernel may be
    just its spatial taps (one filter, one channel). Results come back in
    the rank the user gave.
    """

    ndim: int
    input_rank: int
    kernel_rank: int

    @classmethod
    def infer(cls, input_shape: tuple[int, ...], kernel_shape: tuple[int, ...], ndim: int) -> Ranks:
        if len(input_shape) not in (ndim, ndim + 1, ndim + 2):
            raise ArrayError(
                f"input has shape {input_shape}; for a {ndim}-D convolution it must have "
                f"{ndim} (spatial), {ndim + 1} (channels first) or {ndim + 2} (batch first) axes"
            )
        if len(kernel_shape) not in (ndim, ndim + 2):
            raise ArrayError(
                f"kernel has shape {kernel_shape}; for a {ndim}-D convolution it must have "
                f"{ndim} axes (one filter) or {ndim + 2} (out channels, in channels/groups, taps)"
            )
        return cls(ndim, len(input_shape), len(kernel_shape))

    def full_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """An input's or kernel's shape with its missing leading axes as 1s."""
        return (1,) * (self.ndim + 2 - len(shape)) + tuple(shape)

    def output_shape(self, full: tuple[int, ...]) -> tuple[int, ...]:
        """The output in the input's rank; a spatial-only input with several
        filters keeps the channel axis, like PyTorch's unbatched form."""
        keep = self.input_rank
        if keep == self.ndim and full[1] > 1:
            keep += 1
        return full[len(full) - keep :]

    def restore_input(self, a: np.ndarray) -> np.ndarray:
        return a.reshape(a.shape[a.ndim - self.input_rank :])

    def restore_kernel(self, a: np.ndarray) -> np.ndarray:
        return a.reshape(a.shape[a.ndim - self.kernel_rank :])

    def restore_output(self, a: np.ndarray) -> np.ndarray:
        return a.reshape(self.output_shape(a.shape))


def _float(a: object, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise ArrayError(f"{name} has dtype {arr.dtype}; it must hold real numbers")
    if arr.dtype.kind != "f" or arr.dtype.itemsize < 4:
        arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ArrayError(f"{name} holds NaN or infinity; every entry must be finite")
    return arr


def _setup(
    x: object, w: object, ndim: int, stride, padding, dilation, groups: int
) -> tuple[np.ndarray, np.ndarray, Geometry, Ranks]:
    xa, wa = _float(x, "input"), _float(w, "kernel")
    ranks = Ranks.infer(xa.shape, wa.shape, ndim)
    xf = xa.reshape(ranks.full_shape(xa.shape))
    wf = wa.reshape(ranks.full_shape(wa.shape))
    if wf.shape[1] * groups != xf.shape[1]:
        raise ArrayError(
            f"kernel expects {wf.shape[1]}×{groups} = {wf.shape[1] * groups} input channels "
            f"(kernel axis 1 × groups) but the input has {xf.shape[1]}"
        )
    geom = Geometry.build(
        xf.shape[2:],
        wf.shape[2:],
        batch=xf.shape[0],
        in_channels=xf.shape[1],
        out_channels=wf.shape[0],
        groups=groups,
        stride=stride,
        dilation=dilation,
        padding=padding,
    )
    return xf, wf, geom, ranks


def _full_delta(delta: object, geom: Geometry, ranks: Ranks) -> np.ndarray:
    d = _float(delta, "delta")
    if d.shape not in (geom.output_shape, ranks.output_shape(geom.output_shape)):
        raise ArrayError(
            f"delta has shape {d.shape}; it must match the output, {ranks.output_shape(geom.output_shape)}"
        )
    return d.reshape(geom.output_shape)


def _conv(x, w, bias, stride, padding, dilation, groups, ndim: int) -> np.ndarray:
    xf, wf, geom, ranks = _setup(x, w, ndim, stride, padding, dilation, groups)
    b = None
    if bias is not None:
        b = _float(bias, "bias")
        if b.shape != (geom.out_channels,):
            raise ArrayError(f"bias has shape {b.shape}; it must be ({geom.out_channels},)")
    return ranks.restore_output(conv.forward(geom, xf, wf, b))


def _conv_backward(x, w, delta, stride, padding, dilation, groups, ndim: int) -> Gradients:
    xf, wf, geom, ranks = _setup(x, w, ndim, stride, padding, dilation, groups)
    d = _full_delta(delta, geom, ranks)
    return (
        ranks.restore_input(conv.input_grad(geom, wf, d)),
        ranks.restore_kernel(conv.weight_grad(geom, xf, d)),
        conv.bias_grad(d),
    )


def conv1d(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """1-D cross-correlation; input ``(L)``, ``(C, L)`` or ``(N, C, L)``."""
    return _conv(x, w, bias, stride, padding, dilation, groups, 1)


def conv2d(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """2-D cross-correlation as ``torch.nn.functional.conv2d`` defines it.

    Input ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``; kernel ``(kh, kw)`` or
    ``(O, C/groups, kh, kw)``; ``padding`` an int, a pair, ``[[top, bottom],
    [left, right]]``, ``'same'`` or ``'valid'``. The output has the input's rank.
    """
    return _conv(x, w, bias, stride, padding, dilation, groups, 2)


def conv3d(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """3-D cross-correlation; input ``(D, H, W)``, ``(C, D, H, W)`` or ``(N, C, D, H, W)``."""
    return _conv(x, w, bias, stride, padding, dilation, groups, 3)


def conv1d_backward(x, w, delta, stride=1, padding=0, dilation=1, groups=1) -> Gradients:
    """``(∂L/∂x, ∂L/∂W, ∂L/∂b)`` of :func:`conv1d` given ``delta = ∂L/∂y``."""
    return _conv_backward(x, w, delta, stride, padding, dilation, groups, 1)


def conv2d_backward(x, w, delta, stride=1, padding=0, dilation=1, groups=1) -> Gradients:
    """``(∂L/∂x, ∂L/∂W, ∂L/∂b)`` of :func:`conv2d` given ``delta = ∂L/∂y``.

    Each comes back in the rank its operand was given; ``∂L/∂b`` is ``(O,)``.
    """
    return _conv_backward(x, w, delta, stride, padding, dilation, groups, 2)


def conv3d_backward(x, w, delta, stride=1, padding=0, dilation=1, groups=1) -> Gradients:
    """``(∂L/∂x, ∂L/∂W, ∂L/∂b)`` of :func:`conv3d` given ``delta = ∂L/∂y``."""
    return _conv_backward(x, w, delta, stride, padding, dilation, groups, 3)
