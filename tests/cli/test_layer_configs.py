"""Every shipped stack config (configs/layers/) runs with every stack command, and its
backward agrees with PyTorch autograd rebuilt from the JSON alone."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from convgrad_cli.cli import app

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs" / "layers").glob("*.yaml"))
runner = CliRunner()


def run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_a_stack_and_each_kind_are_shipped():
    assert {"lenet", "conv_transpose", "maxpool", "avgpool", "relu"} <= {p.stem for p in CONFIGS}


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_every_stack_config_runs_every_command(config):
    top = json.loads(run("forward", config, "--format", "json"))["shapes"][-1]
    for command in (
        ["forward"],
        ["backward"],
        ["shape"],
        ["trace", "--output", ",".join("0" * len(top))],
        ["trace", "--input", "0,0,0,0"],
    ):
        for form in ("plain", "json"):
            assert run(*command, config, "--format", form).strip()


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_every_stack_config_agrees_with_pytorch(config):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    doc = json.loads(run("backward", config, "--format", "json"))
    x = torch.tensor(doc["input"], dtype=torch.float64, requires_grad=True)
    a, weights = x, []
    for layer in doc["layers"]:
        kind = layer["kind"]
        if kind == "conv":
            w = torch.tensor(layer["kernel"], dtype=torch.float64, requires_grad=True)
            a = F.conv2d(
                F.pad(a, [p for pair in reversed(layer["padding"]) for p in pair]),
                w,
                None,
                layer["stride"],
                0,
                layer["dilation"],
                layer["groups"],
            )
            weights.append((layer, w))
        elif kind == "conv_transpose":
            w = torch.tensor(layer["kernel"], dtype=torch.float64, requires_grad=True)
            a = F.conv_transpose2d(
                a,
                w,
                None,
                layer["stride"],
                layer["padding"],
                layer["output_padding"],
                layer["groups"],
                layer["dilation"],
            )
            weights.append((layer, w))
        elif kind == "maxpool":
            a = F.max_pool2d(
                a, layer["kernel"], layer["stride"], layer["padding"], layer["dilation"], layer["ceil_mode"]
            )
        elif kind == "avgpool":
            a = F.avg_pool2d(
                a,
                layer["kernel"],
                layer["stride"],
                layer["padding"],
                layer["ceil_mode"],
                layer["count_include_pad"],
                layer["divisor"],
            )
        else:
            a = F.relu(a)
        np.testing.assert_allclose(a.detach().numpy(), layer["output"], rtol=1e-12, atol=1e-12)
    a.backward(torch.tensor(doc["layers"][-1]["delta"], dtype=torch.float64))
    np.testing.assert_allclose(doc["layers"][0]["input_grad"], x.grad.numpy(), rtol=1e-12, atol=1e-12)
    for layer, w in weights:
        np.testing.assert_allclose(layer["weight_grad"], w.grad.numpy(), rtol=1e-12, atol=1e-12)
