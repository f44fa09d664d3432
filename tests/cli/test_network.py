"""The commands on a stack of layers: JSON bottom-up, and one line for a bad stack."""

import json

import pytest
from typer.testing import CliRunner

from convgrad_cli.cli import app

runner = CliRunner()

SMALL = """\
input: [[[-1.0, 2.0, 0.0, 3.0, 5.0, 4.0]]]
layers:
  - relu
  - maxpool: {kernel: 2}
  - conv: {kernel: [[[1.0, -2.0]]]}
loss: sum
"""


def run(tmp_path, text, *args):
    path = tmp_path / "stack.yaml"
    path.write_text(text)
    return runner.invoke(app, [args[0], str(path), *args[1:]])


def test_backward_json_lists_layers_bottom_up_with_the_delta_each_receives(tmp_path):
    result = run(tmp_path, SMALL, "backward", "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    kinds = [layer["kind"] for layer in doc["layers"]]
    assert kinds == ["relu", "maxpool", "conv"]
    relu, pool, conv = doc["layers"]
    # relu [0, 2, 0, 3, 5, 4] → maxpool k2 [2, 3, 5] → conv (1, −2): [2 − 6, 3 − 10] = [−4, −7]
    assert conv["output"] == [[[-4.0, -7.0]]] and doc["loss"] == {"kind": "sum", "value": -11.0}
    assert conv["delta"] == [[[1.0, 1.0]]]
    assert conv["input_grad"] == [[[1.0, -1.0, -2.0]]]  # δ1·w1, δ1·w2 + δ2·w1, δ2·w2
    assert conv["weight_grad"] == [[[5.0, 8.0]]]  # 2 + 3, 3 + 5
    assert pool["delta"] == conv["input_grad"]
    assert pool["input_grad"] == [[[0.0, 1.0, 0.0, -1.0, -2.0, 0.0]]]  # each δ to its window's winner
    assert relu["input_grad"] == [[[0.0, 1.0, 0.0, -1.0, -2.0, 0.0]]]  # x ≤ 0 stops it: −1 and 0 had none
    assert "weight_grad" not in pool and "weight_grad" not in relu


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        (
            "  - conv: {kernel: [[[1.0]], [[1.0]]]}\n  - conv: {kernel: [[[1.0]]]}",
            "layer 2 (conv), on the output of layer 1 (conv) [1, 2, 6]: conv kernel [1, 1, 1] takes 1 channel(s)",
        ),
        ("  - pool: {kernel: 2}", "layer 1 has unknown kind 'pool'"),
        ("  - avgpool: {kernel: 7}", "layer 1 (avgpool): avgpool window spans 7 cells on axis 0"),
    ],
)
def test_a_bad_stack_is_one_line_and_status_2(tmp_path, layers, message):
    result = run(
        tmp_path, f"input: [[[1, 2, 3, 4, 5, 6]]]\nlayers:\n{layers}\n", "backward", "--format", "json"
    )
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_flags_of_a_single_convolution_are_refused_with_a_stack(tmp_path):
    result = run(tmp_path, SMALL, "forward", "--stride", "2", "--format", "json")
    assert result.exit_code == 2 and "--stride cannot be given with a stack config" in result.stderr


def test_trace_output_of_a_stack_gives_the_field_the_paths_and_the_gradient(tmp_path):
    result = run(tmp_path, SMALL, "trace", "--output", "0,0,0", "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    # top output 0 = pooled[0] − 2·pooled[1]: windows [0, 2) and [2, 4) of the input
    assert doc["receptive_field"] == [[0, 4]]
    assert doc["paths"] == [[[1, 1, 1, 1, 0, 0]]]  # one path from each cell of the two windows the conv taps
    assert doc["gradient"] == [[[0.0, 1.0, 0.0, -2.0, 0.0, 0.0]]]
    assert [level["kind"] for level in doc["levels"]] == ["input", "relu", "maxpool", "conv"]


def test_shape_of_a_stack_lists_size_jump_and_start_per_layer(tmp_path):
    result = run(tmp_path, SMALL, "shape", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["layers"]
    assert [(r["output_size"], r["rf_size"], r["rf_jump"], r["rf_start"]) for r in rows] == [
        ([6], [1], [1], [0]),
        ([3], [2], [2], [0]),
        ([2], [4], [2], [0]),  # 2 + (2 − 1)·2
    ]


@pytest.mark.parametrize(
    "command",
    [["forward"], ["backward"], ["trace", "--output", "0,0,1"], ["trace", "--input", "0,0,3"], ["shape"]],
)
@pytest.mark.parametrize("form", ["plain", "rich", "latex", "markdown", "json"])
def test_every_stack_command_draws_in_every_format(tmp_path, command, form):
    result = run(tmp_path, SMALL, *command, "--format", form)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip()


def test_the_delta_arriving_from_a_max_pool_is_labelled_at_each_window_winner(tmp_path):
    result = run(tmp_path, SMALL, "backward", "--format", "plain", "--width", "200")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    x_section = text.split("x⁽²⁾, each window's winner labelled with its δ")[1].split("∂L/∂x⁽²⁾")[0]
    # relu(x) = [0, 2, 0, 3, 5, 4]: windows [0, 2), [2, 4), [4, 6) are won by 2, 3 and 5
    row = [line for line in x_section.splitlines() if "·δ" in line][0]
    assert [cell.strip() for cell in row.split("│")[1:-1]] == ["", "·δ1", "", "·δ2", "·δ3", ""]
    assert "the cell that won that window" in text


def test_trace_output_of_a_stack_says_its_field(tmp_path):
    result = run(tmp_path, SMALL, "trace", "--output", "0,0,1", "--format", "plain", "--width", "200")
    assert "receptive field on the input: cells [2, 6)" in result.stdout


def flags_json(*args):
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_layer_flags_build_one_max_pool_whose_ties_go_to_the_first_cell():
    doc = flags_json("backward", "--layer", "maxpool", "--kernel-size", "2", "--x", "[[[[3, 3], [3, 1]]]]")
    assert doc["layers"][0]["output"] == [[[[3.0]]]]
    assert doc["layers"][0]["input_grad"] == [[[[1.0, 0.0], [0.0, 0.0]]]]


def test_layer_flags_build_an_avg_pool_with_pytorchs_divisor():
    # 4×4 of 1 … 16, window 3, stride 2, padding 1, ceil: output (0, 0) averages 1, 2, 5, 6 over 4 cells without padding
    doc = flags_json(
        "forward",
        "--layer",
        "avgpool",
        "--kernel-size",
        "3",
        "--stride",
        "2",
        "--padding",
        "1",
        "--ceil-mode",
        "--no-count-include-pad",
    )
    assert doc["layers"][0]["output"][0][0][0] == [3.5, 5.0, 6.0]
    counted = flags_json(
        "forward", "--layer", "avgpool", "--kernel-size", "3", "--stride", "2", "--padding", "1"
    )
    assert (
        counted["layers"][0]["output"][0][0][0][0] == 14 / 9
    )  # 1 + 2 + 5 + 6 over the 9 cells, padding counted


def test_layer_flags_build_a_transposed_convolution():
    # x = [1, 2] scattered through w = [1, 10] at stride 2: [1, 10, 2, 20], output_padding adds a last 0
    doc = flags_json(
        "forward",
        "--layer",
        "conv_transpose",
        "--x",
        "[[[1, 2]]]",
        "--kernel",
        "[[[1, 10]]]",
        "--stride",
        "2",
        "--output-padding",
        "1",
    )
    assert doc["layers"][0]["output"] == [[[1.0, 10.0, 2.0, 20.0, 0.0]]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["forward", "--kernel-size", "2"], "--kernel-size: for a layer of another kind"),
        (["forward", "--layer", "pool"], "--layer 'pool' is not a layer kind; allowed: conv, conv_transpose"),
        (
            ["forward", "--layer", "maxpool", "--kernel-size", "2", "--groups", "2"],
            "maxpool has unknown parameter",
        ),
        (["forward", "--layer", "maxpool"], "maxpool needs a kernel size"),
    ],
)
def test_bad_layer_flags_are_one_line(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and message in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_check_layer_names_the_mistake_and_exits_1(tmp_path):
    impl = "tests/support/layer_impls.py:maxpool_every_cell"
    result = runner.invoke(app, ["check", "--layer", "maxpool", "--impl", impl, "--format", "json"])
    assert result.exit_code == 1, result.stderr
    doc = json.loads(result.stdout)
    assert doc["layer"] == "maxpool" and not doc["passed"] and doc["failed"] >= 1
    failed = [r for r in doc["results"] if r["status"] == "failed"]
    assert all(r["diagnosis"][0]["mistake"] == "maxpool_every_cell" for r in failed)


def test_check_layer_passes_a_right_backward_and_convgrads_own():
    right = runner.invoke(
        app,
        [
            "check",
            "--layer",
            "maxpool",
            "--impl",
            "tests/support/layer_impls.py:maxpool_right",
            "--random",
            "3",
            "--format",
            "plain",
        ],
    )
    assert right.exit_code == 0, right.stdout + right.stderr
    assert "6 of 6 cases pass" in right.stdout
    for kind in ("avgpool", "relu", "conv_transpose"):
        assert (
            runner.invoke(app, ["check", "--layer", kind, "--random", "2", "--format", "json"]).exit_code == 0
        )


def test_check_layer_refuses_what_it_does_not_take():
    result = runner.invoke(app, ["check", "configs/", "--layer", "relu"])
    assert (
        result.exit_code == 2
        and "is one convolution; check --layer relu takes stack configs" in result.stderr
    )
    result = runner.invoke(app, ["check", "configs/layers/lenet.yaml", "--layer", "avgpool"])
    assert (
        result.exit_code == 2
        and "has no avgpool layer; its layers: conv, relu, maxpool, conv" in result.stderr
    )


def test_check_of_the_shipped_stacks_passes_and_says_what_it_left_out():
    result = runner.invoke(app, ["check", "configs/layers/", "--format", "plain", "--width", "160"])
    assert result.exit_code == 0, result.stdout + result.stderr
    # lenet's integers put exact zeros into its ReLU: finite differences of x and of W¹, below it, are left out,
    # and counted as neither; W⁴, with nothing above it to bend, is differenced end to end
    assert "left out: above it a ReLU meets an exact 0 or a max-pool a tie" in result.stdout
    lenet = runner.invoke(app, ["check", "configs/layers/lenet.yaml", "--format", "plain", "--width", "160"])
    assert "11 of 11 checks pass; 2 left out (each says why), neither passed nor failed" in lenet.stdout
    doc = json.loads(runner.invoke(app, ["check", "configs/layers/lenet.yaml", "-f", "json"]).stdout)
    fd = {(c["layer"], c["quantity"]): c["note"] == "" for c in doc["results"][0]["checks"]
          if c["reference"] == "finite differences"}  # fmt: skip
    assert fd == {(0, "input_grad"): False, (1, "weight_grad"): False, (4, "weight_grad"): True}
    assert doc["checked"] == 11 and doc["left_out"] == 2
    assert "finite differences   ✓" in result.stdout
    mixed = runner.invoke(app, ["check", "configs/layers/relu.yaml", "configs/stride2.yaml"])
    assert mixed.exit_code == 2 and "check them in two runs" in mixed.stderr


@pytest.mark.parametrize(
    ("fn", "said"),
    [
        ("relu_hangs", "no result within 0.3 s"),
        ("relu_exits", "sys.exit(3)"),
        ("relu_wrong_shape", "expected exactly"),
    ],
)
def test_check_layer_runs_the_implementation_apart_and_names_what_it_did(fn, said):
    result = runner.invoke(
        app,
        [
            "check",
            "--layer",
            "relu",
            "--impl",
            f"tests/support/layer_impls.py:{fn}",
            "--timeout",
            "0.3",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 1, result.stderr
    errors = [r["error"] for r in json.loads(result.stdout)["results"] if r["status"] == "error"]
    assert errors and said in errors[0]


def test_check_layer_refuses_flags_it_would_not_use():
    for extra in (["--stride", "2"], ["--layout", "given"], ["--square-kernel"], ["--convention", "cs231n"]):
        result = runner.invoke(app, ["check", "--layer", "maxpool", *extra])
        assert result.exit_code == 2 and "is not taken by check --layer maxpool" in result.stderr, extra
    result = runner.invoke(app, ["check", "--layer", "maxpool", "--kernel-size", "2"])
    assert (
        result.exit_code == 2
        and "--kernel-size: for a layer of another kind, given to forward" in result.stderr
    )


def test_check_layer_that_checked_nothing_is_not_a_pass():
    """Every case refused: exit 1 and a line saying nothing was checked, never '0 of 8 cases pass' and 0."""
    impl = "tests/support/layer_impls.py:maxpool_refused"
    plain = runner.invoke(app, ["check", "--layer", "maxpool", "--impl", impl, "--format", "plain"])
    assert plain.exit_code == 1, plain.stdout + plain.stderr
    assert "NOT PASSED: only 0 cases checked" in plain.stdout and "work in progress" in plain.stdout
    assert "only 0 cases checked" in plain.stderr
    doc = json.loads(runner.invoke(app, ["check", "--layer", "maxpool", "--impl", impl, "-f", "json"]).stdout)
    assert doc["passed"] is False and doc["failed"] == doc["errors"] == 0 and doc["checked"] == 0
