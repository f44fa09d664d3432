"""Rich renderables for `check`: a row per case, then for each failure what is
wrong, which references agree, what mistake it looks like, a picture of the
error, and the smallest failing case."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from convgrad_cli.core.check.run import BAD, CaseResult, Wrong
from convgrad_cli.core.panels import Mark, Panel, panel

from .grid import Grid
from .junit import case_lines, summary_line

QUANTITIES = (("input_grad", "∂L/∂x"), ("weight_grad", "∂L/∂W"), ("bias_grad", "∂L/∂bias"))
VERDICT = {"passed": ("pass", "bold green"), "failed": ("FAIL", "bold red"), "error": ("ERROR", "bold red"),
           "skipped": ("skip", "yellow"), "not_run": ("not run", "bold red")}  # fmt: skip


def check_view(
    results: list[CaseResult], impl: str, saved: Mapping[str, str] | None = None
) -> RenderableType:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("case", overflow="fold")
    table.add_column("geometry", overflow="fold")
    table.add_column("FD")
    for _, label in QUANTITIES:
        table.add_column(label, justify="right")
    table.add_column("result")
    for r in results:
        errors = []
        for quantity, _ in QUANTITIES:
            values = [c.max_rel for c in r.comparisons if c.quantity == quantity]
            errors.append(f"{max(values):.0e}" if values else "—")
        word, style = VERDICT[r.status]
        # Text, not str: a file name such as [red].yaml is a name, not markup
        table.add_row(Text(Path(r.name).stem), Text(r.geometry), r.mode, *errors, Text(word, style))
    tolerance = results[0].tolerance if results else ""
    parts: list[RenderableType] = [
        Text(
            f"checking {impl} against the definition, the slides' pipeline, finite differences (FD: every "
            f"entry or random directions) and the adjoint identity; largest relative error per gradient; "
            f"{tolerance}",
            "bold",
        ),
        table,
    ]
    for r in results:
        if r.status in ("failed", "error"):
            parts.append(failure(r, (saved or {}).get(r.name)))
    bad = any(r.status in BAD for r in results)
    parts.append(Text(summary_line(results), "bold red" if bad else "bold green"))
    return Group(*parts)


def failure(r: CaseResult, saved: str | None) -> RenderableType:
    """What is wrong with one case: a line per quantity, its error as a grid, the
    first wrong cell traced, and the smallest failing case."""
    parts: list[RenderableType] = [Text(f"{r.name} [{r.geometry}]", "bold red")]
    parts += [Text("  " + line) for line in case_lines(r)]
    for quantity in r.failing:
        parts.append(error_grid(r, quantity))
        first = first_wrong(r.wrong[quantity])
        parts.append(Text("  " + traced(r, quantity, first)))
    if r.smallest is not None:
        where = f", saved as {saved}" if saved else " (--save-failing DIR writes it as a config)"
        parts.append(Text(f"  smallest failing case: {r.smallest.geom.describe()}{where}"))
    elif saved:
        parts.append(Text(f"  no smaller case fails; saved as {saved}"))
    return Group(*parts)


def first_wrong(wrong: Wrong) -> tuple[int, ...]:
    over = np.abs(wrong.actual - wrong.expected) > wrong.bounds
    return tuple(int(i) for i in np.argwhere(over)[0])


def error_grid(r: CaseResult, quantity: str) -> RenderableType:
    """expected − actual over the slice that holds the first wrong entry, wrong ones marked ✗."""
    wrong = r.wrong[quantity]
    diff = wrong.expected - wrong.actual
    over = np.abs(diff) > wrong.bounds
    first = first_wrong(wrong)
    title = f"expected − actual, {dict(QUANTITIES)[quantity]}"
    if quantity == "bias_grad":
        marks = {(0, int(i)): Mark("wrong") for i in np.flatnonzero(over)}
        grid = Panel(title, "bias", (), diff.reshape(1, -1), None, 1, marks=marks, focus=(0, first[0]))
    else:
        spatial = r.problem.geom.ndim
        lead = first[: len(first) - min(spatial, 2)]

        def cell(i: tuple[int, ...]) -> tuple[int, int]:
            return (0, i[-1]) if spatial == 1 else (i[-2], i[-1])

        marks = {
            cell(tuple(int(v) for v in i)): Mark("wrong")
            for i in np.argwhere(over)
            if tuple(i[: len(lead)]) == lead
        }
        made = panel(title, quantity, lead, diff, None, spatial)
        grid = Panel(
            made.title, made.array, made.lead, made.values, None, spatial, marks=marks, focus=cell(first)
        )
    return Group(Grid(grid), Text("  ✗ past its bound; the other entries agree", "dim"))


def traced(r: CaseResult, quantity: str, index: tuple[int, ...]) -> str:
    """The first wrong entry's expected terms beside the value under check."""
    from convgrad_cli.core.explain import CellTrace

    wrong = r.wrong[quantity]
    got = float(wrong.actual[index])
    text = ",".join(map(str, index))
    kind = {"input_grad": "input", "weight_grad": "weight"}.get(quantity)
    if kind is None:
        return f"∂L/∂bias[{index[0]}] = Σδ over its output channel = {float(wrong.expected[index]):.6g}; got {got:.6g}"
    ct = CellTrace.of(kind, r.problem, text)
    expression = ct.expression
    if len(expression) > 120:
        expression = expression[:117] + "…"
    return f"{ct.lhs} = {expression} = {float(wrong.expected[index]):.6g} expected; got {got:.6g}"
