"""Layer-level names (δ⁽³⁾, y⁽²⁾, x⁽¹⁾) never read as entry names (δ3, x₁₁), and
only a stride > 1 is called dilated."""

import re
from pathlib import Path

from typer.testing import CliRunner

from convgrad_cli.cli import app

runner = CliRunner()
LENET = str(Path(__file__).parents[2] / "configs" / "layers" / "lenet.yaml")
LAYER_NAME = re.compile(r"(?:δ|∂L/∂[xyW]|[xyW])⁽[⁰¹²³⁴⁵⁶⁷⁸⁹]+⁾")
ENTRY_NAME = re.compile(r"δ\d+|[a-p]\b|x[₀-₉]+")


def plain(*args: str) -> str:
    result = runner.invoke(app, [*args, "--format", "plain"])
    assert result.exit_code == 0, result.output
    return result.output


def test_lenet_backward_layer_names_are_not_cell_names():
    out = plain("backward", LENET)
    layer_names = set(LAYER_NAME.findall(out))
    assert {"δ⁽¹⁾", "δ⁽⁴⁾", "∂L/∂x⁽³⁾", "x⁽²⁾", "W⁽⁴⁾"} <= layer_names
    cells = set(re.findall(r"[^\s│┌┐└┘├┤┬┴┼─]+", "\n".join(ln for ln in out.splitlines() if "│" in ln)))
    assert cells & {"δ1", "δ4"}, "the max-pool's entries are drawn with their names"
    assert not layer_names & cells
    assert not any(ENTRY_NAME.fullmatch(n) for n in layer_names)
    # the old layer-level names, which were entry names too, are gone from the headings
    assert not re.search(r"δ\d+ = ∂L/∂y\d", out)
    assert "∂L/∂x⁽4⁾" not in out and "∂L/∂x⁽⁴⁾ = correlate" in out


def test_stride_one_headings_do_not_say_dilated():
    assert "dilated" not in plain("backward", LENET).replace("\n", " ")
    assert "dilated" not in plain("backward")


def test_stride_two_headings_say_dilated(tmp_path):
    out = plain("backward", "--stride", "2")
    assert "dilated δ:" in out and "input ⋆ dilated δ" in out
    config = tmp_path / "net.yaml"
    config.write_text(
        "input: {shape: [1, 1, 7, 7], fill: randint}\n"
        "layers:\n  - conv: {kernel: {shape: [1, 1, 3, 3], fill: randint}, stride: 2}\n"
        "  - conv: {kernel: {shape: [1, 1, 3, 3], fill: randint}}\nloss: sum\nseed: 1\n"
    )
    out = plain("backward", str(config))
    assert "δ⁽¹⁾, dilated and padded" in out and "δ⁽²⁾, padded" in out
