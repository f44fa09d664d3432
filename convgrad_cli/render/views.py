"""The views of `forward` and `backward`: Rich renderables, never printed here."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from convgrad_cli.core.explain import BackwardResult, ForwardResult
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.pictures import backward_picture, forward_picture, shape_arithmetic
from convgrad_cli.core.problem import Problem
from convgrad_cli.core.rules import transposed_convolution

from .picture import legend, section
from .style import PALETTE, ZERO, expression_text, fmt


def heading(p: Problem) -> Text:
    """``convgrad 1×1×4×4 * 1×1×2×2 s1  (<default>, numbers and names)``"""
    mode = "numbers and names" if p.x is not None and p.w is not None else "names"
    return Text.assemble(("convgrad ", "bold"), p.geom.describe(), (f"  ({p.source}, {mode})", "dim"))


def forward_view(result: ForwardResult, only: Mapping[str, int] | None = None) -> RenderableType:
    picture = forward_picture(result, only)
    parts: list[RenderableType] = [heading(result.problem), *(section(s) for s in picture.sections)]
    exprs = result.expressions
    if exprs is not None:
        names = result.namer.grid("output")
        parts.append(equations("y = x ⋆ W", names, exprs.output, result.output, {}))
    if any(p.padding is not None for p in picture.panels):
        parts.append(legend(picture))
    return spaced(parts)


def backward_view(result: BackwardResult, only: Mapping[str, int] | None = None) -> RenderableType:
    g, exprs = result.problem.geom, result.expressions
    picture = backward_picture(result, only)
    styles = delta_styles(result.delta.names, g)
    parts: list[RenderableType] = [heading(result.problem)]
    for s in picture.sections:
        parts.append(section(s, styles=styles))
        if s.title.startswith("flipped kernel"):
            parts += [Text(shape_arithmetic(g), "bold"), transposed_text(g)]
    if exprs is not None and result.input_names is not None:
        title = "∂L/∂x, cell by cell"
        parts.append(
            equations(title, result.input_names, exprs.input_grad, result.input_grad, styles, "∂L/∂")
        )
    if exprs is not None and result.kernel_names is not None:
        title = "∂L/∂W, tap by tap: each input cell the tap met, times that window's δ"
        parts.append(
            equations(title, result.kernel_names, exprs.weight_grad, result.weight_grad, styles, "∂L/∂")
        )
    if result.bias_grad is not None:
        parts.append(Text("∂L/∂bias = Σδ = " + ", ".join(fmt(v) for v in result.bias_grad)))
    return spaced(parts)


def delta_styles(names: np.ndarray | None, g: Geometry) -> dict[str, str]:
    """A colour per δ entry that follows it through the pipeline — where a map has no
    more entries than the palette has colours, so that none repeats."""
    if names is None or np.prod(g.out_size) > len(PALETTE):
        return {}
    return {str(n): PALETTE[i % len(PALETTE)] for i, n in enumerate(names.ravel())}


def transposed_text(g: Geometry) -> Text:
    """∂L/∂x as PyTorch code: δ's transposed convolution with the same W (cropped where
    the padding is asymmetric)."""
    text = Text("which is the transposed convolution of δ with the same W, in PyTorch: ", "dim")
    text.append(transposed_convolution(g).code)
    return text


def spaced(parts: list[RenderableType]) -> RenderableType:
    """Parts one below the other with a blank line between them."""
    spaced_parts: list[RenderableType] = []
    for part in parts:
        spaced_parts += [part, Text("")]  # cheaper to render than Padding around each part
    return Group(*spaced_parts)


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
