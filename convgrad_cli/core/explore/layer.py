"""The layer as `explore`'s keys change it, and the problem it makes."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from convgrad_cli.core.problem import Fill, Problem, build

#: What each key of the layer changes, and by how much.
KNOBS = ("stride", "padding", "dilation", "kernel", "size", "in_channels", "out_channels", "groups")


@dataclass(frozen=True)
class Layer:
    """The layer as the keys change it: every axis alike, padding symmetric."""

    in_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    batch: int
    in_channels: int
    out_channels: int
    groups: int
    stride: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]
    numbers: bool  # numbers under the names, or names alone

    @classmethod
    def of(cls, p: Problem) -> Layer:
        g = p.geom
        return cls(
            g.in_size,
            g.kernel_size,
            g.batch,
            g.in_channels,
            g.out_channels,
            g.groups,
            g.stride,
            g.padding,
            g.dilation,
            p.x is not None and p.w is not None,
        )

    def changed(self, knob: str, by: int) -> Layer:
        """The layer with one knob turned by ``by`` (on every axis)."""

        def step(values: tuple[int, ...], low: int) -> tuple[int, ...]:
            return tuple(max(low, v + by) for v in values)

        if knob == "stride":
            return replace(self, stride=step(self.stride, 1))
        if knob == "dilation":
            return replace(self, dilation=step(self.dilation, 1))
        if knob == "padding":
            return replace(self, padding=tuple((max(0, b + by), max(0, a + by)) for b, a in self.padding))
        if knob == "kernel":
            return replace(self, kernel_size=step(self.kernel_size, 1))
        if knob == "size":
            return replace(self, in_size=step(self.in_size, 1))
        if knob in ("in_channels", "out_channels"):  # by whole groups, so that groups still divide
            return replace(self, **{knob: max(self.groups, getattr(self, knob) + by * self.groups)})
        if knob == "groups":  # the next count that divides both channel counts
            options = [
                d
                for d in range(1, self.in_channels + 1)
                if self.in_channels % d == 0 and self.out_channels % d == 0
            ]
            i = options.index(self.groups) if self.groups in options else 0
            return replace(self, groups=options[(i + by) % len(options)])
        raise ValueError(knob)


def build_layer(layer: Layer, base: Problem) -> Problem:
    """The problem of ``layer``: the config's own arrays while their shapes hold,
    else 1, 2, 3 … (or names), δ of ones."""
    g = base.geom

    def operand(given: np.ndarray | None, shape: tuple[int, ...]) -> object:
        if not layer.numbers:
            return Fill("names", shape)
        return given if given is not None and given.shape == shape else Fill("arange", shape)

    x_shape = (layer.batch, layer.in_channels, *layer.in_size)
    w_shape = (layer.out_channels, layer.in_channels // layer.groups, *layer.kernel_size)
    same = x_shape == g.input_shape and w_shape == g.kernel_shape
    same = same and (layer.stride, layer.padding, layer.dilation) == (g.stride, g.padding, g.dilation)
    delta: object = base.delta if same and layer.numbers and base.delta is not None else Fill("ones")
    if not layer.numbers:
        delta = Fill("names")
    return build(
        operand(base.x, x_shape),
        operand(base.w, w_shape),
        delta=delta,
        stride=layer.stride,
        padding=layer.padding,
        dilation=layer.dilation,
        groups=layer.groups,
        dims=len(layer.in_size),
        dtype=base.dtype,
        seed=base.seed,
        source=base.source,
        max_bytes=base.max_bytes,
    )
