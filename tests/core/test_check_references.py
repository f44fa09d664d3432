"""check's finite differences run the perturbed copies through the forward pass
together; each must still be the central difference of its own copy."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from convgrad_cli.core.check.references import finite_differences
from tests.support import reference
from tests.support.operands import operands, ref_args
from tests.support.profile import examples
from tests.support.strategies import geometries

NAMES = ("input_grad", "weight_grad", "bias_grad")


def _naive(g, x, w, b, delta):
    """(L(v + e) − L(v − e)) / 2 for each entry's unit step e, L from the test's own loop."""

    def loss(x_, w_, b_):
        return np.vdot(reference.forward(x_, w_, b_, **ref_args(g)), delta)

    out = {}
    for name, arr in zip(NAMES, (x, w, b)):
        numeric = np.zeros_like(arr)
        for idx in np.ndindex(*arr.shape):
            keep = arr[idx]
            arr[idx] = keep + 1
            up = loss(x, w, b)
            arr[idx] = keep - 1
            down = loss(x, w, b)
            arr[idx] = keep
            numeric[idx] = (up - down) / 2
        out[name] = numeric
    return out


def _run(g, x, w, b, delta, grads, mode):
    bounds = {name: np.full(grads[name].shape, 1e-9) for name in NAMES}
    operands_ = {"input_grad": x, "weight_grad": w}
    rng = np.random.default_rng(0)
    found = finite_differences(g, operands_, b, delta, grads, bounds, 1e-9, mode, rng, 3, True)
    return {c.quantity: c for c in found}


@given(geometries(max_size=4), st.integers(0, 2**16), st.data())
@settings(max_examples=examples(40))
def test_every_entry_is_its_own_central_difference(g, seed, data):
    x, w, b, delta = operands(g, seed)
    naive = _naive(g, x, w, b, delta)
    for mode in ("full", "fast"):
        found = _run(g, x, w, b, delta, naive, mode)
        assert all(found[name].passed for name in NAMES), (mode, found)
    # one entry wrong by 1e-3 is caught at that entry (full) and along random directions (fast)
    name = data.draw(st.sampled_from(NAMES))
    wrong = {k: v.copy() for k, v in naive.items()}
    flat = data.draw(st.integers(0, wrong[name].size - 1))
    wrong[name].flat[flat] += 1e-3
    full = _run(g, x, w, b, delta, wrong, "full")[name]
    assert not full.passed and full.wrong == 1
    assert full.mismatches[0].index == np.unravel_index(flat, wrong[name].shape)
    assert not _run(g, x, w, b, delta, wrong, "fast")[name].passed
