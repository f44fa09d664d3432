"""Rich renderables for `trace`: one cell followed through the layer.

A window keeps the colour of its δ everywhere: the window in the input, the
δ entry it produced, and the same δ inside the padded δ under the flipped
kernel — so the eye sees the same terms arrive by both routes.
"""

from __future__ import annotations

from math import prod

import numpy as np
from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.text import Text

from convgrad_cli.core import terms
from convgrad_cli.core.explain import CellTrace, InputTrace, OutputTrace, WeightTrace
from convgrad_cli.core.names import Namer
from convgrad_cli.core.ops import dilate, pad

from .grid import Grid
from .style import CELL, PALETTE, ZERO, delta_styles, expression_text, fmt
from .views import heading, spaced

#: Arrays of names are built only up to this many cells; larger ones show numbers.
MAX_NAMED = 50_000
MAX_WINDOWS = 9


def _names(namer: Namer, kind: str, shape: tuple[int, ...]) -> np.ndarray | None:
    return namer.grid(kind) if prod(shape) <= MAX_NAMED else None


def _relabel(names: np.ndarray | None, labels: dict[tuple[int, ...], str]) -> np.ndarray | None:
    """A copy of ``names`` with some cells relabelled; ``None`` (too large to name) stays ``None``."""
    if names is None:
        return None
    out = names.copy()
    for idx, text in labels.items():
        out[idx] = text
    return out


def _styles(ct: CellTrace) -> dict[str, str]:
    g = ct.problem.geom
    if prod(g.output_shape) <= MAX_NAMED:
        return delta_styles(ct.namer.grid("delta"))
    return {ct.namer.delta(t.delta): PALETTE[i % len(PALETTE)] for i, t in enumerate(ct.terms)}


def _result(ct: CellTrace, styles: dict[str, str]) -> Text:
    text = Text.assemble((f"{ct.lhs} = ", "bold"), expression_text(ct.expression, styles))
    if ct.value is not None:
        text.append(f" = {fmt(ct.value)}", "bold")
    return text


def _window_cells(ct: CellTrace, delta_idx: tuple[int, ...]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """``(input cell, weight)`` pairs of the window of ``delta_idx``, in the traced cell's channel."""
    c = ct.index[1]
    return [(t.input, t.weight) for t in terms.output_terms(ct.problem.geom, delta_idx) if t.input[1] == c]


def input_view(ct: InputTrace) -> RenderableType:
    p, g, namer = ct.problem, ct.problem.geom, ct.namer
    sp = g.ndim
    styles = _styles(ct)
    parts: list[RenderableType] = [
        heading(p),
        Text(f"Start with input {ct.name}. Where does it appear?", "bold"),
    ]
    x_names = _names(namer, "input", g.input_shape)
    if not ct.terms:
        parts.append(Grid("input x", p.x, x_names, spatial=sp, focus=ct.index, marks={ct.index: CELL}))
        parts.append(
            Text(
                f"No window covers {ct.name} (it lies where the stride never reaches): {ct.lhs} = 0",
                "bold",
            )
        )
        return spaced(parts)

    windows = []
    for term in ct.terms[:MAX_WINDOWS]:
        colour = styles.get(namer.delta(term.delta), "bold")
        cells = _window_cells(ct, term.delta)
        marks = {cell: colour for cell, _ in cells}
        marks[ct.index] = f"{colour} reverse"
        # label the window's cells with their weights, so it shows without colour too
        labelled = _relabel(x_names, {
            cell: f"{f'[{namer.input(cell)}]' if cell == ct.index else namer.input(cell)}·{namer.weight(w_idx)}"
            for cell, w_idx in cells
        })  # fmt: skip
        title = f"{namer.output(term.delta)}: {ct.name}·{namer.weight(term.weight)}"
        windows.append(Grid(title, p.x, labelled, spatial=sp, focus=ct.index, marks=marks))
    parts.append(Group(Text("the forward windows that contain it", "bold"), Columns(windows, padding=(0, 2))))
    if len(ct.terms) > MAX_WINDOWS:
        parts.append(Text(f"… and {len(ct.terms) - MAX_WINDOWS} more windows", ZERO))

    # δ: the entries this cell depends on, each labelled with the weight it met
    labelled = _relabel(
        _names(namer, "delta", g.output_shape),
        {t.delta: f"{namer.weight(t.weight)}·{namer.delta(t.delta)}" for t in ct.terms},
    )
    marks = {t.delta: styles.get(namer.delta(t.delta), "bold") + " underline" for t in ct.terms}
    dim_rest = {} if labelled is None else {k: ZERO for k in np.ndindex(*g.output_shape) if k not in marks}
    title = "δ entries it depends on, with the weight met"
    parts.append(
        Grid(title, p.delta, labelled, styles, sp, focus=ct.terms[0].delta, marks={**dim_rest, **marks})
    )

    # the padded δ with the flipped kernel over the position that gives this cell
    parts.append(_flipped_overlay(ct, styles))
    parts.append(_result(ct, styles))
    return spaced(parts)


def _flipped_overlay(ct: CellTrace, styles: dict[str, str]) -> RenderableType:
    p, g, namer = ct.problem, ct.problem.geom, ct.namer
    n, c, *q = ct.index
    cg, og = g.in_channels // g.groups, g.out_channels // g.groups
    group = c // cg
    padded_values = None
    if p.delta is not None:
        padded_values = pad(dilate(p.delta, g.stride), g.delta_padding)
    names = None
    if prod((g.batch, g.out_channels, *g.padded_delta_size)) <= MAX_NAMED:
        names = pad(dilate(namer.grid("delta"), g.stride), g.delta_padding)
    marks: dict[tuple[int, ...], str] = {}
    labelled = None if names is None else names.copy()
    for o in range(group * og, (group + 1) * og):
        for k in np.ndindex(*g.kernel_size):
            at = (n, o, *(qi + ki * d for qi, ki, d in zip(q, k, g.dilation)))
            # tap k of rot180(W) is W's tap (k_max − k)
            w_name = namer.weight((o, c - group * cg, *(size - 1 - ki for size, ki in zip(g.kernel_size, k))))
            inside = names[at] if names is not None else None
            if labelled is not None:
                labelled[at] = f"{w_name}·{inside if inside != 0 else 0}"
            marks[at] = styles.get(str(inside), "") + " underline" if inside != 0 else "dim underline"
    verb = "dilated and padded" if any(s > 1 for s in g.stride) else "padded"
    title = f"{verb} δ under the flipped kernel, at {ct.name}'s position"
    focus = (n, group * og, *q)
    return Grid(title, padded_values, labelled, styles, g.ndim, focus=focus, marks=marks)


def output_view(ct: OutputTrace) -> RenderableType:
    p, g, namer = ct.problem, ct.problem.geom, ct.namer
    labelled = _relabel(
        _names(namer, "input", g.input_shape),
        {t.input: f"{namer.input(t.input)}·{namer.weight(t.weight)}" for t in ct.terms},
    )
    marks = {t.input: PALETTE[i % len(PALETTE)] for i, t in enumerate(ct.terms)}
    focus = ct.terms[0].input if ct.terms else None
    title = f"the window of {ct.name}, each cell with its weight"
    return spaced(
        [
            Text(f"What is {ct.name} made of?", "bold"),
            Grid(title, p.x, labelled, spatial=g.ndim, focus=focus, marks=marks),
            _result(ct, {}),
        ]
    )


def weight_view(ct: WeightTrace) -> RenderableType:
    p, g, namer = ct.problem, ct.problem.geom, ct.namer
    styles = _styles(ct)
    labelled = _relabel(
        _names(namer, "input", g.input_shape),
        {t.input: f"{namer.input(t.input)}·{namer.delta(t.delta)}" for t in ct.terms},
    )
    marks = {t.input: styles.get(namer.delta(t.delta), "bold") for t in ct.terms}
    focus = ct.terms[0].input if ct.terms else None
    return spaced(
        [
            Text(f"∂L/∂{ct.name}: every input cell that {ct.name} met, times that window's δ", "bold"),
            Grid(f"input cells that {ct.name} met", p.x, labelled, styles, g.ndim, focus=focus, marks=marks),
            _result(ct, styles),
        ]
    )


def all_view(cells: list[InputTrace]) -> RenderableType:
    from rich.table import Table

    styles = _styles(cells[0]) if cells else {}
    table = Table(show_header=False, box=None, padding=0)
    table.add_column(justify="right")
    table.add_column()
    for ct in cells:
        text = Text(" = ") + expression_text(ct.expression, styles)
        if ct.value is not None:
            text.append(f" = {fmt(ct.value)}", "bold")
        table.add_row(Text(ct.lhs), text)
    return Group(Text("every input cell's gradient", "bold"), table)


def steps_view(ct: InputTrace) -> RenderableType:
    """The slides' reasoning, one window at a time."""
    namer, g = ct.namer, ct.problem.geom
    styles = _styles(ct)
    lines: list[RenderableType] = [Text(f"Start with input {ct.name}. Where does it appear?", "bold")]
    if not ct.terms:
        lines.append(Text(f"Nowhere: no window covers {ct.name}, so {ct.lhs} = 0."))
        return Group(*lines)
    for i, term in enumerate(ct.terms, 1):
        w, d, y = namer.weight(term.weight), namer.delta(term.delta), namer.output(term.delta)
        line = Text(f"{i}. In the window of {y}, {ct.name} is multiplied by {w}: ")
        line.append(f"∂{y}/∂{ct.name} = {w}", "bold")
        line.append(", and ∂L/∂" + y + " is ")
        line.append(d, styles.get(d, ""))
        line.append(f", so {ct.name} receives {w}·")
        line.append(d, styles.get(d, ""))
        line.append(".")
        lines.append(line)
    lines.append(Text("Adding every window: ") + _result(ct, styles))
    pads = ", ".join(f"{b}/{a}" for b, a in g.delta_padding)
    how = "Insert stride − 1 zeros between the δ entries, pad" if any(s > 1 for s in g.stride) else "Pad"
    lines.append(
        Text(
            f"Can one matrix operation do it for every cell? {how} δ by {pads} (before/after), "
            f"flip W by 180°, and correlate: at {ct.name}'s position the flipped kernel covers "
            "exactly the δ entries above, each under the weight that met it — every other tap "
            "lands on a zero."
        )
    )
    return Group(*lines)
