"""The Python API, shaped like ``torch.nn.functional``. It computes in NumPy: any
array-like (a list, a torch tensor on the CPU) goes in, and NumPy arrays come out —
``torch.from_numpy(y)`` makes a tensor of one again.

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

from typing import Any

import numpy as np

from .core import problem, rules

Gradients = tuple[np.ndarray, np.ndarray, np.ndarray]


def _conv(
    x: Any, w: Any, bias: Any, stride: Any, padding: Any, dilation: Any, groups: Any, ndim: int
) -> np.ndarray:
    p = problem.build(
        x, w, bias=bias, stride=stride, padding=padding, dilation=dilation, groups=groups, dims=ndim
    )
    assert p.x is not None and p.w is not None  # arrays, never names, come through the API
    return p.ranks.restore_output(rules.forward(p.geom, p.x, p.w, p.bias))


def _conv_backward(
    x: Any, w: Any, delta: Any, stride: Any, padding: Any, dilation: Any, groups: Any, ndim: int
) -> Gradients:
    p = problem.build(
        x, w, delta=delta, stride=stride, padding=padding, dilation=dilation, groups=groups, dims=ndim
    )
    assert p.x is not None and p.w is not None and p.delta is not None
    return (
        p.ranks.restore_input(rules.input_grad(p.geom, p.w, p.delta)),
        p.ranks.restore_kernel(rules.weight_grad(p.geom, p.x, p.delta)),
        rules.bias_grad(p.delta),
    )


def conv1d(
    x: Any, w: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: Any = 1
) -> np.ndarray:
    """1-D cross-correlation; input ``(L)``, ``(C, L)`` or ``(N, C, L)``."""
    return _conv(x, w, bias, stride, padding, dilation, groups, 1)


def conv2d(
    x: Any, w: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: Any = 1
) -> np.ndarray:
    """2-D cross-correlation as ``torch.nn.functional.conv2d`` defines it.

    Input ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``; kernel ``(kh, kw)`` or
    ``(O, C/groups, kh, kw)``; ``padding`` an int, a pair, ``[[top, bottom],
    [left, right]]``, ``'same'`` or ``'valid'``. The output has the input's rank.
    """
    return _conv(x, w, bias, stride, padding, dilation, groups, 2)


def conv3d(
    x: Any, w: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: Any = 1
) -> np.ndarray:
    """3-D cross-correlation; input ``(D, H, W)``, ``(C, D, H, W)`` or ``(N, C, D, H, W)``."""
    return _conv(x, w, bias, stride, padding, dilation, groups, 3)


def conv1d_backward(
    x: Any, w: Any, delta: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: Any = 1
) -> Gradients:
    """``(∂L/∂x, ∂L/∂W, ∂L/∂bias)`` of :func:`conv1d` given ``delta = ∂L/∂y``."""
    return _conv_backward(x, w, delta, stride, padding, dilation, groups, 1)


def conv2d_backward(
    x: Any, w: Any, delta: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: Any = 1
) -> Gradients:
    """``(∂L/∂x, ∂L/∂W, ∂L/∂bias)`` of :func:`conv2d` given ``delta = ∂L/∂y``.

    Each comes back in the rank its operand was given; ``∂L/∂bias`` is ``(O,)``.
    """
    return _conv_backward(x, w, delta, stride, padding, dilation, groups, 2)


def conv3d_backward(
    x: Any, w: Any, delta: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: Any = 1
) -> Gradients:
    """``(∂L/∂x, ∂L/∂W, ∂L/∂bias)`` of :func:`conv3d` given ``delta = ∂L/∂y``."""
    return _conv_backward(x, w, delta, stride, padding, dilation, groups, 3)
