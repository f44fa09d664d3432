"""The views of `forward` and `backward`: Rich renderables, never printed here."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from convgrad_cli.core.explain import BackwardResult, ForwardResult, Stage
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.problem import Problem
from convgrad_cli.core.rules import transposed_convolution

from .grid import Grid
from .style import ZERO, delta_styles, expression_text, fmt


def heading(p: Problem) -> Text:
    """``convgrad 1×1×4×4 * 1×1×2×2 s1  (<default>, numbers and names)``"""
    mode = "numbers and names" if p.x is not None and p.w is not None else "names"
    return Text.assemble(("convgrad ", "bold"), p.geom.describe(), (f"  ({p.source}, {mode})", "dim"))


def forward_view(result: ForwardResult) -> RenderableType:
    p, sp = result.problem, result.problem.geom.ndim
    exprs = result.expressions  # names only where they can all be written out

    def names(kind: str) -> np.ndarray | None:
        return result.namer.grid(kind) if exprs is not None else None

    output_names = names("output")
    parts: list[RenderableType] = [
        heading(p),
        Grid("input x", p.x, names("input"), spatial=sp),
        Grid("kernel W", p.w, names("kernel"), spatial=sp),
        Grid("output y", result.output, output_names, spatial=sp),
    ]
    if exprs is not None and output_names is not None:
        parts.append(equations("y = x ⋆ W", output_names, exprs.output, result.output, {}))
    return spaced(parts)


def backward_view(result: BackwardResult) -> RenderableType:
    p, g = result.problem, result.problem.geom
    sp, exprs = g.ndim, result.expressions
    styles = delta_styles(result.delta.names) if result.delta.names is not None else {}

    def stage(title: str, stage: Stage) -> Grid:
        return Grid(title, stage.values, stage.names, styles, sp)

    parts: list[RenderableType] = [heading(p), stage("δ = ∂L/∂y", result.delta)]
    if any(s > 1 for s in g.stride):
        zeros = _axes(s - 1 for s in g.stride)
        parts.append(
            stage(f"dilated δ: stride − 1 = {zeros} zero(s) between neighbours", result.dilated_delta)
        )
    pads = ", ".join(f"{b}/{a}" for b, a in g.delta_padding)
    extra = f"; {_axes(g.uncovered)} uncovered row/col at the end" if any(g.uncovered) else ""
    parts.append(
        stage(f"padded δ: before/after {pads} = dilation·(k−1) − padding{extra}", result.padded_delta)
    )
    parts.append(stage("flipped kernel rot180(W)", result.flipped_kernel))
    parts.append(Text("∂L/∂x = correlate(padded δ, flipped kernel)", "bold"))
    parts.append(transposed_text(g))
    if result.input_grad is not None:
        parts.append(Grid("∂L/∂x", result.input_grad, None, styles, sp))
    if exprs is not None and result.input_names is not None:
        parts.append(
            equations(
                "∂L/∂x, cell by cell", result.input_names, exprs.input_grad, result.input_grad, styles, "∂L/∂"
            )
        )
    if result.weight_grad is not None:
        parts.append(Grid("∂L/∂W = input ⋆ dilated δ", result.weight_grad, None, styles, sp))
    if exprs is not None and result.kernel_names is not None:
        title = "∂L/∂W, tap by tap: each input cell the tap met, times that window's δ"
        parts.append(
            equations(title, result.kernel_names, exprs.weight_grad, result.weight_grad, styles, "∂L/∂")
        )
    if result.bias_grad is not None:
        parts.append(Text("∂L/∂b = Σδ = " + ", ".join(fmt(v) for v in result.bias_grad)))
    return spaced(parts)


def transposed_text(g: Geometry) -> Text:
    """∂L/∂x as PyTorch's transposed convolution of δ with the same W."""
    t = transposed_convolution(g)

    def one(v: tuple[int, ...]) -> str:
        return str(v[0]) if len(set(v)) == 1 else "(" + ", ".join(map(str, v)) + ")"

    call = (
        f"{t.function.rsplit('.', 1)[-1]}(δ, W, stride={one(t.stride)}, padding={one(t.padding)}, "
        f"output_padding={one(t.output_padding)}, dilation={one(t.dilation)}, groups={t.groups})"
    )
    text = Text("which is the transposed convolution of δ with the same W: ", "dim")
    text.append(call)
    if not t.exact:
        text.append("  (asymmetric padding: not exact there; crop the result instead)", "dim")
    return text


def spaced(parts: list[RenderableType]) -> RenderableType:
    """Parts one below the other with a blank line between them."""
    spaced_parts: list[RenderableType] = []
    for part in parts:
        spaced_parts += [part, Text("")]  # cheaper to render than Padding around each part
    return Group(*spaced_parts)


def _axes(t: Iterable[int]) -> str:
    t = tuple(t)
    return str(t[0]) if len(set(t)) == 1 else "×".join(map(str, t))


def equations(
    title: str,
    names: np.ndarray,
    exprs: np.ndarray,
    values: np.ndarray | None,
    styles: dict[str, str],
    prefix: str = "",
    limit: int = 64,
) -> RenderableType:
    """``name = expression = value``, a row each, at most ``limit`` rows."""
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
