"""The forward rule and its gradient rules, one short function each.

Arrays are full rank here, ``(N, C, *spatial)``; :mod:`convgrad_cli.api`
accepts the shorter forms users type. The numbers come from the engine; the
slides' pipeline (:func:`backward_steps`) is spelt out step by step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .geometry import Geometry
from .ops import dilate, flip_kernel, pad

if TYPE_CHECKING:
    from convgrad_cli.engine import Tuning


def _engine():  # type: ignore[no-untyped-def]
    # imported here: trace and --help never use the engine, and it is start-up time
    from convgrad_cli import engine

    return engine


def forward(
    geom: Geometry, x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None, tuning: Tuning | None = None
) -> np.ndarray:
    """``y = correlate(pad(x, padding), W) + b`` — the kernel is not flipped."""
    engine = _engine()
    return engine.correlate(
        x, w, geom.stride, geom.padding, geom.dilation, geom.groups, bias, tuning or engine.default()
    )


@dataclass(frozen=True)
class BackwardSteps:
    """Each intermediate of the slides' input-gradient pipeline."""

    dilated_delta: np.ndarray
    padded_delta: np.ndarray
    flipped_kernel: np.ndarray
    input_grad: np.ndarray


def backward_steps(
    geom: Geometry, w: np.ndarray, delta: np.ndarray, tuning: Tuning | None = None
) -> BackwardSteps:
    """``dX = correlate(pad(dilate(δ, s), d·(k−1) − p), rot180(W)ᵀ)`` with the kernel dilated by d.

    ``pad`` adds the uncovered rows/columns at the end too; ``ᵀ`` swaps the
    kernel's in/out channel axes within each group.
    """
    dilated_delta = dilate(delta, geom.stride)
    padded_delta = pad(dilated_delta, geom.delta_padding)
    flipped_kernel = flip_kernel(w, geom.groups)
    engine = _engine()
    input_grad = engine.correlate(
        padded_delta, flipped_kernel, (1,) * geom.ndim, ((0, 0),) * geom.ndim, geom.dilation, geom.groups,
        None, tuning or engine.default(),
    )  # fmt: skip
    return BackwardSteps(dilated_delta, padded_delta, flipped_kernel, input_grad)


def input_grad(geom: Geometry, w: np.ndarray, delta: np.ndarray, tuning: Tuning | None = None) -> np.ndarray:
    """The numbers of :func:`backward_steps`, computed the fastest exact way.

    ``dX[p·s + k·d − pad] += Wᵀ·δ[p]`` is scattered straight from δ (col2im): the
    same sums as the slides' pipeline without building the dilated, padded δ, so
    at stride > 1 its zeros are never multiplied. A test proves the two agree.
    """
    engine = _engine()
    return engine.correlate_input_grad(
        delta,
        w,
        geom.in_size,
        geom.stride,
        geom.padding,
        geom.dilation,
        geom.groups,
        tuning or engine.default(),
    )


def weight_grad(geom: Geometry, x: np.ndarray, delta: np.ndarray, tuning: Tuning | None = None) -> np.ndarray:
    """``dW[k] = Σ_p δ[p] · pad(x)[p·s + k·d]`` — the input correlated with the dilated δ."""
    engine = _engine()
    return engine.correlate_weight_grad(
        x, delta, geom.kernel_size, geom.stride, geom.padding, geom.dilation, geom.groups,
        tuning or engine.default(),
    )  # fmt: skip


def bias_grad(delta: np.ndarray) -> np.ndarray:
    """``db[o] = Σ δ[n, o, p]`` over the batch and every output position."""
    return delta.sum(axis=(0, *range(2, delta.ndim)))


@dataclass(frozen=True)
class TransposedConvolution:
    """The arguments of ``torch.nn.functional.conv_transpose{1,2,3}d(δ, W, …)`` that give ∂L/∂x."""

    function: str
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    output_padding: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    exact: bool  # false for asymmetric padding that conv_transpose cannot express


def transposed_convolution(geom: Geometry) -> TransposedConvolution:
    """The same stride, dilation and groups; ``padding`` the forward's; and
    ``output_padding`` the uncovered rows/columns that uneven coverage leaves.

    Asymmetric padding ``(before, after)`` is met with ``padding = before`` and
    ``output_padding = uncovered + before − after`` where that lies in
    ``[0, max(stride, dilation))``; otherwise ``exact`` is false and the result
    must be cropped by hand.

    >>> transposed_convolution(Geometry.build((5, 5), (2, 2), stride=2)).output_padding
    (1, 1)
    """
    output_padding = tuple(u + b - a for u, (b, a) in zip(geom.uncovered, geom.padding))
    return TransposedConvolution(
        function=f"torch.nn.functional.conv_transpose{geom.ndim}d",
        stride=geom.stride,
        padding=tuple(b for b, _ in geom.padding),
        output_padding=output_padding,
        dilation=geom.dilation,
        groups=geom.groups,
        exact=all(0 <= op < max(s, d) for op, s, d in zip(output_padding, geom.stride, geom.dilation)),
    )
