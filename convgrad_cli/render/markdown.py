"""Markdown for notes: every grid a table with a header row, every mark in text."""

from __future__ import annotations

from collections.abc import Sequence
from functools import singledispatch

from convgrad_cli.core.panels import Panel
from convgrad_cli.core.views import blocks as model
from convgrad_cli.core.views import cells


def _md(text: object) -> str:
    return str(text).replace("|", "\\|")


def table(panel: Panel) -> list[str]:
    """A panel as a Markdown table: column indices as its header, row indices first."""
    names = cells.show_names(panel)
    rows, cols = cells.shown(panel)
    header = ["", *("⋯" if c is None else str(c + panel.origin[1]) for c in cols)]
    out = ["| " + " | ".join(header) + " |", "|" + "---:|" * len(header)]
    for r in rows:
        if r is None:
            out.append("| ⋮ | " + " | ".join("⋱" if c is None else "⋮" for c in cols) + " |")
            continue
        drawn = [
            " " if c is None else "<br>".join(_md(x) for x in cells.cell(panel, r, c, names).lines)
            for c in cols
        ]
        out.append(f"| {r + panel.origin[0]} | " + " | ".join(d if d.strip() else "⋯" for d in drawn) + " |")
    return out


def to_markdown(blocks: Sequence[model.Block]) -> str:
    lines: list[str] = []
    for b in blocks:
        lines += block(b)
    return "\n".join(lines)


@singledispatch
def block(b: model.Block) -> list[str]:
    """One block of the model, drawn; each kind registers its own."""
    raise TypeError(f"no drawing of {type(b).__name__}")


@block.register
def _heading(b: model.Heading) -> list[str]:
    return [f"## {_md(b.title)}: {_md(b.geometry)}", ""]


def _spans(spans: Sequence[model.Span]) -> str:
    return "".join(f"**{_md(s.text)}**" if s.strong and s.text.strip() else _md(s.text) for s in spans)


@block.register
def _together(b: model.Together) -> list[str]:
    return [line for part in b.blocks for line in block(part)]


@block.register
def _sentence(b: model.Sentence) -> list[str]:
    return [_spans(b.spans).replace("\n", "  \n"), ""]  # a hard line break


@block.register
def _panels(b: model.Panels) -> list[str]:
    lines = [f"**{_md(b.title)}**", ""] if b.title else []
    for p in b.panels:
        lines += ([f"*{_md(p.title)}*", ""] if p.title else []) + table(p) + [""]
    return lines + ([f"*{_md(b.note)}*", ""] if b.note else [])


@block.register
def _pipeline(b: model.Pipeline) -> list[str]:
    """The two sections, the equation they make, what is said, then ∂L/∂x."""
    lines = [line for part in (b.padded_delta, b.flipped_kernel) if part for line in _panels(part)]
    lines += ["**pad(dilate(δ)) ⋆ rot180(W) = ∂L/∂x**", ""]
    lines += [line for s in b.said for line in _sentence(s)]
    return lines + (_panels(b.input_grad) if b.input_grad else [])


@block.register
def _equations(b: model.Equations) -> list[str]:
    lines = [f"**{_md(b.title)}**", ""] if b.title else []
    for lhs, rhs, value in b.rows:
        lines.append(f"- `{lhs} = {rhs}`" + (f" = {value}" if value is not None else ""))
    if b.more:
        lines.append(f"- … {_md(b.more)}")
    return lines + [""]


@block.register
def _result(b: model.Result) -> list[str]:
    """The result as a one-row list of equations."""
    lead = [_spans(b.lead), ""] if b.lead else []
    return lead + _equations(model.Equations("", ((b.lhs, b.expression, b.value),)))


@block.register
def _table(b: model.Table) -> list[str]:
    lines = [f"**{_md(b.title)}**", ""] if b.title else []
    lines += ["| " + " | ".join(_md(h) for h in b.header) + " |", "|" + "---|" * len(b.header)]
    cells = [[_md(c) if isinstance(c, str) else _spans((c,)) for c in row] for row in b.rows]
    return lines + ["| " + " | ".join(row) + " |" for row in cells] + [""]


@block.register
def _legend(b: model.Legend) -> list[str]:
    """The marks in text; no colour is drawn, so the windows are said by how their
    names tell them apart, never by a colour or a number the tables do not show."""
    entries = b.entries + ((b.named,) if b.windows and b.named else ())
    return ["legend: " + "; ".join(_md(e) for e in entries), ""]
