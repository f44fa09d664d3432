"""Rich renderables for `check`: a row per case, then what disagrees."""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from convgrad_cli.core.check import CaseResult

from .junit import failure_lines

QUANTITIES = (("input_grad", "∂L/∂x"), ("weight_grad", "∂L/∂W"), ("bias_grad", "∂L/∂bias"))


def check_view(results: list[CaseResult], impl: str | None) -> RenderableType:
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
        verdict = Text("pass", "bold green") if r.passed else Text("FAIL", "bold red")
        table.add_row(Path(r.name).stem, r.geometry, r.mode, *errors, verdict)
    failed = [r for r in results if not r.passed]
    parts: list[RenderableType] = [
        Text(
            f"checking {impl or 'convgrad'} against the definition, the slides' pipeline, "
            "finite differences (FD: every entry or random directions) and the adjoint identity; "
            "largest relative error per gradient",
            "bold",
        ),  # fmt: skip
        table,
    ]
    for r in failed:
        parts.append(Text(f"{r.name} [{r.geometry}]", "bold red"))
        for line in failure_lines(r):
            parts.append(Text("  " + line))
    summary = f"{len(results) - len(failed)} of {len(results)} cases pass"
    parts.append(Text(summary, "bold green" if not failed else "bold red"))
    return Group(*parts)
