"""A stack's passes as JSON documents: ``layers`` from the bottom up.

Each layer holds its ``kind``, its parameters, its ``output``; a backward pass
adds ``delta`` (∂L/∂ its output, arriving from above), ``input_grad`` (∂L/∂ its
input: the δ of the layer below) and, for a convolution, ``weight_grad``.
The network input's gradient is ``layers[0].input_grad``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convgrad_cli.core.layers import Layer
from convgrad_cli.core.stack import LayerPass, Stack


def _layer(layer: Layer, output: np.ndarray) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": layer.kind, **layer.params}
    if layer.weights is not None:
        doc["kernel"] = layer.weights.tolist()
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
        layers.append(doc)
    return {
        "command": "backward",
        "mode": "stack",
        "input": stack.x.tolist(),
        "shapes": [list(s) for s in stack.shapes],
        "loss": {"kind": stack.loss.kind, "value": stack.loss.value(passes[-1].output)},
        "layers": layers,
    }
