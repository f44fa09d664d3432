"""What a command shows, as blocks for the text formats — LaTeX (slides) and
Markdown (notes) — built from the same panels the terminal draws.

A block is a small class per kind; :mod:`.latex` and :mod:`.markdown` write them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

import numpy as np

from convgrad_cli.core.explain import BackwardResult, CellTrace, ForwardResult, InputTrace, OutputTrace
from convgrad_cli.core.panels import Panel
from convgrad_cli.core.pictures import (
    Picture,
    backward_picture,
    forward_picture,
    input_picture,
    output_picture,
    shape_arithmetic,
    weight_picture,
)
from convgrad_cli.core.rules import transposed_convolution
from convgrad_cli.core.views.numbers import fmt

if TYPE_CHECKING:
    from convgrad_cli.core.check.run import CaseResult
    from convgrad_cli.core.geometry import Geometry
    from convgrad_cli.core.shape import Solution


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Panels:
    """Panels side by side under a title; ``windows`` names each window's colour."""

    title: str
    panels: list[Panel]
    windows: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Pipeline:
    """``pad(dilate(δ)) ⋆ rot180(W) = ∂L/∂x`` with the three matrices side by side."""

    padded_delta: Panel
    flipped_kernel: Panel
    input_grad: Panel
    summed: bool  # the input gradient sums over several output channels


@dataclass(frozen=True)
class Equations:
    title: str
    rows: list[tuple[str, str, str | None]]  # lhs, expression, value
    more: int = 0  # rows left out


@dataclass(frozen=True)
class Table:
    title: str
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Paragraph:
    text: str


Block = Union[Heading, Panels, Pipeline, Equations, Table, Paragraph]
LIMIT = 64  # equations written out, at most


def _picture(picture: Picture) -> list[Block]:
    return [Panels(s.title, s.panels, picture.windows) for s in picture.sections]


def _equations(
    title: str, names: np.ndarray, exprs: np.ndarray, values: np.ndarray | None, prefix: str = ""
) -> Equations:
    flat = list(zip(names.ravel(), exprs.ravel(), *([values.ravel()] if values is not None else [])))
    rows = [
        (f"{prefix}{row[0]}", str(row[1]), None if values is None else fmt(row[2])) for row in flat[:LIMIT]
    ]
    return Equations(title, rows, max(0, len(flat) - LIMIT))


def forward_blocks(result: ForwardResult, only: Mapping[str, int] | None = None) -> list[Block]:
    blocks: list[Block] = [Heading(f"forward: {result.problem.geom.describe()}")]
    blocks += _picture(forward_picture(result, only))
    if result.expressions is not None:
        names = result.namer.grid("output")
        blocks.append(_equations("y = x ⋆ W", names, result.expressions.output, result.output))
    return blocks


def backward_blocks(result: BackwardResult, only: Mapping[str, int] | None = None) -> list[Block]:
    g, exprs = result.problem.geom, result.expressions
    picture = backward_picture(result, only)
    blocks: list[Block] = [Heading(f"backward: {g.describe()}")]
    firsts = {s.panels[0].array: s for s in picture.sections if s.panels}
    piped = {"padded_delta", "flipped_kernel", "input_grad"}
    # one slice each: the equation shows those three matrices, so they are not drawn twice
    inline = piped <= firsts.keys() and all(len(firsts[a].panels) == 1 for a in piped)
    for s in picture.sections:
        array = s.panels[0].array if s.panels else ""
        if inline and array in piped:
            if array != "input_grad":
                blocks.append(Paragraph(s.title))
        else:
            blocks.append(Panels(s.title, s.panels))
        if array == "flipped_kernel":
            if piped <= firsts.keys():
                summed = g.out_channels // g.groups > 1
                blocks.append(
                    Pipeline(
                        firsts["padded_delta"].panels[0],
                        firsts["flipped_kernel"].panels[0],
                        firsts["input_grad"].panels[0],
                        summed,
                    )
                )
            blocks.append(Paragraph(shape_arithmetic(g)))
            blocks.append(Paragraph(
                "which is the transposed convolution of δ with the same W, in PyTorch: "
                + transposed_convolution(g).code
            ))  # fmt: skip
    if exprs is not None and result.input_names is not None:
        blocks.append(
            _equations("∂L/∂x, cell by cell", result.input_names, exprs.input_grad, result.input_grad, "∂L/∂")
        )
    if exprs is not None and result.kernel_names is not None:
        title = "∂L/∂W, tap by tap"
        blocks.append(_equations(title, result.kernel_names, exprs.weight_grad, result.weight_grad, "∂L/∂"))
    if result.bias_grad is not None:
        blocks.append(Paragraph("∂L/∂bias = Σδ = " + ", ".join(fmt(v) for v in result.bias_grad)))
    return blocks


def trace_blocks(
    cells: Sequence[CellTrace], only: Mapping[str, int] | None = None, steps: bool = False
) -> list[Block]:
    """One cell's picture and result; several cells: their expressions."""
    rows = [(c.lhs, c.expression, None if c.value is None else fmt(c.value)) for c in cells]
    if len(cells) != 1:
        return [
            Heading(f"every input cell's gradient: {cells[0].problem.geom.describe()}"),
            Equations("", rows),
        ]
    ct = cells[0]
    blocks: list[Block] = [Heading(f"trace of {ct.name}: {ct.problem.geom.describe()}")]
    if isinstance(ct, InputTrace):
        picture = input_picture(ct, only)
        blocks.append(Paragraph(f"Start with input {ct.name}. Where does it appear?"))
        if steps:
            return blocks + _steps(ct, picture) + [Equations("", rows)]
    elif isinstance(ct, OutputTrace):
        picture = output_picture(ct, only)
        blocks.append(Paragraph(f"What is {ct.name} made of?"))
    else:
        picture = weight_picture(ct, only)  # type: ignore[arg-type]
        blocks.append(Paragraph(f"∂L/∂{ct.name}: every input cell that {ct.name} met, times that window's δ"))
    return blocks + _picture(picture) + [Equations("", rows)]


def _steps(ct: InputTrace, picture: Picture) -> list[Block]:
    """The slides' reasoning: each window's picture, its terms, and the sum so far."""
    out: list[Block] = []
    windows = picture.sections[0].panels if ct.terms else []
    by_position: dict[tuple[int, ...], list] = {}
    for t in ct.terms:
        by_position.setdefault(tuple(t.delta[2:]), []).append(t)
    done: list = []
    for i, (name, ts) in enumerate(zip(picture.windows, by_position.values())):
        done += ts
        products = " + ".join(f"{ct.namer.weight(t.weight)}·{ct.namer.delta(t.delta)}" for t in ts)
        out.append(Paragraph(f"{i + 1}. In the window of {name}, {ct.name} receives {products}."))
        panels = [p for p in windows if any(m.window == i for m in p.marks.values())]
        out.append(Panels("", panels, picture.windows))
        part = type(ct)(ct.problem, ct.namer, ct.index, list(done))
        value = "" if part.value is None else f" = {fmt(part.value)}"
        out.append(Paragraph(f"so far: {ct.lhs} = {part.expression}{value}"))
    out.append(Panels(picture.sections[-1].title, picture.sections[-1].panels, picture.windows))
    return out


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
    blocks: list[Block] = [
        Table("check: largest relative error of each gradient over every reference", header, rows)
    ]
    for r in results:
        if r.status in ("failed", "error"):
            blocks.append(Paragraph(f"{r.name}: " + " ".join(case_lines(r))))
    blocks.append(Paragraph(summary_line(results)))
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
    title = f"{list(sizes_in)} → {list(sizes_out)} by a {'transposed ' if transposed else ''}convolution"
    return [Table(title, header, rows)] if rows else [Paragraph(title + ": no solution")]


def coverage_blocks(geom: Geometry, what: str) -> list[Block]:
    from convgrad_cli.core.coverage import checkerboard
    from convgrad_cli.core.pictures import coverage_panel

    title = f"windows per cell of the {what}: {geom.describe()}"
    blocks: list[Block] = [Panels(title, [coverage_panel(geom, "")])]
    return blocks + [Paragraph(line) for line in checkerboard(geom)]
