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
