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
from tests.support import torch_layers  # noqa: E402
from tests.support.profile import examples  # noqa: E402


@given(stacks(dims=(1, 2)), st.sampled_from(["sum", "mse"]), st.integers(0, 2**16))
@settings(max_examples=examples(50))
def test_random_stacks_match_pytorch_autograd(case, loss, seed):
    agree(case, loss, seed)


@given(stacks(dims=(1, 2)), st.sampled_from(["sum", "mse"]), st.integers(0, 2**16))
@settings(max_examples=examples(50))
def test_random_stacks_with_a_bias_on_every_convolution_match_pytorch_autograd(case, loss, seed):
    agree(case, loss, seed, bias=True)


@given(
    stacks(dims=(3,), kinds=("conv", "conv_transpose", "maxpool", "relu"), depth=(2, 3)),
    st.integers(0, 2**16),
)
@settings(max_examples=examples(15))
def test_random_3d_stacks_match_pytorch_autograd(case, seed):
    # avg_pool3d refuses inputs smaller than its window that the other ranks pool; 3-D avgpool is tested alone
    agree(case, "sum", seed)


def agree(case, loss, seed, bias=False):
    shape, chain = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    weights = [None if w is None else rng.standard_normal(w) for _, _, w in chain]
    # a convolution's bias has one entry per output channel: W's axis 0, a transposed one's axis 1 (groups 1)
    biases = [
        None if w is None or not bias else rng.standard_normal(w.shape[0 if k == "conv" else 1])
        for (k, _, _), w in zip(chain, weights)
    ]
    specs = [
        LayerSpec(
            k, {**p, **({"kernel": w} if w is not None else {}), **({"bias": b} if b is not None else {})}
        )
        for (k, p, _), w, b in zip(chain, weights, biases)
    ]
    s = stack.build(x, specs)
    top = s.layers[-1].out_shape
    target = rng.standard_normal(top)
    if loss == "mse":
        s = stack.build(x, specs, ("mse", target))
    passes = stack.backward(s)

    tx = torch.tensor(x, requires_grad=True)
    tws = [None if w is None else torch.tensor(w, requires_grad=True) for w in weights]
    tbs = [None if b is None else torch.tensor(b, requires_grad=True) for b in biases]
    a = tx
    for (kind, p, _), tw, tb in zip(chain, tws, tbs):
        a = torch_layers.layer(kind, p, len(shape) - 2, tw, tb)(a)
    (a.sum() if loss == "sum" else F.mse_loss(a, torch.tensor(target))).backward()
    np.testing.assert_allclose(passes[-1].output, a.detach().numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(passes[0].input_grad, tx.grad.numpy(), rtol=1e-9, atol=1e-9)
    for p, tw, tb in zip(passes, tws, tbs):
        if tw is not None:
            np.testing.assert_allclose(p.weight_grad, tw.grad.numpy(), rtol=1e-9, atol=1e-9)
        if tb is not None:
            np.testing.assert_allclose(p.bias_grad, tb.grad.numpy(), rtol=1e-9, atol=1e-9)
        else:
            assert p.bias_grad is None
