"""A stack's views as the blocks LaTeX and Markdown write: the same sections,
sentences and tables the terminal draws."""

from __future__ import annotations

from convgrad_cli.core.views import Heading, Legend, Panels, Pipeline, Sentence, Table, View

from . import document


def blocks(view: View) -> list[document.Block]:
    out: list[document.Block] = []
    for b in view.blocks:
        if isinstance(b, Heading):
            out.append(document.Heading(f"{b.title}: {b.geometry}"))
        elif isinstance(b, Panels):
            out.append(document.Panels(b.title, list(b.panels)))
            if b.note:
                out.append(document.Paragraph(b.note))
        elif isinstance(b, Pipeline):
            parts = [p for p in (b.padded_delta, b.flipped_kernel) if p is not None]
            out += [document.Panels(p.title, list(p.panels)) for p in parts]
            out += [document.Paragraph(s.text) for s in b.said]
            if b.input_grad is not None:
                out.append(document.Panels(b.input_grad.title, list(b.input_grad.panels)))
        elif isinstance(b, Sentence):
            out.append(document.Paragraph(b.text))
        elif isinstance(b, Table):
            out.append(document.Table(b.title, list(b.header), [list(r) for r in b.rows]))
        elif isinstance(b, Legend):
            out.append(document.Paragraph("legend: " + "; ".join(b.entries)))
    return out
