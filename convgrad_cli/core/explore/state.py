"""`explore`'s state: everything it shows follows from one :class:`State`, and
each key makes a new one."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, replace
from functools import cached_property
from math import prod

import numpy as np

from convgrad_cli.core import terms
from convgrad_cli.core.axes import compact
from convgrad_cli.core.explain import CellTrace
from convgrad_cli.core.names import Index, Namer
from convgrad_cli.core.pictures.base import names_of
from convgrad_cli.core.problem import Problem
from convgrad_cli.errors import ConvgradError

from .layer import Layer, build_layer
from .windows import Windows

#: What the cursor can sit on, in the order Tab visits them.
ARRAYS = ("input", "output", "kernel")


@dataclass(frozen=True)
class Grade:
    """A quiz answer against the expression: its terms right, missing and extra."""

    right: tuple[str, ...]
    missing: tuple[str, ...]
    extra: tuple[str, ...]

    @property
    def correct(self) -> bool:
        return not self.missing and not self.extra


def normal_terms(text: str, namer: Namer | None = None) -> set[str]:
    """``w2·δ1 + w1·δ2`` as a set of terms, however typed: ``w2*d1+w1 d2`` too,
    factors in either order; with ``namer``, each factor as its cell's name, so
    that ``w0222`` or ``w[0,2,2,2]`` is typed for ``w₀₂₂₂``."""
    out = set()
    for term in re.split(r"\s*\+\s*", text.strip()):
        if not term or term == "0":
            continue
        term = re.sub(r"(?<![a-zA-Z])d(?=\d|\[)", "δ", term)
        factors = [f for f in re.split(r"\s*[·*.]\s*|\s+", term) if f]
        out.add("·".join(sorted(_named(f, namer) for f in factors)))
    return out


def _named(factor: str, namer: Namer | None) -> str:
    """A factor as its cell's own name, or as typed when it names no cell."""
    if namer is None:
        return factor
    kind = {"w": (namer.parse_weight, namer.weight), "δ": (namer.parse_output, namer.delta)}
    parse, name = kind.get(factor[:1], (namer.parse_input, namer.input))
    try:  # δ is y's name in the backward pass: δ5 is read as y5
        return name(parse("y" + factor[1:] if factor[:1] == "δ" else factor))
    except ConvgradError:
        return factor


@dataclass(frozen=True)
class Derived:
    """What a problem's every view needs, computed once per problem: its names,
    the name grids and ∂L/∂x."""

    namer: Namer
    names: dict[str, np.ndarray | None]
    input_grad: np.ndarray | None
    problem: Problem
    _windows: dict[int, Windows] = field(default_factory=dict, compare=False, repr=False)

    def windows(self, sample: int) -> Windows:
        """The backward pass of one sample, window by window (made once per sample)."""
        if sample not in self._windows:
            self._windows[sample] = Windows.of(self.problem, sample)
        return self._windows[sample]

    @classmethod
    def of(cls, p: Problem) -> Derived:
        from convgrad_cli.core import rules

        g = p.geom
        namer = Namer(g, p.ranks)
        shapes = {"input": g.input_shape, "kernel": g.kernel_shape, "delta": g.output_shape}
        names = {kind: names_of(namer, kind, shape) for kind, shape in shapes.items()}
        grad = None if p.w is None or p.delta is None else rules.input_grad(g, p.w, p.delta)
        return cls(namer, names, grad, p)


@dataclass(frozen=True)
class State:
    """Everything `explore` shows follows from this; each key makes a new one."""

    base: Problem  # the problem explore was started on (its arrays are kept while their shapes hold)
    problem: Problem
    layer: Layer
    derived: Derived
    focus: str = "input"  # one of ARRAYS
    index: Index = ()  # the cursor: a full index into the focused array
    other: int = 0  # the channel of the panels the cursor is not on (δ's output channel, x's input channel)
    step: int = 0  # windows of the backward pass added so far (0: none; playing)
    quiz: bool = False
    graded: Grade | None = None  # the quiz's last answer, while it is asked
    message: str = ""

    @classmethod
    def start(cls, problem: Problem) -> State:
        zero = (0,) * len(problem.geom.input_shape)
        return cls(problem, problem, Layer.of(problem), Derived.of(problem), "input", zero)

    # -- moving ------------------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        g = self.problem.geom
        return {"input": g.input_shape, "output": g.output_shape, "kernel": g.kernel_shape}[self.focus]

    def move(self, rows: int, cols: int) -> State:
        """The cursor ``rows`` down and ``cols`` right in its slice (1-D: along the row)."""
        idx = list(self.index)
        spatial = self.problem.geom.ndim
        axes = [len(idx) - 1] if spatial == 1 else [len(idx) - 2, len(idx) - 1]
        moves = [cols + rows] if spatial == 1 else [rows, cols]
        for axis, by in zip(axes, moves):
            idx[axis] = min(max(0, idx[axis] + by), self.shape[axis] - 1)
        return replace(self, index=tuple(idx), message="")

    def depth(self, by: int) -> State:
        """3-D: the cursor one slice deeper or shallower."""
        if self.problem.geom.ndim < 3:
            return self
        idx = list(self.index)
        idx[2] = min(max(0, idx[2] + by), self.shape[2] - 1)
        return replace(self, index=tuple(idx))

    def tab(self, by: int = 1) -> State:
        """The cursor onto the next array (input → output → kernel), into the slice
        the panels showed for it, at its first cell."""
        focus = ARRAYS[(ARRAYS.index(self.focus) + by) % len(ARRAYS)]
        g = self.problem.geom
        cg = g.in_channels // g.groups
        first = self._group_inputs()[0] if self.focus != "input" else 0
        if focus == "input":
            lead = (0, first + self.index[1]) if self.focus == "kernel" else (self.index[0], self.other)
        elif focus == "output":
            lead = (self.index[0], self.other) if self.focus == "input" else (0, self.index[0])
        elif self.focus == "output":
            lead = (self.index[1], self.other - first)
        else:
            lead = (self.other, self.index[1] % cg)
        shape = {"input": g.input_shape, "output": g.output_shape, "kernel": g.kernel_shape}[focus]
        index = (*lead, *(0 for _ in shape[2:]))
        return replace(self, focus=focus, index=index, other=self._other_for(focus, index), message="")

    def channel(self, by: int) -> State:
        """The cursor's own channel (x: c, y/δ: o, W: o) one on; the other panels follow."""
        idx = list(self.index)
        axis = 1 if self.focus != "kernel" else 0
        idx[axis] = (idx[axis] + by) % self.shape[axis]
        index = tuple(idx)
        return replace(self, index=index, other=self._other_for(self.focus, index))

    def sample(self, by: int) -> State:
        if self.focus == "kernel":
            return self
        idx = list(self.index)
        idx[0] = (idx[0] + by) % self.shape[0]
        return replace(self, index=tuple(idx), step=0)

    def other_channel(self, by: int) -> State:
        """The channel of the panels the cursor is not on, within its group: δ's and
        W's output channel for an input cell, x's input channel otherwise."""
        choices = self._group_outputs(self.index[1]) if self.focus == "input" else self._group_inputs()
        i = choices.index(self.other) if self.other in choices else 0
        return replace(self, other=choices[(i + by) % len(choices)])

    def _group_outputs(self, c: int) -> list[int]:
        g = self.problem.geom
        cg, og = g.in_channels // g.groups, g.out_channels // g.groups
        return list(range((c // cg) * og, (c // cg + 1) * og))

    def _group_inputs(self) -> list[int]:
        g = self.problem.geom
        o = self.index[1] if self.focus == "output" else self.index[0]
        og, cg = g.out_channels // g.groups, g.in_channels // g.groups
        return list(range((o // og) * cg, (o // og + 1) * cg))

    def _other_for(self, focus: str, index: Index) -> int:
        if focus == "input":
            return self._group_outputs(index[1])[0]
        g = self.problem.geom
        o = index[1] if focus == "output" else index[0]
        og, cg = g.out_channels // g.groups, g.in_channels // g.groups
        return (o // og) * cg

    # -- changing the layer ----------------------------------------------------------------------

    def turn(self, knob: str, by: int) -> State:
        """The layer with one knob turned, everything recomputed; a layer that cannot
        be built keeps the old one and says why."""
        return self._rebuilt(self.layer.changed(knob, by), f"{knob} {'+' if by > 0 else '−'}1")

    def names(self) -> State:
        """Names alone, or names with numbers."""
        layer = replace(self.layer, numbers=not self.layer.numbers)
        return self._rebuilt(layer, "numbers" if layer.numbers else "names only")

    def _rebuilt(self, layer: Layer, what: str) -> State:
        try:
            problem = build_layer(layer, self.base)
        except ConvgradError as exc:
            return replace(self, message=f"{what}: {exc}")
        if terms.term_count(problem.geom) > terms.MAX_TERMS and not layer.numbers:
            return replace(self, message=f"{what}: too many products to write in names; numbers stay")
        shape = {
            "input": problem.geom.input_shape,
            "output": problem.geom.output_shape,
            "kernel": problem.geom.kernel_shape,
        }[self.focus]
        index = tuple(min(i, s - 1) for i, s in zip(self.index, shape))
        moved = replace(
            self, problem=problem, layer=layer, derived=Derived.of(problem), index=index, step=0, message=what
        )
        return replace(moved, other=moved._other_for(self.focus, index))

    # -- the backward pass -----------------------------------------------------------------------

    @property
    def windows(self) -> Windows:
        return self.derived.windows(self.index[0] if self.focus != "kernel" else 0)

    @property
    def window_count(self) -> int:
        """Windows of the backward pass of one sample: one per output."""
        g = self.problem.geom
        return g.out_channels * prod(g.out_size)

    def stepped(self, by: int) -> State:
        return self.at_step(self.step + by)

    def at_step(self, step: int) -> State:
        return replace(self, step=min(max(0, step), self.window_count))

    # -- the quiz --------------------------------------------------------------------------------

    def grade(self, answer: str) -> Grade:
        """The answer's terms against the cursor cell's expression."""
        want = normal_terms(self.trace.expression, self.namer)
        got = normal_terms(answer, self.namer)
        return Grade(tuple(sorted(want & got)), tuple(sorted(want - got)), tuple(sorted(got - want)))

    # -- what is shown ---------------------------------------------------------------------------

    @property
    def namer(self) -> Namer:
        return self.derived.namer

    @cached_property
    def trace(self) -> CellTrace:
        kind = "weight" if self.focus == "kernel" else self.focus  # the kernel's cells are weights
        return CellTrace.of(kind, self.problem, self.index, self.namer)

    def command(self) -> str:
        """The `convgrad trace` command that shows the cursor's cell, with the layer's flags."""
        g = self.problem.geom

        flag = {"input": "--input", "output": "--output", "kernel": "--weight"}[self.focus]
        shape = "x".join(map(str, g.input_shape))
        kernel = "x".join(map(str, g.kernel_shape))
        fill = "arange" if self.layer.numbers else "names"
        pads = g.padding
        padding = (
            compact(b for b, _ in pads) if all(b == a for b, a in pads) else str([list(p) for p in pads])
        )
        parts = [
            f"convgrad trace {flag} {shlex.quote(self.trace.name)}",
            f"--x {fill}:{shape}",
            f"-k {fill}:{kernel}",
            f"--stride {compact(g.stride)}",
            f"--padding {padding}",
            f"--dilation {compact(g.dilation)}",
            f"--groups {g.groups}",
        ]
        return " ".join(parts)
