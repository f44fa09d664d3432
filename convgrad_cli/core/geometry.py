"""The shape of a convolution problem, validated once and derived from there.

Everything is written per spatial axis (tuples, one entry per axis), so the
same code serves 1-D, 2-D and 3-D convolutions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from math import prod
from typing import Any

import numpy as np

from convgrad_cli.errors import ArrayError, GeometryError

from .axes import MAX_SIZE, Pair, compact, is_int, per_axis, per_axis_padding, resolve_padding_mode, short


@dataclass(frozen=True)
class Geometry:
    """Shapes, stride, padding, dilation and groups of one convolution.

    ``padding`` holds ``(before, after)`` for each spatial axis. Conventions
    are PyTorch's: input ``(N, C, *in_size)``, kernel
    ``(O, C // groups, *kernel_size)``, output ``(N, O, *out_size)``.

    Examples
    --------
    The seed's second example: a 4×4 input, a 2×2 kernel, stride 2.

    >>> g = Geometry.build(in_size=(4, 4), kernel_size=(2, 2), stride=2)
    >>> g.out_size
    (2, 2)
    >>> g.delta_padding
    ((1, 1), (1, 1))
    """

    batch: int
    in_channels: int
    out_channels: int
    groups: int
    in_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[Pair, ...]

    @classmethod
    def build(
        cls,
        in_size: tuple[int, ...],
        kernel_size: tuple[int, ...],
        *,
        batch: int = 1,
        in_channels: int = 1,
        out_channels: int = 1,
        groups: int = 1,
        stride: Any = 1,
        dilation: Any = 1,
        padding: Any = 0,
    ) -> Geometry:
        """Build a geometry, spreading ints over the axes and resolving
        ``'same'``/``'valid'`` padding."""
        n = len(in_size)
        if not is_int(groups):
            raise GeometryError(f"groups {groups!r} is not allowed; give an integer")
        stride_t = per_axis(stride, n, "stride")
        dilation_t = per_axis(dilation, n, "dilation")
        if isinstance(padding, str):
            padding_t = resolve_padding_mode(padding, kernel_size, stride_t, dilation_t)
        else:
            padding_t = per_axis_padding(padding, n)
        return cls(
            batch=batch,
            in_channels=in_channels,
            out_channels=out_channels,
            groups=int(groups),
            in_size=tuple(in_size),
            kernel_size=tuple(kernel_size),
            stride=stride_t,
            dilation=dilation_t,
            padding=padding_t,
        )

    def __post_init__(self) -> None:
        for name in (
            "batch",
            "in_channels",
            "out_channels",
            "groups",
            "in_size",
            "kernel_size",
            "stride",
            "dilation",
            "padding",
        ):
            value = getattr(self, name)
            flat = (
                [v for item in value for v in (item if isinstance(item, tuple) else (item,))]
                if isinstance(value, tuple)
                else [value]
            )
            big = next((v for v in flat if abs(v) > MAX_SIZE), None)
            if big is not None:
                raise GeometryError(f"{name} {short(big)} is out of range; allowed: 0 to {MAX_SIZE:,}")
        n = self.ndim
        if n not in (1, 2, 3):
            raise GeometryError(f"{n} spatial axes given; convgrad handles 1, 2 or 3")
        for name in ("kernel_size", "stride", "dilation", "padding"):
            if len(getattr(self, name)) != n:
                raise GeometryError(f"{name} has {len(getattr(self, name))} axes but the input has {n}")
        for name in ("batch", "in_channels", "out_channels", "groups"):
            if getattr(self, name) < 1:
                raise GeometryError(f"{name} is {getattr(self, name)}; it must be at least 1")
        if any(s < 1 for s in self.in_size) or any(k < 1 for k in self.kernel_size):
            raise GeometryError(
                f"input size {self.in_size} and kernel size {self.kernel_size} "
                "must be at least 1 on every axis"
            )
        if any(s < 1 for s in self.stride):
            raise GeometryError(f"stride {self.stride} must be at least 1 on every axis")
        if any(d < 1 for d in self.dilation):
            raise GeometryError(f"dilation {self.dilation} must be at least 1 on every axis")
        if any(p < 0 for pair in self.padding for p in pair):
            raise GeometryError(
                f"padding {self.padding} must not be negative; allowed: 0 or more zeros per side"
            )
        for what, count in (("in_channels", self.in_channels), ("out_channels", self.out_channels)):
            if count % self.groups:
                raise GeometryError(
                    f"groups={self.groups} does not divide {what}={count}; "
                    "groups must divide both the input and the output channels"
                )
        for axis, (size, (before, after), extent) in enumerate(
            zip(self.in_size, self.padding, self.kernel_extent)
        ):
            if extent > size + before + after:
                raise GeometryError(
                    f"on axis {axis} the kernel spans {extent} cells (dilation included) "
                    f"but the padded input has only {size + before + after}; "
                    "use a smaller kernel or dilation, or more padding"
                )

    # -- shapes (cached: a frozen geometry's shapes never change, and tracing asks often) --

    @property
    def grouping(self) -> tuple[int, int, int]:
        """(groups, input channels, output channels): what a slice's channel means in each array."""
        return self.groups, self.in_channels, self.out_channels

    def channels_of(self, filter: int) -> range:
        """The input channels filter ``filter`` reads: its group's."""
        per = self.in_channels // self.groups
        group = filter // (self.out_channels // self.groups)
        return range(group * per, (group + 1) * per)

    def filters_of(self, channel: int) -> range:
        """The filters that read input channel ``channel``: its group's."""
        per = self.out_channels // self.groups
        group = channel // (self.in_channels // self.groups)
        return range(group * per, (group + 1) * per)

    @property
    def ndim(self) -> int:
        """Number of spatial axes."""
        return len(self.in_size)

    @cached_property
    def input_shape(self) -> tuple[int, ...]:
        return (self.batch, self.in_channels, *self.in_size)

    @cached_property
    def kernel_shape(self) -> tuple[int, ...]:
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

    @cached_property
    def output_shape(self) -> tuple[int, ...]:
        return (self.batch, self.out_channels, *self.out_size)

    @cached_property
    def kernel_extent(self) -> tuple[int, ...]:
        """Cells a dilated kernel spans on each axis: ``dilation·(k−1) + 1``."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation))

    @cached_property
    def padded_in_size(self) -> tuple[int, ...]:
        return tuple(s + b + a for s, (b, a) in zip(self.in_size, self.padding))

    @cached_property
    def out_size(self) -> tuple[int, ...]:
        """``(H + pads − dilation·(k−1) − 1) // stride + 1`` on each axis."""
        return tuple(
            (p - e) // s + 1 for p, e, s in zip(self.padded_in_size, self.kernel_extent, self.stride)
        )

    @cached_property
    def uncovered(self) -> tuple[int, ...]:
        """Rows/columns at the end of the padded input that no window reaches.

        This is what transposed convolutions call ``output_padding``.
        """
        return tuple((p - e) % s for p, e, s in zip(self.padded_in_size, self.kernel_extent, self.stride))

    @cached_property
    def uncovered_input(self) -> tuple[int, ...]:
        """Input rows/columns at the end that no window reaches (gradient 0): the
        uncovered rows less the padding after, which holds the rest."""
        return tuple(
            min(n, max(0, u - after)) for n, u, (_, after) in zip(self.in_size, self.uncovered, self.padding)
        )

    # -- the backward pass ---------------------------------------------------

    @cached_property
    def dilated_delta_size(self) -> tuple[int, ...]:
        """δ after ``stride − 1`` zeros go between neighbours: ``(out − 1)·s + 1``."""
        return tuple((o - 1) * s + 1 for o, s in zip(self.out_size, self.stride))

    @cached_property
    def delta_padding(self) -> tuple[Pair, ...]:
        """Zeros around the dilated δ, per side; negative means crop.

        ``dilation·(k−1) − padding`` on each side, plus the uncovered rows
        and columns at the end.
        """
        return tuple(
            (e - 1 - before, e - 1 - after + extra)
            for e, (before, after), extra in zip(self.kernel_extent, self.padding, self.uncovered)
        )

    @cached_property
    def padded_delta_size(self) -> tuple[int, ...]:
        return tuple(s + b + a for s, (b, a) in zip(self.dilated_delta_size, self.delta_padding))

    def delta_at(self, at: tuple[int, ...]) -> tuple[int, ...] | None:
        """The δ entry (spatial index) at position ``at`` of the padded δ, or ``None`` on a zero."""
        out = []
        for a, s, (before, _), size in zip(at, self.stride, self.delta_padding, self.out_size):
            v = a - before
            if v < 0 or v % s or v // s >= size:
                return None
            out.append(v // s)
        return tuple(out)

    @property
    def flops(self) -> int:
        """Multiply-adds of one forward pass, times two."""
        per_output = (self.in_channels // self.groups) * prod(self.kernel_size)
        return 2 * prod(self.output_shape) * per_output

    def describe(self) -> str:
        """One line for tables and headings, e.g. ``1×1×4×4 * 1×1×2×2 s2 p1``;
        padding, dilation and groups appear when they are not the default."""

        pads = self.padding
        if all(b == a for b, a in pads):
            pad = compact(b for b, _ in pads)
        else:
            pad = ",".join(f"{b}/{a}" for b, a in pads)
        text = f"{'×'.join(map(str, self.input_shape))} * {'×'.join(map(str, self.kernel_shape))}"
        text += f" s{compact(self.stride)}"
        text += f" p{pad}" if pad != "0" else ""
        text += f" d{compact(self.dilation)}" if set(self.dilation) != {1} else ""
        return text + (f" g{self.groups}" if self.groups > 1 else "")


@dataclass(frozen=True)
class Ranks:
    """How the arrays a user gave map onto full rank ``(N, C, *spatial)``.

    Inputs may drop the batch axis, or batch and channel; a kernel may be
    just its spatial taps (one filter, one channel). Results come back in
    the rank the user gave.

    >>> r = Ranks.infer((3, 5, 5), (4, 3, 2, 2), ndim=2)
    >>> r.full_shape((3, 5, 5)), r.output_shape((1, 4, 4, 4))
    ((1, 3, 5, 5), (4, 4, 4))
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
        return full[len(full) - self.output_rank(full[1]) :]

    def output_rank(self, out_channels: int) -> int:
        """Axes of the output (and δ) in the rank the user gave."""
        return self.input_rank + 1 if self.input_rank == self.ndim and out_channels > 1 else self.input_rank

    def restore_input(self, a: np.ndarray) -> np.ndarray:
        return a.reshape(a.shape[a.ndim - self.input_rank :])

    def restore_kernel(self, a: np.ndarray) -> np.ndarray:
        return a.reshape(a.shape[a.ndim - self.kernel_rank :])

    def restore_output(self, a: np.ndarray) -> np.ndarray:
        return a.reshape(self.output_shape(a.shape))
