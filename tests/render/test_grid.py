"""The grid drawn line by line is the Rich table it replaces: the same
characters in the same styles, for every panel the commands draw."""

import io
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.style import Style

from convgrad_cli.config import load
from convgrad_cli.core import explain
from convgrad_cli.core.panels import Mark, Panel
from convgrad_cli.core.pictures import (
    backward_picture,
    forward_picture,
    input_picture,
    output_picture,
    weight_picture,
)
from convgrad_cli.core.views import cells
from convgrad_cli.core.views.cells import cut
from convgrad_cli.render.grid import Grid

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


def styled(console: Console, renderable) -> list[list[tuple[str, Style]]]:
    """Each line as (character, style) pairs; no style and the null style alike."""
    out = []
    for line in console.render_lines(renderable, console.options, pad=False):
        chars = []
        for seg in line:
            style = seg.style or Style.null()
            chars += [(ch, style) for ch in seg.text]
        out.append(chars)
    return out


def panels_of(config: Path):
    p = load(config)
    g = p.geom
    zeros = ",".join(["0"] * (g.ndim + 2))
    middle = ",".join(["0", "0", *(str(n // 2) for n in g.in_size)])
    yield from forward_picture(explain.forward(p)).panels
    yield from backward_picture(explain.backward(p)).panels
    yield from input_picture(explain.CellTrace.of("input", p, middle)).panels
    yield from output_picture(explain.CellTrace.of("output", p, zeros)).panels
    yield from weight_picture(explain.CellTrace.of("weight", p, zeros)).panels


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_the_direct_grid_is_the_rich_table(config):
    console = Console(width=300, force_terminal=True, color_system="truecolor")
    count = 0
    for panel in panels_of(config):
        grid = Grid(panel)
        assert styled(console, grid) == styled(console, grid._group), panel.title
        count += 1
    assert count >= 5


def test_cut_grids_draw_their_gaps_as_rich_does():
    from convgrad_cli.config import build_problem

    for size, index in ((20, "0,0,10,10"), (30, "0,0,0,29"), (25, "0,0,24,0")):
        p = build_problem(
            {
                "input": {"shape": [size, size + 3], "fill": "random"},
                "kernel": {"shape": [3, 3], "fill": "random"},
                "stride": 2,
                "padding": 1,
            }
        )
        console = Console(width=300, force_terminal=True, color_system="truecolor")
        panels = [
            *input_picture(explain.CellTrace.of("input", p, index)).panels,
            *backward_picture(explain.backward(p)).panels,
        ]
        assert any("⋯" in "".join(t.plain for t in Grid(panel).lines) for panel in panels)
        for panel in panels:
            assert styled(console, Grid(panel)) == styled(console, Grid(panel)._group), panel.title


def test_a_grid_wider_than_the_console_is_squeezed_as_rich_squeezes_it():
    p = load(None)
    panel = next(iter(input_picture(explain.CellTrace.of("input", p, "f")).panels))
    narrow = Console(width=15, force_terminal=True, color_system="truecolor")
    grid = Grid(panel)
    assert grid.width > 15
    assert styled(narrow, grid) == styled(narrow, grid._group)


@given(st.integers(1, 60), st.integers(5, 14), st.data())
def test_a_cut_axis_keeps_its_ends_and_the_focus_and_marks_every_gap(size, limit, data):
    """No index is left out without a gap in its place: cut(12, 6, 10) showed 0 then 3 side by side."""
    centre = data.draw(st.integers(0, size - 1))
    shown = cut(size, centre, limit)
    assert len(shown) <= limit and centre in shown
    if size > limit:
        assert shown[0] == 0 and shown[-1] == size - 1
    for before, after in zip(shown, shown[1:]):
        assert before is not None or after is not None  # a gap is one column
        if before is not None and after is not None:
            assert after == before + 1
    for i, index in enumerate(shown):
        if index is None:
            assert shown[i + 1] - shown[i - 1] >= 2  # it stands for at least one index


@given(
    st.integers(1, 14),
    st.integers(1, 30),
    st.integers(60, 160),
    st.data(),
)
def test_a_grid_of_numbers_fits_its_width_whole(rows, cols, width, data):
    """A grid that may be drawn narrower (check's error grid) fits any width from 60 columns: no
    line past it, no number cut (…), the focus's ✗ drawn, and every cell a number and its mark."""
    values = np.array(data.draw(st.lists(st.floats(-1e6, 1e6, allow_subnormal=False), min_size=rows * cols,
                                         max_size=rows * cols))).reshape(rows, cols)  # fmt: skip
    focus = (data.draw(st.integers(0, rows - 1)), data.draw(st.integers(0, cols - 1)))
    marks = {focus: Mark("wrong")}
    panel = Panel(
        "", "input_grad", (0, 0), values, None, 2, marks=marks, focus=focus, narrower=cells.NARROWER
    )
    console = Console(width=width, color_system=None, file=io.StringIO())
    console.print(Grid(panel))
    lines = console.file.getvalue().splitlines()
    assert max(map(len, lines)) <= width
    drawn = [c.strip() for line in lines if line.startswith("│") for c in line.strip("│").split("│")]
    assert "✗" in "".join(drawn) and not any("…" in c for c in drawn)
    for c in drawn:
        assert c in ("⋯", "⋮", "⋱") or re.fullmatch(r"-?[\d.]+(e[-+]\d+)?✗?", c), c


def test_rows_of_zeros_in_a_dilated_delta_are_as_tall_as_rows_of_names_and_values():
    """``δ₀₀₀₀ / -1.439 / 0`` read as one cell of three lines: the zero row under it was one
    line high. In the unmarked dilated and padded δ every row of cells is as tall as the tallest."""
    from convgrad_cli.config import build_problem

    p = build_problem({"input": {"shape": [1, 2, 7, 7], "fill": "names"}, "kernel": {"shape": [2, 2, 3, 3], "fill": "names"},
                       "delta": {"fill": "random"}, "stride": 2, "padding": 1})  # fmt: skip
    grids = [Grid(pl) for pl in backward_picture(explain.backward(p)).panels if pl.array.endswith("delta")]
    assert {pl.panel.array for pl in grids} == {"delta", "dilated_delta", "padded_delta"}
    for grid in grids:
        lines = [len(lines) for row in grid._rows for lines in row]
        if grid.panel.array != "delta":
            assert min(lines) == 1 and max(lines) == 2  # zeros beside names with values
            assert set(grid.heights) == {2}, grid.panel.title
