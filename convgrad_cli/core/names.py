"""Names for every cell, as the slides write them, and back again.

A single-channel input of at most 23 cells is lettered a, b, c … row-major,
skipping w, x and y (the kernel's, the input's and the output's own symbols);
one filter's taps are w1, w2 …; one output map's entries y1, y2 … and their
upstream gradients δ1, δ2 … (1-based, row-major, as on the slides). Larger
or multi-channel problems use 0-based indices: ``x[n,c,i,j]``,
``w[o,c,i,j]``, ``y[n,o,i,j]``, ``δ[n,o,i,j]`` — the indices of NumPy and
PyTorch — shortened to the spatial part, ``x[i,j]``, when the batch and
channel axes have one entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from math import prod

import numpy as np

from convgrad_cli.errors import CellError

from .geometry import Geometry, Ranks

LETTERS = "abcdefghijklmnopqrstuvz"  # no w, x, y: ∂L/∂x, ∂L/∂y, ∂L/∂w name whole arrays
Index = tuple[int, ...]


@dataclass(frozen=True)
class Namer:
    """Turns full-rank indices into names and names (or indices) into indices.

    An index is read in full rank or in the rank the user gave (``ranks``), so
    what ``--format json`` prints as an index is accepted back.
    """

    geom: Geometry
    ranks: Ranks | None = None

    # -- which notation -------------------------------------------------------

    @property
    def lettered(self) -> bool:
        g = self.geom
        return g.batch == 1 and g.in_channels == 1 and prod(g.in_size) <= len(LETTERS)

    @property
    def single_filter(self) -> bool:
        return self.geom.kernel_shape[:2] == (1, 1)

    @property
    def single_map(self) -> bool:
        return self.geom.output_shape[:2] == (1, 1)

    # -- index → name ------------------------------------------------------------

    def input(self, idx: Index) -> str:
        if self.lettered:
            return LETTERS[_flat(idx, self.geom.input_shape)]
        return _bracket("x", idx, self.geom.input_shape)

    def weight(self, idx: Index) -> str:
        if self.single_filter:
            return f"w{_flat(idx, self.geom.kernel_shape) + 1}"
        return _bracket("w", idx, self.geom.kernel_shape)

    def output(self, idx: Index) -> str:
        if self.single_map:
            return f"y{_flat(idx, self.geom.output_shape) + 1}"
        return _bracket("y", idx, self.geom.output_shape)

    def delta(self, idx: Index) -> str:
        if self.single_map:
            return f"δ{_flat(idx, self.geom.output_shape) + 1}"
        return _bracket("δ", idx, self.geom.output_shape)

    # -- names inside one slice's panel (its batch and channel axes said by the panel) --

    def short_input(self, idx: Index) -> str:
        """``a``, or ``x[i,j]`` when the cells have indexed names."""
        return self.input(idx) if self.lettered else _spatial("x", idx)

    def short_weight(self, idx: Index) -> str:
        """``w5``, or ``w[i,j]``: the tap, its filter and channel said by the panel."""
        return self.weight(idx) if self.single_filter else _spatial("w", idx)

    def short_delta(self, idx: Index) -> str:
        """``δ5``, or ``δ[i,j]``."""
        return self.delta(idx) if self.single_map else _spatial("δ", idx)

    def grid(self, kind: str) -> np.ndarray:
        """Every name of one operand, as an object array of its full shape."""
        shape, name = {
            "input": (self.geom.input_shape, self.input),
            "kernel": (self.geom.kernel_shape, self.weight),
            "output": (self.geom.output_shape, self.output),
            "delta": (self.geom.output_shape, self.delta),
        }[kind]
        out = np.empty(shape, dtype=object)
        for idx in np.ndindex(*shape):
            out[idx] = name(idx)
        return out

    # -- name or index → index ---------------------------------------------------

    def parse_input(self, text: str) -> Index:
        rank = self.ranks.input_rank if self.ranks else None
        return self._parse(text, "input", self.geom.input_shape, self.input, rank)

    def parse_weight(self, text: str) -> Index:
        rank = self.ranks.kernel_rank if self.ranks else None
        return self._parse(text, "weight", self.geom.kernel_shape, self.weight, rank)

    def parse_output(self, text: str) -> Index:
        rank = self.ranks.output_rank(self.geom.out_channels) if self.ranks else None
        text = re.sub(r"^\s*Y(?=\d)", "y", text)  # the slides write the stride-2 outputs Y1 … Y4
        return self._parse(text, "output", self.geom.output_shape, self.output, rank)

    def _parse(
        self, text: str, what: str, shape: tuple[int, ...], name: Callable[[Index], str], given: int | None
    ) -> Index:
        text = text.strip()
        numbers = re.fullmatch(r"(?:[a-zA-Zδ]*\[)?\s*(-?\d+(?:\s*,\s*-?\d+)*)\s*\]?", text)
        if numbers and (text[0].isdigit() or text[0] == "-" or "[" in text):
            idx = tuple(int(v) for v in numbers.group(1).split(","))
            if len(idx) == len(shape) - 2 and shape[:2] == (1, 1):
                idx = (0, 0, *idx)
            elif given is not None and len(idx) == given < len(shape):  # the rank the user gave
                idx = (0,) * (len(shape) - given) + idx
            if len(idx) != len(shape):
                raise CellError(
                    f"{what} index {text!r} has {len(idx)} numbers; the {what} has shape "
                    f"{shape}, so give {len(shape)} (0-based)"
                    + (f" or {len(shape) - 2} (row, column …)" if shape[:2] == (1, 1) else "")
                )
            if not all(0 <= i < n for i, n in zip(idx, shape)):
                raise CellError(f"{what} index {text!r} is outside the shape {shape} (indices are 0-based)")
            return idx
        if prod(shape) <= 4096:
            for idx in np.ndindex(*shape):
                if name(idx) == text:
                    return idx
        example = name((0,) * len(shape))
        last = name(tuple(n - 1 for n in shape))
        raise CellError(
            f"no {what} cell named {text!r}; names run from {example} to {last}, "
            f"or give a 0-based index such as {','.join('0' * len(shape))}"
        )


def _flat(idx: Index, shape: tuple[int, ...]) -> int:
    return int(np.ravel_multi_index(idx, shape))


def _bracket(symbol: str, idx: Index, shape: tuple[int, ...]) -> str:
    """``x[n,c,i,j]``, or ``x[i,j]`` when batch and channel axes have one entry."""
    if shape[:2] == (1, 1):
        idx = idx[2:]
    return f"{symbol}[{','.join(map(str, idx))}]"


def _spatial(symbol: str, idx: Index) -> str:
    """``x[i,j]``: the spatial part of a full index."""
    return f"{symbol}[{','.join(map(str, idx[2:]))}]"
