"""The trace views, as the text a terminal without colour shows."""

from convgrad_cli.config import build_problem
from convgrad_cli.core.explain import InputTrace, OutputTrace, WeightTrace, every_input
from convgrad_cli.render import trace as views
from tests.support.render import text


def seed_problem(**extra):
    return build_problem({"input": {"shape": [4, 4], "fill": "names"},
                          "kernel": {"shape": [2, 2], "fill": "names"}, "delta": {"fill": "names"}, **extra})  # fmt: skip


def test_input_view_stride2_lays_the_flipped_kernel_over_a():
    lines = text(views.input_view(InputTrace.of(seed_problem(stride=2), "a")))
    assert "Start with input a. Where does it appear?" in lines
    at = lines.index("dilated and padded δ under the flipped kernel, at a's position")
    # the flipped kernel w4 w3 / w2 w1 over the top-left: only w1 meets a δ
    assert lines[at + 2] == "│ w4·0 │  w3·0 │ 0 │  0 │ 0 │"
    assert lines[at + 3] == "│ w2·0 │ w1·δ1 │ 0 │ δ2 │ 0 │"
    assert lines[-1] == "∂L/∂a = w1·δ1"


def test_input_view_window_labels_show_without_colour():
    lines = text(views.input_view(InputTrace.of(seed_problem(), "b")))
    # y1's window holds a b / e f, with b (traced) met by w2
    assert any("│ a·w1 │ [b]·w2 │" in line for line in lines)
    assert any("│ w2·δ1 │ w1·δ2 │ δ3 │" in line for line in lines)  # δ entries labelled with their weight
    assert lines[-1] == "∂L/∂b = w2·δ1 + w1·δ2"


def test_output_and_weight_views():
    lines = text(views.output_view(OutputTrace.of(seed_problem(), "y5")))
    assert "│ e │ f·w1 │ g·w2 │ h │" in lines and lines[-1] == "y5 = f·w1 + g·w2 + j·w3 + k·w4"
    lines = text(views.weight_view(WeightTrace.of(seed_problem(stride=2), "w2")))
    assert "│ a │ b·δ1 │ c │ d·δ2 │" in lines and lines[-1] == "∂L/∂w2 = b·δ1 + d·δ2 + j·δ3 + l·δ4"


def test_all_and_steps_views():
    lines = text(views.all_view(every_input(seed_problem())))
    assert lines[0] == "every input cell's gradient"
    assert lines[6] == "∂L/∂f = w4·δ1 + w3·δ2 + w2·δ4 + w1·δ5"
    lines = text(views.steps_view(InputTrace.of(seed_problem(), "b")), width=200)
    assert (
        lines[1]
        == "1. In the window of y1, b is multiplied by w2: ∂y1/∂b = w2, and ∂L/∂y1 is δ1, so b receives w2·δ1."
    )
    assert lines[3] == "Adding every window: ∂L/∂b = w2·δ1 + w1·δ2"
