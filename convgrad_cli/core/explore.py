"""What `explore` shows, as data: the layer the keys change, the cell under the
cursor, the backward pass played window by window, the quiz — and the panels
that draw them, marked from the trace terms as `trace` marks its pictures.

No Textual here: the terminal app (:mod:`convgrad_cli.tui`) and the web page
(:mod:`convgrad_cli.render.page`) both draw from a :class:`State`.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, replace
from functools import cached_property
from math import prod

import numpy as np

from convgrad_cli.errors import ConvgradError

from . import terms
from .explain import CellTrace, InputTrace, OutputTrace, WeightTrace
from .names import Index, Namer
from .panels import Mark, Panel
from .pictures.base import marked_panels, names_of, padded_input, read_at
from .problem import Fill, Problem, build

#: What the cursor can sit on, in the order Tab visits them.
ARRAYS = ("input", "output", "kernel")
#: What each key of the layer changes, and by how much.
KNOBS = ("stride", "padding", "dilation", "kernel", "size", "in_channels", "out_channels", "groups")


@dataclass(frozen=True)
class Layer:
    """The layer as the keys change it: every axis alike, padding symmetric."""

    in_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    batch: int
    in_channels: int
    out_channels: int
    groups: int
    stride: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]
    numbers: bool  # numbers under the names, or names alone

    @classmethod
    def of(cls, p: Problem) -> Layer:
        g = p.geom
        return cls(g.in_size, g.kernel_size, g.batch, g.in_channels, g.out_channels, g.groups, g.stride,
                   g.padding, g.dilation, p.x is not None and p.w is not None)  # fmt: skip

    def changed(self, knob: str, by: int) -> Layer:
        """The layer with one knob turned by ``by`` (on every axis)."""

        def step(values: tuple[int, ...], low: int) -> tuple[int, ...]:
            return tuple(max(low, v + by) for v in values)

        if knob == "stride":
            return replace(self, stride=step(self.stride, 1))
        if knob == "dilation":
            return replace(self, dilation=step(self.dilation, 1))
        if knob == "padding":
            return replace(self, padding=tuple((max(0, b + by), max(0, a + by)) for b, a in self.padding))
        if knob == "kernel":
            return replace(self, kernel_size=step(self.kernel_size, 1))
        if knob == "size":
            return replace(self, in_size=step(self.in_size, 1))
        if knob in ("in_channels", "out_channels"):  # by whole groups, so that groups still divide
            return replace(self, **{knob: max(self.groups, getattr(self, knob) + by * self.groups)})
        if knob == "groups":  # the next count that divides both channel counts
            options = [d for d in range(1, self.in_channels + 1)
                       if self.in_channels % d == 0 and self.out_channels % d == 0]  # fmt: skip
            i = options.index(self.groups) if self.groups in options else 0
            return replace(self, groups=options[(i + by) % len(options)])
        raise ValueError(knob)


def build_layer(layer: Layer, base: Problem) -> Problem:
    """The problem of ``layer``: the config's own arrays while their shapes hold,
    else 1, 2, 3 … (or names), δ of ones."""
    g = base.geom

    def operand(given: np.ndarray | None, shape: tuple[int, ...]) -> object:
        if not layer.numbers:
            return Fill("names", shape)
        return given if given is not None and given.shape == shape else Fill("arange", shape)

    x_shape = (layer.batch, layer.in_channels, *layer.in_size)
    w_shape = (layer.out_channels, layer.in_channels // layer.groups, *layer.kernel_size)
    same = x_shape == g.input_shape and w_shape == g.kernel_shape
    same = same and (layer.stride, layer.padding, layer.dilation) == (g.stride, g.padding, g.dilation)
    delta: object = base.delta if same and layer.numbers and base.delta is not None else Fill("ones")
    if not layer.numbers:
        delta = Fill("names")
    return build(
        operand(base.x, x_shape), operand(base.w, w_shape), delta=delta, stride=layer.stride,
        padding=layer.padding, dilation=layer.dilation, groups=layer.groups, dims=len(layer.in_size),
        dtype=base.dtype, seed=base.seed, source=base.source, max_bytes=base.max_bytes,
    )  # fmt: skip


# -- the backward pass, window by window --------------------------------------------------------


@dataclass(frozen=True)
class Windows:
    """Every term of ∂L/∂x of one sample, in the order the backward pass adds
    them: window by window (output channel, then position, row-major), each
    window adding ``w·δ`` to every input cell it read."""

    problem: Problem
    sample: int
    window: np.ndarray  # (T,) the window's number of each term
    input: np.ndarray  # (T,) the flat index, within the sample, of the input cell it adds to
    weight: np.ndarray  # (T,) the flat index of its weight in W
    delta: np.ndarray  # (T,) the flat index, within the sample, of its δ entry
    count: int  # windows in all

    @classmethod
    def of(cls, p: Problem, sample: int) -> Windows:
        g = p.geom
        og, cg = g.out_channels // g.groups, g.in_channels // g.groups
        o, cl, *rest = np.meshgrid(np.arange(g.out_channels), np.arange(cg),
                                   *[np.arange(n) for n in g.out_size], *[np.arange(k) for k in g.kernel_size],
                                   indexing="ij")  # fmt: skip
        pos, taps = rest[: g.ndim], rest[g.ndim :]
        at = [q * s + k * d - b for q, k, s, d, (b, _) in zip(pos, taps, g.stride, g.dilation, g.padding)]
        inside = np.logical_and.reduce([(a >= 0) & (a < n) for a, n in zip(at, g.in_size)])
        c = (o // og) * cg + cl
        flat_pos = np.ravel_multi_index(pos, g.out_size) if g.ndim else 0
        window = (o * prod(g.out_size) + flat_pos)[inside]
        x_index = np.ravel_multi_index((c, *at), (g.in_channels, *g.in_size), mode="clip")[inside]
        w_index = np.ravel_multi_index((o, cl, *taps), g.kernel_shape)[inside]
        d_index = window
        order = np.argsort(window, kind="stable")
        return cls(p, sample, window[order], x_index[order], w_index[order], d_index[order],
                   g.out_channels * prod(g.out_size))  # fmt: skip

    def upto(self, step: int) -> slice:
        """The terms of the first ``step`` windows."""
        return slice(0, int(np.searchsorted(self.window, step, side="left")))

    def of_window(self, j: int) -> slice:
        return slice(
            int(np.searchsorted(self.window, j, "left")), int(np.searchsorted(self.window, j, "right"))
        )

    def partial(self, step: int) -> np.ndarray | None:
        """∂L/∂x of the sample after ``step`` windows, ``(C, *in)``; ``None`` with names only."""
        p, g = self.problem, self.problem.geom
        if p.w is None or p.delta is None:
            return None
        part = self.upto(step)
        products = p.w.reshape(-1)[self.weight[part]] * p.delta[self.sample].reshape(-1)[self.delta[part]]
        summed = np.bincount(self.input[part], weights=products, minlength=g.in_channels * prod(g.in_size))
        return summed.reshape(g.in_channels, *g.in_size).astype(p.delta.dtype)

    def received(self, step: int) -> np.ndarray:
        """How many terms each input cell of the sample holds after ``step`` windows."""
        g = self.problem.geom
        counts = np.bincount(self.input[self.upto(step)], minlength=g.in_channels * prod(g.in_size))
        return counts.reshape(g.in_channels, *g.in_size)


# -- the state ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grade:
    """A quiz answer against the expression: its terms right, missing and extra."""

    right: tuple[str, ...]
    missing: tuple[str, ...]
    extra: tuple[str, ...]

    @property
    def correct(self) -> bool:
        return not self.missing and not self.extra


def normal_terms(text: str) -> set[str]:
    """``w2·δ1 + w1·δ2`` as a set of terms, however typed: ``w2*d1+w1 d2`` too,
    factors in either order."""
    out = set()
    for term in re.split(r"\s*\+\s*", text.strip()):
        if not term or term == "0":
            continue
        term = re.sub(r"(?<![a-zA-Z])d(?=\d|\[)", "δ", term)
        factors = [f for f in re.split(r"\s*[·*.]\s*|\s+", term) if f]
        out.add("·".join(sorted(factors)))
    return out


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
        from . import rules

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
        shape = {"input": problem.geom.input_shape, "output": problem.geom.output_shape,
                 "kernel": problem.geom.kernel_shape}[self.focus]  # fmt: skip
        index = tuple(min(i, s - 1) for i, s in zip(self.index, shape))
        moved = replace(self, problem=problem, layer=layer, derived=Derived.of(problem), index=index, step=0,
                        message=what)  # fmt: skip
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
        want = normal_terms(self.trace.expression)
        got = normal_terms(answer)
        return Grade(tuple(sorted(want & got)), tuple(sorted(want - got)), tuple(sorted(got - want)))

    # -- what is shown ---------------------------------------------------------------------------

    @property
    def namer(self) -> Namer:
        return self.derived.namer

    @cached_property
    def trace(self) -> CellTrace:
        p, g, idx = self.problem, self.problem.geom, self.index
        if self.focus == "input":
            return InputTrace(p, self.namer, idx, terms.input_terms(g, idx))
        if self.focus == "output":
            return OutputTrace(p, self.namer, idx, terms.output_terms(g, idx))
        return WeightTrace(p, self.namer, idx, terms.weight_terms(g, idx))

    @cached_property
    def view(self) -> View:
        return _view(self)

    def command(self) -> str:
        """The `convgrad trace` command that shows the cursor's cell, with the layer's flags."""
        g = self.problem.geom

        def axes(t: tuple[int, ...]) -> str:
            return str(t[0]) if len(set(t)) == 1 else ",".join(map(str, t))

        flag = {"input": "--input", "output": "--output", "kernel": "--weight"}[self.focus]
        shape = "x".join(map(str, g.input_shape))
        kernel = "x".join(map(str, g.kernel_shape))
        fill = "arange" if self.layer.numbers else "names"
        pads = g.padding
        padding = (
            axes(tuple(b for b, _ in pads)) if all(b == a for b, a in pads) else str([list(p) for p in pads])
        )
        parts = [f"convgrad trace {flag} {shlex.quote(self.trace.name)}", f"--x {fill}:{shape}",
                 f"-k {fill}:{kernel}", f"--stride {axes(g.stride)}", f"--padding {padding}",
                 f"--dilation {axes(g.dilation)}", f"--groups {g.groups}"]  # fmt: skip
        return " ".join(parts)


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


def _view(s: State) -> View:
    p, g, namer = s.problem, s.problem.geom, s.namer
    ct = s.trace
    marks: dict[str, dict[Index, Mark]] = {"input": {}, "kernel": {}, "delta": {}, "input_grad": {}}
    windows: list[str] = []
    if s.focus == "input":
        n, c = s.index[0], s.index[1]
        x_lead, d_lead, w_lead = (n, c), (n, s.other), (s.other, c % (g.in_channels // g.groups))
        number: dict[Index, int] = {}
        for t in ct.terms:
            number.setdefault(tuple(t.delta[2:]), len(number))
            j = number[tuple(t.delta[2:])]
            if t.delta[1] == s.other:
                marks["delta"][t.delta] = Mark("contributor", j, namer.short_weight(t.weight), True)
                marks["kernel"][t.weight] = Mark("contributor", j, namer.short_delta(t.delta))
        windows = [namer.output((n, s.other, *pos)) for pos in number]
        for pos in number:  # every cell that shares a window with it, in no window's colour
            for k in np.ndindex(*g.kernel_size):
                at = read_at(g, pos, k)
                if all(0 <= a < size for a, size in zip(at, g.in_size)):
                    marks["input"][(n, c) + tuple(at)] = Mark("window")
        marks["input"][tuple(s.index)] = Mark("cell")
        marks["input_grad"][tuple(s.index)] = Mark("cell")
    elif s.focus == "output":
        n, o = s.index[0], s.index[1]
        x_lead, d_lead, w_lead = (n, s.other), (n, o), (o, s.other % (g.in_channels // g.groups))
        windows = [ct.name]
        for t in ct.terms:
            if t.input[1] == s.other:
                marks["input"][t.input] = Mark("contributor", 0, namer.short_weight(t.weight))
                marks["kernel"][t.weight] = Mark("contributor", 0, namer.short_input(t.input), True)
                marks["input_grad"][t.input] = Mark("contributor", 0, namer.short_weight(t.weight), True)
        marks["delta"][tuple(s.index)] = Mark("cell", 0)
    else:
        o, cl = s.index[0], s.index[1]
        c = (o // (g.out_channels // g.groups)) * (g.in_channels // g.groups) + cl
        x_lead, d_lead, w_lead = (0, c), (0, o), (o, cl)
        for j, t in enumerate(t for t in ct.terms if t.input[0] == 0):
            marks["input"][t.input] = Mark("contributor", j, namer.short_delta(t.delta))
            marks["delta"][t.delta] = Mark("contributor", j, namer.short_input(t.input), True)
            if j < 14:  # the legend names the first windows' colours
                windows.append(namer.output(t.delta))
        marks["kernel"][tuple(s.index)] = Mark("cell")
    grad = None
    step_line = "space steps through the backward pass, window by window"
    if s.step:
        grad, step_line = _stepped(s, marks, x_lead, d_lead)
    return View(
        input=_input_panel(s, x_lead, marks["input"]),
        kernel=_panel(s, "W", "kernel", p.w, "kernel", w_lead, marks["kernel"]),
        delta=_panel(s, "δ", "delta", p.delta, "delta", d_lead, marks["delta"]),
        input_grad=_grad_panel(s, x_lead, marks["input_grad"], grad),
        overlay=_overlay_panel(s) if s.focus == "input" and not s.step else None,
        expression=_expression(s),
        step=step_line,
        windows=windows,
    )


def _stepped(s: State, marks: dict[str, dict[Index, Mark]], x_lead: Index, d_lead: Index
             ) -> tuple[np.ndarray | None, str]:  # fmt: skip
    """The marks of the window the last step added, and ∂L/∂x so far."""
    g, namer, w = s.problem.geom, s.namer, s.windows
    n = w.sample
    j = s.step - 1
    o, pos = divmod(j, prod(g.out_size))
    spatial = np.unravel_index(pos, g.out_size)
    d_index = (n, o, *map(int, spatial))
    for key in ("input", "kernel", "delta", "input_grad"):
        marks[key] = {}
    part = w.of_window(j)
    dname = namer.short_delta(d_index)
    added = []
    for xi, wi in zip(w.input[part], w.weight[part]):
        c, *q = np.unravel_index(int(xi), (g.in_channels, *g.in_size))
        wk = tuple(int(v) for v in np.unravel_index(int(wi), g.kernel_shape))
        full = (n, int(c), *map(int, q))
        if int(c) == x_lead[1]:
            marks["input"][full] = Mark("window", 0, namer.short_weight(wk))
            marks["input_grad"][full] = Mark("contributor", 0, f"+{namer.short_weight(wk)}·{dname}")
        marks["kernel"][wk] = Mark("contributor", 0, dname)
        added.append(f"{namer.weight(wk)}·{namer.delta(d_index)} to ∂L/∂{namer.input(full)}")
    marks["delta"][d_index] = Mark("cell", 0)
    if d_index[:2] != tuple(d_lead):
        marks["delta"] = {}
    shown = ", ".join(added[:4]) + (f", … {len(added) - 4} more" if len(added) > 4 else "")
    line = f"step {s.step} of {w.count}: the window of {namer.output(d_index)} adds " + (shown or "nothing")
    partial = w.partial(s.step)
    return (None if partial is None else partial[x_lead[1]]), line


def _expression(s: State) -> str:
    ct = s.trace
    if s.quiz and s.focus == "input":
        return f"{ct.lhs} = ?  (type its terms, e.g. w2·δ1 + w1·δ2)"
    if s.step and s.focus == "input":
        done = [t for t in ct.terms if _window_number(s, t.delta) < s.step]
        part = InputTrace(ct.problem, ct.namer, ct.index, done)
        value = "" if part.value is None else f" = {_number(part.value)}"
        return f"{ct.lhs} so far = {part.expression}{value}  (of {ct.expression})"
    value = "" if ct.value is None else f" = {_number(ct.value)}"
    return f"{ct.lhs} = {_shortened(ct)}{value}"


#: Terms an expression shows before it is shortened (a weight of a 32×32 layer meets a thousand).
SHOWN_TERMS = 12


def _shortened(ct: CellTrace) -> str:
    """The expression, or its first and last terms and how many there are."""
    if len(ct.terms) <= SHOWN_TERMS:
        return ct.expression
    head = type(ct)(ct.problem, ct.namer, ct.index, ct.terms[: SHOWN_TERMS - 2]).expression
    tail = type(ct)(ct.problem, ct.namer, ct.index, ct.terms[-2:]).expression
    return f"{head} + … + {tail} ({len(ct.terms)} terms)"


def _window_number(s: State, delta: Index) -> int:
    g = s.problem.geom
    return delta[1] * prod(g.out_size) + int(np.ravel_multi_index(delta[2:], g.out_size))


def _number(v: float) -> str:
    return f"{v:.6g}"


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


def _panel(s: State, title: str, kind: str, values: np.ndarray | None, array: str, lead: Index,
           marks: dict[Index, Mark]) -> Panel | None:  # fmt: skip
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
        from .panels import panel

        cells = {(i[3], i[4]): m for i, m in marks.items()}
        return panel(title, array, tuple(lead), values, names, g.ndim, cells, next(iter(cells), None))
    return made[0]


def _grad_panel(s: State, lead: Index, marks: dict[Index, Mark], partial: np.ndarray | None) -> Panel | None:
    """∂L/∂x of the slice: whole, or as far as the backward pass has come."""
    from .panels import panel

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
    cells = {((0, i[-1]) if g.ndim == 1 else (i[-2], i[-1])): m for i, m in marks.items()
             if tuple(i[:2]) == tuple(lead)}  # fmt: skip
    focus = next(iter(cells), None)
    title = "∂L/∂x so far" if partial is not None else "∂L/∂x"
    made = panel(title, "input_grad", lead_here, values, None, g.ndim, cells, focus)
    if partial is not None:
        made = replace(made, lead=tuple(lead) + made.lead[2:])
    return made


def _overlay_panel(s: State) -> Panel | None:
    """The padded δ under the flipped kernel at the cursor's cell, as `trace` draws it."""
    from .pictures.trace import _overlay

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
