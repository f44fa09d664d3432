"""The widgets of `explore`: a panel that knows which cell a click falls on, and
the backward pass's progress bar."""

from __future__ import annotations

import io

from rich.console import Console
from rich.text import Text
from textual import events
from textual.content import Content
from textual.widgets import Static

from convgrad_cli.core.panels import Panel
from convgrad_cli.core.views import cells
from convgrad_cli.render.grid import Grid


class PanelView(Static):
    """One panel; a click moves the cursor to the cell under the mouse."""

    def __init__(self, slot: str) -> None:
        super().__init__(id=slot, classes="panel")
        self.slot = slot
        self.panel: Panel | None = None
        self.columns = 0
        self.drawn_size = (0, 0)

    def show(self, panel: Panel | None, focused: bool) -> None:
        self.panel = panel
        self.display = panel is not None
        self.set_class(focused, "focused")
        if panel is not None:
            text, self.columns = drawn(panel)
            # a fixed size: Textual need not measure the grid to lay it out (nor again, unchanged)
            size = (self.columns + 4, len(text.split()) + 2)
            if size != self.drawn_size:
                self.styles.width, self.styles.height = size
                self.drawn_size = size
            self.update(Content.from_rich_text(text), layout=False)  # Textual's own text: no Rich rendering

    def on_click(self, event: events.Click) -> None:
        if self.panel is None:
            return
        inside = event.get_content_offset(self)  # within the border and padding
        cell = None if inside is None else cell_at(self.panel, inside.x, inside.y)
        if cell is not None:
            self.app.post_message(CellClicked(self.slot, self.panel, cell))  # type: ignore[arg-type]


def drawn(panel: Panel) -> tuple[Text, int]:
    """A panel's grid as styled text, and its width."""
    grid = Grid(panel)
    title = [Text(panel.title, "bold")] if panel.title else []
    return Text("\n").join(title + grid.lines), max(grid.width, len(panel.title))


class Scrubber(Static):
    """The backward pass's progress; a click jumps to that many windows."""

    BAR = 40

    def on_click(self, event: events.Click) -> None:
        inside = event.get_content_offset(self)
        if inside is not None and 1 <= inside.x <= self.BAR:
            self.post_message(Jumped(inside.x / self.BAR))


class Jumped(events.Message):
    """A click on the progress bar, at ``fraction`` of its length."""

    def __init__(self, fraction: float) -> None:
        super().__init__()
        self.fraction = fraction


class CellClicked(events.Message):
    def __init__(self, slot: str, panel: Panel, cell: tuple[int, int]) -> None:
        super().__init__()
        self.slot, self.panel, self.cell = slot, panel, cell


def cell_at(panel: Panel, x: int, y: int) -> tuple[int, int] | None:
    """The panel's cell drawn at column ``x``, line ``y`` of its grid (title included)."""
    lines = Console(width=400, color_system=None, file=io.StringIO()).render_lines(Grid(panel), pad=False)
    text = ["".join(s.text for s in line) for line in lines]
    if not 0 <= y < len(text) or not text[y].startswith("│"):
        return None
    row = next((k for k, (first, end) in enumerate(row_lines(panel)) if first <= y < end), None)
    bars = [i for i, ch in enumerate(text[y]) if ch == "│"]
    col = next((i for i, (a, b) in enumerate(zip(bars, bars[1:])) if a < x < b), None)
    rows, cols = cells.shown(panel)
    if row is None or col is None or rows[row] is None or cols[col] is None:
        return None
    r, c = rows[row], cols[col]
    assert r is not None and c is not None
    return r, c


def cursor_lines(panel: Panel) -> tuple[int, int] | None:
    """The lines of the panel's grid (title included) the cursor's row takes, if
    the cursor is on the panel and its row is drawn."""
    cell = next((c for c, mark in panel.marks.items() if mark.role == "cell"), None)
    rows, _ = cells.shown(panel)
    if cell is None or cell[0] not in rows:
        return None
    return row_lines(panel)[rows.index(cell[0])]


def row_lines(panel: Panel) -> list[tuple[int, int]]:
    """The lines of the panel's grid (title included) each shown row takes: its first
    and the one after its last. Rows differ: a row of padding takes one line, a row
    of names and numbers two."""
    first = (1 if panel.title else 0) + 1  # the title, the top rule
    spans = []
    for height in Grid(panel).heights:
        spans.append((first, first + height))
        first += height
    return spans
