"""Colours with a meaning, and how expressions are written in them.

Colour means *window*: the cells and terms of one window share a colour, from
the Okabe–Ito palette (told apart with the common forms of colour blindness);
everything else is neutral. Every mark is text as well (see :mod:`.grid`).
"""

from __future__ import annotations

from rich.text import Text

from convgrad_cli.core.views.numbers import fmt

__all__ = [
    "CELL",
    "HEAT",
    "PADDING",
    "PALETTE",
    "ZERO",
    "expression_text",
    "fmt",
    "heat_style",
    "window_style",
]

#: Okabe & Ito's palette without black: orange, sky blue, bluish green, yellow,
#: blue, vermillion, reddish purple.
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
#: A heat map's shades, lightest to darkest (ColorBrewer's sequential Blues, readable in colour
#: blindness), and the text on each: dark on the light ones, white on the dark.
HEAT = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
HEAT_TEXT = ("#000000", "#000000", "#000000", "#ffffff", "#ffffff")
ZERO = "dim"
PADDING = "dim"
CELL = "reverse bold"


def window_style(window: int) -> str:
    """The colour of window number ``window`` (colours repeat after seven windows;
    the text marks tell them apart)."""
    return PALETTE[window % len(PALETTE)]


def heat_style(level: int) -> str:
    """The shade of heat level ``level`` (1 to 5) and its text's colour."""
    return f"{HEAT_TEXT[level - 1]} on {HEAT[level - 1]}"


def expression_text(expr: str, styles: dict[str, str]) -> Text:
    """An expression with each term in the style of its δ (or of its name)."""
    text = Text()
    for i, term in enumerate(expr.split(" + ")):
        if i:
            text.append(" + ")
        left, _, right = term.rpartition("·")
        style = styles.get(right, styles.get(left, ""))
        text.append(term, style)
    return text
