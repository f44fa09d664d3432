"""Everything `forward` and `backward` show, computed once, in numbers and names.

Each result pairs numeric arrays (``None`` where an operand is symbolic) with
arrays of names built by the very same helpers (``dilate``, ``pad``,
``flip_kernel`` work on arrays of names too), so the picture of the slides'
pipeline and its numbers cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import conv, trace
from .config import Problem
from .names import Namer
from .ops import dilate, flip_kernel, pad


@dataclass(frozen=True)
class ForwardResult:
    problem: Problem
    namer: Namer
    output: np.ndarray | None
    expressions: dict[str, np.ndarray] | None  # output / input_grad / weight_grad, or None if too large


@dataclass(frozen=True)
class BackwardResult(ForwardResult):
    steps: conv.BackwardSteps | None  # numbers of the pipeline, when W and δ have them
    names: dict[str, np.ndarray] = field(default_factory=dict)  # the pipeline in names
    weight_grad: np.ndarray | None = None
    bias_grad: np.ndarray | None = None


def forward_result(problem: Problem) -> ForwardResult:
    namer = Namer(problem.geom)
    output = None
    if problem.x is not None and problem.w is not None:
        output = conv.forward(problem.geom, problem.x, problem.w, problem.bias)
    return ForwardResult(problem, namer, output, trace.expressions(problem.geom, namer))


def backward_result(problem: Problem) -> BackwardResult:
    fwd = forward_result(problem)
    g, w, x, delta = problem.geom, problem.w, problem.x, problem.delta
    namer = fwd.namer
    names: dict[str, np.ndarray] = {}
    if trace.term_count(g) <= trace.MAX_TERMS:
        delta_names, kernel_names = namer.grid("delta"), namer.grid("kernel")
        dilated = dilate(delta_names, g.stride)
        names = {
            "delta": delta_names,
            "dilated_delta": dilated,
            "padded_delta": pad(dilated, g.delta_padding),
            "kernel": kernel_names,
            "flipped_kernel": flip_kernel(kernel_names, g.groups),
            "input": namer.grid("input"),
        }
    steps = conv.backward_steps(g, w, delta) if w is not None and delta is not None else None
    return BackwardResult(
        problem=problem,
        namer=namer,
        output=fwd.output,
        expressions=fwd.expressions,
        steps=steps,
        names=names,
        weight_grad=conv.weight_grad(g, x, delta) if x is not None and delta is not None else None,
        bias_grad=conv.bias_grad(delta) if delta is not None else None,
    )


def fmt(v: Any, digits: int = 6) -> str:
    """A number as short as it can be said: ``3``, ``-0.5``, ``1.234e-05`` (``digits`` significant)."""
    if isinstance(v, str):
        return v
    f = float(v)
    if f.is_integer() and abs(f) < 1e15:
        return str(int(f))
    return f"{f:.{digits}g}"


# -- JSON --------------------------------------------------------------------------------


def nested(a: np.ndarray | None) -> Any:
    """An array as nested lists of plain numbers or strings."""
    if a is None:
        return None
    return a.tolist()


def geometry_json(problem: Problem) -> dict[str, Any]:
    g, r = problem.geom, problem.ranks
    return {
        "dims": g.ndim,
        "input_shape": list(r.restore_input(np.empty(g.input_shape)).shape),
        "kernel_shape": list(r.restore_kernel(np.empty(g.kernel_shape)).shape),
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


def forward_json(result: ForwardResult) -> dict[str, Any]:
    p, r = result.problem, result.problem.ranks
    exprs = result.expressions
    doc: dict[str, Any] = {
        "command": "forward",
        "mode": "numeric" if result.output is not None else "symbolic",
        "geometry": geometry_json(p),
        "output": nested(r.restore_output(result.output)) if result.output is not None else None,
        "output_expressions": nested(r.restore_output(exprs["output"])) if exprs else None,
    }
    if doc["output"] is None:
        doc["output"] = doc["output_expressions"]
    return doc


def backward_json(result: BackwardResult) -> dict[str, Any]:
    p, r = result.problem, result.problem.ranks
    doc = forward_json(result)
    doc["command"] = "backward"
    doc["mode"] = "numeric" if p.numeric else "symbolic"
    exprs, names, steps = result.expressions, result.names, result.steps

    def pick(values: np.ndarray | None, name_key: str, restore) -> Any:
        if values is not None:
            return nested(restore(values))
        if name_key in names:
            return nested(restore(names[name_key]))
        return None

    doc["delta"] = pick(p.delta, "delta", r.restore_output)
    doc["dilated_delta"] = pick(conv.step(steps, "dilated_delta"), "dilated_delta", r.restore_output)
    doc["padded_delta"] = pick(conv.step(steps, "padded_delta"), "padded_delta", r.restore_output)
    doc["flipped_kernel"] = pick(conv.step(steps, "flipped_kernel"), "flipped_kernel", r.restore_kernel)
    doc["input_grad"] = nested(r.restore_input(steps.input_grad)) if steps is not None else None
    doc["weight_grad"] = (
        nested(r.restore_kernel(result.weight_grad)) if result.weight_grad is not None else None
    )
    doc["bias_grad"] = nested(result.bias_grad)
    doc["input_grad_expressions"] = nested(r.restore_input(exprs["input_grad"])) if exprs else None
    doc["weight_grad_expressions"] = nested(r.restore_kernel(exprs["weight_grad"])) if exprs else None
    doc["transposed_convolution"] = conv.transposed_convolution(p.geom)
    for key in ("input_grad", "weight_grad"):
        if doc[key] is None:
            doc[key] = doc[f"{key}_expressions"]
    return doc
