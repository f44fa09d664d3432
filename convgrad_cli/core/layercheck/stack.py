"""``check`` of a stack config: each layer's gradients against a reference that
does not share its code, the adjoint identity per layer, and finite differences
of the loss end to end, per operand (left out where, above it, a ReLU meets an exact 0 or a max-pool a
tie: kinks, where a difference quotient has no single answer)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from convgrad_cli.core import rules
from convgrad_cli.core.check.tolerance import Tolerance
from convgrad_cli.core.layers import Conv, ConvTranspose, Layer, MaxPool
from convgrad_cli.core.stack import LayerPass, Stack, backward

from .run import _windows


@dataclass(frozen=True)
class StackCheck:
    """One check: which layer (0 for the whole chain), of what, against what."""

    layer: int
    kind: str
    quantity: str
    reference: str
    passed: bool
    max_abs_error: float
    note: str = ""


def check_stack(stack: Stack, tol: Tolerance | None = None) -> list[StackCheck]:
    tol = tol or Tolerance("float64")
    passes = backward(stack)
    out: list[StackCheck] = []
    for i, p in enumerate(passes, start=1):
        out += _layer_checks(i, p, tol)
    return out + _end_to_end(stack, passes, tol)


def _close(
    got: np.ndarray, want: np.ndarray, scale: np.ndarray | float, tol: Tolerance
) -> tuple[bool, float]:
    err = np.abs(got - want)
    bound = tol.floor + 64 * tol.unit * np.abs(scale)
    return bool(np.all(err <= bound)), float(err.max(initial=0.0))


def _layer_checks(i: int, p: LayerPass, tol: Tolerance) -> list[StackCheck]:
    layer, kind = p.layer, p.layer.kind
    out = []
    reference = _reference(layer, p)
    if reference is not None:
        name, want = reference
        ok, err = _close(p.input_grad, want, np.abs(want) + 1, tol)
        out.append(StackCheck(i, kind, "input_grad", name, ok, err))
    bias = getattr(layer, "bias", None)
    # an affine layer: ⟨f(x), δ⟩ = ⟨x, ∂L/∂x⟩ + ⟨b, ∂L/∂b⟩ = ⟨W, ∂L/∂W⟩ + ⟨b, ∂L/∂b⟩
    offset = 0.0 if bias is None or p.bias_grad is None else float(np.sum(bias * p.bias_grad))
    lhs = float(np.sum(p.output * p.delta)) - offset
    scale = float(np.sum(np.abs(p.output * p.delta))) + abs(offset) + 1
    for quantity, base, grad in (
        ("input_grad", p.input, p.input_grad),
        ("weight_grad", layer.weights, p.weight_grad),
    ):
        if base is None or grad is None:
            continue
        ok, err = _close(
            np.array(float(np.sum(base * grad))), np.array(lhs), scale * np.sqrt(base.size + 1), tol
        )
        out.append(StackCheck(i, kind, quantity, "adjoint", ok, err))
    if bias is not None and p.bias_grad is not None:  # Σ δ per channel, summed apart from rules.bias_grad
        want = np.moveaxis(p.delta, 1, 0).reshape(p.delta.shape[1], -1).sum(axis=1)
        ok, err = _close(p.bias_grad, want, np.abs(want) + 1, tol)
        out.append(StackCheck(i, kind, "bias_grad", "Σ δ per channel", ok, err))
    return out


def _reference(layer: Layer, p: LayerPass) -> tuple[str, np.ndarray] | None:
    """∂L/∂x of the layer another way: the slides' pipeline, the windows, or a mask."""
    if isinstance(layer, Conv):
        return "pipeline", rules.backward_steps(layer.geom, layer.w, p.delta).input_grad
    if isinstance(layer, ConvTranspose):
        return None  # its backward is a convolution: the adjoint identity holds it to its forward
    if layer.kind == "relu":
        return "mask x > 0", p.delta * (p.input > 0)
    windows = _windows(layer, p.input, p.delta)
    return None if windows is None else ("windows", windows)


def _kinks(passes: list[LayerPass], above: int = -1) -> bool:
    """Whether a layer above layer ``above`` (0-based; −1: every layer) meets a kink, where a
    perturbation below it may cross from one linear piece of the loss to another."""
    for i, p in enumerate(passes):
        if i <= above:
            continue
        if p.layer.kind == "relu" and np.any(p.input == 0):
            return True
        # after a ReLU, windows of dead cells tie at 0 harmlessly: nothing flows through them either way
        if isinstance(p.layer, MaxPool) and _tied(p, i > 0 and passes[i - 1].layer.kind == "relu"):
            return True
    return False


def _tied(p: LayerPass, after_relu: bool) -> bool:
    """Whether some window's maximum is reached by more than one of its cells."""
    from .mistakes import MISTAKES

    counted = np.ones_like(p.output) if not after_relu else (p.output != 0).astype(float)
    every_tie = MISTAKES["maxpool_every_tie"](p.layer, p.input, None, counted)
    return bool(np.sum(every_tie) > np.sum(counted))


def _end_to_end(stack: Stack, passes: list[LayerPass], tol: Tolerance) -> list[StackCheck]:
    """The loss's directional derivatives, by central differences, against the chain's gradients —
    for each operand whose perturbation meets no kink in the layers above it (the top layer's
    weights always: nothing above them bends)."""
    top_delta = passes[-1].delta
    rng = np.random.default_rng(stack.seed + 1)

    def loss(x: np.ndarray, weights: dict[tuple[int, str], np.ndarray]) -> float:
        a = x
        for i, layer in enumerate(stack.layers):
            for (j, field), value in weights.items():
                if j == i:
                    layer = dataclasses.replace(layer, **{field: value})  # type: ignore[type-var]
            a, _ = layer.forward(a)
        return (
            float(np.sum(a * top_delta)) if stack.loss.kind == "delta" else float(stack.loss.value(a) or 0.0)
        )

    out = []
    operands = [(-1, "x", stack.x, passes[0].input_grad)] + [
        (i, field, getattr(layer, field), getattr(passes[i], grad))
        for i, layer in enumerate(stack.layers)
        for field, grad in (("w", "weight_grad"), ("bias", "bias_grad"))
        if getattr(layer, field, None) is not None
    ]
    for i, field, base, grad in operands:
        assert base is not None and grad is not None
        quantity = {"x": "input_grad", "w": "weight_grad", "bias": "bias_grad"}[field]
        where, kind = (0, "stack") if i < 0 else (i + 1, stack.layers[i].kind)
        if _kinks(passes, i):
            out.append(
                StackCheck(
                    where,
                    kind,
                    quantity,
                    "finite differences",
                    True,
                    0.0,
                    "left out: above it a ReLU meets an exact 0 or a max-pool a tie (a kink)",
                )
            )
            continue
        v = rng.standard_normal(base.shape)
        h = 1e-6 * max(1.0, float(np.abs(base).max()))
        up = loss(base + h * v, {}) if i < 0 else loss(stack.x, {(i, field): base + h * v})
        down = loss(base - h * v, {}) if i < 0 else loss(stack.x, {(i, field): base - h * v})
        numeric, exact = (up - down) / (2 * h), float(np.sum(grad * v))
        err = abs(numeric - exact)
        out.append(
            StackCheck(where, kind, quantity, "finite differences", err <= 1e-5 * (1 + abs(exact)), err)
        )
    return out
