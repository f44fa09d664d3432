"""The views of `trace`: one cell followed through the layer, every input cell's
gradient, and the slides' reasoning one window at a time.

A window keeps its colour everywhere: its cells in the input, the δ entry it
produced, the kernel taps it used and the same δ under the flipped kernel —
so the eye sees the same terms arrive by both routes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import prod

from convgrad_cli.core.coverage import why_uncovered
from convgrad_cli.core.explain import CellTrace, InputTrace
from convgrad_cli.core.options import option
from convgrad_cli.core.panels import Section
from convgrad_cli.core.pictures import Picture, trace_picture
from convgrad_cli.core.pictures.pipeline import padding_in_words
from convgrad_cli.core.terms import Term

from .blocks import Block, Equations, Sentence, Span, Tints, View
from .numbers import fmt
from .parts import heading, legend, panels, result, term_tints


def cell_view(ct: CellTrace, only: Mapping[str, int] | None = None) -> View:
    """The cell's picture, its result, and the legend of what is marked."""
    picture = trace_picture(ct, only)
    tints = term_tints(picture)
    hint = " or ".join(option("slice", **{a: "…"}) for a in ct.slice_axes)
    blocks: list[Block] = [heading(ct.problem, f"trace of {ct.name}"), *_opening(ct)]
    blocks += [panels(s, hint) for s in picture.sections]
    blocks += [result(ct, tints), legend(picture)]
    return View("trace", tuple(blocks))


def every_view(cells: Sequence[CellTrace]) -> View:
    """Every input cell's expression, as the slides list them."""
    rows = tuple((c.lhs, c.expression, None if c.value is None else fmt(c.value)) for c in cells)
    blocks: list[Block] = [heading(cells[0].problem, "every input cell's gradient")] if cells else []
    return View("trace", (*blocks, Equations("every input cell's gradient", rows)))


def _opening(ct: CellTrace) -> list[Block]:
    """The slides' question, and for a cell no window reaches, why."""
    if ct.terms or not isinstance(ct, InputTrace):
        return [Sentence.of(ct.question, strong=True)]
    why = f"Nowhere: {why_uncovered(ct.problem.geom, ct.index[2:])}, so {ct.lhs} = 0."
    return [Sentence.of(f"{ct.question}\n{why}", strong=True)]


# -- one window at a time ---------------------------------------------------------------------------


def steps_view(ct: InputTrace, only: Mapping[str, int] | None = None) -> View:
    """The slides' reasoning: each window's picture, the terms it adds and the
    running sum; then the flipped kernel that finds them all at once. Its frames
    are one per window, then the flipped kernel."""
    picture = trace_picture(ct, only)
    tints = term_tints(picture)
    opening: list[Block] = [heading(ct.problem, f"trace of {ct.name}"), *_opening(ct)]
    steps = _steps(ct, picture, tints)
    closing: list[Block] = []
    if ct.terms:
        closing.append(result(ct, tints, lead="Adding every window: "))
    closing += [Sentence.of(matrix_sentence(ct)), panels(picture.sections[-1]), legend(picture)]
    frames = tuple((*opening, *step) for step in steps) + ((*opening, *closing),)
    return View("trace", (*opening, *(b for step in steps for b in step), *closing), frames)


def _steps(ct: InputTrace, picture: Picture, tints: Tints) -> list[list[Block]]:
    windows = picture.sections[0].panels if ct.terms else []
    by_position: dict[tuple[int, ...], list[Term]] = {}
    for t in ct.terms:
        by_position.setdefault(tuple(t.delta[2:]), []).append(t)
    done: list[Term] = []
    steps = []
    for i, (name, ts) in enumerate(zip(picture.windows, by_position.values())):
        done += ts
        shown = [p for p in windows if any(m.window == i for m in p.marks.values())]
        step: list[Block] = [_step_sentence(ct, i + 1, name, ts, tints)]
        if shown:
            step.append(panels(Section("", shown)))
        steps.append([*step, result(ct, tints, done, lead="so far: ", quiet=True)])
    return steps


def _step_sentence(ct: InputTrace, i: int, name: str, ts: Sequence[Term], tints: Tints) -> Sentence:
    """What window ``i`` (the output ``name``) gives the cell: ``w2·δ1``."""
    namer = ct.namer
    w, d = namer.weight(ts[0].weight), namer.delta(ts[0].delta)
    if len(ts) > 1:
        products = " + ".join(f"{namer.weight(t.weight)}·{namer.delta(t.delta)}" for t in ts)
        opening = f"{i}. Every output {name} reads this window, each with its own filter: {ct.name} receives "
        return Sentence((Span(opening), Span(products, tints.get(d)), Span(".")))
    return Sentence(
        (
            Span(f"{i}. In the window of {name}, {ct.name} is multiplied by {w}: "),
            Span(f"∂{name}/∂{ct.name} = {w}", strong=True),
            Span(f", and ∂L/∂{name} is "),
            Span(d, tints.get(d)),
            Span(f", so {ct.name} receives {w}·"),
            Span(d, tints.get(d)),
            Span("."),
        )
    )


def matrix_sentence(ct: InputTrace) -> str:
    """Why one correlation of the padded δ with the flipped kernel finds the same terms."""
    g = ct.problem.geom
    pads = padding_in_words(g)
    how = "Insert stride − 1 zeros between the δ entries, pad" if any(s > 1 for s in g.stride) else "Pad"
    taps = (g.out_channels // g.groups) * prod(g.kernel_size)
    zeros = taps - len(ct.terms)
    if not ct.terms:
        rest = "every tap lands on a zero"
    elif zeros == 0:
        rest = "each of its taps covers one of them"
    else:
        rest = f"its other {zeros} tap{'s' if zeros > 1 else ''} land{'s' if zeros == 1 else ''} on zeros"
    return (
        f"Can one matrix operation do it for every cell? {how} δ with {pads}, "
        f"flip W by 180°, and correlate: at {ct.name}'s position the flipped kernel covers "
        f"exactly the δ entries above, each under the weight that met it; {rest}."
    )
