"""The kinds of layer a stack may hold, each built for the shape it receives.

Every layer is a frozen dataclass with ``out_shape``, ``forward``,
``backward`` and the path-counting maps of :class:`.base.Layer`; the numbers
come from the engine (the convolution's BLAS products, pooling tap by tap).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from convgrad_cli.core.geometry import Geometry
from convgrad_cli.errors import ArrayError, GeometryError

from .base import Layer, Saved
from .conv import Conv, ConvTranspose
from .pooling import AvgPool, MaxPool, PoolGeometry
from .relu import ReLU

#: Each kind and the parameters it takes (``kernel`` is an array for the
#: convolutions, a window size for the pools).
PARAMS: dict[str, tuple[str, ...]] = {
    "conv": ("kernel", "bias", "stride", "padding", "dilation", "groups"),
    "conv_transpose": ("kernel", "bias", "stride", "padding", "output_padding", "dilation", "groups"),
    "maxpool": ("kernel", "stride", "padding", "dilation", "ceil_mode"),
    "avgpool": ("kernel", "stride", "padding", "ceil_mode", "count_include_pad", "divisor"),
    "relu": (),
}
KINDS = tuple(PARAMS)
WEIGHTED = ("conv", "conv_transpose")

__all__ = [
    "KINDS",
    "PARAMS",
    "WEIGHTED",
    "AvgPool",
    "Conv",
    "ConvTranspose",
    "Layer",
    "MaxPool",
    "PoolGeometry",
    "ReLU",
    "Saved",
    "make",
]


def make(
    kind: str,
    in_shape: tuple[int, ...],
    params: dict[str, Any],
    w: np.ndarray | None = None,
    bias: np.ndarray | None = None,
) -> Layer:
    """The layer ``kind`` on input ``in_shape``; ``w`` the kernel of a convolution, ``bias`` its bias (or None).

    Raises :class:`GeometryError` or :class:`ArrayError` with what is wrong and what is allowed.
    """
    if kind not in PARAMS:
        raise GeometryError(f"unknown layer kind {kind!r}; allowed: {', '.join(KINDS)}")
    unknown = sorted(set(params) - set(PARAMS[kind]) - {"kernel", "bias"})
    if unknown:
        allowed = ", ".join(PARAMS[kind]) or "none"
        raise GeometryError(f"{kind} has unknown parameter(s) {', '.join(unknown)}; allowed: {allowed}")
    if kind == "relu":
        return ReLU(tuple(in_shape))
    if kind in ("maxpool", "avgpool"):
        return _pool(kind, in_shape, params)
    assert w is not None
    layer = _conv(kind, in_shape, params, w)
    if bias is not None:
        channels = layer.out_shape[1]
        if bias.shape != (channels,):
            raise ArrayError(
                f"{kind} bias has shape {list(bias.shape)}; it must have one entry per output channel, [{channels}]"
            )
        layer = dataclasses.replace(layer, bias=bias)  # type: ignore[type-var]
    return layer


def _pool(kind: str, in_shape: tuple[int, ...], params: dict[str, Any]) -> Layer:
    if "kernel" not in params:
        raise GeometryError(f"{kind} needs a kernel size, e.g. {{kernel: 2}}")
    geom = PoolGeometry.build(
        kind,
        in_shape,
        params["kernel"],
        params.get("stride"),
        params.get("padding", 0),
        params.get("dilation", 1),
        params.get("ceil_mode", False),
    )
    if kind == "maxpool":
        return MaxPool(geom)
    return AvgPool(geom, params.get("count_include_pad", True), params.get("divisor"))


def _conv(kind: str, in_shape: tuple[int, ...], params: dict[str, Any], w: np.ndarray) -> Layer:
    n = len(in_shape) - 2
    if w.ndim != n + 2:
        raise ArrayError(
            f"{kind} kernel has shape {list(w.shape)}; on a {n}-D input it must have {n + 2} axes "
            f"({'out, in/groups' if kind == 'conv' else 'in, out/groups'}, {n} of taps)"
        )
    groups = params.get("groups", 1)
    if kind == "conv_transpose":
        if w.shape[0] != in_shape[1]:
            raise ArrayError(
                f"conv_transpose kernel {list(w.shape)} takes {w.shape[0]} input channel(s) (axis 0) "
                f"but its input {list(in_shape)} has {in_shape[1]}"
            )
        if not isinstance(groups, int) or groups < 1 or w.shape[0] % groups:
            raise GeometryError(
                f"conv_transpose groups {groups!r} must be an int ≥ 1 that divides {w.shape[0]}"
            )
        return ConvTranspose.build(
            tuple(in_shape),
            w,
            params.get("stride", 1),
            params.get("padding", 0),
            params.get("output_padding", 0),
            params.get("dilation", 1),
            groups,
        )
    if not isinstance(groups, int) or groups < 1 or w.shape[1] * groups != in_shape[1]:
        raise ArrayError(
            f"conv kernel {list(w.shape)} takes {w.shape[1]} channel(s) per group × groups {groups} "
            f"but its input {list(in_shape)} has {in_shape[1]}"
        )
    geom = Geometry.build(
        tuple(in_shape[2:]),
        tuple(w.shape[2:]),
        batch=in_shape[0],
        in_channels=in_shape[1],
        out_channels=w.shape[0],
        groups=groups,
        stride=_tuple(params.get("stride", 1)),
        dilation=_tuple(params.get("dilation", 1)),
        padding=_tuple(params.get("padding", 0)),
    )
    return Conv(geom, w)


def _tuple(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return value
