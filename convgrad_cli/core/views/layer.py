"""The views of `forward` and `backward`: the layer's arrays, the slides' pipeline
and the equations of every cell."""

from __future__ import annotations

from collections.abc import Mapping
from math import prod

from convgrad_cli.core.explain import BackwardResult, ForwardResult
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.pictures import backward_picture, forward_picture, shape_arithmetic
from convgrad_cli.core.rules import transposed_convolution

from .blocks import Block, Pipeline, Sentence, Span, View
from .numbers import fmt
from .parts import entry_tints, equations, heading, legend, panels

PIPED = ("padded_delta", "flipped_kernel", "input_grad")


def forward_view(result: ForwardResult, only: Mapping[str, int] | None = None) -> View:
    """The input (with its padding), the kernel, the output, and each output's expression."""
    picture = forward_picture(result, only)
    blocks: list[Block] = [heading(result.problem, "forward"), *(panels(s) for s in picture.sections)]
    if result.expressions is not None:
        names = result.namer.grid("output")
        blocks.append(equations("y = x ⋆ W", names, result.expressions.output, result.output))
    if any(p.padding is not None for p in picture.panels):
        blocks.append(legend(picture))
    return View("forward", tuple(blocks))


def backward_view(result: BackwardResult, only: Mapping[str, int] | None = None) -> View:
    """δ, dilated and padded; the flipped kernel; ∂L/∂x, ∂L/∂W and ∂L/∂bias."""
    g, exprs = result.problem.geom, result.expressions
    tints = entry_tints(result.delta.names, prod(g.out_size))
    sections = {s.panels[0].array: panels(s, tints=tints) for s in backward_picture(result, only).sections}
    blocks: list[Block] = [heading(result.problem, "backward")]
    blocks += [s for array, s in sections.items() if array in ("delta", "dilated_delta")]
    if "flipped_kernel" in sections:
        padded, flipped, input_grad = (sections.get(a) for a in PIPED)
        assert flipped is not None
        said = (Sentence.of(shape_arithmetic(g), strong=True), transposed_sentence(g))
        blocks.append(Pipeline(padded, flipped, input_grad, g.out_channels // g.groups > 1, said))
    else:
        blocks += [s for array, s in sections.items() if array in PIPED]
    blocks += [s for array, s in sections.items() if array == "weight_grad"]
    if exprs is not None and result.input_names is not None:
        title = "∂L/∂x, cell by cell"
        blocks.append(
            equations(title, result.input_names, exprs.input_grad, result.input_grad, "∂L/∂", tints)
        )
    if exprs is not None and result.kernel_names is not None:
        title = "∂L/∂W, tap by tap: each input cell the tap met, times that window's δ"
        blocks.append(
            equations(title, result.kernel_names, exprs.weight_grad, result.weight_grad, "∂L/∂", tints)
        )
    if result.bias_grad is not None:
        blocks.append(Sentence.of("∂L/∂bias = Σδ = " + ", ".join(fmt(v) for v in result.bias_grad)))
    return View("backward", tuple(blocks))


def transposed_sentence(g: Geometry) -> Sentence:
    """∂L/∂x as PyTorch code: δ's transposed convolution with the same W (cropped where
    the padding is asymmetric)."""
    intro = Span("which is the transposed convolution of δ with the same W, in PyTorch: ", quiet=True)
    return Sentence((intro, Span(transposed_convolution(g).code)))
