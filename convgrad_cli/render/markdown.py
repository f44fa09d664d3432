"""Markdown for notes: every grid a table with a header row, every mark in text."""

from __future__ import annotations

from collections.abc import Sequence

from convgrad_cli.core.panels import Panel
from convgrad_cli.core.views import cells

from .document import Block, Equations, Heading, Panels, Pipeline, Table


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


def to_markdown(blocks: Sequence[Block]) -> str:
    lines: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            lines += [f"## {_md(b.text)}", ""]
        elif isinstance(b, Panels):
            if b.title:
                lines += [f"**{_md(b.title)}**", ""]
            for p in b.panels:
                lines += ([f"*{_md(p.title)}*", ""] if p.title else []) + table(p) + [""]
            if b.windows and any(m.window is not None for p in b.panels for m in p.marks.values()):
                lines += [
                    "windows: " + ", ".join(f"{i + 1}. {_md(n)}" for i, n in enumerate(b.windows[:14])),
                    "",
                ]
        elif isinstance(b, Pipeline):
            lines += ["**pad(dilate(δ)) ⋆ rot180(W) = ∂L/∂x**" + (" (summed over o)" if b.summed else ""), ""]
            for what, p in (
                ("pad(dilate(δ))", b.padded_delta),
                ("⋆ rot180(W)", b.flipped_kernel),
                ("= ∂L/∂x", b.input_grad),
            ):
                lines += [f"*{what}*", ""] + table(p) + [""]
        elif isinstance(b, Equations):
            lines += [f"**{_md(b.title)}**", ""] if b.title else []
            for lhs, rhs, value in b.rows:
                lines.append(f"- `{lhs} = {rhs}`" + (f" = {value}" if value is not None else ""))
            if b.more:
                lines.append(f"- … {b.more} more (all in --format json)")
            lines.append("")
        elif isinstance(b, Table):
            lines += [f"**{_md(b.title)}**", "", "| " + " | ".join(_md(h) for h in b.header) + " |",
                      "|" + "---|" * len(b.header)]  # fmt: skip
            lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in b.rows]
            lines.append("")
        else:
            lines += [_md(b.text), ""]
    return "\n".join(lines)
