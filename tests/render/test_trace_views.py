"""The trace views, as the text a terminal shows — without colour (every mark is
text too) and with it (colour only where a window contributes)."""

import re

from convgrad_cli.config import build_problem, load
from convgrad_cli.core import views
from convgrad_cli.core.explain import CellTrace, every_input
from convgrad_cli.core.pictures import input_picture
from convgrad_cli.core.views.blocks import Panels
from convgrad_cli.render.grid import Grid
from convgrad_cli.render.style import PALETTE
from convgrad_cli.render.terminal import draw
from tests.support.render import text

CONFIGS = "configs"


def seed_problem(**extra):
    return build_problem(
        {
            "input": {"shape": [4, 4], "fill": "names"},
            "kernel": {"shape": [2, 2], "fill": "names"},
            "delta": {"fill": "names"},
            **extra,
        }
    )


def line_starting(lines, start):
    return next(line for line in lines if line.startswith(start))


def test_input_view_stride2_lays_the_flipped_kernel_over_a():
    lines = text(draw(views.cell_view(CellTrace.of("input", seed_problem(stride=2), "a"))))
    assert "Start with input a. Where does it appear?" in lines
    at = lines.index("dilated and padded δ under the flipped kernel, at a's position")
    # the flipped kernel w4 w3 / w2 w1 over the top-left: only w1 meets a δ
    assert lines[at + 1] == "padded δ"
    assert lines[at + 3] == "│ w4·0 │  w3·0 │ 0 │  0 │ 0 │"
    assert lines[at + 4] == "│ w2·0 │ w1·δ1 │ 0 │ δ2 │ 0 │"
    assert line_starting(lines, "∂L/∂a =") == "∂L/∂a = w1·δ1"


def test_input_view_window_labels_show_without_colour():
    lines = text(draw(views.cell_view(CellTrace.of("input", seed_problem(), "b"))))
    # y1's window holds a b / e f, with b (traced) met by w2
    assert any("│ a·w1 │ [b]·w2 │" in line for line in lines)
    assert any("│ w2·δ1 │ w1·δ2 │ δ3 │" in line for line in lines)  # δ entries labelled with their weight
    assert line_starting(lines, "∂L/∂b =") == "∂L/∂b = w2·δ1 + w1·δ2"


def test_output_and_weight_views():
    lines = text(draw(views.cell_view(CellTrace.of("output", seed_problem(), "y5"))))
    assert (
        "│ e │ f·w1 │ g·w2 │ h │" in lines
        and line_starting(lines, "y5 =") == "y5 = f·w1 + g·w2 + j·w3 + k·w4"
    )
    assert lines[0].startswith("convgrad 1×1×4×4 * 1×1×2×2 s1")  # the heading, as in every view
    lines = text(draw(views.cell_view(CellTrace.of("weight", seed_problem(stride=2), "w2"))))
    assert "│ a │ b·δ1 │ c │ d·δ2 │" in lines
    assert line_starting(lines, "∂L/∂w2 =") == "∂L/∂w2 = b·δ1 + d·δ2 + j·δ3 + l·δ4"
    assert lines[0].startswith("convgrad 1×1×4×4 * 1×1×2×2 s2")


def test_all_and_steps_views():
    lines = text(draw(views.every_view(every_input(seed_problem()))))
    assert lines[0].startswith("convgrad 1×1×4×4") and lines[2] == "every input cell's gradient"
    assert lines[8] == "∂L/∂f = w4·δ1 + w3·δ2 + w2·δ4 + w1·δ5"
    lines = text(draw(views.steps_view(CellTrace.of("input", seed_problem(), "b"))), width=200)
    first = (
        "1. In the window of y1, b is multiplied by w2: ∂y1/∂b = w2, and ∂L/∂y1 is δ1, so b receives w2·δ1."
    )
    second = (
        "2. In the window of y2, b is multiplied by w1: ∂y2/∂b = w1, and ∂L/∂y2 is δ2, so b receives w1·δ2."
    )
    assert lines.index(first) < lines.index("so far: ∂L/∂b = w2·δ1") < lines.index(second)
    assert lines.index(second) < lines.index("so far: ∂L/∂b = w2·δ1 + w1·δ2")
    assert "Adding every window: ∂L/∂b = w2·δ1 + w1·δ2" in lines


def test_steps_draw_each_window_and_say_how_many_taps_land_on_zeros():
    lines = text(draw(views.steps_view(CellTrace.of("input", seed_problem(), "f"))), width=200)
    # one picture per window: f's four windows, each with [f] and its weight
    assert sum("[f]·w" in line for line in lines if line.startswith("│")) == 4
    assert any("│ e·w3 │ [f]·w4 │" in line for line in lines)  # y1's window: f meets w4
    assert "each of its taps covers one of them" in " ".join(lines)  # all four of f's taps are terms
    assert "lands on a zero" not in " ".join(lines)
    lines = text(draw(views.steps_view(CellTrace.of("input", seed_problem(), "a"))), width=200)
    assert "its other 3 taps land on zeros" in " ".join(lines)


def test_an_uncovered_cell_says_why_and_shows_the_extra_zero_column():
    problem = load(f"{CONFIGS}/uneven.yaml")  # 4×5, 2×2, stride 2: column 4 lies past the last window
    lines = text(draw(views.cell_view(CellTrace.of("input", problem, "e"))), width=120)
    joined = " ".join(lines)
    assert "Nowhere: no window reaches column 4: the last one ends at column 3" in joined
    assert "∂L/∂e = 0" in joined
    at = lines.index("dilated and padded δ under the flipped kernel, at e's position")
    # the padded δ's extra zero column at the right, under the flipped kernel's taps
    assert lines[at + 3].endswith("│ w4·0 │ w3·0 │")
    assert lines[at + 4].endswith("│ w2·0 │ w1·0 │")


def test_groups_draw_the_windows_on_the_cells_group_only():
    """y₀₀₁₁ reads channels 0 and 1 (group 0); channels 2 and 3 are the other group's.
    The cell lies in channel 1: its windows are drawn there, channel 0 is said in a line."""
    problem = load(f"{CONFIGS}/groups.yaml")
    lines = text(draw(views.cell_view(CellTrace.of("input", problem, "0,1,2,2"))), width=100)
    titles = [line for line in lines if line.startswith("y₀ₒ")]
    assert titles and all("c=2" not in t and "c=3" not in t and "c=0" not in t for t in titles)
    assert all("c=1" in t for t in titles)
    assert any(line.startswith("each window also reads channel c=0 at the same rows") for line in lines)
    assert all("o = 0…1" in t for t in titles)  # the group's outputs, each with its own filter
    assert (
        sum(line.count("[x₀₁₂₂]·wₒ₁") for line in lines if line.startswith("│")) == 4
    )  # the cell, bracketed, in plain text
    assert not any("δ [o=2]" in line or "δ [o=3]" in line for line in lines)


def test_a_batch_with_channels_fits_and_shows_its_own_sample():
    problem = load(f"{CONFIGS}/multichannel_batch.yaml")
    lines = text(draw(views.cell_view(CellTrace.of("input", problem, "1,2,3,3"))), width=100)
    assert len(lines) < 150
    assert not any("n=0" in line for line in lines)  # the other sample is not drawn
    assert len(re.findall(r"(?<!padded )δ \[n=1, o=[0-3]\]", "\n".join(lines))) == 4  # the group's outputs
    assert sum(line.count("W [o=") for line in lines) == 4
    assert max(len(line) for line in lines) <= 100


def test_plain_windows_differ_and_carry_the_cell_and_weights():
    problem = build_problem({"input": {"shape": [6, 6], "fill": "arange"}})
    lines = text(draw(views.cell_view(CellTrace.of("input", problem, "1,1"))), width=100)
    tables = "\n".join(line for line in lines if line.startswith("│"))
    assert tables.count("[x₁₁]") == 4  # in each of its four windows
    assert "·w4" in tables and "·w1" in tables


def test_padding_draws_the_zero_border_and_the_taps_on_it():
    problem = build_problem({"padding": 1})
    lines = text(draw(views.cell_view(CellTrace.of("output", problem, "y1"))))
    assert "│ ░·w1 │ ░·w2 │  ░ │  ░ │  ░ │ ░ │" in lines
    assert "│ ░·w3 │ a·w4 │  b │  c │  d │ ░ │" in lines
    assert line_starting(lines, "y1 =") == "y1 = a·w4 = 4"


def styles_of(text):
    return " ".join(str(span.style) for span in text.spans) + " " + str(text.style)


def test_only_contributors_are_coloured():
    """In trace --input a the only term is w1·δ1: δ1 under the flipped kernel is in its
    window's colour, every other δ is neutral; the window's cells take its colour too."""
    picture = input_picture(CellTrace.of("input", build_problem({}), "a"))
    overlay = next(p for p in picture.panels if p.array == "padded_delta")
    grid = Grid(overlay)
    assert PALETTE[0] in styles_of(grid.cell(1, 1))  # δ1, met by w1
    for cell in [(1, 2), (2, 2), (3, 3), (0, 0)]:  # δ2, δ5, δ9, and a zero under the kernel
        assert "#" not in styles_of(grid.cell(*cell)), cell
    delta = next(p for p in picture.panels if p.array == "delta")
    assert PALETTE[0] in styles_of(Grid(delta).cell(0, 0)) and "#" not in styles_of(Grid(delta).cell(0, 1))


def test_windows_keep_their_colour_from_the_input_to_the_delta():
    picture = input_picture(CellTrace.of("input", build_problem({}), "f"))  # windows y1, y2, y4, y5
    delta = next(p for p in picture.panels if p.array == "delta")
    for window, cell in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        assert PALETTE[window] in styles_of(Grid(delta).cell(*cell))
    windows = [p for p in picture.panels if p.array == "input"]
    assert [PALETTE[i] in styles_of(Grid(p).cell(1, 1)) for i, p in enumerate(windows)] == [True] * 4


def cropped_overlays(x_shape, k_shape, cell, **geometry):
    """The padded δ's section of an input's trace: its panels and its note."""
    problem = build_problem(
        {
            "input": {"shape": x_shape, "fill": "names"},
            "kernel": {"shape": k_shape, "fill": "names"},
            "delta": {"fill": "names"},
            **geometry,
        }
    )
    view = views.cell_view(CellTrace.of("input", problem, cell))
    return next(
        b for b in view.blocks if isinstance(b, Panels) and any(p.array == "padded_delta" for p in b.panels)
    )


def test_a_cropped_padded_delta_says_which_part_of_how_large_a_grid_it_shows():
    # 7×7 input, kernel 3, stride 2, padding 1: the padded δ is 7 + 3 − 1 = 9 on a side
    # (the correlation with a 3×3 kernel gives the 7×7 ∂L/∂x); x[3, 3] is read by the
    # flipped kernel at padded-δ rows and columns 3–5, shown with a cell around: 2–6
    section = cropped_overlays([2, 3, 7, 7], [4, 3, 3, 3], "1,2,3,3", stride=2, padding=1)
    assert section.note == "each panel: rows 2–6, columns 2–6 of the 9×9 padded δ"
    assert all(p.shape == (9, 9) and p.crop == ((2, 7), (2, 7)) for p in section.panels)
    # one channel, not cut: nothing to say
    section = cropped_overlays([4, 4], [2, 2], "0,0", stride=2)
    assert section.note == "" and all(p.crop is None for p in section.panels)
    # 1-D: 9 positions, kernel 3, stride 2, padding 1: 11 positions, x[4] under 4–6
    section = cropped_overlays([2, 3, 9], [4, 3, 3], "1,2,4", stride=2, padding=1, dims=1)
    assert section.note == "each panel: positions 3–7 of the 11-long padded δ"
