"""Colours, numbers and expressions as the views write them.

Colours follow δ: each upstream gradient δk has one colour, and wherever δk
lands — the dilated δ, the padded δ, an input cell's expression — it keeps it.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text

from .numbers import fmt

__all__ = ["CELL", "PALETTE", "ZERO", "delta_styles", "expression_text", "fmt"]

PALETTE = (
    "red", "green", "yellow", "blue", "magenta", "cyan",
    "dark_orange", "purple", "chartreuse3", "deep_pink3", "gold3", "steel_blue1",
)  # fmt: skip
ZERO = "dim"
CELL = "reverse bold"


def delta_styles(names: np.ndarray) -> dict[str, str]:
    """One colour per δ name, in row-major order."""
    return {str(n): PALETTE[i % len(PALETTE)] for i, n in enumerate(names.ravel())}


def expression_text(expr: str, styles: dict[str, str]) -> Text:
    """An expression with each δ name in its colour."""
    text = Text()
    for i, term in enumerate(expr.split(" + ")):
        if i:
            text.append(" + ")
        left, _, right = term.rpartition("·")
        if left:
            text.append(left + "·", styles.get(left, ""))
        text.append(right, styles.get(right, ""))
    return text
