"""check --layer: right backwards pass, each classic mistake fails and is named, and
the failing case shrinks."""

import numpy as np
import pytest

from convgrad_cli.core import layercheck as lc
from convgrad_cli.core.layercheck.run import user
from tests.support import layer_impls as impls


def results(kind, fn, count=12):
    cases = lc.anchors(kind) + lc.random_cases(kind, count, seed=1, dims=(1, 2))
    return [lc.check_case(c, user(fn)) for c in cases]


def test_convgrads_own_layers_pass_every_reference():
    for kind in lc.KINDS:
        for r in (lc.check_case(c) for c in lc.anchors(kind) + lc.random_cases(kind, 8, seed=2)):
            assert r.passed, (r.case.describe(), [c for c in r.checks if not c.passed])
            assert {c.reference for c in r.checks} >= {"convgrad", "adjoint"}


def test_a_right_max_pool_passes_ties_included():
    assert all(r.passed for r in results("maxpool", impls.maxpool_right))


@pytest.mark.parametrize(
    ("kind", "fn", "mistake"),
    [
        ("maxpool", impls.maxpool_every_cell, "maxpool_every_cell"),
        ("maxpool", impls.maxpool_every_tie, "maxpool_every_tie"),
        ("maxpool", impls.maxpool_last_tie, "maxpool_last_tie"),
        ("avgpool", impls.avgpool_by_window, "avgpool_divides_by_window"),
        ("relu", impls.relu_at_zero, "relu_passes_at_zero"),
    ],
)
def test_each_classic_mistake_fails_and_is_named(kind, fn, mistake):
    failed = [r for r in results(kind, fn) if r.status == "failed"]
    assert failed
    assert any(r.diagnosis and r.diagnosis[0].mistake == mistake for r in failed)


def test_a_failing_case_shrinks_to_one_that_still_fails():
    r = lc.check_case(lc.anchors("maxpool")[1], user(impls.maxpool_last_tie))
    assert r.status == "failed" and r.smallest is not None
    assert np.prod(r.smallest.shape) < np.prod(r.case.shape)
    assert lc.check_case(r.smallest, user(impls.maxpool_last_tie), shrink=False).status == "failed"


def test_a_gradient_of_the_wrong_shape_is_an_error_of_the_case():
    r = lc.check_case(lc.anchors("relu")[0], user(impls.relu_wrong_shape))
    assert r.status == "error" and "expected exactly (1, 2, 4, 4)" in r.error


def test_transposed_convolution_right_and_flipped():
    pytest.importorskip("torch")
    assert all(r.passed for r in results("conv_transpose", impls.conv_transpose_torch, 6))
    failed = [r for r in results("conv_transpose", impls.conv_transpose_flipped, 6) if r.status == "failed"]
    assert any(r.diagnosis and r.diagnosis[0].mistake == "conv_transpose_kernel_flipped" for r in failed)


def stack_of(layers_, loss="sum"):
    from convgrad_cli import config

    return config.build_stack(
        {"input": {"shape": [1, 2, 6, 6], "fill": "random"}, "layers": layers_, "loss": loss}
    )


LENET_RANDOM = [
    {"conv": {"kernel": {"shape": [3, 2, 3, 3]}, "padding": 1}},
    "relu",
    {"maxpool": {"kernel": 2}},
    {"conv_transpose": {"kernel": {"shape": [3, 1, 2, 2]}, "stride": 2}},
    {"avgpool": {"kernel": 2}},
]


def test_a_stack_passes_every_layer_check_and_finite_differences_end_to_end():
    from convgrad_cli.core.layercheck.stack import check_stack

    checks = check_stack(stack_of(LENET_RANDOM))
    assert all(c.passed for c in checks)
    assert {c.reference for c in checks} == {
        "pipeline",
        "mask x > 0",
        "windows",
        "adjoint",
        "finite differences",
    }
    assert not any(c.note for c in checks)  # random values: no kink, so the chain's differences ran


def test_a_stack_check_fails_when_a_layer_sends_its_delta_wrong(monkeypatch):
    from convgrad_cli.core.layercheck.stack import check_stack
    from convgrad_cli.core.layers import MaxPool

    monkeypatch.setattr(MaxPool, "backward", lambda self, x, saved, delta: (self.count_down(delta), None))
    failed = {(c.kind, c.reference) for c in check_stack(stack_of(LENET_RANDOM)) if not c.passed}
    assert ("maxpool", "windows") in failed and ("stack", "finite differences") in failed


def test_the_mistake_that_also_gives_the_right_entries_is_named_first():
    """δ sent to every tie: where a window ties, each tied cell takes its δ — every_tie's numbers;
    every_cell's too on those cells, but every_cell also gives δ to the cells a window did not
    pick, which this backward leaves at 0. Both explain every wrong entry; every_tie comes first."""
    failed = [r for r in results("maxpool", impls.maxpool_every_tie, 40) if r.status == "failed"]
    assert failed
    for r in failed:
        assert r.diagnosis[0].mistake == "maxpool_every_tie", r.case.describe()
        assert [d.mistake for d in r.diagnosis].index("maxpool_every_tie") == 0
