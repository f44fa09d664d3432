"""Every layer kind against PyTorch autograd in float64 (skipped without PyTorch)."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from convgrad_cli.core import layers
from tests.support.strategies import conv_transpose_cases, pool_cases

torch = pytest.importorskip("torch")
F = torch.nn.functional


def autograd(fn, x, delta, *more):
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, *more)]
    y = fn(*tensors)
    y.backward(torch.tensor(delta))
    return y.detach().numpy(), [t.grad.numpy() for t in tensors]


def agree(layer, x, fn, rng, *more):
    y, saved = layer.forward(x)
    delta = rng.standard_normal(y.shape)
    want_y, want = autograd(fn, x, delta, *more)
    np.testing.assert_allclose(y, want_y, rtol=1e-10, atol=1e-10)
    got = layer.backward(x, saved, delta)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-10, atol=1e-10)
    if more:
        np.testing.assert_allclose(got[1], want[1], rtol=1e-10, atol=1e-10)


@given(pool_cases("maxpool"), st.booleans(), st.integers(0, 2**16))
def test_maxpool_matches_pytorch_ties_included(case, ties, seed):
    shape, p = case
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=shape).astype(float) if ties else rng.standard_normal(shape)
    fn = getattr(F, f"max_pool{len(shape) - 2}d")
    agree(
        layers.make("maxpool", shape, p),
        x,
        lambda t: fn(t, p["kernel"], p["stride"], p["padding"], p["dilation"], p["ceil_mode"]),
        rng,
    )


@given(pool_cases("avgpool"), st.integers(0, 2**16))
def test_avgpool_matches_pytorch(case, seed):
    shape, p = case
    rng = np.random.default_rng(seed)
    nd = len(shape) - 2
    # avg_pool3d alone refuses an input smaller than the window before padding; convgrad pools it as 2-D does
    assume(nd < 3 or all(i >= k for i, k in zip(shape[2:], p["kernel"])))

    def fn(t):
        # avg_pool1d takes no divisor_override: pool a 1-D input as one row of a 2-D one
        one = nd == 1
        t2 = t.unsqueeze(2) if one else t
        k, s, pad = ([lead] * one + p[name] for lead, name in ((1, "kernel"), (1, "stride"), (0, "padding")))
        y = getattr(F, f"avg_pool{max(nd, 2)}d")(
            t2, k, s, pad, p["ceil_mode"], p["count_include_pad"], p["divisor"]
        )
        return y.squeeze(2) if one else y

    agree(layers.make("avgpool", shape, p), rng.standard_normal(shape), fn, rng)


@given(conv_transpose_cases(max_size=5), st.integers(0, 2**16))
def test_conv_transpose_matches_pytorch(case, seed):
    x_shape, w_shape, p = case
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    fn = getattr(F, f"conv_transpose{len(x_shape) - 2}d")
    agree(
        layers.make("conv_transpose", x_shape, p, w),
        x,
        lambda t, tw: fn(
            t, tw, None, p["stride"], p["padding"], p["output_padding"], p["groups"], p["dilation"]
        ),
        rng,
        w,
    )


@given(st.sampled_from([1, 2, 3]), st.integers(0, 2**16))
def test_relu_matches_pytorch_zeros_included(nd, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=(2, 2, *(4,) * nd)).astype(float)  # many exact zeros
    agree(layers.make("relu", x.shape, {}), x, F.relu, rng)
