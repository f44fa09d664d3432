"""convgrad against PyTorch, when PyTorch is installed (skipped otherwise)."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convgrad_cli import api
from convgrad_cli.core import rules
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.engine import Tuning
from tests.support.profile import examples
from tests.support.strategies import geometries

torch = pytest.importorskip("torch")
F = torch.nn.functional
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def torch_grads(g: Geometry, x, w, b, delta):
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    # PyTorch takes symmetric padding only: pad asymmetric cases explicitly first
    flat = [p for pair in reversed(g.padding) for p in pair]
    y = CONV[g.ndim](F.pad(tx, flat), tw, tb, stride=g.stride, dilation=g.dilation, groups=g.groups)
    y.backward(torch.tensor(delta))
    return y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()


@given(geometries(), st.integers(0, 2**16))
@settings(max_examples=examples(60), deadline=None)
def test_forward_and_backward_match_pytorch(g, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(g.input_shape), rng.standard_normal(g.kernel_shape)
    b, delta = rng.standard_normal(g.out_channels), rng.standard_normal(g.output_shape)
    y, dx, dw, db = torch_grads(g, x, w, b, delta)
    np.testing.assert_allclose(rules.forward(g, x, w, b), y, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(rules.input_grad(g, w, delta), dx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(rules.backward_steps(g, w, delta).input_grad, dx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(rules.weight_grad(g, x, delta), dw, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(rules.bias_grad(delta), db, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("padding", [0, 1, "same", "valid", (1, 2)])
def test_public_api_matches_torch_functional(padding):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 9, 8)).astype(np.float32)
    w = rng.standard_normal((6, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    stride = 1 if padding == "same" else 2
    ty = F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=stride, padding=padding, groups=2)
    y = api.conv2d(x, w, b, stride=stride, padding=padding, groups=2)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, ty.numpy(), rtol=1e-4, atol=1e-4)


def test_unbatched_input_like_pytorch():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((3, 7, 7)), rng.standard_normal((5, 3, 2, 2))
    ty = F.conv2d(torch.tensor(x), torch.tensor(w), stride=2)  # (C, H, W) → (O, H', W')
    np.testing.assert_allclose(api.conv2d(x, w, stride=2), ty.numpy(), rtol=1e-12)


@given(geometries(), st.integers(0, 2**16))
@settings(max_examples=examples(200), deadline=None)
def test_printed_transposed_convolution_runs_and_is_the_input_grad(g, seed):
    """backward's printed code, evaluated as printed, is autograd's ∂L/∂x — asymmetric
    padding and uncovered cells included, and never a negative output_padding."""
    args = rules.transposed_convolution(g)
    assert all(0 <= op < max(s, d) for op, s, d in zip(args.output_padding, g.stride, g.dilation))
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(g.input_shape), rng.standard_normal(g.kernel_shape)
    b, delta = rng.standard_normal(g.out_channels), rng.standard_normal(g.output_shape)
    got = eval(args.code, {"F": F, "delta": torch.tensor(delta), "W": torch.tensor(w)})
    _, dx, _, _ = torch_grads(g, x, w, b, delta)
    assert got.shape == dx.shape
    np.testing.assert_allclose(got.numpy(), dx, rtol=1e-10, atol=1e-10)


def test_uneven_coverage_needs_output_padding():
    g = Geometry.build((5, 5), (2, 2), stride=2)
    args = rules.transposed_convolution(g)
    assert args.output_padding == (1, 1) and args.padding == (0, 0) and "[" not in args.code


def test_asymmetric_padding_is_cropped_not_a_negative_output_padding():
    """The shipped asymmetric config: PyTorch refused output_padding=(1, -2)."""
    g = Geometry.build((6, 7), (3, 3), stride=(2, 3), padding=((1, 2), (0, 2)))
    args = rules.transposed_convolution(g)
    assert args.padding == (1, 0) and args.crop == ((0, 1), (0, 2))
    assert args.code.endswith("[..., :-1, :-2]")


LAYERS = [
    # (input shape, out channels, kernel, stride, padding, dilation, groups): each engine
    # path at a size where it is chosen on its own, no knob forced
    ((2, 32, 30, 30), 48, 3, 1, 1, 1, 1),  # kernel rows as views, several samples a block
    ((2, 16, 12, 12), 32, 3, 1, 0, 1, 1),  # compact columns
    ((2, 32, 31, 29), 32, 3, 2, 1, 1, 1),  # stride 2: two kinds of kernel rows
    ((1, 3, 40, 40), 8, 7, 2, 3, 1, 1),  # thin rows: every tap copied
    ((2, 16, 20, 20), 16, 3, 1, 0, 2, 2),  # dilation and groups
    ((2, 8, 20, 20), 8, 3, 1, 1, 1, 8),  # depthwise
    ((1, 8, 10, 10, 10), 8, 3, (1, 2, 1), 1, 1, 1),  # 3-D
    ((2, 32, 200), 16, 5, 3, 2, 1, 1),  # 1-D
]


@pytest.mark.parametrize("budget", [None, 4096])
@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: "x".join(map(str, layer[0])))
def test_layer_sized_problems_match_pytorch(layer, budget):
    """Real channel counts, every gradient against autograd; with a 4 kB budget the
    same layers stream through in rows and single outputs."""
    t = Tuning(memory_budget=budget, depthwise_budget=budget) if budget else Tuning()
    shape, out_ch, k, stride, padding, dilation, groups = layer
    g = Geometry.build(
        shape[2:],
        (k,) * (len(shape) - 2),
        batch=shape[0],
        in_channels=shape[1],
        out_channels=out_ch,
        groups=groups,
        stride=stride,
        padding=padding,
        dilation=dilation,
    )
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal(g.input_shape), rng.standard_normal(g.kernel_shape)
    b, delta = rng.standard_normal(g.out_channels), rng.standard_normal(g.output_shape)
    y, dx, dw, db = torch_grads(g, x, w, b, delta)
    np.testing.assert_allclose(rules.forward(g, x, w, b, t), y, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(rules.input_grad(g, w, delta, t), dx, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(rules.weight_grad(g, x, delta, t), dw, rtol=1e-10, atol=1e-9)


CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_the_json_code_runs_on_the_jsons_own_arrays(config):
    """A reader with only ``backward --format json``: delta and kernel as the config gave them
    (a 5×5 δ is 2-D), reshaped to ``shapes``, evaluate ``code`` to the document's ∂L/∂x. Before,
    F.conv_transpose2d of the 2-D δ raised 'Expected 3D (unbatched) or 4D (batched) input'."""
    from typer.testing import CliRunner

    from convgrad_cli.cli import app

    result = CliRunner().invoke(app, ["backward", str(config), "-f", "json"])
    doc = json.loads(result.stdout)
    if doc["mode"] == "symbolic":
        pytest.skip("names only: no numbers to run")
    t = doc["transposed_convolution"]
    delta = torch.tensor(doc["delta"], dtype=torch.float64).reshape(t["shapes"]["delta"])
    W = torch.tensor(doc["kernel"], dtype=torch.float64).reshape(t["shapes"]["W"])
    got = eval(t["code"], {"F": F, "delta": delta, "W": W})
    expected = np.asarray(doc["input_grad"], dtype=np.float64)
    np.testing.assert_allclose(got.numpy().reshape(expected.shape), expected, rtol=1e-5, atol=1e-5)
