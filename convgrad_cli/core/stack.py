"""A stack of layers: validated once, its shapes chained, then forward and backward.

The backward pass is the chain rule layer by layer from the top: the loss
gives δ at the top output; each layer turns the δ arriving at its output into
the δ of the layer below (its ``input_grad``) and, if it has weights, their
gradient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from convgrad_cli.errors import ConfigError, ConvgradError

from . import budget, problem
from .axes import is_int
from .layers import KINDS, WEIGHTED, Layer, Saved, make

LOSSES = ("sum", "delta", "mse")


@dataclass(frozen=True)
class LayerSpec:
    """One layer as given: its kind, its parameters and, for a convolution, its kernel operand."""

    kind: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Loss:
    """``sum`` (δ = 1 everywhere), ``delta`` (δ given at the top) or ``mse``
    (PyTorch's ``mse_loss``, mean: δ = 2·(y − target)/size)."""

    kind: str
    array: np.ndarray | None = None  # the δ or the target

    def value(self, y: np.ndarray) -> float | None:
        if self.kind == "sum":
            return float(y.sum())
        if self.kind == "mse":
            assert self.array is not None
            return float(np.mean((y - self.array) ** 2))
        return None  # a δ given at the top is the gradient of a loss left unsaid

    def delta(self, y: np.ndarray) -> np.ndarray:
        if self.kind == "sum":
            return np.ones_like(y)
        assert self.array is not None
        if self.kind == "mse":
            return 2 * (y - self.array) / y.size
        return self.array


@dataclass(frozen=True)
class Stack:
    """A validated stack: the input ``(N, C, *spatial)``, its layers bottom-up, the loss."""

    x: np.ndarray
    layers: tuple[Layer, ...]
    loss: Loss
    dtype: str
    seed: int
    source: str

    @property
    def ndim(self) -> int:
        return self.x.ndim - 2

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        """The input's shape, then each layer's output shape."""
        return [self.x.shape, *(layer.out_shape for layer in self.layers)]


@dataclass(frozen=True)
class LayerPass:
    """What one layer did in a forward and a backward pass."""

    layer: Layer
    input: np.ndarray
    output: np.ndarray
    saved: Saved
    delta: np.ndarray  # ∂L/∂output, arriving from above
    input_grad: np.ndarray  # ∂L/∂input, the δ of the layer below
    weight_grad: np.ndarray | None
    bias_grad: np.ndarray | None = None  # a convolution with a bias: Σ δ per output channel


def describe(index: int, layer: Layer) -> str:
    """``layer 3 (maxpool)``: 1-based, as a message names it."""
    return f"layer {index + 1} ({layer.kind})"


def build(
    input: Any,
    specs: list[LayerSpec],
    loss: tuple[str, Any] = ("sum", None),
    *,
    dtype: str | None = None,
    seed: int = 0,
    source: str = "<api>",
    max_bytes: int | None = None,
) -> Stack:
    """Validate the input, each layer on the shape it receives, and the loss into a :class:`Stack`."""
    if not is_int(seed) or seed < 0:
        raise ConfigError(f"seed {seed!r} is not allowed; give an integer ≥ 0")
    if not specs:
        raise ConfigError(f"layers is empty; give at least one of {', '.join(KINDS)}")
    rng, limit = problem.rng(int(seed)), budget.Limit(max_bytes, dtype)
    x = problem.values(input, "input", dtype, rng, limit)
    if x.ndim not in (3, 4, 5):
        raise ConfigError(
            f"a stack's input has shape {list(x.shape)}; give (batch, channels, *spatial) with 1, 2 or 3 spatial axes"
        )
    dtype = dtype or str(x.dtype)
    layers: list[Layer] = []
    shape: tuple[int, ...] = x.shape
    for i, spec in enumerate(specs):
        layer = _layer(i, spec, shape, layers[-1] if layers else None, dtype, rng, limit)
        limit.check_array(f"the output of layer {i + 1}", layer.out_shape)
        layers.append(layer)
        shape = layer.out_shape
    return Stack(x, tuple(layers), _loss(loss, shape, dtype, rng, limit), dtype, int(seed), source)


def _layer(
    i: int,
    spec: LayerSpec,
    shape: tuple[int, ...],
    below: Layer | None,
    dtype: str,
    rng: Any,
    limit: budget.Limit,
) -> Layer:
    where = f"layer {i + 1} ({spec.kind})"
    if below is not None:
        where += f", on the output of {describe(i - 1, below)} {list(shape)}"
    try:
        params = dict(spec.params)
        w = bias = None
        if spec.kind in WEIGHTED:
            if "kernel" not in params:
                raise ConfigError(
                    f"{spec.kind} needs a kernel, e.g. {{kernel: {{shape: [1, 1, 3, 3], fill: random}}}}"
                )
            w = problem.values(params.pop("kernel"), "kernel", dtype, rng, limit)
            if (
                "bias" in params
            ):  # drawn after the kernel: a kernel's numbers do not change when a bias is added
                channels = w.shape[0] if spec.kind == "conv" else w.shape[1] * params.get("groups", 1)
                bias = problem.values(params.pop("bias"), "bias", dtype, rng, limit, (channels,))
        return make(spec.kind, shape, params, w, bias)
    except ConvgradError as exc:
        raise type(exc)(f"{where}: {exc}") from None


def _loss(loss: tuple[str, Any], shape: tuple[int, ...], dtype: str, rng: Any, limit: budget.Limit) -> Loss:
    kind, spec = loss
    if kind not in LOSSES:
        raise ConfigError(f"loss {kind!r} is not allowed; allowed: sum, {{delta: …}}, {{mse: {{target: …}}}}")
    if kind == "sum":
        return Loss("sum")
    array = problem.values(spec, "loss delta" if kind == "delta" else "mse target", dtype, rng, limit, shape)
    if array.shape != shape:
        raise ConfigError(
            f"the loss {kind} has shape {list(array.shape)}; it must match the top output, {list(shape)}"
        )
    return Loss(kind, array)


def forward(stack: Stack) -> list[tuple[np.ndarray, np.ndarray, Saved]]:
    """Each layer's ``(input, output, saved)``, bottom-up."""
    passes, a = [], stack.x
    for layer in stack.layers:
        y, saved = layer.forward(a)
        passes.append((a, y, saved))
        a = y
    return passes


def backward(stack: Stack, top: np.ndarray | None = None) -> list[LayerPass]:
    """The chain rule from the top: each layer's δ, ∂L/∂input and ∂L/∂W, bottom-up.

    ``top`` replaces the loss's δ (a trace starts from one output cell).
    """
    ups = forward(stack)
    delta = stack.loss.delta(ups[-1][1]) if top is None else top
    passes: list[LayerPass] = []
    for layer, (x, y, saved) in zip(reversed(stack.layers), reversed(ups)):
        input_grad, weight_grad = layer.backward(x, saved, delta)
        bias_grad = layer.bias_grad(delta) if hasattr(layer, "bias_grad") else None
        passes.append(LayerPass(layer, x, y, saved, delta, input_grad, weight_grad, bias_grad))
        delta = input_grad
    return passes[::-1]
