"""What `trace` shows, computed once: one cell's terms, names and value.

No Rich here; :mod:`convgrad_cli.render_trace` draws it, :func:`trace_json`
serialises it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import trace
from .config import Problem
from .names import Index, Namer

KINDS = ("input", "output", "weight")


@dataclass(frozen=True)
class CellTrace:
    """One cell and the products that make it (``kind`` says which cell)."""

    problem: Problem
    namer: Namer
    kind: str  # "input" (its gradient), "output" (the forward sum) or "weight" (its gradient)
    index: Index
    terms: list[trace.Term]

    @property
    def name(self) -> str:
        return getattr(self.namer, self.kind)(self.index)

    @property
    def lhs(self) -> str:
        """``∂L/∂b``, ``y5`` or ``∂L/∂w2``."""
        return self.name if self.kind == "output" else f"∂L/∂{self.name}"

    @property
    def expression(self) -> str:
        render = {
            "input": trace.input_grad_expression,
            "output": trace.output_expression,
            "weight": trace.weight_grad_expression,
        }[self.kind]
        return render(self.namer, self.terms)

    @property
    def value(self) -> float | None:
        p = self.problem
        operands = {
            "input": (p.w, p.delta, ("weight", "delta")),
            "output": (p.x, p.w, ("input", "weight")),
            "weight": (p.x, p.delta, ("input", "delta")),
        }[self.kind]
        left, right, fields = operands
        if left is None or right is None:
            return None
        value = trace.evaluate(self.terms, left, right, fields)
        if self.kind == "output" and p.bias is not None:
            value += float(p.bias[self.index[1]])
        return value


def trace_cell(problem: Problem, kind: str, text: str) -> CellTrace:
    """Parse a cell name or index of ``kind`` and collect its terms."""
    namer = Namer(problem.geom)
    g = problem.geom
    if kind == "input":
        idx = namer.parse_input(text)
        terms = trace.input_terms(g, idx)
    elif kind == "output":
        idx = namer.parse_output(text)
        terms = trace.output_terms(g, idx)
    else:
        idx = namer.parse_weight(text)
        terms = trace.weight_terms(g, idx)
    return CellTrace(problem, namer, kind, idx, terms)


def trace_all(problem: Problem) -> list[CellTrace]:
    """Every input cell's gradient, as the slides list them."""
    namer = Namer(problem.geom)
    g = problem.geom
    if trace.term_count(g) > trace.MAX_TERMS:
        from .errors import TooLargeError

        raise TooLargeError(
            f"--all lists every cell of a problem with {trace.term_count(g)} products, over "
            f"{trace.MAX_TERMS}; trace one cell with --input instead"
        )
    return [
        CellTrace(problem, namer, "input", idx, trace.input_terms(g, idx))
        for idx in np.ndindex(*g.input_shape)
    ]


# -- JSON ------------------------------------------------------------------------------------


def _trim(idx: Index, rank: int) -> list[int]:
    return list(idx[len(idx) - rank :])


def _ranks(problem: Problem) -> dict[str, int]:
    r, g = problem.ranks, problem.geom
    return {
        "input": r.input_rank,
        "weight": r.kernel_rank,
        "output": len(r.output_shape(g.output_shape)),
    }


def cell_json(t: CellTrace) -> dict[str, Any]:
    ranks = _ranks(t.problem)
    namer = t.namer
    terms = []
    for term in t.terms:
        entry = {
            "weight": namer.weight(term.weight),
            "weight_index": _trim(term.weight, ranks["weight"]),
            "delta": namer.delta(term.delta),
            "output": namer.output(term.delta),
            "output_index": _trim(term.delta, ranks["output"]),
            "input": namer.input(term.input),
            "input_index": _trim(term.input, ranks["input"]),
        }
        terms.append(entry)
    doc: dict[str, Any] = {
        "kind": t.kind,
        "cell": t.name,
        "index": _trim(t.index, ranks[t.kind]),
        "expression": f"{t.lhs} = {t.expression}",
        "terms": terms,
        "covered": bool(t.terms),
    }
    value = t.value
    if value is not None:
        doc["value"] = value
    return doc


def trace_json(cells: list[CellTrace], every: bool) -> dict[str, Any]:
    if every:
        return {"command": "trace", "cells": [cell_json(c) for c in cells]}
    return {"command": "trace", **cell_json(cells[0])}
