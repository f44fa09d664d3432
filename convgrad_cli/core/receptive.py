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
size, jump and start, where padding cells count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from convgrad_cli.errors import CellError

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
class Distill:
    """One layer's row of the analytic receptive field: the field of an output
    of this layer on the network input is ``[start + i·jump, start + i·jump + size)``."""

    kind: str
    out_size: tuple[int, ...]
    size: tuple[int, ...] | None  # None from a transposed convolution up: its field depends on the phase
    jump: tuple[int, ...] | None
    start: tuple[int, ...] | None


def distill(stack: Stack) -> list[Distill]:
    """Size ``r``, jump ``j`` and start per layer, bottom-up:
    ``r_l = r_{l−1} + (k_l − 1)·d_l·j_{l−1}``, ``j_l = j_{l−1}·s_l``, ``start_l = start_{l−1} − p_l·j_{l−1}``."""
    n = stack.ndim
    size: tuple[int, ...] | None = (1,) * n
    jump: tuple[int, ...] | None = (1,) * n
    start: tuple[int, ...] | None = (0,) * n
    rows = []
    for layer in stack.layers:
        step = _step(layer)
        if step is None or size is None or jump is None or start is None:
            size = jump = start = None
        else:
            extent, stride, pad = step
            size = tuple(r + (e - 1) * j for r, e, j in zip(size, extent, jump))
            start = tuple(s0 - p * j for s0, p, j in zip(start, pad, jump))
            jump = tuple(j * s for j, s in zip(jump, stride))
        rows.append(Distill(layer.kind, layer.out_shape[2:], size, jump, start))
    return rows


def _step(layer: Layer) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None:
    """A layer's (dilated extent, stride, padding before) per axis, or None (transposed convolution)."""
    n = len(layer.out_shape) - 2
    if layer.kind == "relu":
        return (1,) * n, (1,) * n, (0,) * n
    if layer.kind == "conv_transpose":
        return None
    p = layer.params
    kernel = p["kernel_shape"][2:] if layer.kind == "conv" else p["kernel"]
    pads = [b for b, _ in p["padding"]] if layer.kind == "conv" else p["padding"]
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, p.get("dilation", [1] * n)))
    return extent, tuple(p["stride"]), tuple(pads)
