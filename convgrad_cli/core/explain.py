"""What each command shows, computed once, in numbers and in names.

A result pairs numeric arrays (``None`` where an operand is symbolic) with
arrays of names built by the very same helpers (``dilate``, ``pad`` and
``flip_kernel`` work on arrays of names too), so the picture of the slides'
pipeline and its numbers cannot drift apart. The render layer draws these;
nothing here knows colours or JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar, Literal, overload

import numpy as np

from convgrad_cli.errors import TooLargeError

from . import rules, terms
from .names import Index, Namer
from .ops import dilate, flip_kernel, pad
from .problem import Problem
from .terms import Expressions, Term

if TYPE_CHECKING:
    from .geometry import Geometry


@dataclass(frozen=True)
class ForwardResult:
    problem: Problem
    namer: Namer
    output: np.ndarray | None  # None when x or W has names only
    expressions: Expressions | None  # None when there are too many products to write out


@dataclass(frozen=True)
class Stage:
    """One array of the slides' pipeline: its numbers (``None`` when W or δ has
    names only) and its names (``None`` when too large to write out)."""

    values: np.ndarray | None
    names: np.ndarray | None


@dataclass(frozen=True)
class BackwardResult(ForwardResult):
    delta: Stage
    dilated_delta: Stage
    padded_delta: Stage
    flipped_kernel: Stage
    input_grad: np.ndarray | None
    weight_grad: np.ndarray | None
    bias_grad: np.ndarray | None
    input_names: np.ndarray | None  # the cells and taps the equations are written for
    kernel_names: np.ndarray | None


def forward(problem: Problem) -> ForwardResult:
    namer = Namer(problem.geom, problem.ranks)
    output = None
    if problem.x is not None and problem.w is not None:
        output = rules.forward(problem.geom, problem.x, problem.w, problem.bias)
    return ForwardResult(problem, namer, output, terms.expressions(problem.geom, namer))


def backward(problem: Problem) -> BackwardResult:
    named = terms.term_count(problem.geom) <= terms.MAX_TERMS
    problem.require("the slides' pipeline (the dilated and padded δ)", pipeline=True, named=named)
    fwd = forward(problem)
    g, x, w, delta, namer = problem.geom, problem.x, problem.w, problem.delta, fwd.namer
    steps = rules.backward_steps(g, w, delta) if w is not None and delta is not None else None
    delta_names = namer.grid("delta") if named else None
    kernel_names = namer.grid("kernel") if named else None
    dilated = None if delta_names is None else dilate(delta_names, g.stride)
    # δ's own numbers go through the pipeline even where the kernel is names only, so that
    # the dilated and padded δ draw them as the δ panel does (a zero row never reads as a value)
    dilated_values = steps.dilated_delta if steps else None if delta is None else dilate(delta, g.stride)
    padded_values = (
        steps.padded_delta
        if steps
        else None
        if dilated_values is None
        else pad(dilated_values, g.delta_padding)
    )
    return BackwardResult(
        problem=problem,
        namer=namer,
        output=fwd.output,
        expressions=fwd.expressions,
        delta=Stage(delta, delta_names),
        dilated_delta=Stage(dilated_values, dilated),
        padded_delta=Stage(padded_values, None if dilated is None else pad(dilated, g.delta_padding)),
        flipped_kernel=Stage(
            steps.flipped_kernel if steps else None,
            None if kernel_names is None else flip_kernel(kernel_names, g.groups),
        ),
        input_grad=steps.input_grad if steps else None,
        weight_grad=rules.weight_grad(g, x, delta) if x is not None and delta is not None else None,
        bias_grad=rules.bias_grad(delta) if delta is not None else None,
        input_names=namer.grid("input") if named else None,
        kernel_names=kernel_names,
    )


# -- one cell, followed through the layer ----------------------------------------------------


@dataclass(frozen=True)
class CellTrace:
    """One cell and the products that make it; a subclass per kind of cell, each
    naming its own parsing, terms and expression and saying its question and value
    (its picture is drawn by ``pictures.trace_picture``, which sits above this module)."""

    kind: ClassVar[str]  # "input", "output" or "weight": the trace option that names it
    slice_axes: ClassVar[tuple[str, ...]]  # the axes whose slices its picture has several of
    parse: ClassVar[Callable[[Namer, str], Index]]  # a name or an index, as --input takes it
    find_terms: ClassVar[Callable[[Geometry, Index], list[Term]]]
    name_of: ClassVar[Callable[[Namer, Index], str]]
    write: ClassVar[Callable[[Namer, list[Term]], str]]  # the terms as the expression's text
    problem: Problem
    namer: Namer
    index: Index
    terms: list[Term]

    @overload
    @staticmethod
    def of(
        kind: Literal["input"], problem: Problem, cell: str | Index, namer: Namer | None = None
    ) -> InputTrace: ...
    @overload
    @staticmethod
    def of(
        kind: Literal["output"], problem: Problem, cell: str | Index, namer: Namer | None = None
    ) -> OutputTrace: ...
    @overload
    @staticmethod
    def of(
        kind: Literal["weight"], problem: Problem, cell: str | Index, namer: Namer | None = None
    ) -> WeightTrace: ...
    @overload
    @staticmethod
    def of(kind: str, problem: Problem, cell: str | Index, namer: Namer | None = None) -> CellTrace: ...

    @staticmethod
    def of(kind: str, problem: Problem, cell: str | Index, namer: Namer | None = None) -> CellTrace:
        """The cell of ``kind`` named ``cell`` (``"b"``, ``"0,1"``) or at index ``cell``."""
        cls = KINDS[kind]
        namer = namer or Namer(problem.geom, problem.ranks)
        index = cls.parse(namer, cell) if isinstance(cell, str) else tuple(cell)
        return cls(problem, namer, index, cls.find_terms(problem.geom, index))

    @property
    def name(self) -> str:
        return type(self).name_of(self.namer, self.index)  # on the class: a plain function, not bound

    @property
    def lhs(self) -> str:
        """``∂L/∂b``, ``y5`` or ``∂L/∂w2``."""
        return f"∂L/∂{self.name}"

    @property
    def question(self) -> str:
        """What the picture answers, in the slides' words."""
        raise NotImplementedError

    @property
    def expression(self) -> str:
        return type(self).write(self.namer, self.terms)

    @property
    def value(self) -> float | None:
        """The expression's number, or ``None`` when an operand has names only."""
        raise NotImplementedError

    def with_terms(self, chosen: Sequence[Term]) -> CellTrace:
        """The same cell made of ``chosen`` terms only (a running sum)."""
        return replace(self, terms=list(chosen))


class InputTrace(CellTrace):
    """∂L/∂x at one input cell: every window that holds it, each with its weight and δ."""

    kind = "input"
    slice_axes = ("o", "c")
    parse = Namer.parse_input
    find_terms = terms.input_terms
    name_of = Namer.input
    write = terms.input_grad_expression

    @property
    def question(self) -> str:
        return f"Start with input {self.name}. Where does it appear?"

    @property
    def value(self) -> float | None:
        p = self.problem
        return None if p.w is None or p.delta is None else terms.input_grad_value(self.terms, p.w, p.delta)


class OutputTrace(CellTrace):
    """One output: the input cells and weights of its window (and its bias)."""

    kind = "output"
    slice_axes = ("c",)
    parse = Namer.parse_output
    find_terms = terms.output_terms
    name_of = Namer.output
    write = terms.output_expression

    @property
    def question(self) -> str:
        return f"What is {self.name} made of?"

    @property
    def lhs(self) -> str:
        return self.name

    @property
    def value(self) -> float | None:
        p = self.problem
        if p.x is None or p.w is None:
            return None
        bias = 0.0 if p.bias is None else float(p.bias[self.index[1]])
        return terms.output_value(self.terms, p.x, p.w) + bias


class WeightTrace(CellTrace):
    """∂L/∂w at one weight: every input cell it met, times that window's δ."""

    kind = "weight"
    slice_axes = ("n",)
    parse = Namer.parse_weight
    find_terms = terms.weight_terms
    name_of = Namer.weight
    write = terms.weight_grad_expression

    @property
    def question(self) -> str:
        return f"∂L/∂{self.name}: every input cell that {self.name} met, times that window's δ"

    @property
    def value(self) -> float | None:
        p = self.problem
        return None if p.x is None or p.delta is None else terms.weight_grad_value(self.terms, p.x, p.delta)


KINDS: dict[str, type[CellTrace]] = {c.kind: c for c in (InputTrace, OutputTrace, WeightTrace)}


def every_input(problem: Problem) -> list[InputTrace]:
    """Every input cell's gradient, as the slides list them."""
    g = problem.geom
    if terms.term_count(g) > terms.MAX_TERMS:
        raise TooLargeError(
            f"--all lists every cell of a problem with {terms.term_count(g)} products, over "
            f"{terms.MAX_TERMS}; trace one cell with --input instead"
        )
    namer = Namer(g, problem.ranks)
    return [InputTrace(problem, namer, idx, terms.input_terms(g, idx)) for idx in np.ndindex(*g.input_shape)]
