"""One array drawn as grids: a table per slice of its leading axes, cut to fit.

Cells show names (coloured by ``styles``) when given, values below them when
both are known. Arrays larger than :data:`MAX_ROWS` × :data:`MAX_COLS` are cut
around the cell of interest, with ``⋯``/``⋮`` where rows and columns are left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from .style import ZERO, fmt

INDEXED = re.compile(r"\w\[\d")  # x[0,1]: the indexed names of large problems
MAX_PANELS = 6
MAX_ROWS, MAX_COLS = 12, 10
GRID_DIGITS = 4  # significant digits in a grid cell; JSON has them all

Index = tuple[int, ...]


@dataclass(frozen=True)
class Grid:
    """A full-rank array ``(lead…, *spatial)`` as one 2-D table per leading index.

    ``marks`` styles cells by full index, over everything else; ``focus`` is the
    full index the cut keeps in view and whose slices come first.
    """

    title: str
    values: np.ndarray | None
    names: np.ndarray | None = None
    styles: Mapping[str, str] = field(default_factory=dict)
    spatial: int = 2
    focus: Index | None = None
    marks: Mapping[Index, str] = field(default_factory=dict)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self._group

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self._group)

    @cached_property
    def _group(self) -> Group:
        base = self.values if self.values is not None else self.names
        if base is None:
            return Group(Text(f"{self.title}: too large to show in names", ZERO))
        lead_shape = base.shape[: base.ndim - min(self.spatial, 2)]
        leads = list(np.ndindex(*lead_shape))
        if self.focus is not None:
            focus = self.focus
            leads.sort(key=lambda lead: lead != tuple(focus[: len(lead)]))
        parts: list[RenderableType] = []
        for lead in leads[:MAX_PANELS]:
            parts += [
                Text(self.title + _lead_label(lead, lead_shape, self.spatial), "bold"),
                self._table(lead),
            ]
        if len(leads) > MAX_PANELS:
            parts.append(
                Text(f"… {len(leads) - MAX_PANELS} more slices of {self.title} (all in --format json)", ZERO)
            )
        return Group(*parts)

    @property
    def _show_names(self) -> bool:
        # long indexed names repeat the title in every cell: show numbers (still
        # coloured by name) when there are numbers to show
        names = self.names
        if names is None:
            return False
        return self.values is None or not any(INDEXED.search(str(v)) for v in names.ravel()[:64])

    def _table(self, lead: Index) -> Table:
        values = None if self.values is None else np.atleast_2d(self.values[lead])
        names = None if self.names is None else np.atleast_2d(self.names[lead])
        base = values if values is not None else names
        assert base is not None
        one_d = self.spatial == 1
        rows, cols = base.shape
        fr, fc = (0, 0) if self.focus is None else ((0, self.focus[-1]) if one_d else self.focus[-2:])
        table = Table(show_header=False, box=box.SQUARE, padding=(0, 1))
        shown_cols = _window(cols, fc, MAX_COLS)
        for _ in shown_cols:
            table.add_column(justify="right")
        show_names = self._show_names
        for r in _window(rows, fr, MAX_ROWS):
            if r is None:
                table.add_row(*["⋮" if c is not None else "⋱" for c in shown_cols])
                continue
            cells: list[Text] = []
            for c in shown_cols:
                if c is None:
                    cells.append(Text("⋯", ZERO))
                    continue
                key = (*lead, c) if one_d else (*lead, r, c)
                cells.append(
                    self._cell(
                        None if names is None else names[r, c],
                        None if values is None else values[r, c],
                        self.marks.get(key),
                        show_names,
                    )
                )
            table.add_row(*cells)
        return table

    def _cell(self, name: Any, value: Any, override: str | None, show_names: bool) -> Text:
        if name is None or not show_names:
            text = Text(fmt(value, GRID_DIGITS), self.styles.get(str(name), ZERO if value == 0 else ""))
        else:
            is_zero = isinstance(name, (int, np.integer)) and name == 0
            text = Text(fmt(name), ZERO if is_zero else self.styles.get(str(name), ""))
            if value is not None and not is_zero:
                text.append("\n" + fmt(value, GRID_DIGITS), "dim")
        if override:
            text.stylize(override)
        text.justify = "right"
        return text


def _lead_label(lead: Index, shape: tuple[int, ...], spatial: int) -> str:
    """``[c=1, z=0]``: the leading axes that have more than one entry."""
    axes = ["n", "c"] + (["z"] if spatial == 3 else [])
    shown = [f"{a}={i}" for a, i, n in zip(axes, lead, shape) if n > 1]
    return " [" + ", ".join(shown) + "]" if shown else ""


def _window(size: int, centre: int, limit: int) -> list[int | None]:
    """``limit`` indices to show of an axis around ``centre``, ``None`` marking a gap.

    >>> _window(20, 10, 6)  # 7 … 12 around 10, their ends giving way to 0 and 19
    [0, None, 9, 10, None, 19]
    """
    if size <= limit:
        return list(range(size))
    start = min(max(centre - limit // 2, 0), size - limit)
    shown: list[int | None] = list(range(start, start + limit))
    if start > 0:
        shown[0:2] = [0, None] if start > 1 else [0]
    if start + limit < size:
        shown[-2:] = [None, size - 1]
    return shown
