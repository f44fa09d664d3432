"""Colours, numbers and expressions as the views write them.

Colours follow δ: each upstream gradient δk has one colour, and wherever δk
lands — the dilated δ, the padded δ, an input cell's expression — it keeps it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.text import Text

PALETTE = (
    "red", "green", "yellow", "blue", "magenta", "cyan",
    "dark_orange", "purple", "chartreuse3", "deep_pink3", "gold3", "steel_blue1",
)  # fmt: skip
ZERO = "dim"
CELL = "reverse bold"


def fmt(v: Any, digits: int = 6) -> str:
    """A number as short as it can be said (``digits`` significant).

    >>> fmt(3.0), fmt(-0.5), fmt(1.234567e-05, 4)
    ('3', '-0.5', '1.235e-05')
    """
    if isinstance(v, str):
        return v
    f = float(v)
    if f.is_integer() and abs(f) < 1e15:
        return str(int(f))
    return f"{f:.{digits}g}"


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
