"""The panels of `trace`: one cell followed through the layer.

A traced input cell is shown in its own sample only: its windows on its own
channel (each window is read by every output channel of the group; its cells on
the group's other channels hold none of the cell's terms, and are named in a
line and kept for JSON), the δ entries and kernel slices of that group, and the padded δ
under the flipped kernel. Windows are numbered by their position; the number
is the window's colour.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import singledispatch
from math import prod

import numpy as np

from convgrad_cli.core.explain import CellTrace, InputTrace, OutputTrace, WeightTrace
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.names import Index, Namer
from convgrad_cli.core.ops import dilate, pad
from convgrad_cli.core.options import option
from convgrad_cli.core.panels import Mark, Panel, Section, keep, slice_label
from convgrad_cli.core.terms import Term

from .base import (
    MAX_NAMED,
    Picture,
    box_of,
    group_of,
    in_input,
    marked_panels,
    names_of,
    read_at,
    window_panels,
)

#: Windows drawn whole (the padded input each); more are cut to the window alone.
CROP_WINDOWS = 4
#: Cells the whole windows may draw in all (the slides' four 4×4 windows: 64); past it, a
#: window each on a 7×7 input stacked 120 lines at 80 columns, so each is cut to itself.
CROP_CELLS = 100


@singledispatch
def trace_picture(ct: CellTrace, only: Mapping[str, int] | None = None) -> Picture:
    """The panels that show a traced cell, marked from its terms: one drawing per
    kind of cell, registered below (here, not on the trace, so that the traces
    never import their pictures)."""
    raise TypeError(f"no picture for a {type(ct).__name__}")


# -- ∂L/∂x at one cell ------------------------------------------------------------------------------


@trace_picture.register
def input_picture(ct: InputTrace, only: Mapping[str, int] | None = None) -> Picture:
    """Windows, δ entries, kernel slices and the padded δ under the flipped kernel."""
    g = ct.problem.geom
    n, c, *_ = ct.index
    _, outs = group_of(g, c)
    by_position: dict[Index, list[Term]] = {}
    for t in ct.terms:
        by_position.setdefault(tuple(t.delta[2:]), []).append(t)
    number = {pos: i for i, pos in enumerate(by_position)}
    window_names = [_window_name(ct.namer, g, n, outs, pos) for pos in by_position]
    windows = _windows(ct, by_position, number, window_names)
    deltas, kernels = _contributors(ct, number)
    overlays = [pl for o in outs for pl in _overlay(ct, o, number, crop=len(outs) > 1)]
    only = only or {}
    shown, others, note = _own_channel(ct, keep(windows, only, g.grouping), "c" in only)
    sections = [
        Section("the forward windows that contain it", shown, note, others),
        chosen("δ entries it depends on, each with the weight met", deltas, only, g),
        chosen("the kernel taps it meets, each with its window's δ", kernels, only, g),
        chosen(
            _overlay_title(g, ct.name) + _numbers_above(ct, overlays),
            overlays,
            only,
            g,
            crop_note(overlays, "padded δ"),
        ),
    ]
    return Picture([s for s in sections if s.panels or s is sections[-1]], window_names)


def _windows(
    ct: InputTrace, by_position: dict[Index, list[Term]], number: dict[Index, int], names: list[str]
) -> list[Panel]:
    """Each forward window that holds the cell, on every input channel of its group,
    in its number's colour."""
    p, g, namer = ct.problem, ct.problem.geom, ct.namer
    n, c, *_ = ct.index
    chans, outs = group_of(g, c)
    x_names = names_of(namer, "input", g.input_shape)
    windows: list[Panel] = []
    # many windows, or a window on each channel: each panel is its window alone, in names
    # (∂L/∂x does not depend on x's values); a single channel's windows keep their weights
    # said, and so does a dilation, whose holes only the weights' labels tell from the taps
    padded = int(np.prod([n + b + a for n, (b, a) in zip(g.in_size, g.padding)]))
    crop = len(chans) > 1 or len(by_position) > CROP_WINDOWS or len(by_position) * padded > CROP_CELLS
    said = len(chans) == 1 or any(d > 1 for d in g.dilation)
    x_shown = None if crop and x_names is not None else p.x
    for (pos, ts), name in zip(by_position.items(), names):
        i, o = number[pos], ts[0].delta[1]
        reads = [
            ((n, ch, *read_at(g, pos, k)), (o, ch - chans.start, *k))
            for ch in chans
            for k in np.ndindex(*g.kernel_size)
        ]
        mark_of = {}
        for full, wk in reads:
            role = "cell" if full == tuple(ct.index) else "window" if in_input(g, full[2:]) else "padding_tap"
            weight = namer.weight_of_any_output(wk) if len(outs) > 1 else namer.weight(wk)
            factor = weight if role != "window" or said else ""
            mark_of[full] = Mark(role, i, factor)
        if len(outs) > 1:
            title = f"{name}, o = {outs.start}…{outs.stop - 1}"
        else:
            title = name if crop else f"{name}: {ct.name}·{namer.weight(ts[0].weight)}"
        windows += window_panels(title, g, namer, x_shown, x_names, reads, mark_of, crop)
    return windows


def _contributors(ct: InputTrace, number: dict[Index, int]) -> tuple[list[Panel], list[Panel]]:
    """The δ entries the cell depends on, each with the weight it meets, and the
    kernel taps, each with its window's δ — per output channel of the group."""
    p, g, namer = ct.problem, ct.problem.geom, ct.namer
    n, c, *_ = ct.index
    chans, outs = group_of(g, c)
    delta_names = names_of(namer, "delta", g.output_shape)
    kernel_names = names_of(namer, "kernel", g.kernel_shape)
    deltas, kernels = [], []
    for o in outs:
        ts = [t for t in ct.terms if t.delta[1] == o]
        on_delta = {
            t.delta: Mark("contributor", number[tuple(t.delta[2:])], namer.weight(t.weight), True) for t in ts
        }
        on_kernel = {
            t.weight: Mark("contributor", number[tuple(t.delta[2:])], namer.delta(t.delta)) for t in ts
        }
        deltas += marked_panels("δ", "delta", g.ndim, p.delta, delta_names, (n, o), on_delta)
        kernels += marked_panels(
            "W", "kernel", g.ndim, p.w, kernel_names, (o, c - chans.start), on_kernel, g.grouping
        )
    return deltas, kernels


def _own_channel(ct: InputTrace, windows: list[Panel], chosen: bool) -> tuple[list[Panel], list[Panel], str]:
    """The windows' panels on the cell's own channel, those on the group's other
    channels (which hold other cells, and so none of its terms), and a line saying
    what was left out — unless ``--slice c=…`` chose the channel."""
    c = ct.index[1]
    others = [pl for pl in windows if pl.lead[1] != c]
    if chosen or not others:
        return windows, [], ""
    channels = sorted({pl.lead[1] for pl in others})
    said = ", ".join(map(str, channels))
    note = (
        f"each window also reads channel{'s' if len(channels) > 1 else ''} c={said} at the same rows and "
        f"columns: other cells than {ct.name}, left out ({option('slice', c=channels[0])} draws them; "
        f"{option('json')} has all)"
    )
    return [pl for pl in windows if pl.lead[1] == c], others, note


def _window_name(namer: Namer, g: Geometry, n: int, outs: range, pos: Index) -> str:
    """``y1``, or ``y₁ₒ₁₁`` for the outputs of a group that read one window."""
    if len(outs) == 1:
        return namer.output((n, outs.start, *pos))
    return namer.output_of_any_channel((n, outs.start, *pos))


def _overlay_title(g: Geometry, name: str) -> str:
    verb = "dilated and padded" if any(s > 1 for s in g.stride) else "padded"
    return f"{verb} δ under the flipped kernel, at {name}'s position"


def _overlay(
    ct: InputTrace, o: int, number: dict[Index, int], crop: bool, delta_names: np.ndarray | None = None
) -> list[Panel]:
    """The padded δ of ``(n, o)`` with rot180(W[o, c]) over the cell: each tap on a
    δ entry is a term (its window's colour), each tap on a zero adds nothing. With
    ``crop``, only the kernel's footprint and a cell around it are shown;
    ``delta_names``, δ's names if the caller has them already."""
    p, g, namer = ct.problem, ct.problem.geom, ct.namer
    n, c, *q = ct.index
    chans, _ = group_of(g, c)
    sl = (slice(n, n + 1), slice(o, o + 1))
    values = None if p.delta is None else pad(dilate(p.delta[sl], g.stride), g.delta_padding)
    names = None
    if prod((g.batch, g.out_channels, *g.padded_delta_size)) <= MAX_NAMED:
        grid = namer.grid("delta") if delta_names is None else delta_names
        names = pad(dilate(grid[sl], g.stride), g.delta_padding)
        if len(number) > CROP_WINDOWS:
            values = None  # the δ panel above has them; named, the overlay of many windows fits a screen
    marks: dict[Index, Mark] = {}
    for k in np.ndindex(*g.kernel_size):
        at = tuple(qi + ki * d for qi, ki, d in zip(q, k, g.dilation))
        source = g.delta_at(at)  # tap k of rot180(W) is W's tap (k_max − k)
        w = namer.weight((o, c - chans.start, *(size - 1 - ki for size, ki in zip(g.kernel_size, k))))
        key = (0, 0, *at)
        marks[key] = (
            Mark("tap", None, w, True) if source is None else Mark("contributor", number[source], w, True)
        )
    title = "padded δ" + slice_label(("n", "o"), (n, o), g.output_shape)
    made = marked_panels(title, "padded_delta", g.ndim, values, names, (0, 0), marks)
    return [_relead(pl, (n, o), crop) for pl in made]


def _relead(pl: Panel, nc: tuple[int, int], crop: bool) -> Panel:
    """A panel of a one-slice array, given the slice's real ``(n, o)`` (and, with
    ``crop``, cut to its marks and one cell around them)."""
    from dataclasses import replace

    box = None
    if crop and pl.marks:
        (r0, r1), (c0, c1) = box_of(pl.marks)
        rows, cols = pl.shape
        box = ((max(0, r0 - 1), min(rows, r1 + 1)), (max(0, c0 - 1), min(cols, c1 + 1)))
    return replace(pl, lead=(*nc, *pl.lead[2:]), crop=box)


def _numbers_above(ct: InputTrace, overlays: list[Panel]) -> str:
    """Where the overlay of many windows leaves δ's numbers out to fit a screen, where they are."""
    dropped = ct.problem.delta is not None and any(
        pl.values is None and pl.names is not None for pl in overlays
    )
    return " (δ's numbers: in the δ panel above)" if dropped else ""


def chosen(title: str, panels: list[Panel], only: Mapping[str, int], g: Geometry, note: str = "") -> Section:
    """The section of the panels ``only`` keeps, and a line saying how many it left out
    (``--slice o=0`` drew one filter's δ while the result summed four)."""
    kept = keep(panels, only, g.grouping)
    if len(kept) < len(panels):
        left = len(panels) - len(kept)
        said = f"{left} more panel{'s' * (left > 1)} left out by {option('slice', **only)}"
        note = f"{note}; {said}" if note else said
    return Section(title, kept, note)


def crop_note(panels: list[Panel], what: str) -> str:
    """``each panel: rows 2–6, columns 2–6 of the 9×9 padded δ``: cut panels say which
    part of how large a grid they show, so their border is not taken for the grid's
    own (the panels of one cell are cut alike; a line, as titles this long would not
    let two panels sit side by side).

    >>> from convgrad_cli.core.panels import Panel
    >>> crop_note([Panel("", "padded_delta", (0, 0), np.zeros((9, 9)), None, 2, crop=((2, 7), (2, 7)))], "padded δ")
    'each panel: rows 2–6, columns 2–6 of the 9×9 padded δ'
    """
    cut = next(
        (p for p in panels if p.crop is not None and p.crop != ((0, p.shape[0]), (0, p.shape[1]))), None
    )
    if cut is None or cut.crop is None:
        return ""
    (r0, r1), (c0, c1) = cut.crop
    rows, cols = cut.shape

    def span(unit: str, a: int, b: int) -> str:
        return f"{unit}s {a}–{b - 1}" if b - a > 1 else f"{unit} {a}"

    if cut.spatial == 1:
        return f"each panel: {span('position', c0, c1)} of the {cols}-long {what}"
    return f"each panel: {span('row', r0, r1)}, {span('column', c0, c1)} of the {rows}×{cols} {what}"


# -- an output, and ∂L/∂w at one weight ----------------------------------------------------------------


@trace_picture.register
def output_picture(ct: OutputTrace, only: Mapping[str, int] | None = None) -> Picture:
    """The window of one output on each input channel of its group (padding taps
    too), the kernel slices it uses, and where the output lies."""
    p, g, namer = ct.problem, ct.problem.geom, ct.namer
    n, o, *pos = ct.index
    cg = g.in_channels // g.groups
    first = (o // (g.out_channels // g.groups)) * cg
    reads = [
        ((n, first + ch, *read_at(g, pos, k)), (o, ch, *k))
        for ch in range(cg)
        for k in np.ndindex(*g.kernel_size)
    ]
    mark_of = {
        full: Mark("contributor" if in_input(g, full[2:]) else "padding_tap", 0, namer.weight(wk))
        for full, wk in reads
    }
    x_names = names_of(namer, "input", g.input_shape)
    windows = window_panels(f"the window of {ct.name}", g, namer, p.x, x_names, reads, mark_of, cg > 1)
    kernels = []
    w_names = names_of(namer, "kernel", g.kernel_shape)
    for ch in range(cg):
        marks = {}
        for full, wk in reads:
            if wk[1] == ch:
                inside = in_input(g, full[2:])
                factor = namer.input(full) if inside else "░"
                marks[wk] = Mark("contributor" if inside else "padding_tap", 0, factor, True)
        kernels += marked_panels("W", "kernel", g.ndim, p.w, w_names, (o, ch), marks, g.grouping)
    y_names = names_of(namer, "output", g.output_shape)
    output = marked_panels("y", "output", g.ndim, None, y_names, (n, o), {tuple(ct.index): Mark("cell", 0)})
    only = only or {}
    return Picture(
        [
            chosen("its window: each input cell with the weight it meets", windows, only, g),
            chosen("the kernel taps, each with the input cell it meets", kernels, only, g),
            chosen("where it lies in the output", output, only, g),
        ],
        [ct.name],
    )


@trace_picture.register
def weight_picture(ct: WeightTrace, only: Mapping[str, int] | None = None) -> Picture:
    """Every input cell the weight met (one per window, each sample), and each
    window's δ."""
    p, g, namer = ct.problem, ct.problem.geom, ct.namer
    o, c_local, *k = ct.index
    channel = (o // (g.out_channels // g.groups)) * (g.in_channels // g.groups) + c_local
    numbered = {window: i for i, window in enumerate(np.ndindex(g.batch, *g.out_size))}
    x_names = names_of(namer, "input", g.input_shape)
    delta_names = names_of(namer, "delta", g.output_shape)
    inputs, deltas, window_names = [], [], []
    for n in range(g.batch):
        reads, mark_of, delta_marks = [], {}, {}
        for pos in np.ndindex(*g.out_size):
            window = (n, *pos)
            i = numbered[window]
            full = (n, channel, *read_at(g, pos, k))
            inside = in_input(g, full[2:])
            d = (n, o, *pos)
            reads.append((full, tuple(ct.index)))
            mark_of[full] = Mark("contributor" if inside else "padding_tap", i, namer.delta(d))
            if inside:
                delta_marks[d] = Mark("contributor", i, namer.input(full), True)
        inputs += window_panels("x", g, namer, p.x, x_names, reads, mark_of, False)
        deltas += marked_panels("δ", "delta", g.ndim, p.delta, delta_names, (n, o), delta_marks)
    window_names = [namer.output((n, o, *pos)) for n, *pos in numbered]
    w_names = names_of(namer, "kernel", g.kernel_shape)
    kernel = marked_panels(
        "W", "kernel", g.ndim, p.w, w_names, (o, c_local), {tuple(ct.index): Mark("cell")}, g.grouping
    )
    only = only or {}
    return Picture(
        [
            chosen(f"the input cells {ct.name} met, each with its window's δ", inputs, only, g),
            chosen("each window's δ, with the input cell it met", deltas, only, g),
            chosen("the weight", kernel, only, g),
        ],
        window_names,
    )
