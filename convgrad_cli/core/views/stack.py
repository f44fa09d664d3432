"""The views of a stack's forward and backward passes: each layer's arrays in the
slides' style, and the backward pass read from the top, layer by layer — the δ
that arrives, and how the layer turns it into the δ of the layer below."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from convgrad_cli.core import rules
from convgrad_cli.core.axes import compact
from convgrad_cli.core.layers import Conv, ConvTranspose, Layer, MaxPool, PoolGeometry
from convgrad_cli.core.options import option
from convgrad_cli.core.panels import Mark, panel, slices
from convgrad_cli.core.pictures import shape_arithmetic
from convgrad_cli.core.stack import LayerPass, Stack

from .blocks import Block, Heading, Legend, Panels, Pipeline, Sentence, Span, View
from .layer import summed_sentence, transposed_sentence
from .numbers import fmt
from .parts import COLOURS, MAX_PANELS

#: A full index of an array, and the mark its cell gets.
Marks = Mapping[tuple[int, ...], Mark]


def describe(stack: Stack) -> str:
    """``1×1×8×8 → conv 2×1×3×3 p1 → relu → maxpool k2 → conv 1×2×3×3``"""
    steps = ["×".join(map(str, stack.x.shape))]
    steps += [layer_text(layer) for layer in stack.layers]
    return " → ".join(steps)


def layer_text(layer: Layer) -> str:
    """A layer as a heading names it: its kind and what is not the default."""
    if isinstance(layer, Conv):
        return f"conv {layer.geom.describe().split(' * ')[1]}"
    if isinstance(layer, ConvTranspose):
        p = layer.params
        text = f"conv_transpose {'×'.join(map(str, layer.w.shape))} s{compact(p['stride'])}"
        text += f" p{compact(p['padding'])}" if any(p["padding"]) else ""
        return text + (f" op{compact(p['output_padding'])}" if any(p["output_padding"]) else "")
    geom = getattr(layer, "geom", None)
    return f"{layer.kind} {geom.describe()}" if geom is not None else layer.kind


def heading(stack: Stack, title: str) -> Heading:
    return Heading(title, describe(stack), stack.source, "numbers")


def array_section(
    title: str,
    array: str,
    values: np.ndarray,
    marks: Marks | None = None,
    names: np.ndarray | None = None,
    note: str = "",
) -> Panels:
    """Every slice of an array (at most :data:`MAX_PANELS`), with the marks that fall on it."""
    spatial = values.ndim - 2
    leads = slices(values.shape, spatial)
    by_slice: dict[tuple[int, ...], dict[tuple[int, int], Mark]] = {}
    depth = len(leads[0]) if leads else 0
    for index, mark in (marks or {}).items():
        by_slice.setdefault(tuple(index[:depth]), {})[_cell(index, spatial)] = mark
    built = [
        panel("", array, lead, values, names, spatial, by_slice.get(lead, {})) for lead in leads[:MAX_PANELS]
    ]
    left = len(leads) - MAX_PANELS
    cut = (
        f"… {left} more panels ({option('slice')} picks which; {option('json')} has all)" if left > 0 else ""
    )
    return Panels(title, tuple(built), "; ".join(t for t in (cut, note) if t))


def _cell(index: tuple[int, ...], spatial: int) -> tuple[int, int]:
    return (0, index[-1]) if spatial == 1 else (index[-2], index[-1])


def forward_view(stack: Stack, passes: list[tuple[np.ndarray, np.ndarray, object]]) -> View:
    """The input, then each layer: its kernel if it has one, and its output."""
    blocks: list[Block] = [heading(stack, "forward"), array_section("x: the input", "input", stack.x)]
    for i, (layer, (_, y, _)) in enumerate(zip(stack.layers, passes)):
        name = f"layer {i + 1} · {layer_text(layer)}"
        if layer.weights is not None:
            blocks.append(array_section(f"{name}: kernel W{sup(i + 1)}", "kernel", layer.weights))
        bias = getattr(layer, "bias", None)
        if bias is not None:
            blocks.append(
                Sentence.of(f"{name}: bias b{sup(i + 1)} = {_vector(bias)}, added to each output channel")
            )
        blocks.append(array_section(f"{name}: output y{sup(i + 1)} {_shape(y)}", "output", y))
    return View("forward", tuple(blocks))


def _vector(a: np.ndarray) -> str:
    return "[" + ", ".join(fmt(float(v)) for v in a) + "]"


def _bias_grad(L: str, p: LayerPass) -> list[Block]:
    """``∂L/∂b = Σ δ`` per output channel, where the layer has a bias."""
    if p.bias_grad is None:
        return []
    return [
        Sentence.of(
            f"∂L/∂b{L} = Σ δ{L} over the batch and every position, per output channel: {_vector(p.bias_grad)}"
        )
    ]


def _shape(a: np.ndarray) -> str:
    return "×".join(map(str, a.shape))


def backward_view(stack: Stack, passes: list[LayerPass]) -> View:
    """The loss, then from the top down each layer: the δ that arrives, what the
    layer does with it, and the δ it sends to the layer below."""
    blocks: list[Block] = [heading(stack, "backward"), loss_sentence(stack, passes[-1].output)]
    blocks += [b for step in backward_steps(passes) for b in step]
    if any(isinstance(p.layer, MaxPool) for p in passes):
        blocks.append(max_pool_legend())
    return View("backward", tuple(blocks))


def backward_steps(passes: list[LayerPass]) -> list[list[Block]]:
    """Each layer's part of the backward pass, from the top: what arrives, what it
    sends down, and how."""
    steps = []
    for i in reversed(range(len(passes))):
        p = passes[i]
        source = "the loss" if i == len(passes) - 1 else f"layer {i + 2} ({passes[i + 1].layer.kind})"
        below = (
            "∂L/∂x, the network input's gradient"
            if i == 0
            else f"δ{sup(i)}, the δ of layer {i} ({passes[i - 1].layer.kind})"
        )
        said = Sentence(
            (
                Span(f"layer {i + 1} · {layer_text(p.layer)}", strong=True),
                Span(
                    f" — δ{sup(i + 1)} = ∂L/∂y{sup(i + 1)} arrives from {source}; it sends down {below}",
                    quiet=True,
                ),
            )
        )
        steps.append([said, *_layer_blocks(i, p)])
    return steps


def loss_sentence(stack: Stack, top: np.ndarray) -> Sentence:
    loss = stack.loss
    if loss.kind == "sum":
        text = f"L = Σ y = {fmt(loss.value(top))}: δ at the top is 1 everywhere"
    elif loss.kind == "mse":
        text = f"L = mean((y − target)²) = {fmt(loss.value(top))}: δ at the top is 2·(y − target)/{top.size}"
    else:
        text = "δ at the top is given"
    return Sentence.of(text, strong=True)


def _layer_blocks(i: int, p: LayerPass) -> list[Block]:
    n = i + 1
    L = sup(n)
    delta = array_section(f"δ{L} = ∂L/∂y{L}, the δ arriving at layer {n}", "delta", p.delta)
    grad = f"∂L/∂x{L}: the δ it sends down"
    layer = p.layer
    if isinstance(layer, Conv):
        steps = rules.backward_steps(layer.geom, layer.w, p.delta)
        summed = summed_sentence(layer.geom)
        arithmetic = Sentence.of(shape_arithmetic(layer.geom, L), strong=True)
        said = (arithmetic, *([summed] if summed else []), transposed_sentence(layer.geom))
        pipe = Pipeline(
            array_section(f"δ{L}, {_dilated_and(layer.geom)}padded", "padded_delta", steps.padded_delta),
            array_section(f"W{L}, flipped", "flipped_kernel", steps.flipped_kernel),
            array_section(grad, "input_grad", p.input_grad),
            summed is not None,
            said,
        )
        assert p.weight_grad is not None
        return [
            delta,
            pipe,
            array_section(f"∂L/∂W{L}: the input x{L} correlated with δ{L}", "weight_grad", p.weight_grad),
            *_bias_grad(L, p),
        ]
    if isinstance(layer, ConvTranspose):
        assert p.weight_grad is not None
        return [
            delta,
            Sentence.of(
                f"a transposed convolution's backward is a convolution: ∂L/∂x{L} = correlate(pad(δ{L}), W{L}) with its stride, "
                "padding and dilation — the forward of the convolution it transposes"
            ),
            array_section(f"W{L}", "kernel", layer.w),
            array_section(grad, "input_grad", p.input_grad),
            array_section(f"∂L/∂W{L}: δ{L} correlated with the input x{L}", "weight_grad", p.weight_grad),
            *_bias_grad(L, p),
        ]
    if isinstance(layer, MaxPool):
        return max_pool_blocks(n, p)
    if layer.kind == "relu":
        passed = {tuple(map(int, ix)): Mark("contributor") for ix in np.argwhere(p.input > 0)[:4096]}
        return [
            delta,
            array_section(
                f"x{L}: δ passes where x > 0 and stops where x ≤ 0 (at exactly 0 too, as in PyTorch)",
                "input",
                p.input,
                passed,
            ),
            array_section(f"∂L/∂x{L}: δ where x > 0, else 0", "input_grad", p.input_grad, passed),
        ]
    return [
        delta,
        Sentence.of("each δ is shared by the cells of its window: δ / divisor (PyTorch's divisor)"),
        array_section(grad, "input_grad", p.input_grad),
    ]


def max_pool_blocks(n: int, p: LayerPass) -> list[Block]:
    """δ arriving at a max-pool: each entry goes to the cell that won its window,
    the entry and its cell in one colour, the cell labelled with the entry."""
    layer = p.layer
    assert isinstance(layer, MaxPool) and isinstance(p.saved, np.ndarray)
    g = layer.geom
    out = p.delta.shape[2:]
    numbers = np.arange(int(np.prod(out))).reshape(out)
    names = np.broadcast_to(
        np.array([f"δ{k + 1}" for k in numbers.ravel()], dtype=object).reshape(out), p.delta.shape
    )
    taps = np.array(list(np.ndindex(*g.kernel)))[p.saved]  # each window's winning tap, (..., axes)
    where = np.moveaxis(np.indices(out), 0, -1)
    cells = where * np.array(g.stride) - np.array(g.padding) + taps * np.array(g.dilation)
    entry_marks: dict[tuple[int, ...], Mark] = {}
    winner_marks: dict[tuple[int, ...], Mark] = {}
    for lead in list(np.ndindex(*p.delta.shape[:2]))[:MAX_PANELS]:
        for o in list(np.ndindex(*out))[:4096]:  # no panel draws more
            k = int(numbers[o])
            entry_marks[lead + o] = Mark("window", k % COLOURS)
            cell = tuple(int(v) for v in cells[lead + o])
            winner_marks[lead + cell] = Mark("window", k % COLOURS, f"δ{k + 1}")
    blocks: list[Block] = [
        array_section(
            f"δ{sup(n)} = ∂L/∂y{sup(n)}, the δ arriving at layer {n}: one entry per window",
            "delta",
            p.delta,
            entry_marks,
            names,
        ),
        array_section(f"x{sup(n)}, each window's winner labelled with its δ", "input", p.input, winner_marks),
        array_section(
            f"∂L/∂x{sup(n)}: each δ at its window's winner, 0 elsewhere",
            "input_grad",
            p.input_grad,
            winner_marks,
        ),
    ]
    if _overlap(g):
        blocks.append(
            Sentence.of("windows overlap: where two share a winner, their δs add there (one label shown)")
        )
    return blocks


_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def sup(n: int) -> str:
    """Layer n as a parenthesised superscript, ``⁽³⁾``: entry names (δ3, x₁₁) never look like it."""
    return f"⁽{str(n).translate(_SUPERSCRIPT)}⁾"


def _dilated_and(g: object) -> str:
    """Only a stride > 1 dilates δ: at stride 1 nothing is."""
    return "dilated and " if any(s > 1 for s in getattr(g, "stride", ())) else ""


def _overlap(g: PoolGeometry) -> bool:
    return any(s < e for s, e in zip(g.stride, g.extent))


def max_pool_legend() -> Legend:
    return Legend(
        (
            "δk a max-pool's δ entry k (δ1, δ2, …), in its window's colour",
            "·δk the cell that won that window (the first greatest in scan order, as PyTorch breaks ties): "
            "it alone receives δk",
        )
    )
