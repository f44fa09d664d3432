"""A picture's sections laid out for the terminal, and the legend that says
what its colours and marks mean."""

from __future__ import annotations

from collections.abc import Mapping

from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.text import Text

from convgrad_cli.core.panels import Mark, Panel, Section
from convgrad_cli.core.pictures import Picture

from .grid import Grid
from .style import ZERO, window_style

#: Panels drawn per section at most; the rest are named in a note.
MAX_PANELS = 12

#: What each mark means, in legend order (each shown with an example from the picture).
MEANINGS = (
    ("cell", "the cell followed"),
    ("window", "a cell of a window, with the weight it meets"),
    ("contributor", "a term of the result"),
    ("padding_tap", "a tap on the padding: zero times the weight"),
    ("tap", "a tap of the flipped kernel on a zero: it adds nothing"),
)


def example(grid: Grid, cell: tuple[int, int], mark: Mark) -> str:
    """A mark as the grid writes it, on one line: ``b·w2``, ``w1·δ1``, ``[a]``."""
    lines = grid.cell(*cell).plain.split("\n")
    if len(lines) > 1 and (lines[1].startswith("·") or lines[1].endswith("·")):  # a factor under a number
        return f"{lines[1]}{lines[0]}" if lines[1].endswith("·") else f"{lines[0]}{lines[1]}"
    return lines[0]


def section(s: Section, slice_hint: str = "", styles: Mapping[str, str] | None = None) -> RenderableType:
    """A section's title, its panels side by side as they fit, and what was left out;
    ``styles`` colour unmarked cells by name."""
    shown = s.panels[:MAX_PANELS]
    grids = [Grid(p, styles or {}) for p in shown]
    parts: list[RenderableType] = [Text(s.title, "bold"), Columns(grids, padding=(0, 2))]
    left = len(s.panels) - len(shown)
    if left or s.note:
        note = (
            f"… {left} more panels ({slice_hint or '--slice'} picks which; --format json has all)"
            if left
            else ""
        )
        parts.append(Text("; ".join(t for t in (note, s.note) if t), ZERO))
    return Group(*parts)


def legend(picture: Picture) -> Text:
    """The marks the picture uses — an example of each, as drawn — and its windows' colours."""
    examples: dict[str, str] = {}
    unsaid = False  # window cells drawn without their weight: the panel is the window alone
    for p in picture.panels:
        grid = Grid(p)
        for cell, mark in p.marks.items():
            if mark.role not in examples:
                examples[mark.role] = example(grid, cell, mark)
                unsaid |= mark.role == "window" and not mark.factor
    entries = [f"{examples[role]} {meaning}" for role, meaning in MEANINGS if role in examples]
    if unsaid and any(p.crop for p in picture.panels if p.array == "input"):
        entries[[r for r, _ in MEANINGS if r in examples].index("window")] = (
            "a window's panel shows its cells alone"
        )
    if any(_shows_padding(p) for p in picture.panels) and "padding_tap" not in examples:
        entries.append("░ padding: the zeros around the input")
    if any(p.array == "padded_delta" for p in picture.panels):
        entries.append("underlined: under the flipped kernel")
    text = Text()  # the dim is the words', not the window colours'
    text.append("legend: " + "\n        ".join(entries), "dim")  # one mark a line: no wider than the grids
    if picture.windows and examples.keys() & {"cell", "window", "contributor"}:
        text.append("\ncolour = window: ", "dim")
        for i, name in enumerate(picture.windows[:14]):
            text.append(("  " if i else "") + name, window_style(i))
        if len(picture.windows) > 14:
            text.append(f"  … {len(picture.windows) - 14} more (colours repeat after 7)", "dim")
    return text


def _shows_padding(p: Panel) -> bool:
    if p.padding is None:
        return False
    if p.crop is None:
        return bool(p.padding.any())
    (r0, r1), (c0, c1) = p.crop
    return bool(p.padding[r0:r1, c0:c1].any())


def term_styles(picture: Picture) -> dict[str, str]:
    """Each term's colour in the expression, from the contributor marks that make it:
    the factor names, and the cell names they multiply."""
    styles: dict[str, str] = {}
    for p in picture.panels:
        for cell, mark in p.marks.items():
            if mark.role == "contributor" and mark.window is not None and p.names is not None:
                styles[str(p.names[cell])] = window_style(mark.window)
    return styles
