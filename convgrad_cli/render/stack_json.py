"""A stack's passes as JSON documents: ``layers`` from the bottom up.

Each layer holds its ``kind``, its parameters, its ``output``; a backward pass
adds ``delta`` (∂L/∂ its output, arriving from above), ``input_grad`` (∂L/∂ its
input: the δ of the layer below) and, for a convolution, ``weight_grad`` (and
``bias_grad`` where it has a ``bias``).
The network input's gradient is ``layers[0].input_grad``.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import numpy as np

from convgrad_cli.core.check.report import Report
from convgrad_cli.core.layercheck import LayerResult
from convgrad_cli.core.layercheck.stack import StackCheck
from convgrad_cli.core.layers import Layer
from convgrad_cli.core.panels import heat_levels
from convgrad_cli.core.receptive import AxisField, Distill, InputReach, OutputReach
from convgrad_cli.core.stack import LayerPass, Stack


def _layer(layer: Layer, output: np.ndarray) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": layer.kind, **layer.params}
    if layer.weights is not None:
        doc["kernel"] = layer.weights.tolist()
    bias = getattr(layer, "bias", None)
    if bias is not None:
        doc["bias"] = bias.tolist()
    doc["output"] = output.tolist()
    return doc


def stack_forward_json(stack: Stack, passes: list[tuple[np.ndarray, np.ndarray, Any]]) -> dict[str, Any]:
    return {
        "command": "forward",
        "mode": "stack",
        "input": stack.x.tolist(),
        "shapes": [list(s) for s in stack.shapes],
        "layers": [_layer(layer, y) for layer, (_, y, _) in zip(stack.layers, passes)],
    }


def stack_backward_json(stack: Stack, passes: list[LayerPass]) -> dict[str, Any]:
    layers = []
    for p in passes:
        doc = _layer(p.layer, p.output)
        doc.update(delta=p.delta.tolist(), input_grad=p.input_grad.tolist())
        if p.weight_grad is not None:
            doc["weight_grad"] = p.weight_grad.tolist()
        if p.bias_grad is not None:
            doc["bias_grad"] = p.bias_grad.tolist()
        layers.append(doc)
    return {
        "command": "backward",
        "mode": "stack",
        "input": stack.x.tolist(),
        "shapes": [list(s) for s in stack.shapes],
        "loss": {"kind": stack.loss.kind, "value": stack.loss.value(passes[-1].output)},
        "layers": layers,
    }


def _levels(stack: Stack, paths: list[np.ndarray], fields: list[Any]) -> list[dict[str, Any]]:
    names = ["input", *(layer.kind for layer in stack.layers)]
    return [
        {
            "level": i,
            "kind": name,
            "shape": list(p.shape),
            "paths": p.tolist(),
            "heat": heat_levels(p).tolist(),
            "receptive_field": _field(f),
        }
        for i, (name, p, f) in enumerate(zip(names, paths, fields))
    ]


def _field(f: Any) -> Any:
    return None if f is None else [list(axis) for axis in f]


def output_reach_json(stack: Stack, reach: OutputReach) -> dict[str, Any]:
    """``trace --output`` of a stack: the field and paths on the input, the gradient, and every level."""
    return {
        "command": "trace",
        "mode": "stack",
        "output": list(reach.index),
        "receptive_field": _field(reach.receptive_field),
        "paths": reach.paths[0].tolist(),
        "gradient": reach.gradient.tolist(),
        "levels": _levels(stack, reach.paths, reach.fields),
    }


def input_reach_json(stack: Stack, reach: InputReach) -> dict[str, Any]:
    """``trace --input`` of a stack: per level the paths from the cell to every cell, and where they land."""
    top = reach.paths[-1]
    return {
        "command": "trace",
        "mode": "stack",
        "input": list(reach.index),
        "outputs_reached": [list(map(int, i)) for i in np.argwhere(top)],
        "levels": _levels(stack, reach.paths, reach.fields),
    }


def distill_json(stack: Stack, rows: list[Distill]) -> dict[str, Any]:
    """``shape`` of a stack: per layer its output size and the analytic receptive field, per axis
    a number, a fraction as ``"p/q"`` (a jump or start above a transposed convolution), and
    ``rf_phases``: per axis each phase's ``{start, size}`` (``null``: no input reaches it)."""

    def number(v: Fraction) -> Any:
        return int(v) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"

    def one(a: AxisField, pick: int) -> Any:
        values = [None if p is None else (number(p[0]) if pick == 0 else p[1]) for p in a.phases]
        return values[0] if len(values) == 1 else values

    return {
        "command": "shape",
        "mode": "stack",
        "input_size": list(stack.x.shape[2:]),
        "layers": [
            {
                "kind": r.kind,
                "output_size": list(r.out_size),
                "rf_size": [one(a, 1) for a in r.axes],
                "rf_jump": [number(a.jump) for a in r.axes],
                "rf_start": [one(a, 0) for a in r.axes],
                "rf_phases": [
                    [None if p is None else {"start": number(p[0]), "size": p[1]} for p in a.phases]
                    for a in r.axes
                ],
            }
            for r in rows
        ],
    }


def layercheck_json(report: Report, saved: Mapping[str, str]) -> dict[str, Any]:
    """``check --layer``: every case, its checks, diagnosis and smallest failing case
    (after :func:`~convgrad_cli.render.json.verdict_json`, which every check's JSON opens with)."""

    def case(c: Any) -> dict[str, Any] | None:
        if c is None:
            return None
        return {
            "layer": c.describe(),
            "shape": list(c.shape),
            "params": c.params,
            "kernel_shape": None if c.w_shape is None else list(c.w_shape),
            "values": c.values,
            "seed": c.seed,
        }

    results: list[LayerResult] = report.results  # type: ignore[assignment]
    return {
        "layer": report.layer,
        "results": [
            {
                "name": r.case.name,
                "case": case(r.case),
                "status": r.status.value,
                "error": r.error,
                "checks": [vars(c) for c in r.checks],
                "diagnosis": [{"mistake": d.mistake, "explains": d.explains} for d in r.diagnosis],
                "smallest_failing": case(r.smallest),
                "saved": saved.get(r.name),
            }
            for r in results
        ],
    }


def stack_check_json(results: list[tuple[str, list[StackCheck]]]) -> dict[str, Any]:
    """``check`` of stack configs: per config, every check of every layer and of the chain."""
    return {
        "command": "check",
        "mode": "stack",
        "passed": all(c.passed for _, checks in results for c in checks),
        "checked": sum(not c.note for _, checks in results for c in checks),
        "left_out": sum(bool(c.note) for _, checks in results for c in checks),
        "results": [{"config": source, "checks": [vars(c) for c in checks]} for source, checks in results],
    }
