"""What every picture shows, as data: panels — one 2-D slice of an array each —
and the cells marked on them, with their role.

The terminal, JSON, the slide exports and ``explore`` all draw from these, so
what is marked is decided once, from the trace terms (:mod:`.pictures` builds
the panels of each view). A panel knows its array, its slice (the indices of
the leading axes, named for that array: ``n, c`` for x, ``n, o`` for y and δ,
``o, c`` for W), which of its cells are padding, and its marks:

- ``cell`` — the cell being followed;
- ``window`` — a cell that a window of it reads (in the window's colour);
- ``contributor`` — a cell whose product is a term of the result;
- ``tap`` — a tap of the flipped kernel on a zero of the padded δ;
- ``pending`` — a term whose window the backward pass has not reached (``explore``'s steps);
- ``padding_tap`` — a tap of the kernel on the input's padding;
- ``wrong`` — an entry past its bound (``check``'s picture of an error);
- ``uncovered`` — a cell no window reaches (``shape``'s coverage map).

Each mark names the factor the cell meets (the weight ``w2`` of ``b·w2``), so
the picture says the same without colour; stepping through the backward pass,
``explore`` marks the window a step adds (``▸δ2``) and the term it adds to a sum
(``+w1·δ2``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .names import Index

ROLES = ("cell", "window", "contributor", "tap", "pending", "padding_tap", "wrong", "uncovered")
Cell2 = tuple[int, int]
Crop = tuple[tuple[int, int], tuple[int, int]]

#: The leading axes of each array, by name: what a panel's slice indexes.
AXES = {
    "input": ("n", "c"),
    "output": ("n", "o"),
    "delta": ("n", "o"),
    "dilated_delta": ("n", "o"),
    "padded_delta": ("n", "o"),
    "input_grad": ("n", "c"),
    "kernel": ("o", "c"),
    "weight_grad": ("o", "c"),
    "flipped_kernel": ("c", "o"),
    "bias": (),
    "coverage": (),
}


#: Shades of a heat map (``Mark.heat``): a count's share of its grid's largest, in steps.
HEAT_LEVELS = 5


def heat_level(value: float, largest: float) -> int:
    """``value``'s shade, 1 to :data:`HEAT_LEVELS` by its share of ``largest`` (0 for none)."""
    if value <= 0 or largest <= 0:
        return 0
    return max(1, min(HEAT_LEVELS, int(-(-HEAT_LEVELS * value // largest))))


def heat_levels(counts: np.ndarray) -> np.ndarray:
    """Every cell's shade (:func:`heat_level`), the array's largest count the darkest."""
    largest = float(np.max(counts, initial=0))
    return np.vectorize(lambda v: heat_level(float(v), largest), otypes=[np.int64])(counts)


@dataclass(frozen=True)
class Mark:
    role: str
    window: int | None = None  # the window's number (its colour), or None
    factor: str = ""  # the name multiplied with the cell's own
    factor_first: bool = False  # written before the cell's (w1·δ1) or after it (b·w2)
    heat: int = 0  # role "heat": the cell's shade, 1 (lightest) to HEAT_LEVELS (darkest)
    current: bool = False  # the window the backward pass adds at this step (explore): ▸δ2
    added: str = ""  # a term this step adds to the cell's sum (explore's ∂L/∂x so far): +w1·δ2


@dataclass(frozen=True)
class Panel:
    """One 2-D slice of one array; a 1-D array's slice is one row."""

    title: str
    array: str  # a key of AXES
    lead: Index  # the slice: its indices on the leading axes (3-D: the depth too)
    values: np.ndarray | None  # the slice's numbers, 2-D
    names: np.ndarray | None  # the slice's names, 2-D
    spatial: int  # the array's spatial axes, 1, 2 or 3
    origin: Cell2 = (0, 0)  # array row and column of the slice's [0, 0]; negative where padding comes first
    padding: np.ndarray | None = None  # True at padding cells
    marks: Mapping[Cell2, Mark] = field(default_factory=dict)
    focus: Cell2 | None = None  # the cell kept in view when the slice is cut
    crop: Crop | None = None  # rows, columns (half-open) to show, and no more
    digits: int | None = None  # significant digits of its numbers (None: the grids' default)
    columns: int | None = None  # columns shown at most, gaps included (None: the grids' default)
    # smaller ways to draw it where it is wider than the page, tried in order: (digits, columns)
    narrower: tuple[tuple[int, int], ...] = ()

    @property
    def axes(self) -> tuple[str, ...]:
        return AXES[self.array] + (("z",) if self.spatial == 3 else ())

    @property
    def shape(self) -> tuple[int, int]:
        base = self.values if self.values is not None else self.names
        assert base is not None
        return base.shape[0], base.shape[1]

    def index(self, cell: Cell2) -> Index:
        """The full index, in the array's own coordinates, of a cell of the slice."""
        r, c = cell[0] + self.origin[0], cell[1] + self.origin[1]
        return (*self.lead, c) if self.spatial == 1 else (*self.lead, r, c)

    def cell(self, index: Index) -> Cell2:
        """The slice's cell of a full index (the inverse of :meth:`index`)."""
        if self.spatial == 1:
            return 0, index[-1] - self.origin[1]
        return index[-2] - self.origin[0], index[-1] - self.origin[1]

    def marked(self, *roles: str) -> set[Index]:
        """Full indices of the cells marked with one of ``roles``."""
        return {self.index(cell) for cell, mark in self.marks.items() if mark.role in roles}


@dataclass(frozen=True)
class Section:
    """Panels shown together, under one title; ``note`` says what was left out, and
    ``hidden`` holds it (JSON has it)."""

    title: str
    panels: list[Panel]
    note: str = ""
    hidden: list[Panel] = field(default_factory=list)


def slices(shape: tuple[int, ...], spatial: int) -> list[Index]:
    """The leading indices of every 2-D slice of an array of ``shape``: the batch
    and channel axes, and for 3-D the depth."""
    return list(np.ndindex(*shape[: len(shape) - min(spatial, 2)]))


def slice_label(axes: tuple[str, ...], lead: Index, shape: tuple[int, ...]) -> str:
    """``[n=1, c=2]``: the leading axes that have more than one entry."""
    shown = [f"{a}={i}" for a, i, size in zip(axes, lead, shape) if size > 1]
    return " [" + ", ".join(shown) + "]" if shown else ""


def two_d(a: np.ndarray | None, spatial: int) -> np.ndarray | None:
    return None if a is None else (a.reshape(1, -1) if spatial == 1 else a)


def panel(
    title: str,
    array: str,
    lead: Index,
    values: np.ndarray | None,
    names: np.ndarray | None,
    spatial: int,
    marks: Mapping[Cell2, Mark] | None = None,
    focus: Cell2 | None = None,
    groups: tuple[int, int, int] = (1, 1, 1),
) -> Panel:
    """The slice ``lead`` of full arrays ``values``/``names`` (either may be ``None``),
    titled with the slice — in the layer's channels and filters (``groups``: its groups,
    input and output channels), as every other panel is."""
    base = values if values is not None else names
    assert base is not None
    axes = AXES[array] + (("z",) if spatial == 3 else ())
    label = slice_label(axes, layer_lead(array, lead, groups), _layer_shape(array, base.shape, groups))
    return Panel(
        (title + label).strip(),
        array,
        tuple(lead),
        two_d(None if values is None else values[lead], spatial),
        two_d(None if names is None else names[lead], spatial),
        spatial,
        marks=marks or {},
        focus=focus,
    )


def layer_lead(array: str, lead: Index, groups: tuple[int, int, int]) -> Index:
    """A grouped kernel's slice ``(o, j)`` as the input channel it reads, ``(o, c)``; the
    flipped kernel's ``(c, j)`` as the filter, ``(c, o)``: the inverse of :func:`own`."""
    count, channels, filters = groups
    if count == 1 or len(lead) < 2:
        return lead
    if array in ("kernel", "weight_grad"):
        o, j = lead[0], lead[1]
        return (o, o // (filters // count) * (channels // count) + j, *lead[2:])
    if array == "flipped_kernel":
        c, j = lead[0], lead[1]
        return (c, c // (channels // count) * (filters // count) + j, *lead[2:])
    return lead


def _layer_shape(array: str, shape: tuple[int, ...], groups: tuple[int, int, int]) -> tuple[int, ...]:
    """The sizes that decide which axes a label names: a grouped kernel's channel axis is the layer's."""
    count, channels, filters = groups
    if count == 1:
        return shape
    if array in ("kernel", "weight_grad"):
        return (shape[0], channels, *shape[2:])
    if array == "flipped_kernel":
        return (shape[0], filters, *shape[2:])
    return shape


def array_panels(
    title: str,
    array: str,
    values: np.ndarray | None,
    names: np.ndarray | None,
    spatial: int,
    groups: tuple[int, int, int] = (1, 1, 1),
) -> list[Panel]:
    """Every slice of an array, unmarked; none when it has neither numbers nor names.
    ``title`` may be empty: the panels are then titled by their slice alone."""
    base = values if values is not None else names
    if base is None:
        return []
    return [
        panel(title, array, lead, values, names, spatial, groups=groups)
        for lead in slices(base.shape, spatial)
    ]


def keep(
    panels: list[Panel], only: Mapping[str, int], groups: tuple[int, int, int] = (1, 1, 1)
) -> list[Panel]:
    """The panels whose slice agrees with ``only`` (``{"o": 2}``: a filter and an input channel
    of the layer) on the axes they have; ``groups``: the layer's (groups, in, out channels)."""
    return [p for p in panels if _agrees(p, own(p.array, only, groups))]


def _agrees(p: Panel, only: Mapping[str, int]) -> bool:
    return all(p.lead[p.axes.index(a)] == v for a, v in only.items() if a in p.axes)


def own(array: str, only: Mapping[str, int], groups: tuple[int, int, int]) -> Mapping[str, int]:
    """``only`` in ``array``'s own coordinates: a grouped kernel's second axis counts the
    channels of its filter's group, the flipped kernel's the filters of its channel's group."""
    count, channels, filters = groups
    if count == 1:
        return only
    out = dict(only)
    if array in ("kernel", "weight_grad") and "c" in out:
        out["c"] %= channels // count
    if array == "flipped_kernel" and "o" in out:
        out["o"] %= filters // count
    return out
