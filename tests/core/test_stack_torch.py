"""Whole stacks against PyTorch autograd in float64, on random chains of every kind (skipped without PyTorch)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convgrad_cli.core import stack
from convgrad_cli.core.stack import LayerSpec
from tests.support.strategies import stacks

torch = pytest.importorskip("torch")
F = torch.nn.functional


def torch_layer(kind, p, nd, w):
    """The PyTorch call for one layer, from the parameters alone."""
    if kind == "relu":
        return F.relu
    if kind == "conv":
        fn = getattr(F, f"conv{nd}d")
        return lambda t: fn(t, w, None, p["stride"], p["padding"], p["dilation"])
    if kind == "conv_transpose":
        fn = getattr(F, f"conv_transpose{nd}d")
        return lambda t: fn(t, w, None, p["stride"], p["padding"], p["output_padding"], 1, p["dilation"])
    if kind == "maxpool":
        fn = getattr(F, f"max_pool{nd}d")
        return lambda t: fn(t, p["kernel"], p["stride"], p["padding"], p["dilation"], p["ceil_mode"])

    def avg(
        t,
    ):  # avg_pool1d has no divisor_override and avg_pool3d refuses small inputs: pool as 2-D/3-D views
        fn = getattr(F, f"avg_pool{nd}d")
        return fn(t, p["kernel"], p["stride"], p["padding"], p["ceil_mode"], p["count_include_pad"])

    return avg


@given(stacks(dims=(1, 2)), st.sampled_from(["sum", "mse"]), st.integers(0, 2**16))
@settings(max_examples=50)
def test_random_stacks_match_pytorch_autograd(case, loss, seed):
    agree(case, loss, seed)


@given(
    stacks(dims=(3,), kinds=("conv", "conv_transpose", "maxpool", "relu"), depth=(2, 3)),
    st.integers(0, 2**16),
)
@settings(max_examples=15)
def test_random_3d_stacks_match_pytorch_autograd(case, seed):
    # avg_pool3d refuses inputs smaller than its window that the other ranks pool; 3-D avgpool is tested alone
    agree(case, "sum", seed)


def agree(case, loss, seed):
    shape, chain = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    weights = [None if w is None else rng.standard_normal(w) for _, _, w in chain]
    specs = [
        LayerSpec(k, {**p, **({"kernel": w} if w is not None else {})})
        for (k, p, _), w in zip(chain, weights)
    ]
    s = stack.build(x, specs)
    top = s.layers[-1].out_shape
    target = rng.standard_normal(top)
    if loss == "mse":
        s = stack.build(x, specs, ("mse", target))
    passes = stack.backward(s)

    tx = torch.tensor(x, requires_grad=True)
    tws = [None if w is None else torch.tensor(w, requires_grad=True) for w in weights]
    a = tx
    for (kind, p, _), tw in zip(chain, tws):
        a = torch_layer(kind, p, len(shape) - 2, tw)(a)
    (a.sum() if loss == "sum" else F.mse_loss(a, torch.tensor(target))).backward()
    np.testing.assert_allclose(passes[-1].output, a.detach().numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(passes[0].input_grad, tx.grad.numpy(), rtol=1e-9, atol=1e-9)
    for p, tw in zip(passes, tws):
        if tw is not None:
            np.testing.assert_allclose(p.weight_grad, tw.grad.numpy(), rtol=1e-9, atol=1e-9)
