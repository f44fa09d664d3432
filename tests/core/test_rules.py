"""The rules against the naive reference, finite differences and the adjoint identity,
over random geometry of every kind."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convgrad_cli.core import rules, terms
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.names import Namer
from convgrad_cli.core.ops import pad
from tests.support import reference
from tests.support.operands import operands, ref_args
from tests.support.profile import examples
from tests.support.strategies import geometries


@given(geometries(), st.integers(0, 2**16))
def test_forward_matches_the_definition(g, seed):
    x, w, b, _ = operands(g, seed)
    expected = reference.forward(x, w, b, **ref_args(g))
    np.testing.assert_allclose(rules.forward(g, x, w, b), expected, rtol=1e-12, atol=1e-12)


@given(geometries(), st.integers(0, 2**16))
def test_gradients_match_the_definition(g, seed):
    x, w, _, delta = operands(g, seed)
    dx, dw, db = reference.backward(x, w, delta, **ref_args(g))
    np.testing.assert_allclose(rules.input_grad(g, w, delta), dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rules.weight_grad(g, x, delta), dw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rules.bias_grad(delta), db, rtol=1e-12, atol=1e-12)


@given(geometries(), st.integers(0, 2**16))
def test_slides_pipeline_equals_the_fast_path(g, seed):
    _, w, _, delta = operands(g, seed)
    steps = rules.backward_steps(g, w, delta)
    assert steps.padded_delta.shape[2:] == g.padded_delta_size
    assert steps.input_grad.shape == g.input_shape
    np.testing.assert_allclose(steps.input_grad, rules.input_grad(g, w, delta), rtol=1e-12, atol=1e-12)


@given(geometries(), st.integers(0, 2**16))
def test_adjoint_identity(g, seed):
    """⟨conv(x), δ⟩ = ⟨x, ∂L/∂x⟩ and = ⟨W, ∂L/∂W⟩: both sides sum the same products."""
    x, w, _, delta = operands(g, seed)
    lhs = np.vdot(rules.forward(g, x, w), delta)
    assert np.isclose(lhs, np.vdot(x, rules.input_grad(g, w, delta)), rtol=1e-10, atol=1e-10)
    assert np.isclose(lhs, np.vdot(w, rules.weight_grad(g, x, delta)), rtol=1e-10, atol=1e-10)


@given(geometries(max_size=4, max_batch=1), st.integers(0, 2**16))
@settings(max_examples=examples(25))
def test_central_finite_differences(g, seed):
    """Every entry of ∂L/∂x, ∂L/∂W, ∂L/∂b against (L(v + h) − L(v − h)) / 2h,
    with L = ⟨conv(x, W) + b, δ⟩."""
    x, w, b, delta = operands(g, seed)
    h = 1e-6

    def loss(x_, w_, b_):
        return np.vdot(rules.forward(g, x_, w_, b_), delta)

    for arr, grad in (
        (x, rules.input_grad(g, w, delta)),
        (w, rules.weight_grad(g, x, delta)),
        (b, rules.bias_grad(delta)),
    ):
        numeric = np.zeros_like(arr)
        for idx in np.ndindex(*arr.shape):
            keep = arr[idx]
            arr[idx] = keep + h
            up = loss(x, w, b)
            arr[idx] = keep - h
            down = loss(x, w, b)
            arr[idx] = keep
            numeric[idx] = (up - down) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7)


@given(geometries(max_size=4), st.integers(0, 2**16))
@settings(max_examples=examples(30))
def test_traced_terms_add_up_to_the_gradients(g, seed):
    """Each cell's terms, given numbers, are exactly its gradient entry."""
    x, w, _, delta = operands(g, seed)
    dx, dw = rules.input_grad(g, w, delta), rules.weight_grad(g, x, delta)
    y = rules.forward(g, x, w)
    for idx in np.ndindex(*g.input_shape):
        assert np.isclose(terms.input_grad_value(terms.input_terms(g, idx), w, delta), dx[idx], atol=1e-12)
    for idx in np.ndindex(*g.kernel_shape):
        assert np.isclose(terms.weight_grad_value(terms.weight_terms(g, idx), x, delta), dw[idx], atol=1e-12)
    for idx in np.ndindex(*g.output_shape):
        assert np.isclose(terms.output_value(terms.output_terms(g, idx), x, w), y[idx], atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_result_dtype_follows_the_operands(dtype):
    g = Geometry.build((6, 6), (3, 3), in_channels=2, out_channels=3, stride=2, padding=1)
    x, w, b, delta = operands(g, 0, dtype)
    assert rules.forward(g, x, w, b).dtype == dtype
    assert rules.input_grad(g, w, delta).dtype == dtype
    assert rules.weight_grad(g, x, delta).dtype == dtype
    steps = rules.backward_steps(g, w, delta)
    assert steps.input_grad.dtype == dtype
    np.testing.assert_allclose(
        rules.input_grad(g, w, delta),
        reference.backward(x.astype(float), w.astype(float), delta.astype(float), **ref_args(g))[0],
        rtol=1e-4,
        atol=1e-5,
    )


@pytest.mark.parametrize("groups", [1, 2])
def test_mixed_dtypes_compute_in_the_wider_one(groups):
    """A float32 input with a float64 kernel, bias and δ: float64 results, equal to
    the definition computed in float64 (depthwise and GEMM paths alike)."""
    g = Geometry.build((7, 6), (3, 2), in_channels=2, out_channels=2, groups=groups, stride=(2, 1), padding=1)
    x, w, b, delta = operands(g, 1)
    x32 = x.astype(np.float32)
    y = reference.forward(x32.astype(float), w, b, **ref_args(g))
    dx, dw, _ = reference.backward(x32.astype(float), w, delta, **ref_args(g))
    for got, expected in (
        (rules.forward(g, x32, w, b), y),
        (rules.input_grad(g, w, delta), dx),
        (rules.weight_grad(g, x32, delta), dw),
    ):
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_uneven_coverage_leaves_zero_gradient_and_pads_delta_at_the_end():
    g = Geometry.build((5, 5), (2, 2), stride=2)
    assert g.out_size == (2, 2) and g.uncovered == (1, 1)
    assert g.delta_padding == ((1, 2), (1, 2))  # k−1 before, k−1 + 1 uncovered after
    w = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    dx = rules.input_grad(g, w, np.ones(g.output_shape))
    assert (dx[0, 0, 4, :] == 0).all() and (dx[0, 0, :, 4] == 0).all()
    assert terms.input_terms(g, (0, 0, 4, 4)) == []
    assert terms.input_grad_expression(Namer(g), []) == "0"


def test_same_padding_puts_the_odd_zero_after():
    g = Geometry.build((4, 4), (2, 2), padding="same")
    assert g.padding == ((0, 1), (0, 1)) and g.out_size == (4, 4)
    g = Geometry.build((5,), (3,), padding="same", dilation=2)
    assert g.padding == ((2, 2),)


@given(st.integers(1, 6), st.integers(-6, 4), st.integers(-6, 4))
def test_pad_moves_entry_i_to_i_plus_before(n, before, after):
    """pad's definition, entry by entry: out[j] = a[j − before], zero outside a."""
    if n + before + after < 0:
        return
    a = np.arange(1.0, n + 1).reshape(1, 1, n)
    out = pad(a, ((before, after),))[0, 0]
    assert out.shape == (n + before + after,)
    for j, v in enumerate(out):
        assert v == (a[0, 0, j - before] if 0 <= j - before < n else 0)


def test_padding_wider_than_the_input_with_a_large_stride():
    """Found by CI: 1 cell padded 2 before, stride 3 — δ's padding crops more than δ has."""
    g = Geometry.build((1,), (1,), stride=3, padding=((2, 0),))
    assert g.out_size == (1,) and g.delta_padding == ((-2, 2),)
    w, delta = np.array([[[2.0]]]), np.array([[[5.0]]])
    steps = rules.backward_steps(g, w, delta)
    # the only window sits on padding, so the input's one cell gets nothing
    assert steps.input_grad.tolist() == [[[0.0]]] and rules.input_grad(g, w, delta).tolist() == [[[0.0]]]
