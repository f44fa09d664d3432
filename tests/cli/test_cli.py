"""The command line: every shipped config, JSON output, and every bad-input path."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from convgrad_cli.cli import app

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
runner = CliRunner()


def run(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env)


def test_configs_are_shipped():
    names = {p.stem for p in CONFIGS}
    assert {
        "seed_stride1",
        "stride2",
        "padding",
        "dilation",
        "asymmetric_padding",
        "uneven",
        "multichannel_batch",
        "groups",
    } <= names


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
@pytest.mark.parametrize("command", ["forward", "backward"])
def test_every_config_runs_in_every_format(config, command):
    for fmt in ("plain", "rich"):
        result = run(command, config, "--format", fmt)
        assert result.exit_code == 0, result.stderr
        assert result.stderr == ""
    result = run(command, config, "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["command"] == command and doc["output"] is not None


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_backward_json_numbers_match_the_python_api(config):
    from convgrad_cli.config import load

    doc = json.loads(run("backward", config, "-f", "json").stdout)
    problem = load(config)
    for key in (
        "output",
        "input_grad",
        "weight_grad",
        "bias_grad",
        "dilated_delta",
        "padded_delta",
        "flipped_kernel",
    ):
        assert key in doc
    if not problem.numeric:
        assert doc["mode"] == "symbolic"
        return
    import convgrad_cli

    g = problem.geom
    backward = getattr(convgrad_cli, f"conv{g.ndim}d_backward")
    dx, dw, db = backward(
        problem.x,
        problem.w,
        problem.delta,
        stride=g.stride,
        padding=[list(p) for p in g.padding],
        dilation=g.dilation,
        groups=g.groups,
    )
    np.testing.assert_allclose(np.array(doc["input_grad"]).reshape(dx.shape), dx, rtol=1e-5, atol=1e-6)
    assert np.ndim(doc["input_grad"]) == problem.ranks.input_rank  # the rank the config gave
    np.testing.assert_allclose(np.array(doc["weight_grad"]).reshape(dw.shape), dw, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(doc["bias_grad"], db, rtol=1e-5, atol=1e-6)


def test_default_is_the_seed_example():
    doc = json.loads(run("backward", "-f", "json").stdout)
    assert doc["output"] == [[44, 54, 64], [84, 94, 104], [124, 134, 144]]
    assert doc["input_grad"] == [[1, 3, 3, 2], [4, 10, 10, 6], [4, 10, 10, 6], [3, 7, 7, 4]]
    assert doc["input_grad_expressions"][0][1] == "w2·δ1 + w1·δ2"
    assert doc["flipped_kernel"] == [[4, 3], [2, 1]]
    assert doc["padded_delta"] == [[0] * 5] + [[0, 1, 1, 1, 0]] * 3 + [[0] * 5]


def test_json_holds_the_operands_so_a_script_can_redo_the_layer():
    """input, kernel and bias in the document give its output by a loop of our own."""
    doc = json.loads(run("forward", ROOT / "configs/multichannel_batch.yaml", "-f", "json").stdout)
    x, w, b = np.array(doc["input"]), np.array(doc["kernel"]), np.array(doc["bias"])
    assert x.shape == (2, 3, 6, 6) and w.shape == (4, 3, 3, 3) and b.shape == (4,)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))  # padding 1, stride 2: a 3×3 output
    y = np.zeros((2, 4, 3, 3))
    for n, o, i, j in np.ndindex(y.shape):
        y[n, o, i, j] = (padded[n, :, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3] * w[o]).sum() + b[o]
    np.testing.assert_allclose(np.array(doc["output"]), y, rtol=1e-12, atol=1e-12)
    seed = json.loads(run("backward", "-f", "json").stdout)
    assert seed["input"][0] == [1, 2, 3, 4] and seed["kernel"] == [[1, 2], [3, 4]] and seed["bias"] is None
    names = json.loads(run("forward", "--x", "names:4x4", "-k", "names:2x2", "-f", "json").stdout)
    assert names["input"][3] == ["m", "n", "o", "p"] and names["kernel"] == [["w1", "w2"], ["w3", "w4"]]


def test_symbolic_json_holds_names():
    doc = json.loads(run("backward", ROOT / "configs/symbolic.yaml", "--stride", "2", "-f", "json").stdout)
    assert doc["mode"] == "symbolic"
    assert doc["padded_delta"][1] == [0, "δ1", 0, "δ2", 0]
    assert doc["flipped_kernel"] == [["w4", "w3"], ["w2", "w1"]]
    assert doc["input_grad"][0] == ["w1·δ1", "w2·δ1", "w1·δ2", "w2·δ2"]


def test_flags_override_the_file():
    doc = json.loads(run("forward", ROOT / "configs/seed_stride1.yaml", "--stride", "2", "-f", "json").stdout)
    assert doc["output"] == [[44, 64], [124, 144]]
    doc = json.loads(run("forward", "--x", "[[1,2,3],[4,5,6]]", "-k", "[[1,1]]", "-f", "json").stdout)
    assert doc["output"] == [[3, 5], [9, 11]]
    doc = json.loads(run("forward", "--x", "ones:1x2x3x3", "-k", "ones:1x2x2x2", "-f", "json").stdout)
    assert doc["output"] == [[[[8, 8], [8, 8]]]]


def test_plain_output_has_no_escape_codes_and_shows_the_steps():
    out = run("backward", "--stride", "2", "-f", "plain").stdout
    assert "\x1b[" not in out
    for title in ("δ = ∂L/∂y", "dilated δ", "padded δ", "flipped kernel", "∂L/∂x", "∂L/∂W", "∂L/∂b"):
        assert title in out
    assert "∂L/∂f = w4·δ1" in out


def test_no_color_env_turns_colour_off():
    out = run("backward", env={"NO_COLOR": "1"}).stdout
    assert "\x1b[" not in out


def test_version():
    result = run("--version")
    assert result.exit_code == 0 and result.stdout.startswith("convgrad ")


BAD_FLAGS = [
    (["--stride", "0"], r"stride \(0, 0\) must be at least 1"),
    (["--dilation", "0"], r"dilation \(0, 0\) must be at least 1"),
    (["--padding", "-1"], r"padding .* must not be negative"),
    (
        ["--padding", "sideways"],
        r"padding 'sideways' is not allowed; give an int, a list, pairs, 'same' or 'valid'",
    ),
    (["--padding", "same", "--stride", "2"], r"padding 'same' needs stride 1"),
    (["--stride", "1,2,3"], r"stride \[1, 2, 3\] has 3 entries; allowed: one int or 2"),
    (["-k", "ones:5x5"], r"kernel spans 5 cells .* padded input has only 4"),
    (["--x", "[[1,2],[3]]"], r"input is ragged"),
    (["--x", "[[1,2],[3,x]]"], r"input holds 'x', which is not a number"),
    (["--x", "[[1,2],[3,.nan]]"], r"input holds a non-finite value"),
    (
        ["--x", "ones:1x2x3x4x5x6"],
        r"input has shape \(1, 2, 3, 4, 5, 6\); for a 2-D convolution it must have 2",
    ),
    (["--x", "ones:1x1x4x4x4"], r"kernel has shape \(2, 2\); for a 3-D convolution it must have 3 axes"),
    (["--x", "ones:1x3x4x4", "-k", "ones:2x2x2x2"], r"input \(1, 3, 4, 4\) has 3"),
    (
        ["--x", "ones:1x4x4x4", "-k", "ones:6x2x2x2", "--groups", "4"],
        r"groups=4 does not divide out_channels=6|takes 2 channel",
    ),
    (
        ["--x", "ones:1x4x4x4", "-k", "ones:6x1x2x2", "--groups", "4"],
        r"groups=4 does not divide out_channels=6",
    ),
    (["--delta", "ones:2x2"], r"delta has shape \(2, 2\); it must match the output, \(3, 3\)"),
    (["--bias", "[1, 2]"], r"bias has shape \(2,\); it must be \(1,\)"),
    (["--dtype", "float16"], r"dtype 'float16' is not allowed; allowed: float64, float32"),
    (["--x", "{shape: [4, 4], fill: gaussian}"], r"fill 'gaussian' is not allowed"),
    (["--x", "{shape: [4, 4], fil: ones}"], r"unknown field\(s\) \['fil'\]"),
    (["--x", "ones:100000x100000"], r"needs about .* GiB, over the .* allowed"),
    (["--dims", "4"], r"dims 4 is not allowed; allowed: 1, 2 or 3"),
    (["--bias", "names"], r"bias cannot be filled with names"),
]


@pytest.mark.parametrize("args, message", BAD_FLAGS, ids=[" ".join(a) for a, _ in BAD_FLAGS])
@pytest.mark.parametrize("command", ["forward", "backward"])
def test_bad_flags_exit_2_with_one_line(command, args, message):
    result = run(command, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convgrad: error: ")
    assert "Traceback" not in result.stderr
    import re

    assert re.search(message, lines[0]), lines[0]


BAD_FILES = [
    ("stride: [1, 2", r"is not valid YAML at line \d+, column \d+: did not find expected ',' or ']'"),
    ("- 1\n- 2\n", r"holds a YAML list; a config is a mapping of keys"),
    ("strides: 2\n", r"unknown key 'strides' .*did you mean 'stride'\?"),
    ("kernal: [[1]]\n", r"did you mean 'kernel'\?"),
    ("input: !!python/object/apply:os.system ['echo hacked']\n", r"is not valid YAML"),
    ("input: hello\n", r"input must be nested lists of numbers or a mapping"),
    ("groups: two\n", r"groups 'two' is not allowed; give an integer"),
    ("input: {fill: ones}\n", r"input needs a shape"),
]


@pytest.mark.parametrize("text, message", BAD_FILES, ids=[m for _, m in BAD_FILES])
def test_bad_config_files_exit_2_with_one_line(tmp_path, text, message):
    import re

    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = run("backward", path)
    assert result.exit_code == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(message, lines[0]), result.stderr


def test_missing_unreadable_and_directory_configs(tmp_path):
    assert "does not exist" in run("forward", tmp_path / "nope.yaml").stderr
    assert "is a directory" in run("forward", tmp_path).stderr
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    result = run("forward", binary)
    assert result.exit_code == 2 and "is not UTF-8 text" in result.stderr


def test_debug_shows_the_traceback():
    result = run("forward", "--stride", "0", "--debug")
    assert result.exit_code != 0 and result.exception is not None


def test_shape_lists_solutions_and_says_when_there_is_none():
    doc = json.loads(run("shape", "--in", "32", "--out", "64", "--transposed", "-f", "json").stdout)
    first = doc["solutions"][0]
    assert (first["kernel"], first["stride"], first["padding"], first["output_padding"]) == (
        [2],
        [2],
        [[0, 0]],
        [0],
    )
    assert first["torch"].startswith("torch.nn.ConvTranspose1d(")
    assert {
        "kernel",
        "stride",
        "padding",
        "output_padding",
        "dilation",
        "torch",
        "keras",
        "jax",
    } <= first.keys()
    result = run("shape", "--in", "10", "--out", "100", "-f", "plain")
    assert result.exit_code == 1 and "No kernel ≤ 7" in result.stdout and "--transposed" in result.stdout
    assert run("shape", "--in", "x").exit_code == 2


def test_shape_maps_coverage_from_a_config_or_flags():
    out = run("shape", ROOT / "configs" / "uneven.yaml", "-f", "plain").stdout
    assert "│ 1 │ 1 │ 1 │ 1 │ 0✗ │" in out and "the last 1 column is never covered" in out
    doc = json.loads(
        run(
            "shape", "--in", "4", "--kernel", "3", "--stride", "2", "--transposed", "--map", "-f", "json"
        ).stdout
    )
    assert doc["windows_per_cell"] == [1, 1, 2, 1, 2, 1, 2, 1, 1]
    assert "cells alternate between 1 and 2 windows" in doc["notes"][0]


def test_a_layer_without_a_bias_says_its_bias_gradient_has_nothing_to_update():
    """Σδ of the seed (δ ones, 3×3) is 9 whether or not the layer has a bias; only one with a bias updates it."""
    seed = run("backward", "-f", "plain").stdout
    assert "∂L/∂bias = Σδ = 9 — what a bias would get; this layer has none" in seed
    with_bias = run("backward", ROOT / "configs/multichannel_batch.yaml", "-f", "plain").stdout
    assert "∂L/∂bias = Σδ = " in with_bias and "has none" not in with_bias


def test_a_readme_config_run_outside_the_source_folder_says_where_the_configs_are(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("backward", "configs/stride2.yaml")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "convgrad: error: config file 'configs/stride2.yaml' does not exist; the README's configs/ are in "
        "convgrad's source folder: run from there, or give a path"
    )
    assert "source folder" not in run("backward", "mine/stride2.yaml").stderr
