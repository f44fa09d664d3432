"""Receptive fields and path counts through a stack of layers.

Counting is the stack's own backward (or forward) pass with every weight 1,
ReLU the identity and a max-pool summing its window (any cell of a window may
win it, so every cell is a path): the entry of an input cell is then the
number of paths that join it to the traced output. The receptive field is
where that count is not zero, per axis ``[start, stop)`` in input
coordinates — exact whatever the stride, padding, dilation or ceil_mode, as
it is read from the paths themselves. Padding cells are never in it.

:func:`distill` gives the analytic quantities of "Computing Receptive Fields
of Convolutional Neural Networks" (Araujo et al., Distill 2019) per layer:
size, jump and start, where padding cells count — exact above a transposed
convolution too, where the jump is a fraction and the field depends on the
output's phase.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from convgrad_cli.errors import CellError, GeometryError

from . import stack as network
from .layers import Layer
from .names import LETTERS
from .stack import Stack

#: A receptive field: ``(start, stop)`` per spatial axis, or None where nothing reaches.
Field = tuple[tuple[int, int], ...] | None


@dataclass(frozen=True)
class OutputReach:
    """Everything under one top output: per level (the input, then each layer's
    output, bottom-up) the paths to it and their receptive field, and the gradient
    of that output through the actual weights and activations."""

    index: tuple[int, ...]
    paths: list[np.ndarray]  # paths[0]: the input's shape; paths[l]: layer l's output
    fields: list[Field]
    gradient: np.ndarray  # ∂y[index]/∂x

    @property
    def receptive_field(self) -> Field:
        return self.fields[0]


@dataclass(frozen=True)
class InputReach:
    """Where one input cell goes: per level (the input, then each layer's output)
    the number of paths from it to every cell, and the cells it reaches."""

    index: tuple[int, ...]
    paths: list[np.ndarray]
    fields: list[Field]


def field(paths: np.ndarray) -> Field:
    """``[start, stop)`` per spatial axis of the nonzero entries."""
    nonzero = np.nonzero(paths)
    if not nonzero[0].size:
        return None
    return tuple((int(a.min()), int(a.max()) + 1) for a in nonzero[2:])


def _index(shape: tuple[int, ...], index: tuple[int, ...] | str, what: str) -> tuple[int, ...]:
    """A cell as given: a full index, the spatial index of a one-sample one-channel array,
    or its name as the slides write it (``a`` … for the input, ``y1`` … for the output)."""
    if isinstance(index, str):
        index = _parse(shape, index.strip(), what)
    if len(index) == len(shape) - 2 and shape[:2] == (1, 1):
        index = (0, 0, *index)
    if len(index) != len(shape) or any(not 0 <= i < n for i, n in zip(index, shape)):
        raise CellError(
            f"{what} {list(index)} is not in the shape {list(shape)}; give {len(shape)} indices within it"
        )
    return tuple(index)


def _parse(shape: tuple[int, ...], text: str, what: str) -> tuple[int, ...]:
    single, cells = shape[:2] == (1, 1), int(np.prod(shape))
    if (
        single
        and what == "input cell"
        and len(text) == 1
        and text in LETTERS[:cells]
        and cells <= len(LETTERS)
    ):
        return tuple(int(i) for i in np.unravel_index(LETTERS.index(text), shape))
    named = re.fullmatch(r"[yY](\d+)", text)
    if single and what == "output" and named and 1 <= int(named.group(1)) <= cells:
        return tuple(int(i) for i in np.unravel_index(int(named.group(1)) - 1, shape))
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        example = ",".join("0" * len(shape))
        raise CellError(
            f"{what} {text!r} is not an index; give {len(shape)} integers, e.g. {example}"
        ) from None


def output_reach(stack: Stack, index: tuple[int, ...] | str) -> OutputReach:
    """The receptive field, paths and gradient of the top output at ``index`` (full rank)."""
    top = stack.shapes[-1]
    cell = _index(top, index, "output")
    one = np.zeros(top)
    one[cell] = 1.0
    paths = [one]
    for layer in reversed(stack.layers):
        paths.append(layer.count_down(paths[-1]))
    paths = [_exact(p) for p in reversed(paths)]
    gradient = network.backward(stack, top=one.astype(stack.x.dtype))[0].input_grad
    return OutputReach(cell, paths, [field(p) for p in paths], gradient)


def input_reach(stack: Stack, index: tuple[int, ...] | str) -> InputReach:
    """The paths from the input cell at ``index`` (full rank) to every cell of every layer."""
    cell = _index(stack.x.shape, index, "input cell")
    one = np.zeros(stack.x.shape)
    one[cell] = 1.0
    paths = [one]
    for layer in stack.layers:
        paths.append(layer.count_up(paths[-1]))
    paths = [_exact(p) for p in paths]
    return InputReach(cell, paths, [field(p) for p in paths])


def _exact(counts: np.ndarray) -> np.ndarray:
    """Counts as integers: sums of ones in float64 are exact below 2**53."""
    if counts.size and float(counts.max()) >= 2**53:
        return counts  # too many paths to count exactly; left as floats
    return np.rint(counts).astype(np.int64)


@dataclass(frozen=True)
class AxisField:
    """One spatial axis of a layer's analytic field: output ``i`` sees
    ``[start + i·jump, start + i·jump + size)`` of the network input (padding
    counted), with ``(start, size)`` its phase's, ``phases[i mod len(phases)]``
    (None: that phase sees nothing). Below a convolution or pool only, the jump
    is whole and there is one phase: Distill's size, jump and start. A transposed
    convolution of stride s makes the jump fractional (÷ s), and its outputs'
    fields differ by phase, as each meets a different set of kernel taps."""

    jump: Fraction
    phases: tuple[tuple[Fraction, int] | None, ...]

    @property
    def plain(self) -> bool:
        """One phase, a whole jump and start: Distill's three numbers."""
        one = self.phases[0]
        return len(self.phases) == 1 and one is not None and self.jump.denominator == one[0].denominator == 1

    def of(self, i: int) -> tuple[Fraction, Fraction] | None:
        """``[start, stop)`` of output ``i`` on the input (exact, padding counted), or None."""
        phase = self.phases[i % len(self.phases)]
        if phase is None:
            return None
        first = phase[0] + i * self.jump
        return first, first + phase[1]


@dataclass(frozen=True)
class Distill:
    """One layer's row of the analytic receptive field, per spatial axis (:class:`AxisField`)."""

    kind: str
    out_size: tuple[int, ...]
    axes: tuple[AxisField, ...]

    @property
    def size(self) -> tuple[int, ...] | None:
        """Distill's size per axis, or None where an axis has phases (above a transposed convolution)."""
        return tuple(a.phases[0][1] for a in self.axes) if all(a.plain for a in self.axes) else None  # type: ignore[index]

    @property
    def jump(self) -> tuple[int, ...] | None:
        return tuple(int(a.jump) for a in self.axes) if all(a.plain for a in self.axes) else None

    @property
    def start(self) -> tuple[int, ...] | None:
        return tuple(int(a.phases[0][0]) for a in self.axes) if all(a.plain for a in self.axes) else None  # type: ignore[index]


#: A transposed convolution's period is the product of its strides; beyond this many phases
#: per axis a row is not worked out (a field is then read from ``trace --output``).
MAX_PHASES = 4096


def distill(stack: Stack) -> list[Distill]:
    """Size, jump and start per layer, bottom-up, each axis worked out exactly: the cells that
    one output of each phase reaches through every layer below, on an input padded without end
    (Distill's ``r_l = r_{l−1} + (k_l − 1)·d_l·j_{l−1}``, ``j_l = j_{l−1}·s_l``,
    ``start_l = start_{l−1} − p_l·j_{l−1}`` where no transposed convolution is below)."""
    maps = [_axis_maps(layer) for layer in stack.layers]
    rows = []
    for top, layer in enumerate(stack.layers):
        axes = tuple(_axis_field([m[axis] for m in maps[: top + 1]]) for axis in range(stack.ndim))
        rows.append(Distill(layer.kind, layer.out_shape[2:], axes))
    return rows


#: One layer on one axis: its factor (stride, or 1/stride for a transposed convolution) and the
#: input cells an output cell reads, on an input padded without end.
AxisMap = tuple[Fraction, Callable[[int], list[int]]]


def _axis_field(chain: list[AxisMap]) -> AxisField:
    """The field of each phase of the top of ``chain`` (bottom-up) on its input."""
    jump, period, shift = Fraction(1), 1, Fraction(1)
    for factor, _ in chain:
        jump *= factor
    for factor, _ in reversed(chain):  # a shift of `period` outputs must be whole at every level below
        shift *= factor
        period = math.lcm(period, shift.denominator)
    if period > MAX_PHASES:
        raise GeometryError(
            f"the receptive field repeats only every {period} outputs (transposed strides); at most {MAX_PHASES}"
        )
    phases = []
    for phase in range(period):
        cells = {phase}
        for _, reads in reversed(chain):
            cells = {c for o in cells for c in reads(o)}
        phases.append(None if not cells else (min(cells) - phase * jump, max(cells) + 1 - min(cells)))
    return AxisField(jump, tuple(phases))


def _axis_maps(layer: Layer) -> list[AxisMap]:
    """A layer's :data:`AxisMap` per spatial axis."""
    n = len(layer.out_shape) - 2
    if layer.kind == "relu":
        return [(Fraction(1), lambda o: [o])] * n
    p = layer.params
    kernel = p["kernel_shape"][2:] if layer.kind in ("conv", "conv_transpose") else p["kernel"]
    pads = [b for b, _ in p["padding"]] if layer.kind == "conv" else p["padding"]
    dilation = p.get("dilation", [1] * n)
    out: list[AxisMap] = []
    for k, s, pad, d in zip(kernel, p["stride"], pads, dilation):
        transposed = layer.kind == "conv_transpose"
        out.append((Fraction(1, s) if transposed else Fraction(s), _reads(k, s, pad, d, transposed)))
    return out


def _reads(k: int, s: int, pad: int, d: int, transposed: bool) -> Callable[[int], list[int]]:
    """The input cells output ``o`` reads on one axis: ``o·s − p + t·d`` for each tap ``t``, or for a
    transposed convolution each ``i`` with ``i·s − p + t·d = o``."""
    if transposed:
        return lambda o: [(o + pad - t * d) // s for t in range(k) if (o + pad - t * d) % s == 0]
    return lambda o: [o * s - pad + t * d for t in range(k)]
