"""The views of a stack's receptive fields: the paths under one top output, level
by level down to the input (``trace --output``), the paths from one input cell
up (``trace --input``), and the analytic field per layer (``shape``).

A path grid holds the number of paths in every cell, drawn as a heat map: each
cell with at least one path shaded by its count's share of the grid's largest
(where a format draws colour), the number in every cell (where it does not, the
numbers alone tell the counts apart); the traced cell is bracketed.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from convgrad_cli.core.panels import HEAT_LEVELS, Mark, heat_levels
from convgrad_cli.core.receptive import AxisField, Distill, Field, InputReach, OutputReach
from convgrad_cli.core.stack import Stack

from .blocks import Block, Legend, Sentence, Table, View
from .stack import array_section, heading, layer_text, sup

#: Marks per grid at most: no panel draws more cells.
MAX_MARKS = 4096


def field_text(f: Field) -> str:
    """``rows [1, 8) × columns [1, 8)``, or ``nothing`` where no path arrives."""
    if f is None:
        return "nothing"
    names = (
        ("rows", "columns") if len(f) == 2 else ("depth", "rows", "columns") if len(f) == 3 else ("cells",)
    )
    return " × ".join(f"{name} [{a}, {b})" for name, (a, b) in zip(names, f))


def _marks(paths: np.ndarray, cell: tuple[int, ...] | None = None) -> dict[tuple[int, ...], Mark]:
    """Each cell with a path shaded by its count (the grid's largest count the darkest), the traced cell bracketed."""
    shades = heat_levels(paths)
    marks = {
        tuple(map(int, ix)): Mark("heat", heat=int(shades[tuple(ix)]))
        for ix in np.argwhere(paths)[:MAX_MARKS]
    }
    if cell is not None:
        marks[cell] = Mark("cell")
    return marks


def _nonzero(gradient: np.ndarray) -> dict[tuple[int, ...], Mark]:
    return {tuple(map(int, ix)): Mark("contributor") for ix in np.argwhere(gradient)[:MAX_MARKS]}


def _level_name(stack: Stack, level: int) -> str:
    return (
        "x, the input"
        if level == 0
        else f"y{sup(level)}, the output of layer {level} · {layer_text(stack.layers[level - 1])}"
    )


def output_view(stack: Stack, reach: OutputReach) -> View:
    """From the traced output down: at each level the paths to it, then the input's and the gradient."""
    top = len(reach.paths) - 1
    blocks: list[Block] = [
        heading(stack, f"trace of output {list(reach.index)}"),
        Sentence.of(
            f"receptive field on the input: {field_text(reach.receptive_field)} (padding never in it)",
            strong=True,
        ),
    ]
    for level in range(top, -1, -1):
        paths = reach.paths[level]
        cell = reach.index if level == top else None
        array = "input" if level == 0 else "output"
        title = f"paths to y{sup(top)}{list(reach.index)} from each cell of {_level_name(stack, level)}: {field_text(reach.fields[level])}"
        blocks.append(array_section(title, array, paths, _marks(paths, cell)))
    blocks.append(
        array_section(
            f"∂y{sup(top)}{list(reach.index)}/∂x through the actual weights and activations",
            "input",
            reach.gradient,
            _nonzero(reach.gradient),
        )
    )
    blocks.append(counting_legend(gradient=True))
    return View("trace", tuple(blocks))


def input_view(stack: Stack, reach: InputReach) -> View:
    """From the input cell up: at each level the paths from it."""
    blocks: list[Block] = [heading(stack, f"trace of input {list(reach.index)}")]
    for level, paths in enumerate(reach.paths):
        cell = reach.index if level == 0 else None
        array = "input" if level == 0 else "output"
        title = f"paths from x{list(reach.index)} to each cell of {_level_name(stack, level)}: {field_text(reach.fields[level])}"
        blocks.append(array_section(title, array, paths, _marks(paths, cell)))
    blocks.append(counting_legend())
    return View("trace", tuple(blocks))


def counting_legend(gradient: bool = False) -> Legend:
    """The numbers of a path grid, and (where colour is drawn) its shades and the gradient's bold."""
    coloured = (
        f"shade: the more paths, the darker — {HEAT_LEVELS} steps, each grid scaled to its own largest count; "
        "unshaded: no path",
    )
    styled = ("bold, in the gradient's grid: a nonzero gradient",) if gradient else ()
    return Legend(
        (
            "[n] the cell traced",
            "n: the paths that join the cell to it, 0 outside the field; every weight counts as 1, "
            "ReLU and max-pool as passing (each cell of a max-pool's window is a path)",
        ),
        styled=styled,
        coloured=coloured,
    )


def shape_view(stack: Stack, rows: list[Distill]) -> View:
    """Per layer its output size and the receptive field of its outputs on the network input."""

    def axes(t: tuple[int, ...], sep: str = "×") -> str:
        return sep.join(map(str, t))

    table = Table(
        "output i of each layer sees [start + i·jump, start + i·jump + size) of the input (padding counted)",
        ("layer", "output", "field size", "jump", "start"),
        tuple(
            (
                f"{i + 1} · {layer_text(layer)}",
                axes(r.out_size),
                " × ".join(_sizes(a) for a in r.axes),
                " × ".join(_number(a.jump) for a in r.axes),
                ", ".join(_starts(a) for a in r.axes),
            )
            for i, (layer, r) in enumerate(zip(stack.layers, rows))
        ),
    )
    blocks: list[Block] = [heading(stack, "shape"), table]
    for i, r in enumerate(rows):
        blocks += [Sentence.of(line, quiet=True) for line in _phase_lines(i + 1, r)]
    return View("shape", tuple(blocks))


def _number(v: Fraction) -> str:
    """A whole number as it is, a fraction as p/q (a transposed convolution's jump)."""
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def _sizes(a: AxisField) -> str:
    """One size, or each phase's, ``2|1`` (— for a phase no input reaches)."""
    return "|".join("—" if p is None else str(p[1]) for p in dict.fromkeys(a.phases))


def _starts(a: AxisField) -> str:
    return "|".join("—" if p is None else _number(p[0]) for p in a.phases)


def _phase_lines(level: int, r: Distill) -> list[str]:
    """What a row's ``|`` means, where an axis's field depends on the output's phase (one line for
    the axes that share it)."""
    lines = []
    shared = len(set(r.axes)) == 1 and len(r.axes) > 1
    for axis, a in enumerate(r.axes[:1] if shared else r.axes):
        if len(a.phases) == 1:
            continue
        n = len(a.phases)
        said = "; ".join(
            f"i ≡ {k} (mod {n}): "
            + ("no input reaches it" if p is None else f"size {p[1]}, start {_number(p[0])}")
            for k, p in enumerate(a.phases)
        )
        where = " on every axis" if shared else f" on axis {axis}" if len(r.axes) > 1 else ""
        lines.append(
            f"layer {level}{where}: above a transposed convolution the field depends on i mod {n} — {said}"
        )
    return lines
