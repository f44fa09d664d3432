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
    """A transposed convolution of δ with the same W, and the crop after it, that give ∂L/∂x.

    ``code`` is that as one Python expression over ``delta`` and ``W`` (torch
    tensors) and ``F`` (``torch.nn.functional``): it runs as printed.
    """

    function: str
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    output_padding: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    crop: tuple[tuple[int, int], ...]  # cells cut from each end of each spatial axis afterwards

    @property
    def code(self) -> str:
        def one(v: tuple[int, ...]) -> str:
            return str(v[0]) if len(set(v)) == 1 else "(" + ", ".join(map(str, v)) + ")"

        call = (
            f"F.{self.function.rsplit('.', 1)[-1]}(delta, W, stride={one(self.stride)}, "
            f"padding={one(self.padding)}, output_padding={one(self.output_padding)}, "
            f"dilation={one(self.dilation)}, groups={self.groups})"
        )
        if not any(b or a for b, a in self.crop):
            return call
        cuts = [f"{b or ''}:{-a if a else ''}" for b, a in self.crop]
        return call + "[..., " + ", ".join(cuts) + "]"


def transposed_convolution(geom: Geometry) -> TransposedConvolution:
    """The same stride, dilation and groups; ``output_padding`` the uncovered
    rows/columns that uneven coverage leaves (always less than the stride, so
    PyTorch takes it); ``padding`` the smaller side of the forward's padding,
    and the rest of an asymmetric padding cropped from the result.

    >>> t = transposed_convolution(Geometry.build((5, 5), (2, 2), stride=2))
    >>> t.output_padding, t.code
    ((1, 1), 'F.conv_transpose2d(delta, W, stride=2, padding=0, output_padding=1, dilation=1, groups=1)')
    >>> transposed_convolution(Geometry.build((5,), (3,), padding=((1, 2),))).code[-10:]
    '[..., :-1]'
    """
    shared = tuple(min(b, a) for b, a in geom.padding)
    return TransposedConvolution(
        function=f"torch.nn.functional.conv_transpose{geom.ndim}d",
        stride=geom.stride,
        padding=shared,
        output_padding=geom.uncovered,
        dilation=geom.dilation,
        groups=geom.groups,
        crop=tuple((b - m, a - m) for (b, a), m in zip(geom.padding, shared)),
    )
