"""The parts every view is built of, with their limits and wording: the heading,
a section cut to its panels, equations cut to their rows, one cell's result,
and the legend of what a picture marks."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from convgrad_cli.core.explain import CellTrace
from convgrad_cli.core.names import ANY_OUTPUT
from convgrad_cli.core.options import option
from convgrad_cli.core.panels import Panel, Section
from convgrad_cli.core.pictures import Picture
from convgrad_cli.core.problem import Problem
from convgrad_cli.core.terms import Term

from .blocks import Equations, Heading, Legend, Panels, Result, Span, Tints
from .cells import cell as drawn_cell
from .cells import show_names
from .numbers import fmt

#: Panels drawn per section at most; the rest are named in a note.
MAX_PANELS = 12
#: Equations written out, at most.
MAX_EQUATIONS = 64
#: The colours windows take in turn: past them, a colour repeats.
COLOURS = 7

#: What each mark means, in legend order (each shown with an example from the picture).
MEANINGS = (
    ("cell", "the cell followed"),
    ("window", "a cell of a window, with the weight it meets"),
    ("contributor", "a term of the result"),
    ("padding_tap", "a tap on the padding: zero times its factor, so it adds nothing"),
    ("tap", "a tap of the flipped kernel on a zero: it adds nothing"),
)


def heading(problem: Problem, title: str, delta: bool = True) -> Heading:
    """The command and layer; whether numbers are drawn — which takes δ's too, but in ``forward``."""
    numbers = problem.x is not None and problem.w is not None and (problem.delta is not None or not delta)
    return Heading(
        title, problem.geom.describe(), problem.source, "numbers and names" if numbers else "names"
    )


def panels(s: Section, hint: str = "", tints: Tints | None = None) -> Panels:
    """A section cut to :data:`MAX_PANELS` panels; its note says what was left out."""
    left = len(s.panels) - MAX_PANELS
    cut = (
        f"… {left} more panels ({hint or option('slice')} picks which; {option('json')} has all)"
        if left > 0
        else ""
    )
    note = "; ".join(t for t in (cut, s.note) if t)
    hidden = (*s.panels[MAX_PANELS:], *s.hidden)
    return Panels(s.title, tuple(s.panels[:MAX_PANELS]), note, tints or {}, hidden)


def equations(
    title: str,
    names: np.ndarray,
    exprs: np.ndarray,
    values: np.ndarray | None,
    prefix: str = "",
    tints: Tints | None = None,
    limit: int = MAX_EQUATIONS,
    digits: int = 6,
    hint: str = "",
) -> Equations:
    """``name = expression = value``, a row each, at most ``limit``; ``hint`` says how
    to see the rest besides JSON."""
    flat = list(zip(names.ravel(), exprs.ravel(), *([values.ravel()] if values is not None else [])))
    rows = tuple(
        (f"{prefix}{row[0]}", str(row[1]), None if values is None else fmt(row[2], digits))
        for row in flat[:limit]
    )
    left = len(flat) - limit
    where = f"{hint} or {option('json')}" if hint else f"all in {option('json')}"
    return Equations(title, rows, f"{left} more ({where})" if left > 0 else "", tints or {})


def result(
    ct: CellTrace, tints: Tints, terms: Sequence[Term] | None = None, lead: str = "", quiet: bool = False
) -> Result:
    """``∂L/∂b = w2·δ1 + w1·δ2 = 3``; with ``terms``, the sum of those terms only."""
    part = ct if terms is None else ct.with_terms(terms)
    value = None if part.value is None else fmt(part.value)
    spans = (Span(lead, quiet=quiet),) if lead else ()
    return Result(ct.lhs, part.expression, value, tints, spans)


def term_tints(picture: Picture) -> dict[str, int]:
    """Each term's colour in the expression, from the contributor marks that make it:
    the factor names, and the cell names they multiply."""
    tints: dict[str, int] = {}
    for p in picture.panels:
        for cell, mark in p.marks.items():
            if mark.role == "contributor" and mark.window is not None and p.names is not None:
                tints[str(p.names[cell])] = mark.window
    return tints


def entry_tints(names: np.ndarray | None, count: int) -> dict[str, int]:
    """A colour per δ entry that follows it through the pipeline — where a map of
    ``count`` entries has no more of them than there are colours, so none repeats."""
    if names is None or count > COLOURS:
        return {}
    return {str(n): i for i, n in enumerate(names.ravel())}


def legend(picture: Picture) -> Legend:
    """The marks the picture uses — an example of each, as drawn — and its windows' colours."""
    examples: dict[str, str] = {}
    unsaid = False  # window cells drawn without their weight: the panel is the window alone
    for p in picture.panels:
        names = show_names(p)
        for cell, mark in p.marks.items():
            if mark.role not in examples:
                examples[mark.role] = example(p, cell, names)
                unsaid |= mark.role == "window" and not mark.factor
    entries = [f"{examples[role]} {meaning}" for role, meaning in MEANINGS if role in examples]
    if unsaid and any(p.crop for p in picture.panels if p.array == "input"):
        entries[[r for r, _ in MEANINGS if r in examples].index("window")] = (
            "a window's panel shows its cells alone"
        )
    if any(_shows_padding(p) for p in picture.panels) and "padding_tap" not in examples:
        entries.append("░ padding: the zeros around the input")
    if any(ANY_OUTPUT in m.factor for p in picture.panels for m in p.marks.values()):
        entries.append(
            f"{ANY_OUTPUT} (a small o, not a zero): each output channel o of the window's title, with its own filter"
        )
    bases = _two_bases(picture)
    if bases and "cell" in examples:  # said of the cell followed: a line of its own would not fit a screen
        entries[0] += f" ({bases})"
    elif bases:
        entries.append(bases)
    styled = (
        ("underlined: under the flipped kernel",)
        if any(p.array == "padded_delta" for p in picture.panels)
        else ()
    )
    if not (picture.windows and examples.keys() & {"cell", "window", "contributor"}):
        return Legend(tuple(entries), styled=styled)
    return window_legend(picture.windows, _told_by(picture), tuple(entries), styled)


def _two_bases(picture: Picture) -> str:
    """Where 0-based subscripts (``x₁₁``) sit beside the slides' 1-based numbers (``w9``, ``δ13``),
    how each counts."""
    names = [str(n) for p in picture.panels if p.names is not None for n in p.names.ravel()]
    if not any(re.fullmatch(r"[xwyδ][₀-₉,ₒ]+", n) for n in names):
        return ""
    numbered = {n[0] for n in names if re.fullmatch(r"[wyδ]\d+", n)}
    if not numbered:
        return ""
    said = ", ".join(f"{letter}1" for letter in "wyδ" if letter in numbered)
    return f"subscripts count from 0, as {option('input')}; {said} … from 1"


def window_legend(
    windows: Sequence[str], told_by: str, entries: tuple[str, ...] = (), styled: tuple[str, ...] = ()
) -> Legend:
    """The windows' legend: each window's colour while no colour repeats; past
    :data:`COLOURS` windows, that a colour repeats and how the names (``told_by``)
    tell the windows apart — said in every format, coloured or not."""
    named = f"{len(windows)} windows, told apart by name: {told_by}"
    if len(windows) > COLOURS:
        repeat = f"a colour is a window's, repeated past {COLOURS} windows: two windows may share one"
        return Legend((*entries, named), styled=styled, coloured=(repeat,))
    return Legend(
        entries, tuple(windows), "", styled, named if len(windows) > 1 else ""
    )  # one: nothing to tell


def _told_by(picture: Picture) -> str:
    """How the text names a window: its panel's title (where each window has a panel), and
    the δ entry that is its output."""
    first = picture.windows[0]
    delta = first.replace("y", "δ", 1)
    titled = any(
        p.title == first or p.title.startswith((f"{first}:", f"{first},", f"{first} "))
        for p in picture.panels
    )
    return f"{first}'s panel, {delta} in its terms" if titled else by_terms(first)


def by_terms(window: str) -> str:
    """How a window with no panel of its own is named: by its δ in the terms."""
    return f"{window.replace('y', 'δ', 1)} in a term is window {window}'s"


def example(panel: Panel, cell: tuple[int, int], names: bool) -> str:
    """A mark as the grid writes it, on one line: ``b·w2``, ``w1·δ1``, ``[a]``."""
    lines = drawn_cell(panel, *cell, names).lines
    if len(lines) > 1 and (lines[1].startswith("·") or lines[1].endswith("·")):  # a factor under a number
        return f"{lines[1]}{lines[0]}" if lines[1].endswith("·") else f"{lines[0]}{lines[1]}"
    return lines[0]


def _shows_padding(p: Panel) -> bool:
    if p.padding is None:
        return False
    if p.crop is None:
        return bool(p.padding.any())
    (r0, r1), (c0, c1) = p.crop
    return bool(p.padding[r0:r1, c0:c1].any())
