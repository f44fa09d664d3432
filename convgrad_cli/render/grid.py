"""One panel — one 2-D slice of an array — drawn as a grid, cut to fit.

Each mark shows twice: in colour (its window's) and in text (:mod:`.cells`), so
plain output says the same. Slices larger than 12 × 10 are cut around the
panel's focus, ``⋯``/``⋮`` standing for the rows and columns left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from convgrad_cli.core.panels import Mark, Panel

from . import cells
from .style import PADDING, ZERO, window_style

ROLE_STYLES = {
    "cell": " bold reverse",
    "contributor": " bold",
    "tap": " dim",
    "padding_tap": " italic",
    "wrong": " bold red",
    "uncovered": " bold red",
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
        return cells.show_names(self.panel)

    def _table(self) -> Table:
        shown_rows, shown_cols = cells.shown(self.panel)
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
        drawn = cells.cell(self.panel, r, c, self.show_names)
        style = _style(drawn.mark, drawn.structural, self.panel.array == "padded_delta")
        if drawn.mark is None and drawn.name is not None and not drawn.structural:
            style = self.styles.get(drawn.name, style)
        text = Text(drawn.head, style, justify="right")
        if drawn.label is not None:
            text.append("\n" + drawn.label, style)
        if drawn.value is not None:
            text.append("\n" + drawn.value, "dim")
        return text


def _style(mark: Mark | None, structural: bool, under_kernel: bool) -> str:
    if mark is None:
        return PADDING if structural else ""
    style = window_style(mark.window) if mark.window is not None else ""
    style += ROLE_STYLES.get(mark.role, "")
    return style + (" underline" if under_kernel else "")
