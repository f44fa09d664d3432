"""The web page of `explore`, as data: every slice of x, W, y, δ, ∂L/∂x and the
padded δ, marked as a hover on the cursor's cell marks them (:func:`lights`); the
cell's result; the words the page's script writes; the legend; and what the
script needs to light any other cell the same way.

The page's script redraws :func:`lights` for the cell under the pointer from the
embedded terms, so the page grows with the number of terms and not with their
square; its tests hold the script's marks to :func:`lights`.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np

from convgrad_cli.core import rules, terms
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.names import Index, Namer
from convgrad_cli.core.ops import dilate, pad
from convgrad_cli.core.panels import Mark, Panel, panel, slices
from convgrad_cli.core.problem import Problem
from convgrad_cli.core.views import cells
from convgrad_cli.core.views.blocks import Block, Heading, Legend, Panels, Result, Sentence, View
from convgrad_cli.core.views.numbers import fmt
from convgrad_cli.core.views.parts import example
from convgrad_cli.errors import TooLargeError

from .state import State
from .words import WORDS

#: Cells per array the page holds (each with its terms); larger layers are for the terminal.
MAX_CELLS = 4096
#: The arrays of the page, in the order their cells are numbered.
ARRAYS = ("input", "kernel", "output", "delta", "input_grad")
TITLES = {
    "input": "input x",
    "kernel": "kernel W",
    "output": "output y",
    "delta": "δ = ∂L/∂y",
    "input_grad": "∂L/∂x",
}
Lights = dict[str, dict[Index, Mark]]


@dataclass(frozen=True)
class PageModel:
    """What the page says: its view (heading, sentence, every array's panels lit for
    the cursor's cell, the padded δ), the cell's result and the step line the script
    rewrites, the legend, each cell's name (``data-cell``), and the script's data."""

    view: View
    expression: Result
    step: Sentence
    legend: Legend
    names: dict[str, np.ndarray]  # array → each cell's name, as `trace` prints it
    data: dict[str, Any]


class Ids:
    """Each cell's number on the page: its place among the named cells, which come
    array by array (x, W, y, δ, ∂L/∂x), each in C order."""

    def __init__(self, g: Geometry) -> None:
        shapes = shapes_of(g)
        self.start: dict[str, int] = {}
        self.strides: dict[str, tuple[int, ...]] = {}
        at = 0
        for array in ARRAYS:
            shape = shapes[array]
            self.start[array] = at
            self.strides[array] = tuple(prod(shape[i + 1 :]) for i in range(len(shape)))
            at += prod(shape)

    def __call__(self, array: str, idx: Index) -> int:
        return self.start[array] + sum(i * s for i, s in zip(idx, self.strides[array]))


def shapes_of(g: Geometry) -> dict[str, tuple[int, ...]]:
    out = {"input": g.input_shape, "kernel": g.kernel_shape, "output": g.output_shape}
    return {**out, "delta": g.output_shape, "input_grad": g.input_shape}


# -- what a hover lights ------------------------------------------------------------------------------


def lights(p: Problem, namer: Namer, array: str, index: Index) -> Lights:
    """The marks of every array (full indices) when the pointer is on ``array[index]``:
    an input cell lights every cell its windows read, each δ entry and weight of its
    terms in its window's colour, and the flipped kernel over the padded δ of each
    output channel of its group; an output (or δ) cell the inputs and weights of its
    terms; a weight each input cell it met and that window's δ."""
    out: Lights = {a: {} for a in (*ARRAYS, "padded_delta")}
    g = p.geom
    if array in ("input", "input_grad"):
        found = terms.input_terms(g, index)
        colour: dict[Index, int] = {}
        for t in found:
            colour.setdefault(t.delta, len(colour))
            for u in terms.output_terms(g, t.delta):  # what the window reads
                out["input"][u.input] = Mark("window")
        for t in found:
            j = colour[t.delta]
            out["delta"][t.delta] = Mark("contributor", j, namer.weight(t.weight), True)
            out["kernel"][t.weight] = Mark("contributor", j, namer.delta(t.delta))
        out["input"][index] = out["input_grad"][index] = Mark("cell")
        out["padded_delta"] = overlay(g, namer, index, colour)
    elif array in ("output", "delta"):
        out["output"][index] = out["delta"][index] = Mark("cell", 0)
        for t in terms.output_terms(g, index):
            out["input"][t.input] = Mark("contributor", 0, namer.weight(t.weight))
            out["kernel"][t.weight] = Mark("contributor", 0, namer.input(t.input), True)
            out["input_grad"][t.input] = Mark("contributor", 0, namer.weight(t.weight), True)
    else:
        out["kernel"][index] = Mark("cell")
        for j, t in enumerate(terms.weight_terms(g, index)):
            out["input"][t.input] = Mark("contributor", j, namer.delta(t.delta))
            out["delta"][t.delta] = Mark("contributor", j, namer.input(t.input), True)
    return out


def overlay(g: Geometry, namer: Namer, index: Index, colour: dict[Index, int]) -> dict[Index, Mark]:
    """rot180(W) over the padded δ at input cell ``index``, for each output channel of
    its group: tap k sits on padded cell q + k·d and is W's tap (k_max − k); on a δ
    entry it is a term (in that δ's colour), on a zero it adds nothing."""
    n, c, *q = index
    cg, og = g.in_channels // g.groups, g.out_channels // g.groups
    marks: dict[Index, Mark] = {}
    for o in range((c // cg) * og, (c // cg + 1) * og):
        for k in np.ndindex(*g.kernel_size):
            at = tuple(qi + ki * d for qi, ki, d in zip(q, k, g.dilation))
            w = namer.weight((o, c % cg, *(size - 1 - ki for size, ki in zip(g.kernel_size, k))))
            source = g.delta_at(at)
            key: Index = (n, o, *at)
            marks[key] = (
                Mark("tap", None, w, True)
                if source is None
                else Mark("contributor", colour[(n, o) + source], w, True)
            )
    return marks


# -- the page -----------------------------------------------------------------------------------------


def page_model(state: State) -> PageModel:
    """The page of ``state``: its arrays lit for the cursor's cell; the padded δ under
    the flipped kernel at the cursor's input cell (at x's first cell when the cursor
    is elsewhere)."""
    p, g, namer = state.problem, state.problem.geom, state.namer
    biggest = max(prod(g.input_shape), prod(g.output_shape), prod(g.kernel_shape))
    if biggest > MAX_CELLS:
        raise TooLargeError(
            f"the page holds every cell's trace, for arrays of up to {MAX_CELLS} cells; this layer has "
            f"{biggest} in one array — use convgrad explore in the terminal, or a smaller layer"
        )
    cell = state.index if state.focus == "input" else (0,) * len(g.input_shape)
    lit = lights(p, namer, state.focus, state.index)
    y = None if p.x is None or p.w is None else rules.forward(g, p.x, p.w, p.bias)
    arrays = _arrays(state, y)
    sections: list[Block] = []
    for array in ARRAYS:
        values, names = arrays[array]
        sections.append(_section(TITLES[array], array, values, names, g.ndim, lit[array]))
    padded, padded_names = _padded_delta(p, namer)
    title = overlay_title(g, namer.input(cell))
    sections.append(_section(title, "padded_delta", padded, padded_names, g.ndim, lit["padded_delta"]))
    ct = state.trace
    value = None if ct.value is None else fmt(ct.value)
    heading = Heading(
        "explore", g.describe(), p.source, "numbers and names" if state.layer.numbers else "names"
    )
    legend = page_legend([p for b in sections if isinstance(b, Panels) for p in b.panels])
    result = Result(ct.lhs, ct.expression, value)
    view = View("explore", (heading, Sentence.of(WORDS["hint"]), *sections, result, legend))
    cell_names = {a: arrays[a][1] for a in ARRAYS}
    cell_names["input_grad"] = np.vectorize(lambda s: "∂L/∂" + str(s), otypes=[object])(cell_names["input"])
    return PageModel(
        view,
        result,
        Sentence.of(WORDS["idle"]),
        legend,
        cell_names,
        {**script_data(state, y), "cell": Ids(g)("input", cell)},
    )


def overlay_title(g: Geometry, cell: str) -> str:
    return WORDS["overlay"].format(padded=_padded_words(g), cell=cell)


def _padded_words(g: Geometry) -> str:
    return "dilated and padded δ" if any(s > 1 for s in g.stride) else "padded δ"


#: What each mark of the page means, in legend order; ``None``: said without an example.
MEANINGS = (
    ("cell", "the cell under the pointer"),
    ("window", "shaded: a cell of one of its windows"),
    ("contributor", "a term, in its window's colour"),
    ("tap", "a tap of the flipped kernel on a zero: it adds nothing"),
)


def page_legend(panels: list[Panel]) -> Legend:
    """The marks the page draws, each with an example of its text as drawn at the
    cursor's cell (the faint terms of a step are the terms' own)."""
    examples: dict[str, str] = {}
    for p in panels:
        for cell, mark in p.marks.items():
            examples.setdefault(mark.role, example(p, cell, cells.show_names(p)))
    entries = [
        meaning if role == "window" else f"{examples[role]} {meaning}"
        for role, meaning in MEANINGS
        if role in examples
    ]
    if "contributor" in examples:
        entries.append(
            f"faint {examples['contributor']} (stepping): a term whose window the backward pass has not reached"
        )
    return Legend(tuple(entries))


def _arrays(state: State, y: np.ndarray | None) -> dict[str, tuple[np.ndarray | None, np.ndarray]]:
    p, namer = state.problem, state.namer
    return {
        "input": (p.x, namer.grid("input")),
        "kernel": (p.w, namer.grid("kernel")),
        "output": (y, namer.grid("output")),
        "delta": (p.delta, namer.grid("delta")),
        "input_grad": (state.derived.input_grad, namer.grid("input")),
    }


def _padded_delta(p: Problem, namer: Namer) -> tuple[np.ndarray | None, np.ndarray]:
    """δ dilated by the stride and padded, in numbers and names (a zero's name is 0)."""
    g = p.geom
    names = pad(dilate(namer.grid("delta"), g.stride), g.delta_padding)
    values = None if p.delta is None else pad(dilate(p.delta, g.stride), g.delta_padding)
    return values, names


def _section(
    title: str, array: str, values: np.ndarray | None, names: np.ndarray, spatial: int, lit: dict[Index, Mark]
) -> Panels:
    """Every slice of one array, each with the marks that fall in it; ∂L/∂x in numbers."""
    made: list[Panel] = []
    shown = None if array == "input_grad" and values is not None else names
    for lead in slices(names.shape, spatial):
        marks = {}
        for full, mark in lit.items():
            if tuple(full[: len(lead)]) == tuple(lead):
                marks[(0, full[-1]) if spatial == 1 else (full[-2], full[-1])] = mark
        made.append(panel("", array, lead, values, shown, spatial, marks))
    return Panels(title, tuple(made))


# -- what the script needs --------------------------------------------------------------------------


def script_data(state: State, y: np.ndarray | None) -> dict[str, Any]:
    """By cell number: each cell's terms (pairs of cell numbers, the same terms `trace`
    finds) and value; how many windows the backward pass of sample 0 has and the
    numbers of W and δ it multiplies; where the flipped kernel's taps fall on the
    padded δ from each input position, and which padded cell holds which δ entry;
    and the words."""
    p, g = state.problem, state.problem.geom
    ids = Ids(g)

    def said(v: float | None) -> str | None:
        return None if v is None else fmt(v)

    inputs, outputs, kernel = [], [], []
    for idx in np.ndindex(*g.output_shape):
        found = terms.output_terms(g, idx)
        pairs = [i for t in found for i in (ids("input", t.input), ids("kernel", t.weight))]
        outputs.append([pairs, said(None if y is None else float(y[idx]))])
    for idx in np.ndindex(*g.input_shape):
        found = terms.input_terms(g, idx)
        pairs = [i for t in found for i in (ids("kernel", t.weight), ids("delta", t.delta))]
        value = None if p.w is None or p.delta is None else terms.input_grad_value(found, p.w, p.delta)
        inputs.append([pairs, said(value)])
    for idx in np.ndindex(*g.kernel_shape):
        found = terms.weight_terms(g, idx)
        pairs = [i for t in found for i in (ids("input", t.input), ids("delta", t.delta))]
        value = None if p.x is None or p.delta is None else terms.weight_grad_value(found, p.x, p.delta)
        kernel.append([pairs, said(value)])
    numbers = (
        {}
        if p.w is None or p.delta is None
        else {"w": p.w.ravel().tolist(), "delta": p.delta[0].ravel().tolist()}
    )
    return {
        "start": ids.start,
        "input": inputs,
        "output": outputs,
        "kernel": kernel,
        "windows": prod(g.output_shape[1:]),
        "numbers": numbers,
        "overlay": overlay_data(g),
        "words": WORDS,
    }


def overlay_data(g: Geometry) -> dict[str, Any]:
    """The flipped kernel over the padded δ, as the script places it: for each input
    position, the padded cell (flat, within one slice) of each tap k; for each
    padded cell, the δ entry it holds (flat, within one slice) or −1; the sizes that
    turn a cell number into its sample, channel and position."""
    padded = g.padded_delta_size
    taps = []
    for q in np.ndindex(*g.in_size):
        taps.append(
            [
                int(np.ravel_multi_index(tuple(qi + ki * d for qi, ki, d in zip(q, k, g.dilation)), padded))
                for k in np.ndindex(*g.kernel_size)
            ]
        )
    holds = []
    for at in np.ndindex(*padded):
        src = g.delta_at(at)
        holds.append(-1 if src is None else int(np.ravel_multi_index(src, g.out_size)))
    return {
        "taps": taps,
        "holds": holds,
        "positions": prod(g.in_size),
        "channels": g.in_channels,
        "outputs": g.out_channels,
        "group": [g.in_channels // g.groups, g.out_channels // g.groups],
        "kernel": prod(g.kernel_size),
        "padded": prod(padded),
        "out": prod(g.out_size),
        "padded_words": _padded_words(g),
    }
