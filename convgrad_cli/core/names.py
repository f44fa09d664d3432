"""Names for every cell, short enough to say, and back again (docs/naming.md).

A single-channel input of at most 23 cells is lettered a, b, c … row-major,
skipping w, x and y (the kernel's, the input's and the output's own symbols);
one filter of at most 25 taps is w1, w2 …; one output map of at most 25
entries y1, y2 … with upstream gradients δ1, δ2 … (1-based, row-major, as on
the slides). Anything larger, or with several samples or channels, is the
array's symbol with its 0-based index as subscripts — the index NumPy, PyTorch,
``--input`` and JSON use: ``x₁₂`` (row 1, column 2), ``x₁₂₃₃`` (sample 1,
channel 2, row 3, column 3), ``w₀₂₂₂``, ``δ₁₀₁₁``. The batch and channel
indices are left out when both axes have one entry. Where an axis has more
than ten entries the subscripts are separated by commas: ``x₁₂,₃``.

Every panel writes a cell's whole name, so one name is one cell everywhere.
A window read by every output channel of a group names its weight with ``ₒ``
for the output channel: ``wₒ₂₂₂``.
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
NUMBERED = 25  # w1 … w25, δ1 … δ25: a 5×5 kernel or map numbered as on the slides; beyond, subscripts
SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
ANY_OUTPUT = "ₒ"  # the output-channel subscript of a weight that every output of a group uses
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
        """The kernel's taps are numbered w1, w2 …"""
        shape = self.geom.kernel_shape
        return shape[:2] == (1, 1) and prod(shape) <= NUMBERED

    @property
    def single_map(self) -> bool:
        """The output's entries are numbered y1, y2 … (and δ1, δ2 …)."""
        shape = self.geom.output_shape
        return shape[:2] == (1, 1) and prod(shape) <= NUMBERED

    # -- index → name ------------------------------------------------------------

    def input(self, idx: Index) -> str:
        if self.lettered:
            return LETTERS[_flat(idx, self.geom.input_shape)]
        return subscripted("x", idx, self.geom.input_shape)

    def weight(self, idx: Index) -> str:
        if self.single_filter:
            return f"w{_flat(idx, self.geom.kernel_shape) + 1}"
        return subscripted("w", idx, self.geom.kernel_shape)

    def output(self, idx: Index) -> str:
        return self._of_output("y", idx)

    def delta(self, idx: Index) -> str:
        return self._of_output("δ", idx)

    def _of_output(self, letter: str, idx: Index) -> str:
        # y and δ share the output's shape, so their names differ in the letter alone
        if self.single_map:
            return f"{letter}{_flat(idx, self.geom.output_shape) + 1}"
        return subscripted(letter, idx, self.geom.output_shape)

    def weight_of_any_output(self, idx: Index) -> str:
        """``wₒ₂₂₂``: tap ``idx[2:]`` of input channel ``idx[1]`` in every filter of a group."""
        if self.single_filter or self.geom.kernel_shape[0] == 1:
            return self.weight(idx)
        return subscripted("w", idx, self.geom.kernel_shape, wild=0)

    def output_of_any_channel(self, idx: Index) -> str:
        """``y₁ₒ₁₁``: output ``idx`` on every output channel of a group."""
        if self.geom.out_channels == 1:
            return self.output(idx)
        return subscripted("y", idx, self.geom.output_shape, wild=1)

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
        text = text if self.lettered else _as_index(text, "x", self.geom.input_shape)
        return self._parse(text, "input", self.geom.input_shape, self.input, rank)

    def parse_weight(self, text: str) -> Index:
        rank = self.ranks.kernel_rank if self.ranks else None
        text = text if self.single_filter else _as_index(text, "w", self.geom.kernel_shape)
        return self._parse(text, "weight", self.geom.kernel_shape, self.weight, rank)

    def parse_output(self, text: str) -> Index:
        rank = self.ranks.output_rank(self.geom.out_channels) if self.ranks else None
        text = re.sub(r"^\s*Y(?=\d)", "y", text)  # the slides write the stride-2 outputs Y1 … Y4
        text = text if self.single_map else _as_index(text, "yδd", self.geom.output_shape)
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
                    f"{what} index {text!r} has {len(idx)} number{'s' * (len(idx) != 1)}; the {what} has shape "
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


def subscripted(symbol: str, idx: Index, shape: tuple[int, ...], wild: int | None = None) -> str:
    """``x₁₂``: ``symbol`` with the index as subscripts (the batch and channel axes
    left out when both have one entry), commas between them when an axis has more
    than ten entries; the output channel ``ₒ`` at position ``wild`` (of a full index).

    >>> subscripted("x", (0, 0, 1, 2), (1, 1, 5, 5)), subscripted("x", (1, 2, 3, 3), (2, 3, 7, 7))
    ('x₁₂', 'x₁₂₃₃')
    >>> subscripted("x", (0, 0, 12, 3), (1, 1, 16, 16)), subscripted("w", (0, 2, 1, 1), (4, 3, 3, 3), 0)
    ('x₁₂,₃', 'wₒ₂₁₁')
    """
    parts = [ANY_OUTPUT if i == wild else str(v).translate(SUBSCRIPTS) for i, v in enumerate(idx)]
    if shape[:2] == (1, 1):
        parts, shape = parts[2:], shape[2:]
    return symbol + ("," if max(shape) > 10 else "").join(parts)


def _as_index(text: str, symbols: str, shape: tuple[int, ...]) -> str:
    """A subscripted name (``x₁₂``, or typed ``x12``, ``x1,2``) as its index ``[1,2]``;
    any other text as it was."""
    m = re.fullmatch(rf"\s*([{symbols}])\s*([0-9₀-₉]+(?:\s*,\s*[0-9₀-₉]+)*)", text)
    if not m:
        return text
    body = m.group(2).translate(DIGITS).replace(" ", "")
    named = shape[2:] if shape[:2] == (1, 1) else shape
    digits = body.split(",") if "," in body or len(named) == 1 else list(body)
    if len(digits) != len(named) or ("," not in body and max(named) > 10 and len(named) > 1):
        return text  # a numbered name (w12) or a malformed one: matched by name below
    return "[" + ",".join(digits) + "]"
