"""The forward rule and its gradient rules, one short function each.

Arrays are full rank here, ``(N, C, *spatial)``; :mod:`convgrad_cli.api`
accepts the shorter forms users type. The numbers come from the engine; the
slides' pipeline (:func:`backward_steps`) is spelt out step by step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .axes import compact
from .geometry import Geometry
from .ops import dilate, flip_kernel, pad

if TYPE_CHECKING:
    from convgrad_cli.engine import Conv, Tuning


def _engine():  # type: ignore[no-untyped-def]
    # imported here: trace and --help never use the engine, and it is start-up time
    from convgrad_cli import engine

    return engine


def _conv(geom: Geometry) -> Conv:
    """How ``geom``'s kernel slides, as the engine takes it."""
    return _engine().Conv(geom.stride, geom.padding, geom.dilation, geom.groups)


def forward(
    geom: Geometry, x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None, tuning: Tuning | None = None
) -> np.ndarray:
    """``y = correlate(pad(x, padding), W) + b`` — the kernel is not flipped."""
    engine = _engine()
    return engine.correlate(x, w, _conv(geom), bias, tuning or engine.default())


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
    input_grad = correlate_flipped(padded_delta, flipped_kernel, geom.dilation, geom.groups, tuning)
    return BackwardSteps(dilated_delta, padded_delta, flipped_kernel, input_grad)


def correlate_flipped(
    padded_delta: np.ndarray,
    flipped_kernel: np.ndarray,
    dilation: tuple[int, ...],
    groups: int,
    tuning: Tuning | None = None,
) -> np.ndarray:
    """The pipeline's last step: ``correlate(padded δ, flipped kernel)`` at stride 1 and
    no padding, the kernel's taps ``dilation`` apart, its in/out axes already swapped.

    Shapes: ``padded_delta (N, O, *P)``, ``flipped_kernel (C, O/g, *k)`` → ``(N, C, *(P − d·(k−1)))``.
    """
    engine = _engine()
    ndim = len(dilation)
    conv = engine.Conv((1,) * ndim, ((0, 0),) * ndim, tuple(dilation), groups)
    return engine.correlate(padded_delta, flipped_kernel, conv, None, tuning or engine.default())


def input_grad(geom: Geometry, w: np.ndarray, delta: np.ndarray, tuning: Tuning | None = None) -> np.ndarray:
    """The numbers of :func:`backward_steps`, computed the fastest exact way.

    ``dX[p·s + k·d − pad] += Wᵀ·δ[p]`` is scattered straight from δ (col2im): the
    same sums as the slides' pipeline without building the dilated, padded δ, so
    at stride > 1 its zeros are never multiplied. A test proves the two agree.
    """
    engine = _engine()
    return engine.correlate_input_grad(delta, w, geom.in_size, _conv(geom), tuning or engine.default())


def weight_grad(geom: Geometry, x: np.ndarray, delta: np.ndarray, tuning: Tuning | None = None) -> np.ndarray:
    """``dW[k] = Σ_p δ[p] · pad(x)[p·s + k·d]`` — the input correlated with the dilated δ."""
    engine = _engine()
    return engine.correlate_weight_grad(x, delta, geom.kernel_size, _conv(geom), tuning or engine.default())


def bias_grad(delta: np.ndarray) -> np.ndarray:
    """``db[o] = Σ δ[n, o, p]`` over the batch and every output position."""
    return delta.sum(axis=(0, *range(2, delta.ndim)))


@dataclass(frozen=True)
class TransposedConvolution:
    """A transposed convolution of δ with the same W, and the crop after it, that give ∂L/∂x.

    ``code`` is that as one Python expression over ``delta`` and ``W`` (torch
    tensors) and ``F`` (``torch.nn.functional``): it runs as printed, each
    argument that is PyTorch's default left out.
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
        # PyTorch's defaults left out, so that the call fits a line of 80 columns
        given = (
            ("stride", self.stride, 1),
            ("padding", self.padding, 0),
            ("output_padding", self.output_padding, 0),
            ("dilation", self.dilation, 1),
        )
        args = [f"{name}={compact(v, None)}" for name, v, default in given if any(n != default for n in v)]
        args += [f"groups={self.groups}"] if self.groups != 1 else []
        call = f"F.{self.function.rsplit('.', 1)[-1]}({', '.join(['delta', 'W', *args])})"
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
    ((1, 1), 'F.conv_transpose2d(delta, W, stride=2, output_padding=1)')
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
