"""`convgrad trace`: the slides' answers cell by cell, numbers for any geometry, every view."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from convgrad_cli.cli import app
from convgrad_cli.config import build_problem
from convgrad_cli.core import rules
from convgrad_cli.core.explain import CellTrace
from tests.support.profile import examples
from tests.support.seed import STRIDE1_GRADS, STRIDE2_GRADS
from tests.support.strategies import geometries

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def trace_json(*args):
    result = runner.invoke(app, ["trace", *map(str, args), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_trace_input_a_is_the_seed_answer():
    doc = trace_json("--input", "a")
    assert doc["expression"] == "∂L/∂a = w1·δ1"
    assert doc["terms"] == [
        {
            "weight": "w1",
            "weight_index": [0, 0],
            "delta": "δ1",
            "output": "y1",
            "output_index": [0, 0],
            "input": "a",
            "input_index": [0, 0],
        }
    ]
    assert doc["value"] == 1.0  # w1 = 1, δ1 = 1


@pytest.mark.parametrize("stride, table", [(1, STRIDE1_GRADS), (2, STRIDE2_GRADS)])
def test_every_cell_of_both_examples(stride, table):
    for cell, expected in table.items():
        doc = trace_json("--input", cell, "--stride", stride)
        assert doc["expression"] == f"∂L/∂{cell} = {expected}"
        assert [f"{t['weight']}·{t['delta']}" for t in doc["terms"]] == expected.split(" + ")
    every = trace_json("--all", "--stride", stride)
    assert [c["expression"] for c in every["cells"]] == [f"∂L/∂{c} = {e}" for c, e in table.items()]


def test_index_and_name_select_the_same_cell():
    assert trace_json("--input", "1,2")["cell"] == "g"
    assert trace_json("--input", "x[1,2]")["cell"] == "g"
    assert trace_json("--output", "y5")["expression"] == "y5 = f·w1 + g·w2 + j·w3 + k·w4"
    assert trace_json("--output", "1,1")["cell"] == "y5"
    # ∂L/∂w2: w2 met b, c, d, f, g, h, j, k, l in windows 1 … 9
    doc = trace_json("--weight", "w2")
    assert doc["expression"] == "∂L/∂w2 = b·δ1 + c·δ2 + d·δ3 + f·δ4 + g·δ5 + h·δ6 + j·δ7 + k·δ8 + l·δ9"
    assert doc["value"] == 2 + 3 + 4 + 6 + 7 + 8 + 10 + 11 + 12


def test_uncovered_cell_says_so():
    # 4×5, 2×2, stride 2: the last column (e, j, o, t) lies past the last window
    doc = trace_json("--input", "e", "--x", "arange:4x5", "--stride", "2")
    assert doc["covered"] is False and doc["terms"] == [] and doc["expression"] == "∂L/∂e = 0"
    out = runner.invoke(
        app, ["trace", "--input", "0,4", "--x", "arange:4x5", "-s", "2", "-f", "plain"]
    ).stdout
    assert (
        "Nowhere: no window reaches column 4: the last one ends at column 3, since 5 − 2 = 3 is not a "
        "multiple of stride 2, so ∂L/∂e = 0." in " ".join(out.split())
    )


@given(geometries(dims=(1, 2, 3), max_size=5), st.integers(0, 2**16), st.data())
@settings(max_examples=examples(40), deadline=None)
def test_traced_value_is_the_numeric_gradient(g, seed, data):
    """Give every name a number: the trace of any cell equals the engine's gradient."""
    rng = np.random.default_rng(seed)
    raw = {
        "input": rng.integers(-5, 6, g.input_shape).tolist(),
        "kernel": rng.integers(-5, 6, g.kernel_shape).tolist(),
        "delta": rng.integers(-5, 6, g.output_shape).tolist(),
        "stride": list(g.stride),
        "dilation": list(g.dilation),
        "groups": g.groups,
        "padding": [list(p) for p in g.padding],
        "dims": g.ndim,
    }
    problem = build_problem(raw)
    idx = tuple(data.draw(st.integers(0, n - 1)) for n in g.input_shape)
    cell = CellTrace.of("input", problem, ",".join(map(str, idx)))
    expected = rules.input_grad(g, problem.w, problem.delta)[idx]
    assert cell.value == expected
    widx = tuple(data.draw(st.integers(0, n - 1)) for n in g.kernel_shape)
    wcell = CellTrace.of("weight", problem, ",".join(map(str, widx)))
    assert wcell.value == rules.weight_grad(g, problem.x, problem.delta)[widx]


def test_large_grids_stay_within_80_columns():
    result = runner.invoke(
        app, ["trace", "--input", "20,31", "--x", "random:1x1x40x64", "-k", "random:3x3", "-f", "plain"]
    )
    assert result.exit_code == 0, result.stderr
    assert max(len(line.rstrip()) for line in result.stdout.splitlines()) <= 80
    assert "⋯" in result.stdout  # cut around the cell, not wrapped


def test_multichannel_trace_uses_indices():
    doc = trace_json("--input", "0,1,2,2", "--x", "ones:1x2x4x4", "-k", "ones:3x2x2x2")
    assert doc["cell"] == "x₀₁₂₂" and len(doc["terms"]) == 3 * 4
    assert doc["value"] == 12.0


BAD = [
    (["--input", "zz"], "no input cell named 'zz'; names run from a to p"),
    (["--input", "9,9"], "input index '9,9' is outside the shape"),
    (["--input", "1,2,3"], "input index '1,2,3' has 3 numbers"),
    (["--output", "y10"], "no output cell named 'y10'"),
    (["--weight", "w5"], "no weight cell named 'w5'"),
    (["--input", "a", "--output", "y1"], "--input and --output were given together"),
]


@pytest.mark.parametrize("args, message", BAD, ids=[m for _, m in BAD])
def test_bad_cells_exit_2(args, message):
    result = runner.invoke(app, ["trace", *args])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr


@pytest.mark.parametrize(
    "flags, kind, cell",
    [
        (["--x", "ones:2x4x4", "-k", "ones:3x2x2x2"], "--input", "1,2,2"),  # (C, H, W)
        (["--x", "ones:2x4x4", "-k", "ones:3x2x2x2"], "--output", "2,1,0"),  # (O, H, W)
        (["--x", "ones:2x4x4", "-k", "ones:3x2x2x2"], "--weight", "2,1,0,1"),
        (["--x", "ones:2x7", "-k", "ones:3x2x3", "--dims", "1"], "--input", "1,5"),  # (C, L)
        (["--x", "ones:2x7", "-k", "ones:3x2x3", "--dims", "1"], "--output", "1,4"),
    ],
)
def test_what_trace_prints_as_an_index_it_takes_back(flags, kind, cell):
    """The index of an unbatched config is printed in the config's rank and accepted
    back, for the cell and for every term's cells."""
    doc = trace_json(*flags, kind, cell)
    assert doc["index"] == [int(v) for v in cell.split(",")]
    again = trace_json(*flags, kind, ",".join(map(str, doc["index"])))
    assert again["cell"] == doc["cell"] and again["terms"] == doc["terms"]
    for term in doc["terms"]:
        for what, flag in (("input", "--input"), ("output", "--output"), ("weight", "--weight")):
            back = trace_json(*flags, flag, ",".join(map(str, term[f"{what}_index"])))
            assert back["cell"] == term[what]


def test_the_slides_capital_outputs_are_accepted():
    doc = trace_json("--output", "Y1", "--stride", "2")
    assert doc["cell"] == "y1" and doc["expression"] == "y1 = a·w1 + b·w2 + e·w3 + f·w4"


def test_names_never_collide():
    """The bias gradient is ∂L/∂bias, never ∂L/∂b (cell b); lettering skips w, x and y,
    which name whole arrays: a 23-cell input ends in z, a 25-cell one is indexed."""
    out = runner.invoke(app, ["backward", "--bias", "[0.5]", "-f", "plain"]).stdout
    assert "∂L/∂bias = Σδ = 9" in out and "∂L/∂b = w2·δ1 + w1·δ2" in out
    assert "∂L/∂b = Σδ" not in out
    doc = trace_json("--all", "--x", "arange:1x23", "-k", "arange:1x2")
    assert [c["cell"] for c in doc["cells"]][-4:] == ["t", "u", "v", "z"]
    doc = trace_json("--all", "--x", "arange:5x5")
    assert doc["cells"][-1]["cell"] == "x₄₄"
    assert not any(c["cell"] in ("w", "x", "y") for c in doc["cells"])


@pytest.mark.parametrize(
    "args",
    [
        ["trace", "--input", "b"],
        ["trace", "--output", "y5"],
        ["trace", "--weight", "w2"],
        ["backward"],
        ["forward", "--padding", "1"],
    ],
)
def test_json_of_every_view_lists_its_panels(args):
    doc = json.loads(runner.invoke(app, [*args, "-f", "json"]).stdout)
    assert doc["panels"], args
    for panel in doc["panels"]:
        assert {"section", "title", "array", "slice", "shape", "marks"} <= panel.keys()
        for mark in panel["marks"]:
            assert mark["role"] in ("cell", "window", "contributor", "tap", "padding_tap")


def test_trace_json_panels_mark_the_slides_answer():
    doc = trace_json("--input", "b")
    delta = [m for p in doc["panels"] if p["array"] == "delta" for m in p["marks"]]
    assert sorted((m["index"], m["factor"]) for m in delta) == [([0, 0, 0, 0], "w2"), ([0, 0, 0, 1], "w1")]
    windows = [p for p in doc["panels"] if p["array"] == "input"]
    assert [p["title"] for p in windows] == ["y1: b·w2", "y2: b·w1"]
    assert [m["index"] for m in windows[0]["marks"] if m["role"] == "cell"] == [[0, 0, 0, 1]]


def test_slice_picks_what_is_drawn():
    config = ROOT / "configs" / "multichannel_batch.yaml"
    doc = trace_json(config, "--input", "1,2,3,3", "--slice", "o=2")
    deltas = [p for p in doc["panels"] if p["array"] in ("delta", "padded_delta")]
    assert deltas and {p["slice"]["o"] for p in deltas} == {2}
    doc = trace_json(config, "--weight", "0,0,1,1", "--slice", "n=1")
    assert {p["slice"]["n"] for p in doc["panels"] if p["array"] in ("input", "delta")} == {1}
    result = runner.invoke(app, ["trace", "--slice", "q=1"])
    assert result.exit_code == 2 and "--slice 'q=1' is not allowed" in result.stderr


def test_format_rich_is_colour_even_into_a_pipe():
    result = runner.invoke(app, ["trace", "--input", "a", "-f", "rich"])
    assert "\x1b[" in result.stdout
    assert "\x1b[" not in runner.invoke(app, ["trace", "--input", "a"]).stdout  # not a terminal: plain
