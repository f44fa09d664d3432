"""What `check` and `shape` show, as blocks for the text formats — LaTeX (slides)
and Markdown (notes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from convgrad_cli.core.views import Block, Panels, Sentence, Table

if TYPE_CHECKING:
    from convgrad_cli.core.check.run import CaseResult
    from convgrad_cli.core.geometry import Geometry
    from convgrad_cli.core.shape import Solution


def check_blocks(results: list[CaseResult]) -> list[Block]:
    from .junit import case_lines, summary_line

    header = ("case", "geometry", "FD", "∂L/∂x", "∂L/∂W", "∂L/∂bias", "result")
    rows = []
    for r in results:
        errs = []
        for q in ("input_grad", "weight_grad", "bias_grad"):
            v = [c.max_rel for c in r.comparisons if c.quantity == q]
            errs.append(f"{max(v):.0e}" if v else "—")
        rows.append(
            (r.name, r.geometry, r.mode, *errs, {"passed": "pass", "failed": "FAIL"}.get(r.status, r.status))
        )
    blocks: list[Block] = [
        Table("check: largest relative error of each gradient over every reference", header, tuple(rows))
    ]
    for r in results:
        if r.status in ("failed", "error"):
            blocks.append(Sentence.of(f"{r.name}: " + " ".join(case_lines(r))))
    blocks.append(Sentence.of(summary_line(results)))
    return blocks


def shape_blocks(
    sizes_in: Sequence[int], sizes_out: Sequence[int], found: Sequence[Solution], transposed: bool
) -> list[Block]:
    from convgrad_cli.core.shape import torch_call

    header = ("kernel", "stride", "dilation", "padding", "output_padding", "PyTorch")
    rows = tuple(
        (*(",".join(str(getattr(a, f)) for a in s.axes) for f in ("kernel", "stride", "dilation")),
         ",".join(f"{a.padding[0]}/{a.padding[1]}" for a in s.axes), ",".join(str(a.output_padding) for a in s.axes),
         torch_call(s))
        for s in found[:20]
    )  # fmt: skip
    title = f"{list(sizes_in)} → {list(sizes_out)} by a {'transposed ' if transposed else ''}convolution"
    return [Table(title, header, rows)] if rows else [Sentence.of(title + ": no solution")]


def coverage_blocks(geom: Geometry, what: str) -> list[Block]:
    from convgrad_cli.core.coverage import checkerboard
    from convgrad_cli.core.pictures import coverage_panel

    title = f"windows per cell of the {what}: {geom.describe()}"
    blocks: list[Block] = [Panels(title, (coverage_panel(geom, ""),))]
    return blocks + [Sentence.of(line) for line in checkerboard(geom)]
