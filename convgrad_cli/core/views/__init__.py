"""What every view says, as plain data: a heading, sentences, sections of marked
panels, the slides' pipeline, equations, results, tables and legends, with what
was left out and how to see it. Each format draws these (:mod:`convgrad_cli.render`);
none decides what is said.
"""

from .blocks import (
    Block,
    Equations,
    Heading,
    Legend,
    Panels,
    Pipeline,
    Result,
    Sentence,
    Span,
    Table,
    View,
)
from .layer import Scope, backward_view, forward_view
from .trace import cell_view, every_view, steps_view

__all__ = [
    "Block",
    "Equations",
    "Heading",
    "Legend",
    "Panels",
    "Pipeline",
    "Result",
    "Scope",
    "Sentence",
    "Span",
    "Table",
    "View",
    "backward_view",
    "cell_view",
    "every_view",
    "forward_view",
    "steps_view",
]
