"""The cells `shape` and `backward` call uncovered are exactly the input cells no
window reads — those whose gradient is structurally 0 — checked against a naive
loop over every window and tap; padding no window reaches is not counted."""

import itertools
import re

import numpy as np
from hypothesis import given, settings

from convgrad_cli.core.coverage import checkerboard
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.pictures import coverage_panel
from convgrad_cli.core.pictures.pipeline import uncovered_in_words
from tests.support.profile import examples
from tests.support.strategies import geometries


def taps(g: Geometry):
    """Every (window, tap) position in the input's coordinates, in bounds or not."""
    for p in itertools.product(*(range(o) for o in g.out_size)):
        for t in itertools.product(*(range(k) for k in g.kernel_size)):
            yield tuple(
                pi * s + ti * d - b for pi, ti, s, d, (b, _) in zip(p, t, g.stride, g.dilation, g.padding)
            )


def read_cells(g: Geometry) -> set[tuple[int, ...]]:
    return {q for q in taps(g) if all(0 <= qi < n for qi, n in zip(q, g.in_size))}


def past_the_last_window(g: Geometry, axis: int) -> int:
    """Input rows on ``axis`` after the farthest tap any window has there."""
    last = max(q[axis] for q in taps(g))
    return max(0, g.in_size[axis] - 1 - last) if last >= 0 else g.in_size[axis]


def said_never_covered(notes: list[str], axis_name: str) -> int:
    for note in notes:
        m = re.match(rf"{axis_name}s: the last (\d+) {axis_name}s? (?:is|are) never covered", note)
        if m:
            return int(m.group(1))
    return 0


@given(geometries(dims=(1, 2), max_size=7))
@settings(max_examples=examples(300))
def test_the_cells_called_uncovered_are_the_cells_no_window_reads(g):
    read = read_cells(g)
    unread = {q for q in np.ndindex(*g.in_size) if q not in read}
    marked = set(coverage_panel(g, "").marks)
    if g.ndim == 1:
        marked = {(c,) for _, c in marked}
    assert marked == unread
    notes = checkerboard(g)
    for axis, name in enumerate(("position",) if g.ndim == 1 else ("row", "column")):
        rows = past_the_last_window(g, axis)
        assert said_never_covered(notes, name) == rows == g.uncovered_input[axis]
        # every cell of those rows is unread, whatever the other coordinates
        assert all(q in unread for q in np.ndindex(*g.in_size) if q[axis] >= g.in_size[axis] - rows)


def test_a_padding_row_no_window_reaches_is_not_called_an_input_row():
    # 6 rows, kernel 3, stride 2, padding 1: windows start at padded rows 0, 2, 4 and end
    # at 6, the last input row; padded row 7 (padding) is the one no window reaches
    g = Geometry.build((6, 6), (3, 3), stride=2, padding=1)
    assert read_cells(g) == set(np.ndindex(6, 6))
    assert g.uncovered == (1, 1) and g.uncovered_input == (0, 0)
    assert not any("never covered" in n for n in checkerboard(g))
    assert uncovered_in_words(g) == "the 1 row and 1 column of padding no window reaches"
    # 6 positions, kernel 2, stride 3, padding 0 before and 1 after: windows read 0–1 and
    # 3–4, so position 5 (and 2, a hole) is unread; the padding after is past it
    g = Geometry.build((6,), (2,), stride=3, padding=((0, 1),))
    assert read_cells(g) == {(0,), (1,), (3,), (4,)}
    assert g.uncovered == (2,) and g.uncovered_input == (1,)
    assert (
        "positions: the last 1 position is never covered: 5 is not a multiple of stride 3 (their gradient is 0)"
        in checkerboard(g)
    )
    assert uncovered_in_words(g) == "the 2 zeros of the padded input no window reaches"
    g = Geometry.build((4, 5), (2, 2), stride=2)
    assert uncovered_in_words(g) == "the 1 column no window reaches"
