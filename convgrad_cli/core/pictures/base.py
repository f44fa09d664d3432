"""What the pictures share: the panels of a padded input and of marked slices."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from math import prod

import numpy as np

from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.names import Index, Namer
from convgrad_cli.core.panels import Cell2, Crop, Mark, Panel, Section, panel, slice_label
from convgrad_cli.errors import TooLargeError

MAX_NAMED = 50_000


@dataclass(frozen=True)
class Picture:
    """A view's sections, and the name of each numbered window (for the legend)."""

    sections: list[Section]
    windows: list[str]

    @property
    def panels(self) -> list[Panel]:
        return [p for s in self.sections for p in s.panels]


def names_of(namer: Namer, kind: str, shape: tuple[int, ...]) -> np.ndarray | None:
    return namer.grid(kind) if prod(shape) <= MAX_NAMED else None


def group_of(geom: Geometry, channel: int) -> tuple[range, range]:
    """The input and output channels of the group of input channel ``channel``."""
    filters = geom.filters_of(channel)
    return geom.channels_of(filters.start), filters


def read_at(geom: Geometry, p: Iterable[int], k: Iterable[int]) -> Index:
    """Where tap ``k`` of window ``p`` reads the input (outside it: the padding)."""
    return tuple(
        pi * s + ki * d - b for pi, ki, s, d, (b, _) in zip(p, k, geom.stride, geom.dilation, geom.padding)
    )


def split_index(full: Index, spatial: int) -> tuple[Index, Cell2]:
    """A full index as its slice's lead and its 2-D cell (no origin applied)."""
    return (full[:2], (0, full[2])) if spatial == 1 else (full[:-2], (full[-2], full[-1]))


def in_input(geom: Geometry, spatial_index: Iterable[int]) -> bool:
    return all(0 <= v < n for v, n in zip(spatial_index, geom.in_size))


def box_of(cells: Iterable[Cell2]) -> Crop:
    rows, cols = zip(*cells)
    return (min(rows), max(rows) + 1), (min(cols), max(cols) + 1)


# -- the padded input -----------------------------------------------------------------------------

#: Cells of one padded-input picture: its numbers, names and padding mask take ~17 bytes a cell,
#: so this is ~70 MB — and a grid far past any screen or page.
MAX_PICTURE_CELLS = 1 << 22


def padded_input(
    title: str,
    geom: Geometry,
    x: np.ndarray | None,
    names: np.ndarray | None,
    lead: Index,
    marks: Mapping[Cell2, Mark],
    crop: bool,
) -> Panel:
    """Slice ``lead`` (``n, c`` and, in 3-D, a depth that may lie in the padding)
    of the input with its zero border; ``marks`` are by padded cell, and with
    ``crop`` the panel shows only the box around them."""
    pads = geom.padding[-2:] if geom.ndim > 1 else ((0, 0), *geom.padding)
    sizes = geom.in_size[-2:] if geom.ndim > 1 else (1, geom.in_size[0])
    real_depth = geom.ndim < 3 or 0 <= lead[2] < geom.in_size[0]
    shape = (sizes[0] + sum(pads[0]), sizes[1] + sum(pads[1]))
    if prod(shape) > MAX_PICTURE_CELLS:
        raise TooLargeError(
            f"the picture of the padded input would be {shape[0]}×{shape[1]} cells, over the "
            f"{MAX_PICTURE_CELLS:,} one picture may have; use a smaller shape or padding"
        )
    inside = (slice(pads[0][0], pads[0][0] + sizes[0]), slice(pads[1][0], pads[1][0] + sizes[1]))
    padding = np.ones(shape, dtype=bool)
    if real_depth:
        padding[inside] = False

    def padded(a: np.ndarray | None, fill: object) -> np.ndarray | None:
        if a is None:
            return None
        out = np.full(shape, fill, dtype=a.dtype)
        if real_depth:
            out[inside] = a[lead].reshape(sizes)
        return out

    full_shape = (*geom.input_shape[:2], *([geom.in_size[0]] if geom.ndim == 3 else []))
    label = slice_label(("n", "c", "z"), lead, full_shape)
    if geom.ndim == 3 and not real_depth:
        label = label.replace(f"z={lead[2]}", f"z={lead[2]}, padding")
    focus = next(iter(marks), None)
    return Panel(
        (title + label).strip(),
        "input",
        tuple(lead),
        padded(x, 0),
        padded(names, ""),
        geom.ndim,
        origin=(-pads[0][0], -pads[1][0]),
        padding=padding,
        marks=dict(marks),
        focus=focus,
        crop=box_of(marks) if crop and marks else None,
    )


def window_panels(
    title: str,
    geom: Geometry,
    namer: Namer,
    x: np.ndarray | None,
    names: np.ndarray | None,
    reads: list[tuple[Index, Index]],
    mark_of: dict[Index, Mark],
    crop: bool,
) -> list[Panel]:
    """One padded-input panel per slice that ``reads`` (full input index, weight) touch."""
    by_lead: dict[Index, dict[Cell2, Mark]] = {}
    for full, _ in reads:
        lead, (r, c) = split_index(full, geom.ndim)
        pads = geom.padding[-2:] if geom.ndim > 1 else ((0, 0), *geom.padding)
        by_lead.setdefault(lead, {})[(r + pads[0][0], c + pads[1][0])] = mark_of[full]
    return [padded_input(title, geom, x, names, lead, marks, crop) for lead, marks in by_lead.items()]


def marked_panels(
    title: str,
    array: str,
    spatial: int,
    values: np.ndarray | None,
    names: np.ndarray | None,
    lead: Index,
    marks: dict[Index, Mark],
    groups: tuple[int, int, int] = (1, 1, 1),
) -> list[Panel]:
    """The slice ``lead`` of an array, marked; in 3-D one panel per depth that holds a mark
    (all of them when none does)."""
    if values is None and names is None:
        return []
    if spatial < 3:
        cells = {(split_index(i, spatial)[1]): m for i, m in marks.items()}
        return [panel(title, array, lead, values, names, spatial, cells, next(iter(cells), None), groups)]
    depths = sorted({i[2] for i in marks}) or [0]
    out = []
    for z in depths:
        cells = {(i[3], i[4]): m for i, m in marks.items() if i[2] == z}
        out.append(
            panel(title, array, (*lead, z), values, names, spatial, cells, next(iter(cells), None), groups)
        )
    return out
