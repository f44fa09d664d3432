"""The blocks a view is made of: what is said, never how it is drawn.

A view is a list of blocks — a heading, sentences, sections of panels, the
slides' pipeline, equations, a result, a table, a legend — and, for an
animation, the frames it is cut into. Every format draws these same blocks
(:mod:`convgrad_cli.render`): the terminal in colour or plain text, LaTeX,
Markdown, SVG, PNG/PDF, HTML and a notebook. A colour is a number, the
palette's entry that the renderer picks; emphasis is ``strong`` or ``quiet``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Union

from convgrad_cli.core.panels import Panel

#: name → colour number: each term in its window's colour, each δ entry in its own
Tints = Mapping[str, int]


@dataclass(frozen=True)
class Span:
    """A run of words: in a colour (a window's, a δ entry's), strong, or quiet; a
    verdict's ``tone`` is ``good``, ``bad`` or ``doubtful``."""

    text: str
    colour: int | None = None
    strong: bool = False
    quiet: bool = False
    tone: str = ""


@dataclass(frozen=True)
class Sentence:
    """A line of words; a line break in a span is a new line of the same sentence."""

    spans: tuple[Span, ...]

    @classmethod
    def of(cls, text: str, strong: bool = False, quiet: bool = False, tone: str = "") -> Sentence:
        return cls((Span(text, strong=strong, quiet=quiet, tone=tone),))

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.spans)


@dataclass(frozen=True)
class Heading:
    """What is shown (``trace of f``), of which layer, from where, in numbers or names."""

    title: str
    geometry: str
    source: str
    mode: str


@dataclass(frozen=True)
class Panels:
    """A section: panels side by side under a title; ``hidden`` the panels left out
    (JSON has them), ``note`` what was left out and how to see it; ``tints`` colour
    unmarked cells by name."""

    title: str
    panels: tuple[Panel, ...]
    note: str = ""
    tints: Tints = field(default_factory=dict)
    hidden: tuple[Panel, ...] = ()


@dataclass(frozen=True)
class Pipeline:
    """``pad(dilate(δ)) ⋆ rot180(W) = ∂L/∂x``: the three sections, and what is said
    of them (the shape arithmetic, the transposed convolution)."""

    padded_delta: Panels | None
    flipped_kernel: Panels
    input_grad: Panels | None
    summed: bool  # the input gradient sums over several output channels
    said: tuple[Sentence, ...]

    @property
    def single(self) -> bool:
        """Each of the three arrays is one slice: the equation shows them all."""
        parts = (self.padded_delta, self.flipped_kernel, self.input_grad)
        return all(p is not None and len(p.panels) == 1 for p in parts)


Row = tuple[str, str, Union[str, None]]  # lhs, expression, value


@dataclass(frozen=True)
class Equations:
    """``lhs = expression = value``, a row each; ``more`` says how many were left out."""

    title: str
    rows: tuple[Row, ...]
    more: str = ""
    tints: Tints = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    """One cell's result, ``∂L/∂b = w2·δ1 + w1·δ2 = 3``, each term in its window's
    colour, after ``lead`` (``so far:``)."""

    lhs: str
    expression: str
    value: str | None
    tints: Tints = field(default_factory=dict)
    lead: tuple[Span, ...] = ()


@dataclass(frozen=True)
class Table:
    """A table with a header row; a cell is words, or a span (a verdict in its tone);
    ``numbers`` are the columns that hold numbers, ``names`` those whose words are names,
    never to be broken (a format that wraps breaks other columns first)."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str | Span, ...], ...]
    numbers: tuple[int, ...] = ()
    names: tuple[int, ...] = ()


@dataclass(frozen=True)
class Together:
    """Blocks said as one: drawn with no space between them (a failure's lines)."""

    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Legend:
    """What each mark drawn means (an example of each, as drawn), and each window's
    colour (``windows`` in colour order; ``more`` the ones left out). ``styled`` are
    entries for marks drawn only as a style (underlined, bold), ``coloured`` for marks
    drawn only in colour (a shade, a colour that repeats): a format that draws no
    styles, or no colours, leaves those out (and ``windows``), and says ``named``
    instead of ``windows``."""

    entries: tuple[str, ...]
    windows: tuple[str, ...] = ()
    more: str = ""
    styled: tuple[str, ...] = ()
    named: str = ""  # how the text tells the windows apart, for a format that draws no colour
    coloured: tuple[str, ...] = ()


Block = Union[Heading, Sentence, Panels, Pipeline, Equations, Result, Table, Legend, Together]


@dataclass(frozen=True)
class View:
    """A command's picture: its blocks, and for an animation its frames."""

    command: str
    blocks: tuple[Block, ...]
    frames: tuple[tuple[Block, ...], ...] | None = None

    def of_kind(self, *kinds: type) -> list[Block]:
        """The blocks of those kinds, a pipeline's sections among the sections."""
        return _of_kind(self.blocks, kinds)


def _of_kind(blocks: Sequence[Block], kinds: tuple[type, ...]) -> list[Block]:
    out: list[Block] = []
    for b in blocks:
        if isinstance(b, Together):
            out += _of_kind(b.blocks, kinds)
        elif isinstance(b, Pipeline):
            parts: Sequence[Block] = [p for p in (b.padded_delta, b.flipped_kernel, b.input_grad) if p]
            out += [p for p in (*parts, *b.said) if isinstance(p, kinds)]
        elif isinstance(b, kinds):
            out.append(b)
    return out
