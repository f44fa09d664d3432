"""Text wrapped at the boundaries of what it says, never inside an expression.

Rich wraps at any space, so a sum broke after its ``+`` (``w2·δ12 +`` ⏎ ``w1·δ13``),
an arithmetic after its ``=`` (``7 − 3 + 1 =`` ⏎ ``5``) and a call inside a tuple
(``output_padding=(0,`` ⏎ ``1)``). Here a line breaks only at a space that
ends a term: before an operator (the next line starts ``+ w1·δ13``), never after
one; not between numbers joined by operators (``5 − 2 + 1 = 4`` stays whole);
not inside brackets that follow a name or a sign (a call, an index, an interval),
except, when nothing else fits, after a call's top-level comma. Continuation
lines take a hanging indent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text

#: Signs that join two operands, or a sum's sign before its operand: a line never ends on one.
OPERATORS = frozenset("+ − - = × ⋆ · ≈ ≠ ≤ ≥ → ∘ Σ Σₒ".split())
_SPACES = re.compile(r" +")
_OPEN, _CLOSE = "([{", ")]}"


def breaks(line: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Where ``line`` may break: each a run of spaces ``(start, end)``, the preferred
    ones, and those taken only when nothing else fits (after a call's comma).

    >>> line = "∂L/∂b = w2·δ1 + w1·δ2 = 3"
    >>> [line[e:] for _, e in breaks(line)[0]]
    ['= w2·δ1 + w1·δ2 = 3', '+ w1·δ2 = 3', '= 3']
    >>> breaks("so 5 − 2 + 1 = 4 rows")[0]
    [(2, 3), (16, 17)]
    >>> breaks("f(a, b=(0, 1)) in [0, 1) x")
    ([(14, 15), (17, 18), (24, 25)], [(4, 5)])
    """
    depths, calls = _tight_brackets(line)
    good: list[tuple[int, int]] = []
    last: list[tuple[int, int]] = []
    for m in _SPACES.finditer(line):
        start, end = m.span()
        if start == 0 or end == len(line):
            continue
        before = line[:start].rsplit(" ", 1)[-1]
        after = line[end:].split(" ", 1)[0]
        if depths[start]:
            if depths[start] == 1 and calls[start] and before.endswith(","):
                last.append((start, end))
        elif before not in OPERATORS and not (after in OPERATORS and _numeric(before)):
            good.append((start, end))
    return good, last


def _tight_brackets(line: str) -> tuple[list[int], list[bool]]:
    """Each position's depth in brackets that hold one expression — every ``[``, and a
    ``(`` right after a character that is not a space (a call ``f(``, a tuple ``=(``,
    a product ``2·(``); a ``(`` after a space opens words, not an expression — and
    whether the innermost of them is a call's."""
    depths: list[int] = []
    calls: list[bool] = []
    stack: list[tuple[bool, bool]] = []  # each open bracket: tight, a call
    for i, ch in enumerate(line):
        if ch in _OPEN:
            prev = line[i - 1] if i else " "
            tight = ch != "(" or prev != " "
            stack.append((tight, tight and ch == "(" and (prev.isalnum() or prev == "_")))
        elif ch in _CLOSE and stack:
            stack.pop()
        depths.append(sum(tight for tight, _ in stack))
        calls.append(bool(stack) and stack[-1][1])
    return depths, calls


def _numeric(token: str) -> bool:
    return bool(token) and not any(ch.isalpha() for ch in token)


def wrap(text: Text, width: int, indent: int = 0) -> list[Text]:
    """``text`` in lines of at most ``width`` cells where its breaks allow it, each line
    after the first indented by ``indent``; a part that fits nowhere is left whole."""
    out: list[Text] = []
    for line in text.split("\n", allow_blank=True):
        out += _wrap_line(line, width, min(indent, width // 2))
    return out


def _wrap_line(line: Text, width: int, indent: int) -> list[Text]:
    plain = line.plain
    good, last = breaks(plain)
    lines: list[Text] = []
    start, pad = 0, 0
    while cell_len(plain[start:]) + pad > width:
        later = [b for b in good + last if b[0] > start]
        fits = [b for b in good if b in later and cell_len(plain[start : b[0]]) + pad <= width]
        fits = fits or [b for b in last if b in later and cell_len(plain[start : b[0]]) + pad <= width]
        if not (fits or later):
            break
        cut, resume = max(fits) if fits else min(later)  # too long a part goes past the width
        lines.append(Text(" " * pad) + line[start:cut])
        start, pad = resume, indent
    lines.append(Text(" " * pad) + line[start:])
    return lines


def _parts(line: str) -> list[str]:
    """The pieces of ``line`` that no break divides."""
    good, last = breaks(line)
    edges = [0, *(e for b in sorted(good + last) for e in b), len(line)]
    return [line[a:b] for a, b in zip(edges[::2], edges[1::2])]


@dataclass(frozen=True)
class Wrapped:
    """A text that wraps at its breaks (:func:`breaks`), its continuation lines
    indented by ``indent``."""

    text: Text
    indent: int = 0

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in wrap(self.text, options.max_width, self.indent):
            line.end = "\n"
            yield line

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        lines = self.text.plain.split("\n")
        longest = max(cell_len(line) for line in lines)
        parts = [part for line in lines for part in _parts(line)]
        least = max(cell_len(p) for p in parts) + (self.indent if len(parts) > len(lines) else 0)
        return Measurement(min(least, longest), longest)
