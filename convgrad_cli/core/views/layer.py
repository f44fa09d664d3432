"""The views of `forward` and `backward`: the layer's arrays, the slides' pipeline
and the equations of every cell."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from math import prod

import numpy as np

from convgrad_cli.core.explain import BackwardResult, ForwardResult
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.options import option
from convgrad_cli.core.panels import Section
from convgrad_cli.core.pictures import backward_picture, forward_picture, shape_arithmetic
from convgrad_cli.core.rules import transposed_convolution
from convgrad_cli.errors import ConfigError

from .blocks import Block, Equations, Panels, Pipeline, Sentence, Span, Tints, View
from .numbers import fmt
from .parts import MAX_EQUATIONS, entry_tints, equations, heading, legend, panels

PIPED = ("padded_delta", "flipped_kernel", "input_grad")


def _grouped(g: Geometry) -> str:
    """Why a grouped kernel's panel says c=2 over weights named w₂₀…: the two count differently."""
    per = g.in_channels // g.groups
    if g.groups == 1:
        return ""
    return (
        f" With groups {g.groups}, each filter reads the {per} input channel{'s' * (per > 1)} of its group: "
        "a kernel panel's c is the input channel read, a weight's second index counts within the group."
    )


#: Equations a summary of a layer of several slices writes out; --full writes up to MAX_EQUATIONS.
SUMMARY_EQUATIONS = 6
#: Terms the equations of one array write out without --full: all of a 5×5 input's under a
#: 3×3 kernel (169), a screen of a 7×7's; a tap of ∂L/∂W meets every window, so few of those.
SCREEN_TERMS = 180
AXES = (("n", "sample"), ("c", "input channel"), ("o", "output channel"))


@dataclass(frozen=True)
class Scope:
    """What a layer's view shows: every slice (``full``), or the slices of ``only`` — by
    default the first sample, channel and filter of a layer that has several — and the
    significant digits of its numbers."""

    full: bool = False
    only: Mapping[str, int] = field(default_factory=dict)
    precision: int | None = None

    def focus(self, g: Geometry) -> dict[str, int]:
        """The slice drawn: ``only``'s indices, else the first sample and filter, and the first
        input channel that filter reads (in a grouped layer, its group's)."""
        sizes = {"n": g.batch, "c": g.in_channels, "o": g.out_channels}
        for axis, index in self.only.items():
            if axis in sizes and index >= sizes[axis]:
                raise ConfigError(
                    f"{option('slice', **{axis: index})} is outside the layer: {dict(AXES)[axis]} {axis} "
                    f"runs from 0 to {sizes[axis] - 1}"
                )
        out = dict(self.only)
        if not self.full:
            if sizes["n"] > 1:
                out.setdefault("n", 0)
            if sizes["o"] > 1:  # the first filter of the channel chosen, else the first
                out.setdefault("o", g.filters_of(out.get("c", 0)).start)
            if sizes["c"] > 1:
                out.setdefault("c", g.channels_of(out.get("o", 0)).start)
        if "o" in out and "c" in out and out["c"] not in g.channels_of(out["o"]):
            chans = g.channels_of(out["o"])
            raise ConfigError(
                f"{option('slice', o=out['o'], c=out['c'])}: filter {out['o']} reads input channels "
                f"{chans.start} to {chans.stop - 1} alone (groups {g.groups}); give c={chans.start}"
            )
        return out

    def note(self, g: Geometry) -> Sentence | None:
        """What a summary left out, and how to see it."""
        chosen = {a: v for a, v in self.focus(g).items() if a not in self.only}
        if not chosen:
            return None
        said = ", ".join(f"{name} {a}={chosen[a]}" for a, name in AXES if a in chosen)
        axis = next(a for a in ("o", "n", "c") if a in chosen)
        example = option("slice", **{axis: 1})
        return Sentence.of(
            f"Shown: {said} of a {'×'.join(map(str, g.input_shape))} input and "
            f"{g.out_channels} filters. {option('slice')} picks others (e.g. {example}), {option('full')} "
            f"shows every slice, {option('precision')} writes numbers with N digits, {option('json')} "
            "has every value." + _grouped(g),
            quiet=True,
        )

    def equations(
        self,
        title: str,
        names: np.ndarray,
        exprs: np.ndarray,
        values: np.ndarray | None,
        lead: tuple[str, str],
        g: Geometry,
        prefix: str = "",
        tints: Tints | None = None,
    ) -> Equations:
        """The equations of the focused slice (every one with ``full``)."""
        focus = self.focus(g)
        at = tuple(focus.get(axis, 0) % size for axis, size in zip(lead, names.shape[:2]))
        summary = not self.full and bool(focus)  # one slice of a layer of several
        if summary:
            names, exprs = names[at], exprs[at]
            values = None if values is None else values[at]
        limit = SUMMARY_EQUATIONS if summary else MAX_EQUATIONS
        if not self.full:
            limit = min(limit, _within(exprs, SCREEN_TERMS))
        return equations(
            title,
            names,
            exprs,
            values,
            prefix,
            tints,
            limit,
            self.precision or 6,
            "" if self.full else option("full"),
        )

    def panels(self, s: Section, tints: Tints | None = None) -> Panels:
        made = panels(s, tints=tints)
        if self.precision is None:
            return made
        return replace(made, panels=tuple(replace(p, digits=self.precision) for p in made.panels))


def _within(exprs: np.ndarray, budget: int) -> int:
    """How many of the expressions, in order, fit in ``budget`` terms (at least one)."""
    terms = np.cumsum([str(e).count(" + ") + 1 for e in exprs.ravel()])
    return max(1, int(np.searchsorted(terms, budget, side="right")))


def forward_view(result: ForwardResult, scope: Scope | None = None) -> View:
    """The input (with its padding), the kernel, the output, and each output's expression."""
    scope, g = scope or Scope(), result.problem.geom
    picture = forward_picture(result, scope.focus(g))
    blocks: list[Block] = [heading(result.problem, "forward", delta=False)]
    note = scope.note(g)
    blocks += [note] if note else []
    blocks += [scope.panels(s) for s in picture.sections]
    if result.expressions is not None:
        names = result.namer.grid("output")
        blocks.append(
            scope.equations("y = x ⋆ W", names, result.expressions.output, result.output, ("n", "o"), g)
        )
    if any(p.padding is not None for p in picture.panels):
        blocks.append(legend(picture))
    return View("forward", tuple(blocks))


def backward_view(result: BackwardResult, scope: Scope | None = None) -> View:
    """δ, dilated and padded; the flipped kernel; ∂L/∂x, ∂L/∂W and ∂L/∂bias."""
    scope, g, exprs = scope or Scope(), result.problem.geom, result.expressions
    tints = entry_tints(result.delta.names, prod(g.out_size))
    picture = backward_picture(result, scope.focus(g))
    sections = {s.panels[0].array: scope.panels(s, tints=tints) for s in picture.sections}
    blocks: list[Block] = [heading(result.problem, "backward")]
    note = scope.note(g)
    blocks += [note] if note else []
    blocks += [s for array, s in sections.items() if array in ("delta", "dilated_delta")]
    if "flipped_kernel" in sections:
        padded, flipped, input_grad = (sections.get(a) for a in PIPED)
        assert flipped is not None
        summed = summed_sentence(g, scope.focus(g).get("o"))
        said = (
            Sentence.of(shape_arithmetic(g), strong=True),
            *([summed] if summed else []),
            transposed_sentence(g),
        )
        blocks.append(Pipeline(padded, flipped, input_grad, summed is not None, said))
    else:
        blocks += [s for array, s in sections.items() if array in PIPED]
    blocks += [s for array, s in sections.items() if array == "weight_grad"]
    if exprs is not None and result.input_names is not None:
        title = "∂L/∂x, cell by cell"
        blocks.append(
            scope.equations(
                title, result.input_names, exprs.input_grad, result.input_grad, ("n", "c"), g, "∂L/∂", tints
            )
        )
    if exprs is not None and result.kernel_names is not None:
        title = "∂L/∂W, tap by tap: each input cell the tap met, times that window's δ"
        blocks.append(
            scope.equations(
                title,
                result.kernel_names,
                exprs.weight_grad,
                result.weight_grad,
                ("o", "c"),
                g,
                "∂L/∂",
                tints,
            )
        )
    if result.bias_grad is not None:
        digits = scope.precision or 6
        text = "∂L/∂bias = Σδ = " + ", ".join(fmt(v, digits) for v in result.bias_grad)
        if result.problem.bias is None:  # the lesson holds, but the layer has nothing to update
            text += " — what a bias would get; this layer has none"
        blocks.append(Sentence.of(text))
    return View("backward", tuple(blocks))


def summed_sentence(g: Geometry, shown: int | None = None) -> Sentence | None:
    """Where several filters read each input channel, ∂L/∂x adds one correlation per
    filter; ``shown`` is the filter drawn when the grids show one."""
    per = g.out_channels // g.groups
    if per == 1:
        return None
    which = f"the {per} filters of channel c's group" if g.groups > 1 else f"all {per} filters"
    text = f"∂L/∂x[n, c] adds this correlation over {which}: Σₒ correlate(padded δ[n, o], rot180(W[o, c]))"
    if shown is not None:
        text += f" — the grids show o={shown} alone, the equations below every filter's terms"
    return Sentence.of(text)


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape))  # one token: a line never breaks inside it


def transposed_sentence(g: Geometry) -> Sentence:
    """∂L/∂x as PyTorch code: δ's transposed convolution with the same W (cropped where
    the padding is asymmetric)."""
    shapes = f"δ as a {_shape(g.output_shape)} tensor, W as {_shape(g.kernel_shape)}"
    intro = Span(
        f"which is the transposed convolution of δ with the same W, in PyTorch ({shapes}):\n", quiet=True
    )
    return Sentence((intro, Span(transposed_convolution(g).code)))
