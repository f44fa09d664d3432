"""A panel's cells as text — the same for the terminal, LaTeX and Markdown.

Each mark is text as well as colour: ``[b]`` the cell followed, ``b·w2`` the
factor a cell meets (under a number, ``·w2`` on its own line), ``░`` padding,
``0✗`` an entry past its bound or a cell no window reaches, ``▸δ2`` the window a
step of the backward pass adds, ``+w1·δ2`` under a sum the term it adds,
``(w3·δ3)`` a term whose window is still to come. No Rich here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from convgrad_cli.core.panels import Mark, Panel

from .numbers import fmt

INDEXED = re.compile(r"\w\[\d")  # x[0,1]: the indexed names of large problems
MAX_ROWS, MAX_COLS = 12, 10
GRID_DIGITS = 4  # significant digits in a grid cell; JSON has them all
#: a grid of numbers too wide for the page drawn with fewer digits, then fewer columns around its
#: focus — never cut inside a number or a mark; at 2 digits a cell is at most 10 wide
#: (-1.2e-100✗), so the last, four numbers and a gap at most, fits 60 columns
NARROWER = ((3, MAX_COLS), (2, MAX_COLS), (2, 8), (2, 6), (2, 5))


@dataclass(frozen=True)
class Cell:
    """One cell as drawn: its lines of text, its mark, and what kind of zero it is."""

    head: str  # the cell's own text, with its mark
    label: str | None  # a factor on a line of its own (under a number)
    value: str | None  # the number under a name
    mark: Mark | None
    structural: bool  # a zero the pipeline put there (padding, dilation)
    name: str | None

    @property
    def lines(self) -> list[str]:
        return [line for line in (self.head, self.label, self.value) if line is not None]


def show_names(panel: Panel) -> bool:
    """Names, unless they are indexed and there are numbers to show instead (indexed
    names repeat the panel's title in every cell)."""
    if panel.names is None:
        return False
    return panel.values is None or not any(INDEXED.search(str(v)) for v in panel.names.ravel()[:64])


def cell(panel: Panel, r: int, c: int, names: bool) -> Cell:
    name = None if panel.names is None else panel.names[r, c]
    value = None if panel.values is None else panel.values[r, c]
    padding = panel.padding is not None and bool(panel.padding[r, c])
    structural = padding or _is_zero_name(name)
    mark = panel.marks.get((r, c))
    if padding:
        own = "░"
    elif names and name is not None:
        own = fmt(name)
    else:
        own = fmt(value, panel.digits or GRID_DIGITS)
    if mark is not None and mark.role == "cell":
        own = f"[{own}]"
    elif mark is not None and mark.role in ("wrong", "uncovered"):
        own = f"{own}✗"
    if mark is not None and mark.current:
        own = f"▸{own}"
    head, label = own, None
    if mark is not None and mark.added:  # a term added to the sum, not a factor: no ·
        head, label = (f"{own} +{mark.added}", None) if names else (own, f"+{mark.added}")
    elif mark is not None and mark.factor:
        if names or padding:
            head = f"{mark.factor}·{own}" if mark.factor_first else f"{own}·{mark.factor}"
        else:
            label = f"{mark.factor}·" if mark.factor_first else f"·{mark.factor}"
    if mark is not None and mark.role == "pending":  # faint too, where styles are drawn
        head, label = (f"({head})", label) if label is None else (head, f"({label})")
    shown_value = (
        fmt(value, panel.digits or GRID_DIGITS) if names and value is not None and not structural else None
    )
    return Cell(head, label, shown_value, mark, structural, None if name is None else str(name))


def shown(panel: Panel) -> tuple[list[int | None], list[int | None]]:
    """The rows and columns drawn (``None`` for a gap): the crop, or a cut around the focus."""
    if panel.crop is not None:
        return list(range(*panel.crop[0])), list(range(*panel.crop[1]))
    rows, cols = panel.shape
    fr, fc = panel.focus or (0, 0)
    return cut(rows, fr, MAX_ROWS), cut(cols, fc, panel.columns or MAX_COLS)


def cut(size: int, centre: int, limit: int) -> list[int | None]:
    """``limit`` indices to show of an axis around ``centre``, ``None`` marking a gap: the
    first and the last index always, every index left out under a gap (``limit`` ≥ 5).

    >>> cut(20, 10, 6)  # 0, a gap, 9 and 10, a gap, 19
    [0, None, 9, 10, None, 19]
    >>> cut(12, 6, 10)  # near the start: 0 … 7 whole, then a gap
    [0, 1, 2, 3, 4, 5, 6, 7, None, 11]
    """
    if size <= limit:
        return list(range(size))
    whole = limit - 2  # indices shown side by side when the centre is near an end
    if centre < whole:
        return [*range(whole), None, size - 1]
    if centre >= size - whole:
        return [0, None, *range(size - whole, size)]
    middle = limit - 4
    start = min(max(centre - middle // 2, 2), size - 2 - middle)
    return [0, None, *range(start, start + middle), None, size - 1]


def _is_zero_name(name: Any) -> bool:
    return isinstance(name, (int, np.integer)) and name == 0
