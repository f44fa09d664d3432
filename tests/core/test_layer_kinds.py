"""Pooling, ReLU and transposed convolution against their definitions, one window at a time."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convgrad_cli.core import layers
from convgrad_cli.errors import ArrayError, GeometryError
from tests.support import layer_reference as ref
from tests.support.profile import examples
from tests.support.strategies import conv_transpose_cases, pool_cases


def values(rng, shape, ties):
    """Small integers make ties in most windows; normals make none."""
    return rng.integers(-2, 3, size=shape).astype(float) if ties else rng.standard_normal(shape)


@given(pool_cases("maxpool"), st.booleans(), st.integers(0, 2**16))
@settings(max_examples=examples(80))
def test_maxpool_matches_the_definition(case, ties, seed):
    shape, params = case
    rng = np.random.default_rng(seed)
    x = values(rng, shape, ties)
    layer = layers.make("maxpool", shape, params)
    y, saved = layer.forward(x)
    delta = rng.standard_normal(y.shape)
    want_y, want_dx = ref.max_pool(
        x,
        delta,
        params["kernel"],
        params["stride"],
        params["padding"],
        params["dilation"],
        params["ceil_mode"],
    )
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_allclose(layer.backward(x, saved, delta)[0], want_dx, rtol=1e-12, atol=1e-12)


@given(pool_cases("avgpool"), st.integers(0, 2**16))
def test_avgpool_matches_the_definition(case, seed):
    shape, params = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    layer = layers.make("avgpool", shape, params)
    y, saved = layer.forward(x)
    delta = rng.standard_normal(y.shape)
    want_y, want_dx = ref.avg_pool(
        x,
        delta,
        params["kernel"],
        params["stride"],
        params["padding"],
        params["ceil_mode"],
        params["count_include_pad"],
        params["divisor"],
    )
    np.testing.assert_allclose(y, want_y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.backward(x, saved, delta)[0], want_dx, rtol=1e-12, atol=1e-12)


@given(conv_transpose_cases(), st.integers(0, 2**16))
def test_conv_transpose_matches_the_scatter(case, seed):
    x_shape, w_shape, params = case
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    layer = layers.make("conv_transpose", x_shape, params, w)
    y, saved = layer.forward(x)
    delta = rng.standard_normal(y.shape)
    want_y, want_dx, want_dw = ref.conv_transpose(
        x,
        w,
        delta,
        params["stride"],
        params["padding"],
        params["output_padding"],
        params["dilation"],
        params["groups"],
    )
    np.testing.assert_allclose(y, want_y, rtol=1e-10, atol=1e-10)
    dx, dw = layer.backward(x, saved, delta)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dw, want_dw, rtol=1e-10, atol=1e-10)


def test_relu_passes_delta_where_the_input_was_positive_and_not_at_zero():
    x = np.array([[[-1.0, 0.0, 2.0, -0.0]]])
    layer = layers.make("relu", x.shape, {})
    y, saved = layer.forward(x)
    np.testing.assert_array_equal(y, [[[0.0, 0.0, 2.0, 0.0]]])
    np.testing.assert_array_equal(
        layer.backward(x, saved, np.array([[[5.0, 6.0, 7.0, 8.0]]]))[0], [[[0, 0, 7.0, 0]]]
    )


def test_maxpool_tie_goes_to_the_first_cell_in_scan_order():
    x = np.array([[[[1.0, 3.0], [3.0, 3.0]]]])
    layer = layers.make("maxpool", x.shape, {"kernel": 2})
    y, saved = layer.forward(x)
    np.testing.assert_array_equal(layer.backward(x, saved, np.array([[[[5.0]]]]))[0], [[[[0, 5.0], [0, 0]]]])


def test_overlapping_windows_add_their_deltas_at_a_shared_winner():
    x = np.array([[[0.0, 9.0, 0.0]]])
    layer = layers.make("maxpool", x.shape, {"kernel": 2, "stride": 1})
    y, saved = layer.forward(x)
    np.testing.assert_array_equal(layer.backward(x, saved, np.array([[[1.0, 2.0]]]))[0], [[[0, 3.0, 0]]])


def test_avgpool_count_include_pad_counts_padding_but_not_the_ceil_overhang():
    # input 4, k 3, s 2, p 1, ceil: windows [-1, 2), [1, 4), [3, 6) → clipped to the padded [−1, 5): 3, 3, 2 cells
    layer = layers.make("avgpool", (1, 1, 4), {"kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True})
    assert layer.divisors.tolist() == [3.0, 3.0, 2.0]
    off = layers.make(
        "avgpool",
        (1, 1, 4),
        {"kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
    )
    assert off.divisors.tolist() == [2.0, 3.0, 1.0]


@pytest.mark.parametrize(
    ("kind", "shape", "params", "match"),
    [
        ("maxpool", (1, 1, 5, 5), {"kernel": 3, "padding": 2}, "half the kernel"),
        ("maxpool", (1, 1, 2, 2), {"kernel": 3}, "padded input has only 2"),
        (
            "maxpool",
            (1, 1, 2),
            {"kernel": 2, "stride": 1, "padding": 1, "dilation": 3},
            "covers only padding",
        ),
        ("avgpool", (1, 1, 4, 4), {"kernel": 2, "dilation": 2}, "unknown parameter.*dilation.*allowed"),
        ("maxpool", (1, 1, 4, 4), {"kernel": 2, "ceil_mode": 1}, "true or false"),
        ("lrn", (1, 1, 4, 4), {}, "unknown layer kind 'lrn'; allowed: conv, conv_transpose, maxpool"),
    ],
)
def test_bad_layers_say_what_is_allowed(kind, shape, params, match):
    with pytest.raises(GeometryError, match=match):
        layers.make(kind, shape, params)


def test_conv_transpose_refuses_output_padding_at_the_stride():
    with pytest.raises(GeometryError, match="smaller than the stride or the dilation"):
        layers.make("conv_transpose", (1, 1, 3), {"stride": 2, "output_padding": 2}, np.ones((1, 1, 3)))
    with pytest.raises(ArrayError, match="takes 2 input channel"):
        layers.make("conv_transpose", (1, 1, 3), {}, np.ones((2, 1, 3)))
