"""One panel — one 2-D slice of an array — drawn as a grid, cut to fit.

Each mark shows twice: in colour (its window's) and in text, so plain output
says the same: ``[b]`` the cell followed, ``b·w2`` the factor a cell meets
(under a number: ``·w2`` on a line of its own), ``░`` padding. Slices larger
than :data:`MAX_ROWS` × :data:`MAX_COLS` are cut around the panel's focus,
``⋯``/``⋮`` standing for the rows and columns left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from convgrad_cli.core.panels import Mark, Panel

from .numbers import fmt
from .style import PADDING, ZERO, window_style

INDEXED = re.compile(r"\w\[\d")  # x[0,1]: the indexed names of large problems
MAX_ROWS, MAX_COLS = 12, 10
GRID_DIGITS = 4  # significant digits in a grid cell; JSON has them all
ROLE_STYLES = {
    "cell": " bold reverse",
    "contributor": " bold",
    "tap": " dim",
    "padding_tap": " italic",
    "wrong": " bold red",
}


@dataclass(frozen=True)
class Grid:
    """A panel as a titled table; ``styles`` colour unmarked cells by name."""

    panel: Panel
    styles: Mapping[str, str] = field(default_factory=dict)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self._group

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self._group)

    @cached_property
    def _group(self) -> Group:
        table = self._table()
        return Group(Text(self.panel.title, "bold"), table) if self.panel.title else Group(table)

    @cached_property
    def show_names(self) -> bool:
        # indexed names repeat the title in every cell: show numbers when there are numbers
        names = self.panel.names
        if names is None:
            return False
        return self.panel.values is None or not any(INDEXED.search(str(v)) for v in names.ravel()[:64])

    def _table(self) -> Table:
        p = self.panel
        rows, cols = p.shape
        fr, fc = p.focus or (0, 0)
        if p.crop is not None:
            shown_rows: list[int | None] = list(range(*p.crop[0]))
            shown_cols: list[int | None] = list(range(*p.crop[1]))
        else:
            shown_rows, shown_cols = cut(rows, fr, MAX_ROWS), cut(cols, fc, MAX_COLS)
        table = Table(show_header=False, box=box.SQUARE, padding=(0, 1))
        for _ in shown_cols:
            table.add_column(justify="right")
        for r in shown_rows:
            if r is None:
                table.add_row(*["⋮" if c is not None else "⋱" for c in shown_cols])
                continue
            table.add_row(*[Text("⋯", ZERO) if c is None else self.cell(r, c) for c in shown_cols])
        return table

    def cell(self, r: int, c: int) -> Text:
        """The text of one cell: its name or number, and its mark in text and colour."""
        p = self.panel
        name = None if p.names is None else p.names[r, c]
        value = None if p.values is None else p.values[r, c]
        padding = p.padding is not None and bool(p.padding[r, c])
        structural = padding or _is_zero_name(name)  # zeros the pipeline put there
        mark = p.marks.get((r, c))
        if padding:
            own = "░"
        elif self.show_names and name is not None:
            own = fmt(name)
        else:
            own = fmt(value, GRID_DIGITS)
        if mark is not None and mark.role == "cell":
            own = f"[{own}]"
        elif mark is not None and mark.role in ("wrong", "uncovered"):
            own = f"{own}✗"
        head, label = own, None
        if mark is not None and mark.factor:
            if self.show_names or padding:
                head = f"{mark.factor}·{own}" if mark.factor_first else f"{own}·{mark.factor}"
            else:
                label = f"{mark.factor}·" if mark.factor_first else f"·{mark.factor}"
        style = _style(mark, structural, p.array == "padded_delta")
        if mark is None and name is not None and not structural:
            style = self.styles.get(str(name), style)
        text = Text(head, style, justify="right")
        if label is not None:
            text.append("\n" + label, style)
        if self.show_names and value is not None and not structural:
            text.append("\n" + fmt(value, GRID_DIGITS), "dim")
        return text


def _is_zero_name(name: Any) -> bool:
    return isinstance(name, (int, np.integer)) and name == 0


def _style(mark: Mark | None, structural: bool, under_kernel: bool) -> str:
    if mark is None:
        return PADDING if structural else ""
    style = window_style(mark.window) if mark.window is not None else ""
    style += ROLE_STYLES.get(mark.role, "")
    return style + (" underline" if under_kernel else "")


def cut(size: int, centre: int, limit: int) -> list[int | None]:
    """``limit`` indices to show of an axis around ``centre``, ``None`` marking a gap.

    >>> cut(20, 10, 6)  # 7 … 12 around 10, their ends giving way to 0 and 19
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
