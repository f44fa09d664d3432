"""Rich renderables for every view. Nothing here prints; the CLI does.

Colours follow δ: each upstream gradient δk has one colour, and wherever δk
lands — the dilated δ, the padded δ, an input cell's expression — it keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .config import Problem
from .conv import step
from .results import BackwardResult, ForwardResult, fmt

PALETTE = (
    "red", "green", "yellow", "blue", "magenta", "cyan",
    "dark_orange", "purple", "chartreuse3", "deep_pink3", "gold3", "steel_blue1",
)  # fmt: skip
ZERO = "dim"
INDEXED = re.compile(r"\w\[\d")  # x[0,1]: the indexed names of large problems
MAX_PANELS = 6
MAX_ROWS, MAX_COLS = 12, 10
GRID_DIGITS = 4  # significant digits in a grid cell; JSON has them all


def delta_styles(names: np.ndarray) -> dict[str, str]:
    """One colour per δ name, in row-major order."""
    return {str(n): PALETTE[i % len(PALETTE)] for i, n in enumerate(names.ravel())}


def expression_text(expr: str, styles: dict[str, str]) -> Text:
    """An expression with each δ name in its colour."""
    text = Text()
    for i, term in enumerate(expr.split(" + ")):
        if i:
            text.append(" + ")
        left, _, right = term.rpartition("·")
        if left:
            text.append(left + "·", styles.get(left, ""))
        text.append(right, styles.get(right, ""))
    return text


# -- grids -------------------------------------------------------------------------------


def grid(
    title: str,
    values: np.ndarray | None,
    names: np.ndarray | None = None,
    styles: dict[str, str] | None = None,
    spatial: int = 2,
    focus: tuple[int, ...] | None = None,
    highlight: dict[tuple[int, ...], str] | None = None,
) -> RenderableType:
    """A full-rank array ``(lead…, *spatial)`` as one 2-D table per leading index.

    Cells show names (coloured by ``styles``) when given, values below them
    when both are known. Large arrays are cut to the part around ``focus``.
    ``highlight`` styles cells by full index, over everything else.
    """
    base = values if values is not None else names
    if base is None:
        return Text(f"{title}: too large to show in names", ZERO)
    styles = styles or {}
    highlight = highlight or {}
    # Long indexed names repeat the panel's title in every cell: show numbers,
    # still coloured by name, when there are numbers to show.
    show_names = names is not None and (
        values is None or not any(INDEXED.search(str(v)) for v in names.ravel()[:64])
    )
    lead_shape = base.shape[: base.ndim - min(spatial, 2)]
    leads = list(np.ndindex(*lead_shape))
    if focus is not None:
        leads.sort(key=lambda lead: lead != tuple(focus[: len(lead)]))
    panels: list[RenderableType] = []
    for lead in leads[:MAX_PANELS]:
        label = title + _lead_label(lead, lead_shape, spatial)
        panels.append(Text(label, "bold"))
        panels.append(
            _table(
                lead,
                None if values is None else np.atleast_2d(values[lead]),
                None if names is None else np.atleast_2d(names[lead]),
                styles,
                focus,
                highlight,
                spatial == 1,
                show_names,
            )
        )
    if len(leads) > MAX_PANELS:
        panels.append(
            Text(f"… {len(leads) - MAX_PANELS} more slices of {title} (all in --format json)", ZERO)
        )
    return Group(*panels)


def _lead_label(lead: tuple[int, ...], shape: tuple[int, ...], spatial: int) -> str:
    """``[c=1, z=0]``: the leading axes that have more than one entry."""
    axes = ["n", "c"] + (["z"] if spatial == 3 else [])
    shown = [f"{a}={i}" for a, i, n in zip(axes, lead, shape) if n > 1]
    return " [" + ", ".join(shown) + "]" if shown else ""


def _window(size: int, centre: int, limit: int) -> list[int | None]:
    """Indices to show of an axis, ``None`` marking a gap."""
    if size <= limit:
        return list(range(size))
    start = min(max(centre - limit // 2, 0), size - limit)
    shown: list[int | None] = list(range(start, start + limit))
    if start > 0:
        shown[0:2] = [0, None] if start > 1 else [0]
    if start + limit < size:
        shown[-2:] = [None, size - 1]
    return shown


def _table(
    lead: tuple[int, ...],
    values: np.ndarray | None,
    names: np.ndarray | None,
    styles: dict[str, str],
    focus: tuple[int, ...] | None,
    highlight: dict[tuple[int, ...], str],
    one_d: bool,
    show_names: bool,
) -> Table:
    base = values if values is not None else names
    assert base is not None
    rows, cols = base.shape
    fr, fc = (0, 0) if focus is None else ((0, focus[-1]) if one_d else focus[-2:])
    table = Table(show_header=False, box=box.SQUARE, padding=(0, 1))
    shown_cols = _window(cols, fc, MAX_COLS)
    for _ in shown_cols:
        table.add_column(justify="right")
    for r in _window(rows, fr, MAX_ROWS):
        if r is None:
            table.add_row(*["⋮" if c is not None else "⋱" for c in shown_cols])
            continue
        cells: list[Text] = []
        for c in shown_cols:
            if c is None:
                cells.append(Text("⋯", ZERO))
                continue
            name = None if names is None else names[r, c]
            value = None if values is None else values[r, c]
            key = (*lead, c) if one_d else (*lead, r, c)
            cells.append(_cell(name, value, styles, highlight.get(key), show_names))
        table.add_row(*cells)
    return table


def _cell(name: Any, value: Any, styles: dict[str, str], override: str | None, show_names: bool) -> Text:
    if name is None or not show_names:
        text = Text(fmt(value, GRID_DIGITS), styles.get(str(name), ZERO if value == 0 else ""))
    else:
        is_zero = isinstance(name, (int, np.integer)) and name == 0
        text = Text(fmt(name), ZERO if is_zero else styles.get(str(name), ""))
        if value is not None and not is_zero:
            text.append("\n" + fmt(value, GRID_DIGITS), "dim")
    if override:
        text.stylize(override)
    text.justify = "right"
    return text


# -- views --------------------------------------------------------------------------------


def heading(p: Problem) -> Text:
    """``convgrad 1×1×4×4 * 1×1×2×2 s1  (<default>, numbers and names)``"""
    mode = "numbers and names" if p.x is not None and p.w is not None else "names"
    return Text.assemble(("convgrad ", "bold"), p.geom.describe(), (f"  ({p.source}, {mode})", "dim"))


def forward_view(result: ForwardResult) -> RenderableType:
    p, g = result.problem, result.problem.geom
    sp = g.ndim
    parts: list[RenderableType] = [heading(result.problem)]
    named = result.expressions is not None  # names only where they can all be written out

    def names(kind: str) -> np.ndarray | None:
        return result.namer.grid(kind) if named else None

    parts.append(grid("input x", p.x, names("input"), spatial=sp))
    parts.append(grid("kernel W", p.w, names("kernel"), spatial=sp))
    output_names = names("output")
    parts.append(grid("output y", result.output, output_names, spatial=sp))
    if result.expressions is not None and output_names is not None:
        parts.append(_equations("y = x ⋆ W", output_names, result.expressions["output"], result.output, {}))
    return _spaced(parts)


def backward_view(result: BackwardResult) -> RenderableType:
    p, g = result.problem, result.problem.geom
    sp = g.ndim
    steps, names = result.steps, result.names
    styles = delta_styles(names["delta"]) if names else {}
    parts: list[RenderableType] = [heading(result.problem)]
    parts.append(grid("δ = ∂L/∂y", p.delta, names.get("delta"), styles, sp))
    if any(s > 1 for s in g.stride):
        parts.append(
            grid(
                f"dilated δ: stride − 1 = {_axes(s - 1 for s in g.stride)} zero(s) between neighbours",
                step(steps, "dilated_delta"),
                names.get("dilated_delta"),
                styles,
                sp,
            )
        )
    pads = ", ".join(f"{b}/{a}" for b, a in g.delta_padding)
    extra = f"; {_axes(g.uncovered)} uncovered row/col at the end" if any(g.uncovered) else ""
    parts.append(
        grid(
            f"padded δ: before/after {pads} = dilation·(k−1) − padding{extra}",
            step(steps, "padded_delta"),
            names.get("padded_delta"),
            styles,
            sp,
        )
    )
    parts.append(
        grid(
            "flipped kernel rot180(W)",
            step(steps, "flipped_kernel"),
            names.get("flipped_kernel"),
            styles,
            sp,
        )
    )
    parts.append(Text("∂L/∂x = correlate(padded δ, flipped kernel)", "bold"))
    parts.append(transposed_text(g))
    if steps is not None:
        parts.append(grid("∂L/∂x", steps.input_grad, None, styles, sp))
    if result.expressions is not None:
        parts.append(
            _equations(
                "∂L/∂x, cell by cell",
                names["input"],
                result.expressions["input_grad"],
                None if steps is None else steps.input_grad,
                styles,
                prefix="∂L/∂",
            )
        )
    if result.weight_grad is not None:
        parts.append(grid("∂L/∂W = input ⋆ dilated δ", result.weight_grad, None, styles, sp))
    if result.expressions is not None:
        parts.append(
            _equations(
                "∂L/∂W, tap by tap: each input cell the tap met, times that window's δ",
                names["kernel"],
                result.expressions["weight_grad"],
                result.weight_grad,
                styles,
                prefix="∂L/∂",
            )
        )
    if result.bias_grad is not None:
        parts.append(Text("∂L/∂b = Σδ = " + ", ".join(fmt(v) for v in result.bias_grad)))
    return _spaced(parts)


def transposed_text(g) -> Text:
    """∂L/∂x as PyTorch's transposed convolution of δ with the same W."""
    from .conv import transposed_convolution

    t = transposed_convolution(g)

    def one(v):
        return str(v[0]) if len(set(v)) == 1 else "(" + ", ".join(map(str, v)) + ")"

    call = (
        f"{str(t['function']).rsplit('.', 1)[-1]}(δ, W, stride={one(t['stride'])}, padding={one(t['padding'])}, "
        f"output_padding={one(t['output_padding'])}, dilation={one(t['dilation'])}, groups={t['groups']})"
    )
    text = Text("which is the transposed convolution of δ with the same W: ", "dim")
    text.append(call)
    if not t["exact"]:
        text.append("  (asymmetric padding: not exact there; crop the result instead)", "dim")
    return text


def _spaced(parts: list[RenderableType]) -> RenderableType:
    """Parts one below the other with a blank line between them."""
    spaced: list[RenderableType] = []
    for part in parts:
        spaced += [part, Text("")]  # cheaper to render than Padding around each part
    return Group(*spaced)


def _axes(t: Iterable[int]) -> str:
    t = tuple(t)
    return str(t[0]) if len(set(t)) == 1 else "×".join(map(str, t))


def _equations(
    title: str,
    names: np.ndarray,
    exprs: np.ndarray,
    values: np.ndarray | None,
    styles: dict[str, str],
    prefix: str = "",
    limit: int = 64,
) -> RenderableType:
    table = Table(show_header=False, box=None, padding=0)
    table.add_column(justify="right")
    table.add_column()
    if values is not None:
        table.add_column(justify="right")
    flat = list(zip(names.ravel(), exprs.ravel(), *([values.ravel()] if values is not None else [])))
    for row in flat[:limit]:
        cells: list[RenderableType] = [
            Text(f"{prefix}{row[0]}"),
            Text(" = ") + expression_text(row[1], styles),
        ]
        if values is not None:
            cells.append(Text(f" = {fmt(row[2])}", "bold"))
        table.add_row(*cells)
    if len(flat) > limit:
        table.add_row(Text("…"), Text(f"{len(flat) - limit} more (all in --format json)", ZERO))
    return Group(Text(title, "bold"), table)
