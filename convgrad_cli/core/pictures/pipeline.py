"""The panels of `forward` and `backward`: the arrays of the slides' pipeline."""

from __future__ import annotations

from collections.abc import Mapping

from convgrad_cli.core.axes import compact
from convgrad_cli.core.explain import BackwardResult, ForwardResult
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.ops import dilate
from convgrad_cli.core.panels import Panel, Section, array_panels, keep, slices

from .base import Picture, padded_input


def _sections(
    items: list[tuple[str, list[Panel]]], only: Mapping[str, int] | None, g: Geometry
) -> list[Section]:
    kept = [(title, keep(panels, only or {}, g.grouping)) for title, panels in items]
    return [Section(title, panels) for title, panels in kept if panels]


def forward_picture(result: ForwardResult, only: Mapping[str, int] | None = None) -> Picture:
    """The input (with its zero border when padded), the kernel and the output."""
    p, g, namer = result.problem, result.problem.geom, result.namer
    named = result.expressions is not None  # names only where they can all be written out
    x_names = namer.grid("input") if named else None
    padded = any(b or a for b, a in g.padding)
    if padded and (p.x is not None or x_names is not None):
        title = ""
        leads = slices((*g.input_shape[:2], *g.padded_in_size), g.ndim)
        if g.ndim == 3:  # depths of the padded input, in the input's coordinates
            leads = [(n, c, z - g.padding[0][0]) for n, c, z in leads]
        inputs = [padded_input(title, g, p.x, x_names, lead, {}, False) for lead in leads]
    else:
        inputs = array_panels("", "input", p.x, x_names, g.ndim)
    return Picture(
        _sections(
            [
                ("input x" + (", with its padding" if padded else ""), inputs),
                (
                    "kernel W",
                    array_panels(
                        "", "kernel", p.w, namer.grid("kernel") if named else None, g.ndim, g.grouping
                    ),
                ),
                (
                    "output y",
                    array_panels(
                        "", "output", result.output, namer.grid("output") if named else None, g.ndim
                    ),
                ),
            ],
            only,
            g,
        ),
        [],
    )


def backward_picture(result: BackwardResult, only: Mapping[str, int] | None = None) -> Picture:
    """The slides' pipeline, array by array: δ, dilated, padded; the flipped kernel
    with its dilation; ∂L/∂x and ∂L/∂W."""
    g = result.problem.geom
    sp = g.ndim
    flipped = result.flipped_kernel
    dilated_kernel = [
        dilate(a, g.dilation) if a is not None else None for a in (flipped.values, flipped.names)
    ]
    items = [("δ = ∂L/∂y", array_panels("", "delta", result.delta.values, result.delta.names, sp))]
    if any(s > 1 for s in g.stride):
        title = f"dilated δ: {zeros_between(g)} (stride − 1)"
        items.append(
            (
                title,
                array_panels(
                    "", "dilated_delta", result.dilated_delta.values, result.dilated_delta.names, sp
                ),
            )
        )
    extra = f", and {uncovered_in_words(g)} at the end" if any(g.uncovered) else ""
    title = f"padded δ: {padding_in_words(g)} (kernel dilation·(k−1) − padding{extra})"
    items.append(
        (title, array_panels("", "padded_delta", result.padded_delta.values, result.padded_delta.names, sp))
    )
    title = "flipped kernel rot180(W)" + (
        f", dilated by {compact(g.dilation, '×')} (its holes are zeros)"
        if any(d > 1 for d in g.dilation)
        else ""
    )
    items.append(
        (title, array_panels("", "flipped_kernel", dilated_kernel[0], dilated_kernel[1], sp, g.grouping))
    )
    if result.input_grad is not None:
        items.append(("∂L/∂x", array_panels("", "input_grad", result.input_grad, None, sp)))
    if result.weight_grad is not None:
        title = "∂L/∂W = input ⋆ " + ("dilated δ" if any(s > 1 for s in g.stride) else "δ")
        items.append((title, array_panels("", "weight_grad", result.weight_grad, None, sp, g.grouping)))
    return Picture(_sections(items, only, g), [])


def shape_arithmetic(g: Geometry, layer: str = "") -> str:
    """Why correlating the padded δ with the (dilated) flipped kernel gives the input's size."""
    # each formula without spaces, so that a line never breaks inside one
    rows = [f"{p}−{e}+1={n}" for p, e, n in zip(g.padded_delta_size, g.kernel_extent, g.in_size)]
    padded = "×".join(map(str, g.padded_delta_size))
    extent = "×".join(map(str, g.kernel_extent))
    return (
        f"∂L/∂x{layer} = correlate(padded δ{layer} {padded}, flipped kernel {extent}): "
        + ", ".join(rows)
        + f" — the input's {'×'.join(map(str, g.in_size))}"
    )


def _units(g: Geometry) -> list[tuple[str, str, str]]:
    """Each spatial axis's unit of zeros and its two sides, as a reader of the grid says them."""
    rows = [("row", "above", "below"), ("column", "left", "right")]
    return {1: [("zero", "left", "right")], 2: rows, 3: [("slice", "in front", "behind"), *rows]}[g.ndim]


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}" if n >= 0 else f"{-n} {unit}{'' if n == -1 else 's'} cut"


def padding_in_words(g: Geometry) -> str:
    """δ's padding on each side: ``1 row above and 1 below, 1 column left and 2 right``.

    >>> padding_in_words(Geometry.build((4, 5), (2, 2), stride=2))
    '1 row above and 1 below, 1 column left and 2 right'
    """
    sides = {side for pair in g.delta_padding for side in pair}
    if g.ndim > 1 and len(sides) == 1:  # one count all round: said once
        return f"{_count(sides.pop(), 'zero')} on every side"
    return ", ".join(
        f"{_count(b, unit)} {first} and {b_after if b_after >= 0 else f'{-b_after} cut'} {second}"
        for (unit, first, second), (b, b_after) in zip(_units(g), g.delta_padding)
    )


def uncovered_in_words(g: Geometry) -> str:
    """``the 1 column no window reaches``; ``of padding`` when no input cell is among
    them (their gradient is not 0), ``of the padded input`` when some are."""
    parts = [_count(u, unit) for (unit, _, _), u in zip(_units(g), g.uncovered) if u]
    where = (
        ""
        if g.uncovered_input == g.uncovered
        else " of padding"
        if not any(g.uncovered_input)
        else " of the padded input"
    )
    return "the " + " and ".join(parts) + where + " no window reaches"


def zeros_between(g: Geometry) -> str:
    """``1 zero between neighbours``, or per axis when the strides differ."""
    zeros = [s - 1 for s in g.stride]
    if len(set(zeros)) == 1:
        return f"{_count(zeros[0], 'zero')} between neighbours"
    return ", ".join(f"{_count(z, 'zero')} between {unit}s" for (unit, _, _), z in zip(_units(g), zeros))


def coverage_panel(geom: Geometry, title: str) -> Panel:
    """How many windows each cell belongs to (its depth 0 in 3-D), uncovered cells marked."""
    import numpy as np

    from convgrad_cli.core.coverage import window_counts
    from convgrad_cli.core.panels import Mark

    counts = window_counts(geom)
    grid = counts.reshape(1, -1) if geom.ndim == 1 else counts if geom.ndim == 2 else counts[0]
    marks = {(int(r), int(c)): Mark("uncovered") for r, c in np.argwhere(grid == 0)}
    title += " (depth 0)" if geom.ndim == 3 else ""
    return Panel(title, "coverage", (), grid.astype(float), None, 1 if geom.ndim == 1 else 2, marks=marks)
