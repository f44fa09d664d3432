"""The panels of each view, built from the trace terms — one source of truth for
what every picture marks.

A traced input cell is shown in its own sample only: its windows on every
input channel of its group (each window is read by every output channel of
the group), the δ entries and kernel slices of that group, and the padded δ
under the flipped kernel. Windows are numbered by their position; the number
is the window's colour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from math import prod

import numpy as np

from .explain import BackwardResult, ForwardResult, InputTrace, OutputTrace, WeightTrace
from .geometry import Geometry
from .names import Index, Namer
from .ops import dilate, pad
from .panels import Cell2, Crop, Mark, Panel, Section, array_panels, keep, panel, slice_label, slices
from .terms import Term

#: Arrays of names are built only up to this many cells; larger ones show numbers.
MAX_NAMED = 50_000


@dataclass(frozen=True)
class Picture:
    """A view's sections, and the name of each numbered window (for the legend)."""

    sections: list[Section]
    windows: list[str]

    @property
    def panels(self) -> list[Panel]:
        return [p for s in self.sections for p in s.panels]


def _names(namer: Namer, kind: str, shape: tuple[int, ...]) -> np.ndarray | None:
    return namer.grid(kind) if prod(shape) <= MAX_NAMED else None


def _group(geom: Geometry, channel: int) -> tuple[range, range]:
    """The input and output channels of the group of input channel ``channel``."""
    cg, og = geom.in_channels // geom.groups, geom.out_channels // geom.groups
    g = channel // cg
    return range(g * cg, (g + 1) * cg), range(g * og, (g + 1) * og)


def _position(geom: Geometry, p: Iterable[int], k: Iterable[int]) -> Index:
    """Where tap ``k`` of window ``p`` reads the input (outside it: the padding)."""
    return tuple(
        pi * s + ki * d - b for pi, ki, s, d, (b, _) in zip(p, k, geom.stride, geom.dilation, geom.padding)
    )


def _split(full: Index, spatial: int) -> tuple[Index, Cell2]:
    """A full index as its slice's lead and its 2-D cell (no origin applied)."""
    return (full[:2], (0, full[2])) if spatial == 1 else (full[:-2], (full[-2], full[-1]))


def _inside(geom: Geometry, spatial_index: Iterable[int]) -> bool:
    return all(0 <= v < n for v, n in zip(spatial_index, geom.in_size))


def _box(cells: Iterable[Cell2]) -> Crop:
    rows, cols = zip(*cells)
    return (min(rows), max(rows) + 1), (min(cols), max(cols) + 1)


# -- the padded input -----------------------------------------------------------------------------


def padded_input(
    title: str,
    geom: Geometry,
    x: np.ndarray | None,
    names: np.ndarray | None,
    lead: Index,
    marks: Mapping[Cell2, Mark],
    crop: bool,
) -> Panel:
    """Slice ``lead`` (``n, c`` and, in 3-D, a depth that may lie in the padding)
    of the input with its zero border; ``marks`` are by padded cell, and with
    ``crop`` the panel shows only the box around them."""
    pads = geom.padding[-2:] if geom.ndim > 1 else ((0, 0), *geom.padding)
    sizes = geom.in_size[-2:] if geom.ndim > 1 else (1, geom.in_size[0])
    real_depth = geom.ndim < 3 or 0 <= lead[2] < geom.in_size[0]
    shape = (sizes[0] + sum(pads[0]), sizes[1] + sum(pads[1]))
    inside = (slice(pads[0][0], pads[0][0] + sizes[0]), slice(pads[1][0], pads[1][0] + sizes[1]))
    padding = np.ones(shape, dtype=bool)
    if real_depth:
        padding[inside] = False

    def padded(a: np.ndarray | None, fill: object) -> np.ndarray | None:
        if a is None:
            return None
        out = np.full(shape, fill, dtype=a.dtype)
        if real_depth:
            out[inside] = a[lead].reshape(sizes)
        return out

    full_shape = (*geom.input_shape[:2], *([geom.in_size[0]] if geom.ndim == 3 else []))
    label = slice_label(("n", "c", "z"), lead, full_shape)
    if geom.ndim == 3 and not real_depth:
        label = label.replace(f"z={lead[2]}", f"z={lead[2]}, padding")
    focus = next(iter(marks), None)
    return Panel(
        (title + label).strip(), "input", tuple(lead), padded(x, 0), padded(names, ""), geom.ndim,
        origin=(-pads[0][0], -pads[1][0]), padding=padding, marks=dict(marks), focus=focus,
        crop=_box(marks) if crop and marks else None,
    )  # fmt: skip


def _window_panels(
    title: str, geom: Geometry, namer: Namer, x: np.ndarray | None, names: np.ndarray | None,
    reads: list[tuple[Index, Index]], mark_of: dict[Index, Mark], crop: bool,
) -> list[Panel]:  # fmt: skip
    """One padded-input panel per slice that ``reads`` (full input index, weight) touch."""
    by_lead: dict[Index, dict[Cell2, Mark]] = {}
    for full, _ in reads:
        lead, (r, c) = _split(full, geom.ndim)
        pads = geom.padding[-2:] if geom.ndim > 1 else ((0, 0), *geom.padding)
        by_lead.setdefault(lead, {})[(r + pads[0][0], c + pads[1][0])] = mark_of[full]
    return [padded_input(title, geom, x, names, lead, marks, crop) for lead, marks in by_lead.items()]


# -- ∂L/∂x at one cell ------------------------------------------------------------------------------


def input_picture(ct: InputTrace, only: Mapping[str, int] | None = None) -> Picture:
    """Windows, δ entries, kernel slices and the padded δ under the flipped kernel."""
    p, g, namer = ct.problem, ct.problem.geom, ct.namer
    n, c, *q = ct.index
    chans, outs = _group(g, c)
    x_names = _names(namer, "input", g.input_shape)
    by_position: dict[Index, list[Term]] = {}
    for t in ct.terms:
        by_position.setdefault(tuple(t.delta[2:]), []).append(t)
    number = {pos: i for i, pos in enumerate(by_position)}
    window_names = [_window_name(namer, g, n, outs, pos) for pos in by_position]

    windows: list[Panel] = []
    crop = len(chans) > 1
    for (pos, ts), name in zip(by_position.items(), window_names):
        i, o = number[pos], ts[0].delta[1]
        reads = [
            ((n, ch, *_position(g, pos, k)), (o, ch - chans.start, *k))
            for ch in chans
            for k in np.ndindex(*g.kernel_size)
        ]
        mark_of = {}
        for full, wk in reads:
            role = "cell" if full == tuple(ct.index) else "window" if _inside(g, full[2:]) else "padding_tap"
            # a cropped panel is the window alone: its cells need no weight said, but the cell's
            factor = namer.short_weight(wk) if role != "window" or not crop else ""
            mark_of[full] = Mark(role, i, factor)
        title = name if crop else f"{name}: {ct.name}·{namer.weight(ts[0].weight)}"
        windows += _window_panels(title, g, namer, p.x, x_names, reads, mark_of, crop)

    delta_names = _names(namer, "delta", g.output_shape)
    deltas, kernels = [], []
    for o in outs:
        ts = [t for t in ct.terms if t.delta[1] == o]
        deltas += _marked_panels("δ", "delta", g.ndim, p.delta, delta_names,
                                 (n, o), {t.delta: Mark("contributor", number[tuple(t.delta[2:])],
                                                        namer.short_weight(t.weight), True) for t in ts})  # fmt: skip
        kernels += _marked_panels("W", "kernel", g.ndim, p.w, _names(namer, "kernel", g.kernel_shape),
                                  (o, c - chans.start), {t.weight: Mark("contributor", number[tuple(t.delta[2:])],
                                                                        namer.short_delta(t.delta)) for t in ts})  # fmt: skip
    overlays = [pl for o in outs for pl in _overlay(ct, o, number, crop=len(outs) > 1)]
    only = only or {}
    sections = [
        Section("the forward windows that contain it", keep(windows, only)),
        Section("δ entries it depends on, each with the weight met", keep(deltas, only)),
        Section("the kernel taps it meets, each with its window's δ", keep(kernels, only)),
        Section(_overlay_title(g, ct.name), keep(overlays, only)),
    ]
    return Picture([s for s in sections if s.panels or s is sections[-1]], window_names)


def _window_name(namer: Namer, g: Geometry, n: int, outs: range, pos: Index) -> str:
    """``y1``, or ``y[n,0…3,i,j]`` for the outputs of a group that read one window."""
    if len(outs) == 1:
        return namer.output((n, outs.start, *pos))
    channels = f"{outs.start}…{outs.stop - 1}"
    batch = f"{n}," if g.batch > 1 or g.out_channels > 1 else ""
    return f"y[{batch}{channels},{','.join(map(str, pos))}]"


def _marked_panels(
    title: str, array: str, spatial: int, values: np.ndarray | None, names: np.ndarray | None,
    lead: Index, marks: dict[Index, Mark],
) -> list[Panel]:  # fmt: skip
    """The slice ``lead`` of an array, marked; in 3-D one panel per depth that holds a mark
    (all of them when none does)."""
    if values is None and names is None:
        return []
    if spatial < 3:
        cells = {(_split(i, spatial)[1]): m for i, m in marks.items()}
        return [panel(title, array, lead, values, names, spatial, cells, next(iter(cells), None))]
    depths = sorted({i[2] for i in marks}) or [0]
    out = []
    for z in depths:
        cells = {(i[3], i[4]): m for i, m in marks.items() if i[2] == z}
        out.append(panel(title, array, (*lead, z), values, names, spatial, cells, next(iter(cells), None)))
    return out


def _overlay_title(g: Geometry, name: str) -> str:
    verb = "dilated and padded" if any(s > 1 for s in g.stride) else "padded"
    return f"{verb} δ under the flipped kernel, at {name}'s position"


def _overlay(ct: InputTrace, o: int, number: dict[Index, int], crop: bool) -> list[Panel]:
    """The padded δ of ``(n, o)`` with rot180(W[o, c]) over the cell: each tap on a
    δ entry is a term (its window's colour), each tap on a zero adds nothing. With
    ``crop``, only the kernel's footprint and a cell around it are shown."""
    p, g, namer = ct.problem, ct.problem.geom, ct.namer
    n, c, *q = ct.index
    chans, _ = _group(g, c)
    sl = (slice(n, n + 1), slice(o, o + 1))
    values = None if p.delta is None else pad(dilate(p.delta[sl], g.stride), g.delta_padding)
    names = None
    if prod((g.batch, g.out_channels, *g.padded_delta_size)) <= MAX_NAMED:
        names = pad(dilate(namer.grid("delta")[sl], g.stride), g.delta_padding)
    marks: dict[Index, Mark] = {}
    for k in np.ndindex(*g.kernel_size):
        at = tuple(qi + ki * d for qi, ki, d in zip(q, k, g.dilation))
        source = _delta_at(g, at)  # tap k of rot180(W) is W's tap (k_max − k)
        w = namer.short_weight((o, c - chans.start, *(size - 1 - ki for size, ki in zip(g.kernel_size, k))))
        key = (0, 0, *at)
        marks[key] = (
            Mark("tap", None, w, True) if source is None else Mark("contributor", number[source], w, True)
        )
    title = "padded δ" + slice_label(("n", "o"), (n, o), g.output_shape)
    made = _marked_panels(title, "padded_delta", g.ndim, values, names, (0, 0), marks)
    return [_relead(pl, (n, o), crop) for pl in made]


def _relead(pl: Panel, nc: tuple[int, int], crop: bool) -> Panel:
    """A panel of a one-slice array, given the slice's real ``(n, o)`` (and, with
    ``crop``, cut to its marks and one cell around them)."""
    from dataclasses import replace

    box = None
    if crop and pl.marks:
        (r0, r1), (c0, c1) = _box(pl.marks)
        rows, cols = pl.shape
        box = ((max(0, r0 - 1), min(rows, r1 + 1)), (max(0, c0 - 1), min(cols, c1 + 1)))
    return replace(pl, lead=(*nc, *pl.lead[2:]), crop=box)


def _delta_at(g: Geometry, at: Index) -> Index | None:
    """The δ entry (spatial index) at position ``at`` of the padded δ, or ``None`` on a zero."""
    out = []
    for a, s, (before, _), size in zip(at, g.stride, g.delta_padding, g.out_size):
        v = a - before
        if v < 0 or v % s or v // s >= size:
            return None
        out.append(v // s)
    return tuple(out)


# -- an output, and ∂L/∂w at one weight ----------------------------------------------------------------


def output_picture(ct: OutputTrace, only: Mapping[str, int] | None = None) -> Picture:
    """The window of one output on each input channel of its group (padding taps
    too), the kernel slices it uses, and where the output lies."""
    p, g, namer = ct.problem, ct.problem.geom, ct.namer
    n, o, *pos = ct.index
    cg = g.in_channels // g.groups
    first = (o // (g.out_channels // g.groups)) * cg
    reads = [
        ((n, first + ch, *_position(g, pos, k)), (o, ch, *k))
        for ch in range(cg)
        for k in np.ndindex(*g.kernel_size)
    ]
    mark_of = {
        full: Mark("contributor" if _inside(g, full[2:]) else "padding_tap", 0, namer.short_weight(wk))
        for full, wk in reads
    }
    x_names = _names(namer, "input", g.input_shape)
    windows = _window_panels(f"the window of {ct.name}", g, namer, p.x, x_names, reads, mark_of, cg > 1)
    kernels = []
    w_names = _names(namer, "kernel", g.kernel_shape)
    for ch in range(cg):
        marks = {}
        for full, wk in reads:
            if wk[1] == ch:
                inside = _inside(g, full[2:])
                factor = namer.short_input(full) if inside else "░"
                marks[wk] = Mark("contributor" if inside else "padding_tap", 0, factor, True)
        kernels += _marked_panels("W", "kernel", g.ndim, p.w, w_names, (o, ch), marks)
    y_names = _names(namer, "output", g.output_shape)
    output = _marked_panels("y", "output", g.ndim, None, y_names, (n, o), {tuple(ct.index): Mark("cell", 0)})
    only = only or {}
    return Picture(
        [Section("its window: each input cell with the weight it meets", keep(windows, only)),
         Section("the kernel taps, each with the input cell it meets", keep(kernels, only)),
         Section("where it lies in the output", keep(output, only))],
        [ct.name],
    )  # fmt: skip


def weight_picture(ct: WeightTrace, only: Mapping[str, int] | None = None) -> Picture:
    """Every input cell the weight met (one per window, each sample), and each
    window's δ."""
    p, g, namer = ct.problem, ct.problem.geom, ct.namer
    o, c_local, *k = ct.index
    channel = (o // (g.out_channels // g.groups)) * (g.in_channels // g.groups) + c_local
    numbered = {window: i for i, window in enumerate(np.ndindex(g.batch, *g.out_size))}
    x_names = _names(namer, "input", g.input_shape)
    delta_names = _names(namer, "delta", g.output_shape)
    inputs, deltas, window_names = [], [], []
    for n in range(g.batch):
        reads, mark_of, delta_marks = [], {}, {}
        for pos in np.ndindex(*g.out_size):
            window = (n, *pos)
            i = numbered[window]
            full = (n, channel, *_position(g, pos, k))
            inside = _inside(g, full[2:])
            d = (n, o, *pos)
            reads.append((full, tuple(ct.index)))
            mark_of[full] = Mark("contributor" if inside else "padding_tap", i, namer.short_delta(d))
            if inside:
                delta_marks[d] = Mark("contributor", i, namer.short_input(full), True)
        inputs += _window_panels("x", g, namer, p.x, x_names, reads, mark_of, False)
        deltas += _marked_panels("δ", "delta", g.ndim, p.delta, delta_names, (n, o), delta_marks)
    window_names = [namer.output((0, o, *pos)) if g.batch == 1 else f"y[{n},{o},{','.join(map(str, pos))}]"
                    for n, *pos in numbered]  # fmt: skip
    w_names = _names(namer, "kernel", g.kernel_shape)
    kernel = _marked_panels(
        "W", "kernel", g.ndim, p.w, w_names, (o, c_local), {tuple(ct.index): Mark("cell")}
    )
    only = only or {}
    return Picture(
        [Section(f"the input cells {ct.name} met, each with its window's δ", keep(inputs, only)),
         Section("each window's δ, with the input cell it met", keep(deltas, only)),
         Section("the weight", keep(kernel, only))],
        window_names,
    )  # fmt: skip


# -- forward and backward ----------------------------------------------------------------------------


def _sections(items: list[tuple[str, list[Panel]]], only: Mapping[str, int] | None) -> list[Section]:
    return [Section(title, keep(panels, only or {})) for title, panels in items if panels]


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
            [("input x" + (", with its padding" if padded else ""), inputs),
             ("kernel W", array_panels("", "kernel", p.w, namer.grid("kernel") if named else None, g.ndim)),
             ("output y", array_panels("", "output", result.output, namer.grid("output") if named else None, g.ndim))],
            only,
        ),
        [],
    )  # fmt: skip


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
        zeros = _axes(s - 1 for s in g.stride)
        title = f"dilated δ: stride − 1 = {zeros} zero(s) between neighbours"
        items.append(
            (
                title,
                array_panels(
                    "", "dilated_delta", result.dilated_delta.values, result.dilated_delta.names, sp
                ),
            )
        )
    pads = ", ".join(f"{b}/{a}" for b, a in g.delta_padding)
    extra = f"; {_axes(g.uncovered)} uncovered row/col at the end" if any(g.uncovered) else ""
    title = f"padded δ: before/after {pads} = dilation·(k−1) − padding{extra}"
    items.append(
        (title, array_panels("", "padded_delta", result.padded_delta.values, result.padded_delta.names, sp))
    )
    title = "flipped kernel rot180(W)" + (
        f", dilated by {_axes(g.dilation)} (its holes are zeros)" if any(d > 1 for d in g.dilation) else ""
    )
    items.append((title, array_panels("", "flipped_kernel", dilated_kernel[0], dilated_kernel[1], sp)))
    if result.input_grad is not None:
        items.append(("∂L/∂x", array_panels("", "input_grad", result.input_grad, None, sp)))
    if result.weight_grad is not None:
        title = "∂L/∂W = input ⋆ dilated δ"
        items.append((title, array_panels("", "weight_grad", result.weight_grad, None, sp)))
    return Picture(_sections(items, only), [])


def shape_arithmetic(g: Geometry) -> str:
    """Why correlating the padded δ with the (dilated) flipped kernel gives the input's size."""
    rows = [f"{p} − {e} + 1 = {n}" for p, e, n in zip(g.padded_delta_size, g.kernel_extent, g.in_size)]
    padded = "×".join(map(str, g.padded_delta_size))
    extent = "×".join(map(str, g.kernel_extent))
    return (
        f"∂L/∂x = correlate(padded δ {padded}, flipped kernel {extent}): "
        + ", ".join(rows)
        + f" — the input's {'×'.join(map(str, g.in_size))}"
    )


def _axes(t: Iterable[int]) -> str:
    t = tuple(t)
    return str(t[0]) if len(set(t)) == 1 else "×".join(map(str, t))
