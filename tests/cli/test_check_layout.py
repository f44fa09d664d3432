"""What a student's first backward — a loop over (H, W) arrays — gets from `check`: its
bias gradient may be one number."""

from pathlib import Path

from convgrad_cli.config import load
from convgrad_cli.core.check import InProcess, Options, check_case
from tests.support.reference import backward as reference

ROOT = Path(__file__).resolve().parents[2]


def _scalar_bias(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    """The definition's gradients (tests/support/reference.py), ∂L/∂b as one number: δ.sum()."""
    n = x.ndim - 2

    def per(v):
        return (v,) * n if isinstance(v, int) else tuple(v)

    pads = [(p, p) for p in per(padding)] if not isinstance(padding, list) else padding
    dx, dw, _ = reference(x, w, delta, per(stride), per(dilation), pads, groups)
    return dx, dw, delta.sum()


def test_one_filters_bias_gradient_may_be_one_number():
    """δ.sum() is a 0-d array: for one filter it is ∂L/∂b, and it passes."""
    problem = load(ROOT / "configs" / "stride2.yaml")
    assert problem.geom.out_channels == 1
    result = check_case(problem, "stride2", InProcess(_scalar_bias, "f"), Options())
    assert result.passed, result.error
    got = [c for c in result.comparisons if c.quantity == "bias_grad"]
    assert got and all(c.passed for c in got)


def test_several_filters_bias_gradient_says_how_to_sum():
    problem = load(ROOT / "configs" / "multichannel_batch.yaml")
    o = problem.geom.out_channels
    result = check_case(problem, "multichannel_batch", InProcess(_scalar_bias, "f"), Options())
    assert result.status == "error"
    assert result.error == (
        f"its bias_grad has shape (); expected exactly ({o},) — one entry per filter: δ summed over every "
        "axis but the filters' (delta.sum(axis=(0, 2, 3)))"
    )
