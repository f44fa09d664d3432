"""Stacks of layers: the chain rule against finite differences, and what a bad stack is told."""

import numpy as np
import pytest

from convgrad_cli import config
from convgrad_cli.core import stack
from convgrad_cli.core.stack import LayerSpec
from convgrad_cli.errors import ArrayError, ConfigError, GeometryError

LENET = {
    "input": {"shape": [1, 1, 8, 8], "fill": "random"},
    "layers": [
        {"conv": {"kernel": {"shape": [2, 1, 3, 3], "fill": "random"}, "padding": 1}},
        "relu",
        {"maxpool": {"kernel": 2}},
        {"conv": {"kernel": {"shape": [1, 2, 3, 3], "fill": "random"}}},
    ],
}


def numeric_gradient(f, a, index, eps=1e-6):
    a = a.copy()
    a[index] += eps
    up = f(a)
    a[index] -= 2 * eps
    return (up - f(a)) / (2 * eps)


@pytest.mark.parametrize(
    "loss", ["sum", {"mse": {"target": {"fill": "random"}}}, {"delta": {"fill": "random"}}]
)
def test_stack_gradients_match_finite_differences_end_to_end(loss):
    s = config.build_stack({**LENET, "loss": loss, "seed": 3})
    passes = stack.backward(s)
    top_delta = passes[-1].delta

    def total(x=None, weights=None):
        a = s.x if x is None else x
        for i, layer in enumerate(s.layers):
            if weights is not None and i in weights:
                layer = type(layer)(layer.geom, weights[i])
            a, _ = layer.forward(a)
        if s.loss.kind == "delta":
            return float(np.sum(a * top_delta))  # the loss whose gradient at the top is the given δ
        return s.loss.value(a)

    rng = np.random.default_rng(0)
    for _ in range(6):
        index = tuple(int(rng.integers(n)) for n in s.x.shape)
        assert passes[0].input_grad[index] == pytest.approx(
            numeric_gradient(lambda x: total(x=x), s.x, index), abs=1e-7
        )
    for i in (0, 3):
        w = s.layers[i].weights
        for _ in range(4):
            index = tuple(int(rng.integers(n)) for n in w.shape)
            want = numeric_gradient(lambda v, i=i: total(weights={i: v}), w, index)
            assert passes[i].weight_grad[index] == pytest.approx(want, abs=1e-7)


def test_each_layer_receives_the_delta_the_layer_above_sent_down():
    passes = stack.backward(config.build_stack(LENET))
    for below, above in zip(passes, passes[1:]):
        assert below.delta is above.input_grad
    np.testing.assert_array_equal(passes[-1].delta, np.ones((1, 1, 2, 2)))


@pytest.mark.parametrize(
    ("layers", "error", "match"),
    [
        (
            [
                {"conv": {"kernel": {"shape": [2, 1, 3, 3]}}},
                {"maxpool": {"kernel": 2}},
                {"conv": {"kernel": {"shape": [1, 3, 3, 3]}}},
            ],
            ArrayError,
            r"layer 3 \(conv\), on the output of layer 2 \(maxpool\) \[1, 2, 3, 3\]: conv kernel \[1, 3, 3, 3\] "
            r"takes 3 channel",
        ),
        (
            ["relu", {"softmax": {}}],
            ConfigError,
            "layer 2 has unknown kind 'softmax'; allowed: conv, conv_transpose",
        ),
        (
            [{"maxpool": {"kernel": 2}}, {"maxpool": {"kernel": 5}}],
            GeometryError,
            r"layer 2 \(maxpool\), on the output of layer 1 \(maxpool\) \[1, 1, 4, 4\]: maxpool window spans 5 cells "
            "on axis 0 but the padded input has only 4",
        ),
        ([{"conv": {"stride": 2}}], ConfigError, "layer 1 \\(conv\\): conv needs a kernel"),
    ],
)
def test_bad_stacks_say_which_layer_and_why(layers, error, match):
    raw = {"input": {"shape": [1, 1, 8, 8], "fill": "random"}, "layers": layers}
    with pytest.raises(error, match=match):
        config.build_stack(raw)


def test_the_loss_must_fit_the_top_output():
    with pytest.raises(ConfigError, match=r"must match the top output, \[1, 2, 4, 4\]"):
        config.build_stack({**LENET, "layers": LENET["layers"][:3], "loss": {"delta": [[1.0]]}})
    with pytest.raises(ConfigError, match="allowed: sum"):
        config.build_stack({**LENET, "loss": "mean"})


def test_a_stack_is_built_from_specs_through_the_api():
    s = stack.build(np.ones((1, 1, 4)), [LayerSpec("avgpool", {"kernel": 2})])
    np.testing.assert_array_equal(stack.forward(s)[-1][1], [[[1.0, 1.0]]])


BIASED = {
    "input": {"shape": [2, 1, 5, 5], "fill": "random"},
    "layers": [
        {"conv": {"kernel": {"shape": [2, 1, 3, 3], "fill": "random"}, "bias": [0.5, -0.25], "padding": 1}},
        "relu",
        {
            "conv_transpose": {
                "kernel": {"shape": [2, 3, 2, 2], "fill": "random"},
                "bias": {"fill": "random"},
                "stride": 2,
            }
        },  # fmt: skip
    ],
    "loss": {"mse": {"target": {"fill": "random"}}},
    "seed": 5,
}


def _naive_conv(x, w, b, padding):
    """y[n, o, i, j] = b[o] + Σ_c Σ_k x_pad[n, c, i + ki, j + kj]·w[o, c, ki, kj], one cell at a time."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, _, h, wd = xp.shape
    o, _, kh, kw = w.shape
    y = np.zeros((n, o, h - kh + 1, wd - kw + 1))
    for idx in np.ndindex(*y.shape):
        ni, oi, i, j = idx
        y[idx] = b[oi] + np.sum(xp[ni, :, i : i + kh, j : j + kw] * w[oi])
    return y


def _naive_conv_transpose(x, w, b, stride):
    """Each input cell scattered through W (C_in, C_out, kh, kw), stride apart, then + b[c_out]."""
    n, c, h, wd = x.shape
    _, o, kh, kw = w.shape
    y = np.zeros((n, o, (h - 1) * stride + kh, (wd - 1) * stride + kw))
    for ni, ci, i, j in np.ndindex(n, c, h, wd):
        y[ni, :, i * stride : i * stride + kh, j * stride : j * stride + kw] += x[ni, ci, i, j] * w[ci]
    return y + b.reshape(1, -1, 1, 1)


def test_a_bias_in_a_stack_matches_naive_loops_and_finite_differences():
    s = config.build_stack(BIASED)
    conv, _, up = s.layers
    assert conv.bias.tolist() == [0.5, -0.25] and up.bias.shape == (3,)
    passes = stack.backward(s)

    def total(b0=conv.bias, b2=up.bias):
        a = np.maximum(_naive_conv(s.x, conv.w, b0, 1), 0)
        y = _naive_conv_transpose(a, up.w, b2, 2)
        return float(np.mean((y - s.loss.array) ** 2))

    np.testing.assert_allclose(
        passes[-1].output,
        _naive_conv_transpose(np.maximum(_naive_conv(s.x, conv.w, conv.bias, 1), 0), up.w, up.bias, 2),
    )
    for k in range(2):
        want = numeric_gradient(lambda b: total(b0=b), conv.bias, k)
        assert passes[0].bias_grad[k] == pytest.approx(want, abs=1e-7)
    for k in range(3):
        want = numeric_gradient(lambda b: total(b2=b), up.bias, k)
        assert passes[2].bias_grad[k] == pytest.approx(want, abs=1e-7)
    delta = passes[2].delta  # Σ δ per channel, summed by hand
    assert passes[2].bias_grad == pytest.approx([sum(delta[n, c].sum() for n in range(2)) for c in range(3)])


def test_a_bias_of_the_wrong_size_names_the_layer_and_the_size():
    bad = {**BIASED, "layers": [{"conv": {"kernel": {"shape": [2, 1, 3, 3]}, "bias": [1, 2, 3]}}]}
    with pytest.raises(
        ArrayError,
        match=r"layer 1 \(conv\).*bias has shape \[3\]; it must have one entry per output channel, \[2\]",
    ):
        config.build_stack(bad)


def test_check_of_a_stack_holds_each_bias_gradient():
    from convgrad_cli.core.layercheck.stack import check_stack

    checks = check_stack(config.build_stack(BIASED))
    held = {(c.layer, c.reference) for c in checks if c.quantity == "bias_grad"}
    assert held == {
        (1, "Σ δ per channel"),
        (3, "Σ δ per channel"),
        (1, "finite differences"),
        (3, "finite differences"),
    }
    assert all(c.passed for c in checks)
