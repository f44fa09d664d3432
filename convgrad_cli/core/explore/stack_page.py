"""The web page of `explore` for a stack of layers, as data: under each top output,
the paths from every cell of every level and the receptive field they make (the
views of `trace --output`, :mod:`convgrad_cli.core.views.reach`), and the backward
pass read from the top one layer at a time (the steps of `backward`,
:mod:`convgrad_cli.core.views.stack`).

The page shows the first top output's reach and holds every other one's as the
cells it changes, so its script only swaps in what the model said.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np

from convgrad_cli.core.receptive import output_reach
from convgrad_cli.core.stack import Stack, backward
from convgrad_cli.core.views import cells
from convgrad_cli.core.views.blocks import Block, Heading, Panels, Sentence, View
from convgrad_cli.core.views.reach import output_view
from convgrad_cli.core.views.stack import backward_steps, describe, loss_sentence
from convgrad_cli.errors import TooLargeError

from .words import WORDS

#: Top outputs the page holds the reach of; a larger top is traced one output at a time.
MAX_TOPS = 64
#: Cells of all levels together, per top output.
MAX_LEVEL_CELLS = 8192


@dataclass(frozen=True)
class StackPage:
    """What the page says: its heading and hint, the reach of the first top output
    (its sentence, a section per level, the gradient, the legend), the backward pass's
    opening and its steps from the top, and each top output's reach for the script."""

    view: View  # heading, hint, the reach; then the backward pass's opening
    reach: tuple[Block, ...]
    steps: tuple[tuple[Block, ...], ...]
    data: dict[str, Any]


def stack_page(stack: Stack) -> StackPage:
    top = stack.shapes[-1]
    levels = sum(prod(s) for s in stack.shapes)
    if prod(top) > MAX_TOPS or levels > MAX_LEVEL_CELLS:
        raise TooLargeError(
            f"the page holds the paths under each of up to {MAX_TOPS} top outputs, through up to "
            f"{MAX_LEVEL_CELLS} cells; this stack has {prod(top)} top outputs and {levels} cells — "
            "trace one output with convgrad trace CONFIG --output …"
        )
    reaches = [output_view(stack, output_reach(stack, t)) for t in np.ndindex(*top)]
    reach = reaches[0].blocks[1:]  # its heading is the page's
    passes = backward(stack)
    heading = Heading("explore", describe(stack), stack.source, "numbers")
    opening = (Sentence.of(WORDS["stack_backward"], strong=True), loss_sentence(stack, passes[-1].output))
    view = View("explore", (heading, Sentence.of(WORDS["stack_hint"]), *reach, *opening))
    steps = tuple(tuple(step) for step in backward_steps(passes))
    data = {
        "reach": [_changes(v) for v in reaches],
        "steps": len(steps),
        "said": [step[0].text for step in steps if isinstance(step[0], Sentence)],
        "words": WORDS,
    }
    return StackPage(view, tuple(reach), steps, data)


def _changes(v: View) -> dict[str, Any]:
    """One top output's reach as the page changes to it: its sentence, and per
    section its title and each cell (by its place in the section) that is marked or
    not 0: ``[place, text, role]``."""
    sentence = next(b for b in v.blocks if isinstance(b, Sentence))
    sections = []
    for s in v.of_kind(Panels):
        assert isinstance(s, Panels)
        changed, place = [], 0
        for p in s.panels:
            rows, cols = p.shape
            for r in range(rows):
                for c in range(cols):
                    drawn = cells.cell(p, r, c, cells.show_names(p))
                    if drawn.mark is not None or drawn.head != "0":
                        changed.append([place, drawn.head, "" if drawn.mark is None else drawn.mark.role])
                    place += 1
        sections.append({"title": s.title, "cells": changed})
    return {"sentence": sentence.text, "sections": sections}
