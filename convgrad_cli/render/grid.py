"""One panel — one 2-D slice of an array — drawn as a grid, cut to fit.

Each mark shows twice: in colour (its window's) and in text (:mod:`.cells`), so
plain output says the same. Slices larger than 12 × 10 are cut around the
panel's focus, ``⋯``/``⋮`` standing for the rows and columns left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.measure import Measurement
from rich.style import Style
from rich.table import Table
from rich.text import Text

from convgrad_cli.core.panels import Mark, Panel
from convgrad_cli.core.views import cells

from .style import PADDING, ZERO, heat_style, window_style

ROLE_STYLES = {
    "cell": " bold reverse",
    "contributor": " bold",
    "tap": " dim",
    "pending": " dim",  # faint, in no window's colour, as the page draws it
    "padding_tap": " italic",
    "wrong": " bold red",
    "uncovered": " bold red",
}


@dataclass(frozen=True)
class Grid:
    """A panel as a titled table; ``styles`` colour unmarked cells by name."""

    panel: Panel
    styles: Mapping[str, str] = field(default_factory=dict)

    def fitted(self, width: int) -> Grid:
        """This grid, or where it is wider than ``width`` the first of its panel's narrower
        ways to be drawn (fewer digits, fewer columns) that fits."""
        if self.width <= width:
            return self
        for digits, columns in self.panel.narrower:
            smaller = Grid(replace(self.panel, digits=digits, columns=columns, narrower=()), self.styles)
            if smaller.width <= width:
                return smaller
        return self

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        fitted = self.fitted(options.max_width)
        if fitted is not self:
            yield from fitted.__rich_console__(console, options)
            return
        if self.width > options.max_width:  # too narrow: Rich's table squeezes the columns
            yield self._group
            return
        if self.panel.title:
            yield Text(self.panel.title, "bold")
        yield from self.lines

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        fitted = self.fitted(options.max_width)
        if fitted is not self:
            return fitted.__rich_measure__(console, options)
        if self.width > options.max_width:
            return Measurement.get(console, options, self._group)
        title = len(self.panel.title)
        return Measurement(max(self.width, title), max(self.width, title))

    @cached_property
    def _group(self) -> Group:
        table = self._table()
        return Group(Text(self.panel.title, "bold"), table) if self.panel.title else Group(table)

    @cached_property
    def _rows(self) -> list[list[list[tuple[str, Style]]]]:
        """The shown cells, row by row, gaps included: each cell its lines, each line
        its base style's text and the style its own characters take."""
        shown_rows, shown_cols = cells.shown(self.panel)
        gap = [("⋯", Style.parse(ZERO))]
        rows = []
        for r in shown_rows:
            if r is None:
                rows.append([[("⋮" if c is not None else "⋱", Style.null())] for c in shown_cols])
            else:
                rows.append([gap if c is None else self._cell_lines(r, c) for c in shown_cols])
        return rows

    def _cell_lines(self, r: int, c: int) -> list[tuple[str, Style]]:
        """The lines of :meth:`cell`, without building its Text."""
        drawn = cells.cell(self.panel, r, c, self.show_names)
        base = Style.parse(self._cell_style(drawn))
        lines = [(drawn.head, base)]
        if drawn.label is not None:
            lines.append((drawn.label, base))
        if drawn.value is not None:
            lines.append((drawn.value, base + _value_style(base)))
        return lines

    @cached_property
    def _widths(self) -> list[int]:
        return [
            max((cell_len(text) for row in self._rows for text, _ in row[i]), default=0)
            for i in range(len(self._rows[0]) if self._rows else 0)
        ]

    @cached_property
    def width(self) -> int:
        return sum(w + 3 for w in self._widths) + 1

    @cached_property
    def heights(self) -> list[int]:
        """The lines each shown row takes (its tallest cell's), gaps included; no rule
        runs between rows."""
        heights = [max(len(lines) for lines in row) for row in self._rows]
        if not self._uniform:
            return heights
        gaps = [all(len(lines) == 1 and lines[0][0] in "⋮⋱" for lines in row) for row in self._rows]
        tallest = max((h for h, gap in zip(heights, gaps) if not gap), default=1)
        return [h if gap else tallest for h, gap in zip(heights, gaps)]

    @cached_property
    def _uniform(self) -> bool:
        """Rows of δ's zeros between rows of names and values are drawn as tall as those: one
        line high, a row of zeros read as the third line of the cells above it."""
        return not self.panel.marks and self.panel.array in ("dilated_delta", "padded_delta")

    @cached_property
    def lines(self) -> list[Text]:
        """The grid as the table of :meth:`_table` draws it (box.SQUARE, one space of
        padding, cells right-justified), line by line — drawn directly, since a Rich
        table of 120 cells takes tens of milliseconds (``explore`` redraws on every key)."""
        widths = self._widths
        out = [Text("┌" + "┬".join("─" * (w + 2) for w in widths) + "┐", no_wrap=True)]
        for row, height in zip(self._rows, self.heights):
            for i in range(height):
                pieces: list[tuple[str, Style] | str] = ["│"]
                for lines, w, shown in zip(row, widths, row):
                    if i < len(lines):
                        text, style = lines[i]
                        head_style = shown[0][1]  # the cell's base style pads its lines
                        pieces += [" ", (" " * (w - cell_len(text)), head_style), (text, style), " │"]
                    elif self._uniform and height > 1:  # a row drawn as tall as the others
                        pieces += [" ", (" " * w, shown[0][1]), " │"]
                    else:
                        pieces.append(" " * (w + 2) + "│")
                out.append(Text.assemble(*pieces, no_wrap=True))
        out.append(Text("└" + "┴".join("─" * (w + 2) for w in widths) + "┘", no_wrap=True))
        return out

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
            row = [Text("⋯", ZERO) if c is None else self.cell(r, c) for c in shown_cols]
            if self._uniform:  # as tall as the direct grid's rows
                for text in row:
                    text.append("\n" * (self._tallest - len(text.plain.split("\n"))))
            table.add_row(*row)
        return table

    @cached_property
    def _tallest(self) -> int:
        return max((len(lines) for row in self._rows for lines in row), default=1)

    def _cell_style(self, drawn: cells.Cell) -> str:
        style = _style(drawn.mark, drawn.structural, self.panel.array == "padded_delta")
        if drawn.mark is None and drawn.name is not None and not drawn.structural:
            style = self.styles.get(drawn.name, style)
        return style

    def cell(self, r: int, c: int) -> Text:
        """The text of one cell: its name or number, and its mark in text and colour."""
        drawn = cells.cell(self.panel, r, c, self.show_names)
        style = self._cell_style(drawn)
        text = Text(drawn.head, style, justify="right")
        if drawn.label is not None:
            text.append("\n" + drawn.label, style)
        if drawn.value is not None:
            text.append("\n" + drawn.value, Style.parse(style) + _value_style(Style.parse(style)))
        return text


def _value_style(base: Style) -> Style:
    """A value under its name, fainter — but on a reversed cell faint text vanishes into the
    window's colour (1.0:1 in HTML), so there it keeps the cell's own."""
    return Style.null() if base.reverse else Style(dim=True)


def _style(mark: Mark | None, structural: bool, under_kernel: bool) -> str:
    if mark is None:
        return PADDING if structural else ""
    if mark.role == "heat" and mark.heat:
        return heat_style(mark.heat)
    style = window_style(mark.window) if mark.window is not None else ""
    if mark.role == "window" and mark.window is None:  # a window's cell in no window's colour (explore)
        style += " underline"
    style += ROLE_STYLES.get(mark.role, "")
    return style + (" underline" if under_kernel else "")
