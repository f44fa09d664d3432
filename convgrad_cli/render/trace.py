"""The views of `trace`: one cell followed through the layer, drawn from the
panels of :mod:`convgrad_cli.core.pictures`.

A window keeps its colour everywhere: its cells in the input, the δ entry it
produced, the kernel taps it used and the same δ under the flipped kernel —
so the eye sees the same terms arrive by both routes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from convgrad_cli.core.coverage import why_uncovered
from convgrad_cli.core.explain import CellTrace, InputTrace, OutputTrace, WeightTrace
from convgrad_cli.core.panels import Section
from convgrad_cli.core.pictures import Picture, input_picture, output_picture, weight_picture
from convgrad_cli.core.terms import Term

from .picture import legend, section, term_styles
from .style import expression_text, fmt
from .views import heading, spaced


def result_text(ct: CellTrace, styles: Mapping[str, str], terms: Sequence[Term] | None = None) -> Text:
    """``∂L/∂b = w2·δ1 + w1·δ2 = 3``, each term in its window's colour; with
    ``terms``, the sum of those terms only (a running sum)."""
    if terms is None:
        expression, value = ct.expression, ct.value
    else:
        part = type(ct)(ct.problem, ct.namer, ct.index, list(terms))
        expression, value = part.expression, part.value
    text = Text.assemble((f"{ct.lhs} = ", "bold"), expression_text(expression, dict(styles)))
    if value is not None:
        text.append(f" = {fmt(value)}", "bold")
    return text


def _drawn(ct: CellTrace, picture: Picture, opening: str, slice_hint: str) -> RenderableType:
    styles = term_styles(picture)
    parts: list[RenderableType] = [heading(ct.problem), Text(opening, "bold")]
    parts += [section(s, slice_hint) for s in picture.sections]
    parts += [result_text(ct, styles), legend(picture)]
    return spaced(parts)


def input_view(ct: InputTrace, only: Mapping[str, int] | None = None) -> RenderableType:
    picture = input_picture(ct, only)
    opening = f"Start with input {ct.name}. Where does it appear?"
    if not ct.terms:
        opening += f"\nNowhere: {why_uncovered(ct.problem.geom, ct.index[2:])}, so {ct.lhs} = 0."
    return _drawn(ct, picture, opening, "--slice o=… or c=…")


def output_view(ct: OutputTrace, only: Mapping[str, int] | None = None) -> RenderableType:
    return _drawn(ct, output_picture(ct, only), f"What is {ct.name} made of?", "--slice c=…")


def weight_view(ct: WeightTrace, only: Mapping[str, int] | None = None) -> RenderableType:
    opening = f"∂L/∂{ct.name}: every input cell that {ct.name} met, times that window's δ"
    return _drawn(ct, weight_picture(ct, only), opening, "--slice n=…")


def all_view(cells: Sequence[InputTrace]) -> RenderableType:
    table = Table(show_header=False, box=None, padding=0)
    table.add_column(justify="right")
    table.add_column()
    for ct in cells:
        text = Text(" = ") + expression_text(ct.expression, {})
        if ct.value is not None:
            text.append(f" = {fmt(ct.value)}", "bold")
        table.add_row(Text(ct.lhs), text)
    parts: list[RenderableType] = [Group(Text("every input cell's gradient", "bold"), table)]
    if cells:
        parts.insert(0, heading(cells[0].problem))
    return spaced(parts)


def steps_view(ct: InputTrace, only: Mapping[str, int] | None = None) -> RenderableType:
    """The slides' reasoning, one window at a time: its picture, the terms it adds,
    and the running sum."""
    opening, steps, closing = _steps(ct, only)
    return spaced(opening + [part for step in steps for part in step] + closing)


def steps_frames(ct: InputTrace, only: Mapping[str, int] | None = None) -> list[RenderableType]:
    """The same as frames of an animation: one per window, then the flipped kernel."""
    opening, steps, closing = _steps(ct, only)
    return [spaced(opening + step) for step in steps] + [spaced(opening + closing)]


def _steps(ct: InputTrace, only: Mapping[str, int] | None) -> tuple[list[Any], list[list[Any]], list[Any]]:
    picture = input_picture(ct, only)
    g, namer = ct.problem.geom, ct.namer
    styles = term_styles(picture)
    opening: list[RenderableType] = [
        heading(ct.problem),
        Text(f"Start with input {ct.name}. Where does it appear?", "bold"),
    ]
    if not ct.terms:
        opening.append(Text(f"Nowhere: {why_uncovered(g, ct.index[2:])}, so {ct.lhs} = 0."))
    windows = picture.sections[0].panels if ct.terms else []
    by_position: dict[tuple[int, ...], list[Term]] = {}
    for t in ct.terms:
        by_position.setdefault(tuple(t.delta[2:]), []).append(t)
    done: list[Term] = []
    steps = []
    for i, (name, ts) in enumerate(zip(picture.windows, by_position.values()), 1):
        done += ts
        first = ts[0]
        w, d = namer.weight(first.weight), namer.delta(first.delta)
        if len(ts) == 1:
            line = Text(f"{i}. In the window of {name}, {ct.name} is multiplied by {w}: ")
            line.append(f"∂{name}/∂{ct.name} = {w}", "bold")
            line.append(f", and ∂L/∂{name} is ")
            line.append(d, styles.get(d, ""))
            line.append(f", so {ct.name} receives {w}·")
            line.append(d, styles.get(d, ""))
            line.append(".")
        else:
            products = " + ".join(f"{namer.weight(t.weight)}·{namer.delta(t.delta)}" for t in ts)
            line = Text(
                f"{i}. Every output {name} reads this window, each with its own filter: {ct.name} receives "
            )
            line.append(products, styles.get(d, ""))
            line.append(".")
        panels = [p for p in windows if p.marks and next(iter(p.marks.values())).window == i - 1]
        step = section(Section("", panels)) if panels else Text("")
        steps.append([line, step, Text.assemble(("so far: ", "dim"), result_text(ct, styles, done))])
    closing: list[RenderableType] = []
    if ct.terms:
        closing.append(Text("Adding every window: ") + result_text(ct, styles))
    closing += [Text(_matrix_sentence(ct)), section(picture.sections[-1]), legend(picture)]
    return opening, steps, closing


def _matrix_sentence(ct: InputTrace) -> str:
    g = ct.problem.geom
    pads = ", ".join(f"{b}/{a}" for b, a in g.delta_padding)
    how = "Insert stride − 1 zeros between the δ entries, pad" if any(s > 1 for s in g.stride) else "Pad"
    _, outs = _outs(ct)
    taps = len(outs) * _taps(g)
    zeros = taps - len(ct.terms)
    if not ct.terms:
        rest = "every tap lands on a zero"
    elif zeros == 0:
        rest = "each of its taps covers one of them"
    else:
        rest = f"its other {zeros} tap{'s' if zeros > 1 else ''} land{'s' if zeros == 1 else ''} on zeros"
    return (
        f"Can one matrix operation do it for every cell? {how} δ by {pads} (before/after), "
        f"flip W by 180°, and correlate: at {ct.name}'s position the flipped kernel covers "
        f"exactly the δ entries above, each under the weight that met it; {rest}."
    )


def _taps(g) -> int:  # type: ignore[no-untyped-def]
    from math import prod

    return prod(g.kernel_size)


def _outs(ct: InputTrace) -> tuple[range, range]:
    g = ct.problem.geom
    cg, og = g.in_channels // g.groups, g.out_channels // g.groups
    group = ct.index[1] // cg
    return range(group * cg, (group + 1) * cg), range(group * og, (group + 1) * og)
