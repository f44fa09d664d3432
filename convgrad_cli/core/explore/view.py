"""The panels of one :class:`~.state.State`, by slot, and the lines under them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import prod

import numpy as np

from convgrad_cli.core.explain import CellTrace, InputTrace
from convgrad_cli.core.names import Index
from convgrad_cli.core.panels import Mark, Panel, panel
from convgrad_cli.core.pictures.base import marked_panels, padded_input, read_at
from convgrad_cli.core.views.blocks import Block, Legend, Panels, Sentence, Together
from convgrad_cli.core.views.cells import cell as drawn_cell
from convgrad_cli.core.views.cells import show_names
from convgrad_cli.core.views.numbers import fmt
from convgrad_cli.core.views.parts import by_terms, example, window_legend

from .state import Grade, State
from .words import WORDS


@dataclass(frozen=True)
class View:
    """The panels of one state, by slot, and the lines under them."""

    input: Panel | None
    kernel: Panel | None
    delta: Panel | None
    input_grad: Panel | None
    overlay: Panel | None
    expression: str  # the cursor cell's result, ``∂L/∂b = w2·δ1 + w1·δ2 = 3``
    step: str  # what the last step of the backward pass added, or how to play it
    windows: list[str]  # the window of each colour
    legend: Legend  # the windows' colours, or past the palette how their names tell them apart

    def picture(self) -> Together:
        """The panels and lines as the views' blocks, drawn together (the app's export)."""
        grids = tuple(p for p in (self.input, self.delta, self.kernel, self.input_grad) if p is not None)
        blocks: list[Block] = [Panels("", grids)]
        if self.overlay is not None:
            blocks.append(Panels("", (self.overlay,)))
        return Together((*blocks, Sentence.of(self.expression, strong=True), Sentence.of(self.step)))


def view(s: State) -> View:
    """The panels and lines of ``s``."""
    p = s.problem
    marks, windows, (x_lead, d_lead, w_lead) = FOCUS[s.focus](s)
    grad = None
    step_line = "space steps through the backward pass, window by window"
    if s.step:
        grad, step_line = _stepped(s, marks, x_lead, d_lead)
    asked = s.quiz and s.focus == "input"
    if asked:  # what would give the answer away: its terms, and the windows that make them
        marks = {key: {} for key in marks}
        marks["input"][tuple(s.index)] = marks["input_grad"][tuple(s.index)] = Mark("cell")
        windows = []
        step_line = QUIZ if s.graded is None else feedback(s.graded)
    overlay = _overlay_panel(s) if s.focus == "input" else None
    if overlay is not None and s.step:
        overlay = _pending(s, overlay)
    panels = {
        "input": _input_panel(s, x_lead, marks["input"]),
        "kernel": _panel(s, "W", "kernel", p.w, "kernel", w_lead, marks["kernel"]),
        "delta": _panel(s, "δ", "delta", p.delta, "delta", d_lead, marks["delta"]),
        "input_grad": _grad_panel(s, x_lead, marks["input_grad"], grad),
        "overlay": replace(overlay, marks={}) if overlay is not None and asked else overlay,
    }
    return View(
        **panels,
        expression=_expression(s),
        step=step_line,
        windows=windows,
        legend=_step_legend(list(panels.values())) if s.step and not asked else _legend(s, windows),
    )


Marks = dict[str, dict[Index, Mark]]
Leads = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]


def _input_marks(s: State) -> tuple[Marks, list[str], Leads]:
    """An input cell: its windows, the δ and taps of its terms, every cell sharing a window."""
    g, namer, ct = s.problem.geom, s.namer, s.trace
    marks: Marks = {"input": {}, "kernel": {}, "delta": {}, "input_grad": {}}
    windows: list[str] = []
    n, c = s.index[0], s.index[1]
    x_lead, d_lead, w_lead = (n, c), (n, s.other), (s.other, c % (g.in_channels // g.groups))
    number: dict[Index, int] = {}
    for t in ct.terms:
        number.setdefault(tuple(t.delta[2:]), len(number))
        j = number[tuple(t.delta[2:])]
        if t.delta[1] == s.other:
            marks["delta"][t.delta] = Mark("contributor", j, namer.weight(t.weight), True)
            marks["kernel"][t.weight] = Mark("contributor", j, namer.delta(t.delta))
    windows = [namer.output((n, s.other, *pos)) for pos in number]
    for pos in number:  # every cell that shares a window with it, in no window's colour
        for k in np.ndindex(*g.kernel_size):
            at = read_at(g, pos, k)
            if all(0 <= a < size for a, size in zip(at, g.in_size)):
                marks["input"][(n, c) + tuple(at)] = Mark("window")
    marks["input"][tuple(s.index)] = Mark("cell")
    marks["input_grad"][tuple(s.index)] = Mark("cell")
    return marks, windows, (x_lead, d_lead, w_lead)


def _output_marks(s: State) -> tuple[Marks, list[str], Leads]:
    """An output: its window's cells, each with its tap, on the followed channel."""
    g, namer, ct = s.problem.geom, s.namer, s.trace
    marks: Marks = {"input": {}, "kernel": {}, "delta": {}, "input_grad": {}}
    windows: list[str] = []
    n, o = s.index[0], s.index[1]
    x_lead, d_lead, w_lead = (n, s.other), (n, o), (o, s.other % (g.in_channels // g.groups))
    windows = [ct.name]
    for t in ct.terms:
        if t.input[1] == s.other:
            marks["input"][t.input] = Mark("contributor", 0, namer.weight(t.weight))
            marks["kernel"][t.weight] = Mark("contributor", 0, namer.input(t.input), True)
            marks["input_grad"][t.input] = Mark("contributor", 0, namer.weight(t.weight), True)
    marks["delta"][tuple(s.index)] = Mark("cell", 0)
    return marks, windows, (x_lead, d_lead, w_lead)


def _kernel_marks(s: State) -> tuple[Marks, list[str], Leads]:
    """A weight: the input cell and δ of each of its terms, one window each."""
    g, namer, ct = s.problem.geom, s.namer, s.trace
    marks: Marks = {"input": {}, "kernel": {}, "delta": {}, "input_grad": {}}
    windows: list[str] = []
    o, cl = s.index[0], s.index[1]
    c = (o // (g.out_channels // g.groups)) * (g.in_channels // g.groups) + cl
    x_lead, d_lead, w_lead = (0, c), (0, o), (o, cl)
    for j, t in enumerate(t for t in ct.terms if t.input[0] == 0):
        marks["input"][t.input] = Mark("contributor", j, namer.delta(t.delta))
        marks["delta"][t.delta] = Mark("contributor", j, namer.input(t.input), True)
        windows.append(namer.output(t.delta))
    marks["kernel"][tuple(s.index)] = Mark("cell")
    return marks, windows, (x_lead, d_lead, w_lead)


FOCUS = {"input": _input_marks, "output": _output_marks, "kernel": _kernel_marks}

#: The quiz's line before an answer: why the panels went quiet.
QUIZ = "its terms' marks are hidden until the answer is right (esc shows them)"
#: Columns of the terminal app's lines at its smallest: 80, less a column of padding either side.
LINE = 78


def feedback(grade: Grade, width: int = LINE) -> str:
    """A wrong answer's terms, on one line of ``width``: those right, how many are
    missing, those extra — counted instead of listed where the list would not fit.

    Examples
    --------
    >>> feedback(Grade(("w4·δ2",), ("w1·δ6", "w2·δ5", "w3·δ3"), ("w3·δ4",)))
    'right: w4·δ2 · missing: 3 · extra: w3·δ4'
    >>> feedback(Grade(("w4·δ2",), ("w1·δ6",), tuple(f"w{i}·δ{j}" for i in range(1, 5) for j in (1, 4))), 64)
    'right: w4·δ2 · missing: 1 · extra: 8 (w1·δ1, w1·δ4, … 6 more)'
    """
    right, extra = ", ".join(grade.right) or "—", ", ".join(grade.extra) or "—"
    said = f"right: {right} · missing: {len(grade.missing)} · extra: {extra}"
    if len(said) <= width:
        return said
    if len(grade.right) > 1:
        right = f"{len(grade.right)} of {len(grade.right) + len(grade.missing)}"
    head = f"right: {right} · missing: {len(grade.missing)} · extra: "
    for shown in range(len(grade.extra), -1, -1):
        listed = ", ".join(grade.extra[:shown] + (f"… {len(grade.extra) - shown} more",))
        said = head + (extra if shown == len(grade.extra) else f"{len(grade.extra)} ({listed})")
        if len(said) <= width:
            return said
    return said


def _legend(s: State, windows: list[str]) -> Legend:
    """The model's legend of the windows: an input cell's windows are told apart by the δ in
    its terms, a weight's by the input cell and δ of each term, an output is one window."""
    if not windows:
        return Legend(())
    first = windows[0]
    if s.focus == "kernel":
        told = f"{first}'s term, in ∂L/∂{s.trace.name}'s sum"
    else:
        told = by_terms(first)
    return window_legend(windows, told)


#: What the marks of a step mean, in the legend's order (the cell followed keeps its
#: brackets, as the help says: the line is one at 80 columns without it).
STEP_MEANINGS = (
    ("current", "this step's window"),
    ("added", "the term it adds"),
    ("pending", "to come"),
)


def _step_legend(panels: list[Panel | None]) -> Legend:
    """The marks of a step, each with an example as drawn, on one line: the window the
    step adds, a term it adds to ∂L/∂x, a term of the padded δ still to come."""
    examples: dict[str, str] = {}
    for pl in panels:
        if pl is None:
            continue
        names, bare = show_names(pl), replace(pl, marks={})
        for (r, c), mark in pl.marks.items():
            own = drawn_cell(bare, r, c, names).head
            if mark.current:
                examples.setdefault("current", f"▸{own}")
            if mark.added and (mark.role == "cell" or "added" not in examples):  # the cell followed's
                examples["added"] = f"+{mark.added}"
            if mark.role == "pending":
                examples.setdefault("pending", example(pl, (r, c), names))
    said = [f"{examples[key]} {meaning}" for key, meaning in STEP_MEANINGS if key in examples]
    return Legend((" · ".join(said),) if said else ())


def _stepped(
    s: State, marks: dict[str, dict[Index, Mark]], x_lead: Index, d_lead: Index
) -> tuple[np.ndarray | None, str]:
    """The marks of the window the last step added — its δ entry (``▸δ2``), the cells
    it read with the weight each met, the taps with its δ, the terms it adds to ∂L/∂x
    (``+w1·δ2``) — the cell followed keeping its brackets; and ∂L/∂x so far."""
    g, namer, w = s.problem.geom, s.namer, s.windows
    n = w.sample
    j = s.step - 1
    o, pos = divmod(j, prod(g.out_size))
    spatial = np.unravel_index(pos, g.out_size)
    d_index = (n, o, *map(int, spatial))
    followed = {key: {i: m for i, m in marks[key].items() if m.role == "cell"} for key in marks}
    for key in ("input", "kernel", "delta", "input_grad"):
        marks[key] = {}
    part = w.of_window(j)
    dname = namer.delta(d_index)
    added: list[str] = []
    for xi, wi in zip(w.input[part], w.weight[part]):
        c, *q = np.unravel_index(int(xi), (g.in_channels, *g.in_size))
        wk = tuple(int(v) for v in np.unravel_index(int(wi), g.kernel_shape))
        full = (n, int(c), *map(int, q))
        if int(c) == x_lead[1]:
            marks["input"][full] = Mark("window", 0, namer.weight(wk))
            marks["input_grad"][full] = Mark("contributor", 0, added=f"{namer.weight(wk)}·{dname}")
        marks["kernel"][wk] = Mark("contributor", 0, dname)
        said = WORDS["add"].format(weight=namer.weight(wk), delta=dname, input=namer.input(full))
        added.insert(0 if full == tuple(s.index) else len(added), said)  # the cell followed first
    marks["delta"][d_index] = Mark("contributor", 0, current=True)
    if d_index[:2] != tuple(d_lead):
        marks["delta"] = {}
    for key, cells in followed.items():  # the cell followed, with what this window does to it
        for i, mark in cells.items():
            now = marks[key].get(i)
            marks[key][i] = replace(mark, window=None) if now is None else replace(now, role="cell")
    for listed in range(min(4, len(added)), -1, -1):  # as many as one line holds (∂L/∂x shows them all)
        more = WORDS["more"].format(count=len(added) - listed) if len(added) > listed else ""
        shown = ", ".join(added[:listed]) + more if listed else more.removeprefix(", ")
        line = WORDS["step"].format(
            step=s.step, count=w.count, output=namer.output(d_index), adds=shown or WORDS["nothing"]
        )
        if len(line) <= LINE:
            break
    partial = w.partial(s.step)
    return (None if partial is None else partial[x_lead[1]]), line


def _expression(s: State) -> str:
    ct = s.trace
    if s.quiz and s.focus == "input":
        return f"{ct.lhs} = ?  (type its terms, e.g. w2·δ1 + w1·δ2)"
    if s.step and s.focus == "input":
        done = [t for t in ct.terms if _window_number(s, t.delta) < s.step]
        part = ct.with_terms(done)
        value = "" if part.value is None else f" = {fmt(part.value)}"
        return WORDS["so_far"].format(lhs=ct.lhs, expression=part.expression, value=value, all=ct.expression)
    value = "" if ct.value is None else f" = {fmt(ct.value)}"
    return f"{ct.lhs} = {_shortened(ct)}{value}"


#: Terms an expression shows before it is shortened (a weight of a 32×32 layer meets a thousand).
SHOWN_TERMS = 12


def _shortened(ct: CellTrace) -> str:
    """The expression, or its first and last terms and how many there are."""
    if len(ct.terms) <= SHOWN_TERMS:
        return ct.expression
    head = ct.with_terms(ct.terms[: SHOWN_TERMS - 2]).expression
    tail = ct.with_terms(ct.terms[-2:]).expression
    return f"{head} + … + {tail} ({len(ct.terms)} terms)"


def _window_number(s: State, delta: Index) -> int:
    g = s.problem.geom
    return delta[1] * prod(g.out_size) + int(np.ravel_multi_index(delta[2:], g.out_size))


def _input_panel(s: State, lead: Index, marks: dict[Index, Mark]) -> Panel | None:
    p, g = s.problem, s.problem.geom
    names = s.derived.names["input"]
    if g.ndim == 3:
        z = s.index[2] if s.focus == "input" else 0
        lead = (*lead, z)
    cells = {}
    pads = g.padding[-2:] if g.ndim > 1 else ((0, 0), *g.padding)
    for full, mark in marks.items():
        if tuple(full[: len(lead)]) != tuple(lead):
            continue
        r, c = (0, full[-1]) if g.ndim == 1 else (full[-2], full[-1])
        cells[(r + pads[0][0], c + pads[1][0])] = mark
    made = padded_input("x", g, p.x, names, lead, cells, crop=False)
    if s.focus == "input":
        r, c = (0, s.index[-1]) if g.ndim == 1 else (s.index[-2], s.index[-1])
        made = replace(made, focus=(r + pads[0][0], c + pads[1][0]))
    return made


def _panel(
    s: State,
    title: str,
    kind: str,
    values: np.ndarray | None,
    array: str,
    lead: Index,
    marks: dict[Index, Mark],
) -> Panel | None:
    g = s.problem.geom
    shape = g.kernel_shape if kind == "kernel" else g.output_shape
    names = s.derived.names[kind]
    if g.ndim == 3:
        z = s.index[2] if s.focus == kind or (s.focus == "output" and kind == "delta") else 0
        marks = {i: m for i, m in marks.items() if i[2] == z} or {}
        lead = (*lead, min(z, shape[2] - 1))
    made = marked_panels(title, array, g.ndim, values, names, tuple(lead[:2]), marks)
    if not made:
        return None
    if g.ndim == 3:
        cells = {(i[3], i[4]): m for i, m in marks.items()}
        return panel(title, array, tuple(lead), values, names, g.ndim, cells, next(iter(cells), None))
    return made[0]


def _grad_panel(s: State, lead: Index, marks: dict[Index, Mark], partial: np.ndarray | None) -> Panel | None:
    """∂L/∂x of the slice: whole, or as far as the backward pass has come."""
    g = s.problem.geom
    if partial is not None:
        values = partial[None, None]
        lead_here: Index = (0, 0)
    else:
        if s.derived.input_grad is None:
            return None
        values = s.derived.input_grad
        lead_here = tuple(lead)
    if g.ndim == 3:
        z = s.index[2] if s.focus == "input" else 0
        lead_here = (*lead_here, z)
        marks = {i: m for i, m in marks.items() if i[2] == z}
    cells = {
        ((0, i[-1]) if g.ndim == 1 else (i[-2], i[-1])): m
        for i, m in marks.items()
        if tuple(i[:2]) == tuple(lead)
    }
    focus = next(iter(cells), None)
    title = "∂L/∂x so far" if partial is not None else "∂L/∂x"
    made = panel(title, "input_grad", lead_here, values, None, g.ndim, cells, focus)
    if partial is not None:
        made = replace(made, lead=tuple(lead) + made.lead[2:])
    return made


def _pending(s: State, overlay: Panel) -> Panel:
    """The padded δ under the flipped kernel as far as the backward pass has come: a
    term whose window is still to come is ``pending``: faint, as the page draws it, and
    in parentheses."""
    g = s.problem.geom
    marks = dict(overlay.marks)
    for cell, mark in overlay.marks.items():
        if mark.role != "contributor":
            continue
        _, o, *at = overlay.index(cell)
        source = g.delta_at(tuple(at))
        if source is not None and _window_number(s, (0, o, *source)) >= s.step:
            marks[cell] = replace(mark, role="pending", window=None)
    return replace(overlay, marks=marks)


def _overlay_panel(s: State) -> Panel | None:
    """The padded δ under the flipped kernel at the cursor's cell, as `trace` draws it."""
    from convgrad_cli.core.pictures.trace import _overlay

    ct = s.trace
    assert isinstance(ct, InputTrace)
    number: dict[Index, int] = {}
    for t in ct.terms:
        number.setdefault(tuple(t.delta[2:]), len(number))
    made = _overlay(ct, s.other, number, crop=False, delta_names=s.derived.names["delta"])
    # 3-D: one panel per depth the kernel covers; the one where a term lies says most
    with_terms = [pl for pl in made if any(m.role == "contributor" for m in pl.marks.values())]
    chosen = with_terms or made
    return chosen[0] if chosen else None
