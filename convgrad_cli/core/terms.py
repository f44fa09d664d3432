"""Which products make up each output and each gradient — the slides' question
"Start with input a. Where does it appear?", answered for any geometry.

Every answer is a list of :class:`Term`: one product ``input · weight`` of
the forward pass, i.e. one window ``delta`` in which ``weight`` met ``input``.
These lists come from index arithmetic alone (``input = out·s + k·d − pad``),
independently of the numeric engine, which makes them a reference for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .geometry import Geometry
from .names import Index, Namer

#: Above this many products, expressions of every cell are not built.
MAX_TERMS = 50_000


@dataclass(frozen=True)
class Term:
    """``input`` met ``weight`` in the window of output ``delta``."""

    input: Index
    weight: Index
    delta: Index


def output_terms(geom: Geometry, idx: Index) -> list[Term]:
    """``y[n, o, p] = Σ x[n, c, p·s + k·d − pad] · w[o, c, k]``, in weight order;
    taps that fall on padding are left out (they multiply zero)."""
    n, o, *p = idx
    cg = geom.in_channels // geom.groups
    g = o // (geom.out_channels // geom.groups)
    terms = []
    for c in range(cg):
        for k in np.ndindex(*geom.kernel_size):
            pos = _input_position(geom, p, k)
            if pos is not None:
                terms.append(Term((n, g * cg + c, *pos), (o, c, *k), tuple(idx)))
    return terms


def input_terms(geom: Geometry, idx: Index) -> list[Term]:
    """``∂L/∂x[n, c, q] = Σ w[o, c, k] · δ[n, o, p]`` over every window ``p`` with
    ``p·s + k·d − pad = q``, in δ order. Empty for a cell no window covers."""
    n, c, *q = idx
    cg = geom.in_channels // geom.groups
    og = geom.out_channels // geom.groups
    g = c // cg
    terms = []
    for o in range(g * og, (g + 1) * og):
        for k in np.ndindex(*geom.kernel_size):
            p = _output_position(geom, q, k)
            if p is not None:
                terms.append(Term(tuple(idx), (o, c - g * cg, *k), (n, o, *p)))
    terms.sort(key=lambda t: (t.delta, t.weight))
    return terms


def weight_terms(geom: Geometry, idx: Index) -> list[Term]:
    """``∂L/∂w[o, c, k] = Σ x[n, c', p·s + k·d − pad] · δ[n, o, p]``, in δ order."""
    o, c, *k = idx
    cg = geom.in_channels // geom.groups
    g = o // (geom.out_channels // geom.groups)
    terms = []
    for n in range(geom.batch):
        for p in np.ndindex(*geom.out_size):
            pos = _input_position(geom, p, k)
            if pos is not None:
                terms.append(Term((n, g * cg + c, *pos), tuple(idx), (n, o, *p)))
    return terms


def term_count(geom: Geometry) -> int:
    """How many products the forward pass has, padding taps included."""
    return geom.flops // 2


def _input_position(geom: Geometry, p: Sequence[int], k: Sequence[int]) -> tuple[int, ...] | None:
    pos = tuple(
        pi * s + ki * d - before
        for pi, ki, s, d, (before, _) in zip(p, k, geom.stride, geom.dilation, geom.padding)
    )
    if all(0 <= v < size for v, size in zip(pos, geom.in_size)):
        return pos
    return None


def _output_position(geom: Geometry, q: Sequence[int], k: Sequence[int]) -> tuple[int, ...] | None:
    p = []
    for qi, ki, s, d, (before, _), out in zip(q, k, geom.stride, geom.dilation, geom.padding, geom.out_size):
        num = qi + before - ki * d
        if num < 0 or num % s or num // s >= out:
            return None
        p.append(num // s)
    return tuple(p)


# -- expressions ------------------------------------------------------------------


def input_grad_expression(namer: Namer, terms: list[Term]) -> str:
    """``w2·δ1 + w1·δ2``, or ``0`` when no window covers the cell."""
    return " + ".join(f"{namer.weight(t.weight)}·{namer.delta(t.delta)}" for t in terms) or "0"


def output_expression(namer: Namer, terms: list[Term]) -> str:
    """``a·w1 + b·w2 + e·w3 + f·w4``."""
    return " + ".join(f"{namer.input(t.input)}·{namer.weight(t.weight)}" for t in terms) or "0"


def weight_grad_expression(namer: Namer, terms: list[Term]) -> str:
    """``b·δ1 + c·δ2 + …``: each window's input cell times its δ."""
    return " + ".join(f"{namer.input(t.input)}·{namer.delta(t.delta)}" for t in terms) or "0"


def output_value(terms: list[Term], x: np.ndarray, w: np.ndarray) -> float:
    """``Σ x[input] · w[weight]``: an output's terms given numbers (no bias)."""
    return float(sum(x[t.input] * w[t.weight] for t in terms))


def input_grad_value(terms: list[Term], w: np.ndarray, delta: np.ndarray) -> float:
    """``Σ w[weight] · δ[delta]``: an input cell's gradient terms given numbers."""
    return float(sum(w[t.weight] * delta[t.delta] for t in terms))


def weight_grad_value(terms: list[Term], x: np.ndarray, delta: np.ndarray) -> float:
    """``Σ x[input] · δ[delta]``: a weight's gradient terms given numbers."""
    return float(sum(x[t.input] * delta[t.delta] for t in terms))


@dataclass(frozen=True)
class Expressions:
    """Every output's and every gradient's expression, as object arrays of full shape."""

    output: np.ndarray
    input_grad: np.ndarray
    weight_grad: np.ndarray


def expressions(geom: Geometry, namer: Namer) -> Expressions | None:
    """Every expression, or ``None`` when the problem has more than
    :data:`MAX_TERMS` products."""
    if term_count(geom) > MAX_TERMS:
        return None

    def each(shape: tuple[int, ...], write: Callable[[Index], str]) -> np.ndarray:
        out = np.empty(shape, dtype=object)
        for idx in np.ndindex(*shape):
            out[idx] = write(idx)
        return out

    return Expressions(
        output=each(geom.output_shape, lambda i: output_expression(namer, output_terms(geom, i))),
        input_grad=each(geom.input_shape, lambda i: input_grad_expression(namer, input_terms(geom, i))),
        weight_grad=each(geom.kernel_shape, lambda i: weight_grad_expression(namer, weight_terms(geom, i))),
    )
