"""Every command's result as one JSON document (a dict, serialised by the CLI).

Arrays are nested lists in the rank the config gave; in symbolic mode they
hold names and expressions. ``docs/json.md`` lists every field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from convgrad_cli.core import views
from convgrad_cli.core.explain import BackwardResult, CellTrace, ForwardResult, Stage
from convgrad_cli.core.geometry import Ranks
from convgrad_cli.core.names import Index
from convgrad_cli.core.problem import Problem
from convgrad_cli.core.rules import transposed_convolution
from convgrad_cli.core.views import Panels, View

if TYPE_CHECKING:
    from convgrad_cli.core.check.report import Report
    from convgrad_cli.core.check.run import CaseResult
    from convgrad_cli.core.geometry import Geometry
    from convgrad_cli.core.shape import Answer, Solution


def nested(a: np.ndarray | None) -> Any:
    """An array as nested lists of plain numbers or strings."""
    return None if a is None else a.tolist()


def panels_json(view: View) -> list[dict[str, Any]]:
    """The panels a view draws, and those it leaves out: each one's array, slice and
    marked cells (full indices)."""
    out = []
    for section in view.of_kind(Panels):
        assert isinstance(section, Panels)
        for p in (*section.panels, *section.hidden):
            out.append(
                {
                    "section": section.title,
                    "title": p.title,
                    "array": p.array,
                    "slice": dict(zip(p.axes, p.lead)),
                    "shape": list(p.shape),
                    "origin": list(p.origin),
                    "shown": None if p.crop is None else {"rows": list(p.crop[0]), "cols": list(p.crop[1])},
                    "marks": [
                        {
                            "index": list(p.index(cell)),
                            "role": m.role,
                            "window": m.window,
                            "factor": m.factor or None,
                            "factor_first": m.factor_first,
                            **({"heat": m.heat} if m.heat else {}),
                        }
                        for cell, m in p.marks.items()
                    ],
                }
            )
    return out


def geometry_json(problem: Problem) -> dict[str, Any]:
    g, r = problem.geom, problem.ranks
    return {
        "dims": g.ndim,
        "input_shape": list(g.input_shape[g.ndim + 2 - r.input_rank :]),
        "kernel_shape": list(g.kernel_shape[g.ndim + 2 - r.kernel_rank :]),
        "output_shape": list(r.output_shape(g.output_shape)),
        "stride": list(g.stride),
        "padding": [list(p) for p in g.padding],
        "dilation": list(g.dilation),
        "groups": g.groups,
        "uncovered": list(g.uncovered),
        "delta_padding": [list(p) for p in g.delta_padding],
        "dtype": problem.dtype,
        "source": problem.source,
    }


def forward_json(result: ForwardResult, only: Mapping[str, int] | None = None) -> dict[str, Any]:
    r, exprs = result.problem.ranks, result.expressions
    expressions = nested(r.restore_output(exprs.output)) if exprs else None
    p = result.problem
    return {
        "command": "forward",
        "mode": "numeric" if result.output is not None else "symbolic",
        "geometry": geometry_json(p),
        # the operands, values or (symbolic) names, so that a script can redo the layer
        "input": nested(r.restore_input(p.x if p.x is not None else result.namer.grid("input"))),
        "kernel": nested(r.restore_kernel(p.w if p.w is not None else result.namer.grid("kernel"))),
        "bias": nested(p.bias),
        "output": nested(r.restore_output(result.output)) if result.output is not None else expressions,
        "output_expressions": expressions,
        "panels": panels_json(views.forward_view(result, views.Scope(full=True, only=only or {}))),
    }


def backward_json(result: BackwardResult, only: Mapping[str, int] | None = None) -> dict[str, Any]:
    p, r, exprs = result.problem, result.problem.ranks, result.expressions

    def either(stage: Stage, restore: Any) -> Any:
        chosen = stage.values if stage.values is not None else stage.names
        return None if chosen is None else nested(restore(chosen))

    doc = forward_json(result)
    t = transposed_convolution(p.geom)
    input_exprs = nested(r.restore_input(exprs.input_grad)) if exprs else None
    weight_exprs = nested(r.restore_kernel(exprs.weight_grad)) if exprs else None
    doc.update(
        command="backward",
        mode="numeric" if p.numeric else "symbolic",
        delta=either(result.delta, r.restore_output),
        dilated_delta=either(result.dilated_delta, r.restore_output),
        padded_delta=either(result.padded_delta, r.restore_output),
        flipped_kernel=either(result.flipped_kernel, r.restore_kernel),
        input_grad=nested(r.restore_input(result.input_grad))
        if result.input_grad is not None
        else input_exprs,
        weight_grad=nested(r.restore_kernel(result.weight_grad))
        if result.weight_grad is not None
        else weight_exprs,
        bias_grad=nested(result.bias_grad),
        input_grad_expressions=input_exprs,
        weight_grad_expressions=weight_exprs,
        transposed_convolution={
            "function": t.function,
            "stride": list(t.stride),
            "padding": list(t.padding),
            "output_padding": list(t.output_padding),
            "dilation": list(t.dilation),
            "groups": t.groups,
            "crop": [list(c) for c in t.crop],
            "code": t.code,
            "shapes": {"delta": list(p.geom.output_shape), "W": list(p.geom.kernel_shape)},
        },
        panels=panels_json(views.backward_view(result, views.Scope(full=True, only=only or {}))),
    )
    return doc


# -- trace -------------------------------------------------------------------------------------


def _trim(idx: Index, rank: int) -> list[int]:
    return list(idx[len(idx) - rank :])


def _ranks(ranks: Ranks, out_channels: int) -> dict[str, int]:
    return {"input": ranks.input_rank, "weight": ranks.kernel_rank, "output": ranks.output_rank(out_channels)}


def cell_json(t: CellTrace) -> dict[str, Any]:
    ranks = _ranks(t.problem.ranks, t.problem.geom.out_channels)
    namer = t.namer
    doc: dict[str, Any] = {
        "kind": t.kind,
        "cell": t.name,
        "index": _trim(t.index, ranks[t.kind]),
        "expression": f"{t.lhs} = {t.expression}",
        "terms": [
            {
                "weight": namer.weight(term.weight),
                "weight_index": _trim(term.weight, ranks["weight"]),
                "delta": namer.delta(term.delta),
                "output": namer.output(term.delta),
                "output_index": _trim(term.delta, ranks["output"]),
                "input": namer.input(term.input),
                "input_index": _trim(term.input, ranks["input"]),
            }
            for term in t.terms
        ],
        "covered": bool(t.terms),
    }
    value = t.value
    if value is not None:
        doc["value"] = value
    return doc


def trace_json(
    cells: Sequence[CellTrace], every: bool, only: Mapping[str, int] | None = None
) -> dict[str, Any]:
    if every:
        return {"command": "trace", "cells": [cell_json(c) for c in cells], "panels": []}
    cell = cells[0]
    return {"command": "trace", **cell_json(cell), "panels": panels_json(views.cell_view(cell, only))}


# -- check -------------------------------------------------------------------------------------


def _number(v: float) -> float | str:
    return v if math.isfinite(v) else str(v)


def case_json(r: CaseResult, saved: str | None = None) -> dict[str, Any]:
    return {
        "name": r.name,
        "geometry": r.geometry,
        "classes": list(r.classes),
        "mode": r.mode,
        "status": r.status.value,
        "passed": r.passed,
        "error": r.error or None,
        "tolerance": r.tolerance,
        "unchecked": list(r.unchecked),
        "checks": [
            {
                "quantity": c.quantity,
                "reference": c.reference,
                "passed": c.passed,
                "wrong": c.wrong,
                "entries": c.entries,
                "max_abs_error": _number(c.max_abs),
                "max_rel_error": _number(c.max_rel),
                "tolerance": _number(c.tolerance),
                "note": c.note or None,
                "mismatches": [
                    {"index": list(m.index), "expected": m.expected, "actual": _number(m.actual)}
                    for m in c.mismatches
                ],
            }
            for c in r.comparisons
        ],
        "diagnosis": {
            q: [{"mistake": d.mistake, "explains": d.explains} for d in ds] for q, ds in r.diagnosis.items()
        },
        "smallest_failing": None if r.smallest is None else geometry_json(r.smallest),
        "saved": saved,
    }


def check_json(
    results: list[CaseResult], saved: Mapping[str, str] | None = None, report: Report | None = None
) -> dict[str, Any]:
    from convgrad_cli.core.check.report import Report
    from convgrad_cli.core.check.run import summary

    saved = saved or {}
    report = report or Report(results)
    if report.layer != "conv":
        from .stack_json import layercheck_json

        return {**verdict_json(report), **layercheck_json(report, saved)}
    hint = report.undeclared()
    return {
        **verdict_json(report),
        **summary(results),
        # the scope the errors suggest, and how many errors fall outside it
        "undeclared": None if hint is None else {"scope": hint[0].describe(), "errors": hint[1]},
        "results": [case_json(r, saved.get(r.name)) for r in results],
    }


def verdict_json(report: Report) -> dict[str, Any]:
    """What every check's JSON says first: whether it passed, and how many cases were what."""
    from convgrad_cli.core.check.run import Status

    results = report.results
    return {
        "command": "check",
        "passed": report.passed,
        "cases": len(results),
        "checked": report.checked,
        "min_checked": report.min_checked,
        "shortfall": report.shortfall(),
        "supports": report.supports(),
        "refused": list(report.refused),
        "failed": sum(r.status is Status.failed for r in results),
        "errors": sum(r.status is Status.error for r in results),
        "skipped": sum(r.status is Status.skipped for r in results),
        "not_run": sum(r.status is Status.not_run for r in results),
    }


# -- shape -------------------------------------------------------------------------------------


def shape_json(answer: Answer) -> dict[str, Any]:
    from convgrad_cli.core.shape import jax_call, keras_call, torch_call

    def one(sol: Solution) -> dict[str, Any]:
        return {
            "kernel": [a.kernel for a in sol.axes],
            "stride": [a.stride for a in sol.axes],
            "dilation": [a.dilation for a in sol.axes],
            "padding": [list(a.padding) for a in sol.axes],
            "output_padding": [a.output_padding for a in sol.axes],
            "uncovered": [a.uncovered for a in sol.axes],
            "left_over": [a.left_over for a in sol.axes],
            "skipped": [a.skipped for a in sol.axes],
            "exact": sol.exact,
            "torch": torch_call(sol),
            "keras": keras_call(sol, answer.sizes_in),
            "jax": jax_call(sol),
        }

    same = answer.same
    return {
        "command": "shape",
        "in": list(answer.sizes_in),
        "out": list(answer.sizes_out),
        "transposed": answer.transposed,
        "solutions": [one(s) for s in answer.found],
        "nearest": [list(n) for n in answer.nearest],
        "same": None
        if same is None
        else {
            "torch": None if same.torch is None else list(same.torch),
            "tensorflow": list(same.tensorflow),
            "jax": list(same.jax),
            "agree": same.agree,
        },
    }


def coverage_json(geom: Geometry, what: str) -> dict[str, Any]:
    from convgrad_cli.core.coverage import checkerboard, window_counts

    counts = window_counts(geom)
    return {
        "command": "shape",
        "geometry": geom.describe(),
        "cells_of": what,
        "windows_per_cell": counts.tolist(),
        "uncovered": [list(map(int, i)) for i in np.argwhere(counts == 0)],
        "notes": checkerboard(geom),
    }


# -- the text of a document ------------------------------------------------------------------


def json_text(document: Any) -> str:
    """One JSON document. A non-finite number, which JSON has no word for, is
    written as the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"`` (as
    Protocol Buffers' JSON writes them); NumPy scalars as plain numbers."""
    import json

    def plain(v: Any) -> Any:
        return v.item()

    try:
        return json.dumps(document, ensure_ascii=False, allow_nan=False, default=plain) + "\n"
    except ValueError:  # a non-finite number somewhere: spell them out
        return json.dumps(_finite(document), ensure_ascii=False, allow_nan=False, default=plain) + "\n"


def _finite(value: Any) -> Any:
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        return _finite(value.item())
    return value
