"""What a command shows, as plain blocks — for LaTeX (slides) and Markdown (notes).

The terminal views draw with colour; these writers say the same things in
text formats that other tools typeset.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from convgrad_cli.core.explain import BackwardResult, CellTrace, ForwardResult

from .numbers import fmt

if TYPE_CHECKING:
    from convgrad_cli.core.check.run import CaseResult
    from convgrad_cli.core.geometry import Geometry
    from convgrad_cli.core.shape import Solution


@dataclass(frozen=True)
class Block:
    kind: str  # "heading", "grid", "equations", "text"
    title: str
    data: Any = None  # grid: 2-D list of str; equations: list of (lhs, rhs, value or None)


def _cells(values: np.ndarray | None, names: np.ndarray | None) -> np.ndarray:
    """Names where there are names (the slides' symbols), numbers otherwise."""
    if names is not None:
        return np.vectorize(lambda v: fmt(v), otypes=[object])(names)
    assert values is not None
    return np.vectorize(fmt, otypes=[object])(values)


def _grids(title: str, values, names, spatial: int, limit: int = 6) -> list[Block]:
    cells = _cells(values, names)
    lead_shape = cells.shape[: cells.ndim - min(spatial, 2)]
    blocks = []
    for lead in list(np.ndindex(*lead_shape))[:limit]:
        label = title
        if any(n > 1 for n in lead_shape):
            axes = ["n", "c", "z"]
            label += " [" + ", ".join(f"{a}={i}" for a, i in zip(axes, lead)) + "]"
        blocks.append(Block("grid", label, np.atleast_2d(cells[lead]).tolist()))
    return blocks


def _equations(title: str, names, exprs, values, prefix: str = "") -> Block:
    rows = []
    flat_values = values.ravel() if values is not None else [None] * names.size
    for name, expr, value in zip(names.ravel(), exprs.ravel(), flat_values):
        rows.append((f"{prefix}{name}", expr, None if value is None else fmt(value)))
    return Block("equations", title, rows)


def forward_blocks(result: ForwardResult) -> list[Block]:
    p, sp, namer = result.problem, result.problem.geom.ndim, result.namer
    named = result.expressions is not None
    blocks = [Block("heading", f"forward: {p.geom.describe()}")]
    blocks += _grids("input x", p.x, namer.grid("input") if named else None, sp)
    blocks += _grids("kernel W", p.w, namer.grid("kernel") if named else None, sp)
    blocks += _grids("output y", result.output, namer.grid("output") if named else None, sp)
    if named:
        assert result.expressions is not None
        blocks.append(_equations("y = x ⋆ W", namer.grid("output"), result.expressions.output, result.output))
    return blocks


def backward_blocks(result: BackwardResult) -> list[Block]:
    g, exprs = result.problem.geom, result.expressions
    blocks = [Block("heading", f"backward: {g.describe()}")]
    blocks += _grids("δ = ∂L/∂y", result.delta.values, result.delta.names, g.ndim)
    if any(s > 1 for s in g.stride):
        blocks += _grids("dilated δ", result.dilated_delta.values, result.dilated_delta.names, g.ndim)
    blocks += _grids("padded δ", result.padded_delta.values, result.padded_delta.names, g.ndim)
    blocks += _grids(
        "flipped kernel rot180(W)", result.flipped_kernel.values, result.flipped_kernel.names, g.ndim
    )
    if result.input_grad is not None:
        blocks += _grids("∂L/∂x", result.input_grad, None, g.ndim)
    if exprs is not None and result.input_names is not None:
        title = "∂L/∂x = correlate(padded δ, flipped kernel)"
        blocks.append(_equations(title, result.input_names, exprs.input_grad, result.input_grad, "∂L/∂"))
    if result.weight_grad is not None:
        blocks += _grids("∂L/∂W", result.weight_grad, None, g.ndim)
    if result.bias_grad is not None:
        blocks.append(Block("text", "∂L/∂bias = Σδ = " + ", ".join(fmt(v) for v in result.bias_grad)))
    return blocks


def trace_blocks(cells: Sequence[CellTrace]) -> list[Block]:
    rows = [(c.lhs, c.expression, None if c.value is None else fmt(c.value)) for c in cells]
    title = "every input cell's gradient" if len(cells) > 1 else f"trace of {cells[0].name}"
    return [Block("equations", title, rows)]


def check_blocks(results: list[CaseResult]) -> list[Block]:
    from .junit import case_lines, summary_line

    header = ["case", "geometry", "FD", "∂L/∂x", "∂L/∂W", "∂L/∂bias", "result"]
    rows = []
    for r in results:
        errs = []
        for q in ("input_grad", "weight_grad", "bias_grad"):
            v = [c.max_rel for c in r.comparisons if c.quantity == q]
            errs.append(f"{max(v):.0e}" if v else "—")
        rows.append(
            [r.name, r.geometry, r.mode, *errs, {"passed": "pass", "failed": "FAIL"}.get(r.status, r.status)]
        )
    blocks = [
        Block("table", "check: largest relative error of each gradient over every reference", (header, rows))
    ]
    for r in results:
        if r.status in ("failed", "error"):
            blocks.append(Block("text", f"{r.name}: " + " ".join(case_lines(r))))
    blocks.append(Block("text", summary_line(results)))
    return blocks


def shape_blocks(
    sizes_in: Sequence[int], sizes_out: Sequence[int], found: Sequence[Solution], transposed: bool
) -> list[Block]:
    from convgrad_cli.core.shape import torch_call

    header = ["kernel", "stride", "dilation", "padding", "output_padding", "PyTorch"]
    rows = [
        [",".join(str(getattr(a, f)) for a in s.axes) for f in ("kernel", "stride", "dilation")]
        + [",".join(f"{a.padding[0]}/{a.padding[1]}" for a in s.axes), ",".join(str(a.output_padding) for a in s.axes),
           torch_call(s)]
        for s in found[:20]
    ]  # fmt: skip
    title = f"{sizes_in} → {sizes_out} by a {'transposed ' if transposed else ''}convolution"
    return [Block("table", title, (header, rows))] if rows else [Block("text", title + ": no solution")]


def coverage_blocks(geom: Geometry, what: str) -> list[Block]:
    from convgrad_cli.core.coverage import checkerboard, window_counts

    counts = window_counts(geom)
    grid = counts.reshape(1, -1) if geom.ndim == 1 else counts if geom.ndim == 2 else counts[0]
    blocks = [
        Block(
            "grid",
            f"windows per cell of the {what}: {geom.describe()}",
            [[str(v) for v in row] for row in grid],
        )
    ]
    return blocks + [Block("text", line) for line in checkerboard(geom)]


# -- LaTeX -------------------------------------------------------------------------------------


def latex_name(name: str) -> str:
    """``w2`` → ``w_2``, ``δ12`` → ``\\delta_{12}``, ``x[0,1]`` → ``x_{0,1}``, ``∂L/∂b`` → a fraction."""
    frac = re.fullmatch(r"∂L/∂(.+)", name)
    if frac:
        return rf"\frac{{\partial L}}{{\partial {latex_name(frac.group(1))}}}"
    name = name.replace("δ", r"\delta ")
    indexed = re.fullmatch(r"(.*?)\[([\d,]+)\]", name)
    if indexed:
        return f"{indexed.group(1).strip()}_{{{indexed.group(2)}}}"
    sub = re.fullmatch(r"(.*?[^\d\s])\s*(\d+)", name)
    if sub:
        digits = sub.group(2)
        return f"{sub.group(1).strip()}_{digits if len(digits) == 1 else '{' + digits + '}'}"
    return name.strip()


def latex_expression(expr: str) -> str:
    """``w2·δ1 + w1·δ2`` → ``w_2\\delta_1 + w_1\\delta_2``."""
    return " + ".join("".join(latex_name(factor) for factor in term.split("·")) for term in expr.split(" + "))


_TEXT_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                 "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}  # fmt: skip


def latex_text(text: str) -> str:
    """Plain words for a ``\\text{}`` or a comment line, with LaTeX's specials escaped."""
    out = "".join(_TEXT_ESCAPES.get(ch, ch) for ch in text)
    return (
        out.replace("δ", r"$\delta$")
        .replace("∂", r"$\partial$")
        .replace("⋆", r"$\star$")
        .replace("Σ", r"$\Sigma$")
    )


def _latex_cell(cell: str) -> str:
    return latex_expression(cell) if re.search(r"[A-Za-zδ]", cell) else cell


def to_latex(blocks: list[Block]) -> str:
    lines = ["% convgrad: paste into a document that loads amsmath"]
    for b in blocks:
        if b.kind == "heading":
            lines += ["", f"% {b.title}"]
        elif b.kind == "grid":
            body = " \\\\\n  ".join(" & ".join(_latex_cell(str(c)) for c in row) for row in b.data)
            lines += [
                "",
                _latex_title(b.title),
                "\\[",
                "\\begin{bmatrix}",
                f"  {body}",
                "\\end{bmatrix}",
                "\\]",
            ]
        elif b.kind == "equations":
            lines += ["", _latex_title(b.title), "\\begin{align*}"]
            rows = []
            for lhs, rhs, value in b.data:
                row = f"  {latex_name(lhs)} &= {latex_expression(rhs)}"
                rows.append(row + (f" = {value}" if value is not None else ""))
            lines.append(" \\\\\n".join(rows))
            lines.append("\\end{align*}")
        elif b.kind == "table":
            header, rows = b.data
            lines += ["", _latex_title(b.title), f"\\begin{{tabular}}{{{'l' * len(header)}}}"]
            for row in [header, *rows]:
                lines.append("  " + " & ".join(latex_text(str(c)) for c in row) + " \\\\")
            lines.append("\\end{tabular}")
        else:
            lines += ["", latex_text(b.title) + "\\par"]
    return "\n".join(lines) + "\n"


def _latex_title(title: str) -> str:
    return f"\\noindent\\textbf{{{latex_text(title)}}}"


# -- Markdown ----------------------------------------------------------------------------------


def _md(cell: str) -> str:
    return str(cell).replace("|", "\\|")


def to_markdown(blocks: list[Block]) -> str:
    lines: list[str] = []
    for b in blocks:
        if b.kind == "heading":
            lines += [f"## {b.title}", ""]
        elif b.kind == "grid":
            width = len(b.data[0])
            lines += [f"**{_md(b.title)}**", "", "|" + " |" * width, "|" + "---:|" * width]
            lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in b.data]
            lines.append("")
        elif b.kind == "equations":
            lines += [f"**{_md(b.title)}**", ""]
            for lhs, rhs, value in b.data:
                lines.append(f"- `{lhs} = {rhs}`" + (f" = {value}" if value is not None else ""))
            lines.append("")
        elif b.kind == "table":
            header, rows = b.data
            lines += [f"**{_md(b.title)}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
            lines.append("")
        else:
            lines += [b.title, ""]
    return "\n".join(lines)
