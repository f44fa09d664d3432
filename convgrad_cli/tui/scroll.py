"""Scrolling `explore`'s panels: where `]` and `[` stop, and which panels lie out of
sight. Plain arithmetic on line numbers of the scrolling part (0 is its first line),
so that it is tested without a terminal."""

from __future__ import annotations

from collections.abc import Sequence

#: A part of the scrolling area: its name, first line and the line after its last.
Part = tuple[str, int, int]


def stops(parts: Sequence[Part], height: int, end: int) -> list[int]:
    """The scroll offsets `]` and `[` step through, in order: each part's first line
    at the top (the parts of a row share one), and down a part taller than the
    ``height`` lines in view a page at a time, two lines kept, until its last line
    shows; none past ``end``, the largest offset.

    Examples
    --------
    >>> stops([("x", 0, 17), ("δ", 17, 32), ("W", 17, 28), ("∂L/∂x", 32, 42)], 17, 25)
    [0, 17, 25]
    >>> stops([("x", 0, 40)], 17, 23)
    [0, 15, 23]
    """
    page = max(1, height - 2)
    found = {0, end}
    for _, top, bottom in parts:
        found.update(range(top, bottom - height, page))
        found.add(top)
        found.add(max(top, bottom - height))
    return sorted(s for s in found if 0 <= s <= end)


def step(parts: Sequence[Part], height: int, end: int, now: int, by: int) -> int:
    """The offset one stop down (``by`` > 0) or up from ``now``; ``now`` at the last."""
    found = stops(parts, height, end)
    if by > 0:
        return next((s for s in found if s > now), now)
    return next((s for s in reversed(found) if s < now), now)


def out_of_sight(parts: Sequence[Part], top: int, height: int) -> tuple[list[str], list[str]]:
    """The names of the parts not wholly in the ``height`` lines from ``top``: those
    that begin above them, and the others that end below them."""
    above = [name for name, first, _ in parts if first < top]
    below = [name for name, first, last in parts if first >= top and last > top + height]
    return above, below
