"""A view drawn for the terminal: each block of the model as a Rich renderable,
in colour or plain (every mark is text too). Nothing here decides what is said.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import singledispatch

from rich.cells import cell_len
from rich.columns import Columns
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.table import Table as RichTable
from rich.text import Text

from convgrad_cli.core.views import blocks as model

from .grid import Grid
from .style import ZERO, expression_text, window_style
from .wrap import Wrapped


def draw(view: model.View) -> RenderableType:
    """The whole view, its blocks one below the other."""
    return spaced(parts(view.blocks))


def frames(view: model.View) -> list[RenderableType]:
    """An animation's frames (``trace --steps``), or the view as its one frame."""
    return [spaced(parts(frame)) for frame in view.frames or (view.blocks,)]


def parts(blocks: Sequence[model.Block]) -> list[RenderableType]:
    out: list[RenderableType] = []
    for b in blocks:
        out += block(b)
    return out


def spaced(parts: list[RenderableType]) -> RenderableType:
    """Parts one below the other with a blank line between them."""
    spaced_parts: list[RenderableType] = []
    for part in parts:
        spaced_parts += [part, Text("")]  # cheaper to render than Padding around each part
    return Trimmed(Group(*spaced_parts))


@dataclass(frozen=True)
class Trimmed:
    """A renderable without the blanks a table pads its short rows with at the end of a
    line: unseen on a terminal, but noise in a file, a diff or a copied line."""

    renderable: RenderableType

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in console.render_lines(self.renderable, options, pad=False):
            yield from _rstrip(line)
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.renderable)


def _rstrip(line: list[Segment]) -> list[Segment]:
    """The line without its last blanks, unless they show (a background, an underline)."""
    while line and not line[-1].control and not _shows(line[-1].style):
        text = line[-1].text.rstrip(" ")
        if text:
            return [*line[:-1], Segment(text, line[-1].style)]
        line = line[:-1]
    return line


def _shows(style: Style | None) -> bool:
    return style is not None and bool(style.bgcolor or style.underline or style.reverse or style.strike)


def styles(tints: model.Tints) -> dict[str, str]:
    return {name: window_style(colour) for name, colour in tints.items()}


#: a verdict's tone, as a colour
TONES = {"good": "green", "bad": "red", "doubtful": "yellow", "": ""}


def spans(items: Sequence[model.Span]) -> Text:
    text = Text()
    for s in items:
        colour = window_style(s.colour) if s.colour is not None else TONES[s.tone]
        style = " ".join(t for t in (colour, "bold" if s.strong else "", ZERO if s.quiet else "") if t)
        text.append(s.text, style)
    return text


@singledispatch
def block(b: model.Block) -> list[RenderableType]:
    """One block of the model, drawn; each kind registers its own."""
    raise TypeError(f"no drawing of {type(b).__name__}")


@block.register
def heading(b: model.Heading) -> list[RenderableType]:
    """``convgrad 1×1×4×4 * 1×1×2×2 s1  (no config, numbers and names)``"""
    return [wrapped(Text.assemble(("convgrad ", "bold"), b.geometry, (f"  ({b.source}, {b.mode})", "dim")))]


def wrapped(text: Text, indent: int | None = None) -> Wrapped:
    """``text`` wrapped at its terms' boundaries, continued under its own indent
    (under the ``=`` of a result)."""
    lead = len(text.plain) - len(text.plain.lstrip(" "))
    return Wrapped(text, lead if indent is None else indent)


@block.register
def sentence(b: model.Sentence) -> list[RenderableType]:
    return [wrapped(spans(b.spans))]


@block.register
def section(b: model.Panels) -> list[RenderableType]:
    """A section's title, its panels side by side as they fit, and what was left out."""
    grids = [Grid(p, styles(b.tints)) for p in b.panels]
    parts: list[RenderableType] = [wrapped(Text(b.title, "bold"))] if b.title else []
    parts.append(grids[0] if len(grids) == 1 else Columns(grids, padding=(0, 2)))
    if b.note:
        parts.append(wrapped(Text(b.note, ZERO)))
    return [Group(*parts)]


@block.register
def pipeline(b: model.Pipeline) -> list[RenderableType]:
    """The padded δ and the flipped kernel, what is said of them, then ∂L/∂x."""
    out = section(b.padded_delta) if b.padded_delta else []
    out += section(b.flipped_kernel) + [wrapped(spans(s.spans)) for s in b.said]
    return out + (section(b.input_grad) if b.input_grad else [])


@block.register
def equations(b: model.Equations) -> list[RenderableType]:
    """``name = expression = value``, a row each, and how many were left out."""
    table = RichTable(show_header=False, box=None, padding=0)
    table.add_column(justify="right", no_wrap=True)
    table.add_column()
    valued = any(value is not None for _, _, value in b.rows)
    if valued:  # the value on a wrapped sum's last line
        table.add_column(justify="right", vertical="bottom", no_wrap=True)
    for lhs, expression, value in b.rows:
        # a continued sum's "+" under the "=" of its first line
        cells: list[RenderableType] = [
            Text(lhs),
            Wrapped(Text(" = ") + expression_text(expression, styles(b.tints)), 1),
        ]
        if valued:
            cells.append(Text(f" = {value}", "bold") if value is not None else Text(""))
        table.add_row(*cells)
    if b.more:
        table.add_row(Text("…"), wrapped(Text(b.more, ZERO)))
    return [Group(wrapped(Text(b.title, "bold")), table)]


@block.register
def result(b: model.Result) -> list[RenderableType]:
    """``∂L/∂b = w2·δ1 + w1·δ2 = 3``, each term in its window's colour."""
    lead = spans(b.lead)
    text = lead + Text.assemble((f"{b.lhs} = ", "bold"), expression_text(b.expression, styles(b.tints)))
    if b.value is not None:
        text.append(f" = {b.value}", "bold")
    return [wrapped(text, cell_len(lead.plain + b.lhs) + 1)]  # a continued sum's "+" under its "="


@block.register
def table(b: model.Table) -> list[RenderableType]:
    from rich import box

    t = RichTable(box=box.SIMPLE_HEAD, pad_edge=False)
    for i, column in enumerate(b.header):
        # a name's column is not wrapped while others can give way; folded only past the width
        t.add_column(
            column, overflow="fold", justify="right" if i in b.numbers else "left", no_wrap=i in b.names
        )
    for row in b.rows:
        # Text, not str: a file name such as [red].yaml is a name, not markup
        t.add_row(*(Text(c) if isinstance(c, str) else spans((c,)) for c in row))
    return [Group(Text(b.title, "bold"), t)] if b.title else [t]


@block.register
def together(b: model.Together) -> list[RenderableType]:
    return [Group(*parts(b.blocks))]


@block.register
def legend(b: model.Legend) -> list[RenderableType]:
    return [LegendText(b)]


@dataclass(frozen=True)
class LegendText:
    """The marks drawn, one a line (no wider than the grids), and each window's colour —
    the styled marks where the console draws styles (not into a pipe or a file), the
    coloured ones where it draws colour too (not under NO_COLOR either)."""

    legend: model.Legend

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        b, styled = self.legend, console.color_system is not None
        coloured = styled and not console.no_color
        lead = "legend: "
        shown = b.entries + (b.styled if styled else ()) + (b.coloured if coloured else ())
        shown += (b.named,) if b.windows and b.named and not coloured else ()  # no colour: the names
        for i, entry in enumerate(shown):
            # an entry's continuation lines under its first line's words, two further in
            yield Wrapped(Text((lead if i == 0 else " " * len(lead)) + entry, "dim"), len(lead) + 2)
        if b.windows and coloured:
            text = Text()  # the dim is the words', not the window colours'
            text.append("colour = window: ", "dim")
            for i, name in enumerate(b.windows):
                text.append(("  " if i else "") + name, window_style(i))
            if b.more:
                text.append(f"  {b.more}", "dim")
            yield Wrapped(text, len("colour = window: "))
