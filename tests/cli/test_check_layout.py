"""What a student's first backward — a loop over (H, W) arrays — gets from `check`: its
bias gradient may be one number, and ``--layout spatial`` passes it the arrays it loops over."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from convgrad_cli.cli import app
from convgrad_cli.config import load
from convgrad_cli.core.check import InProcess, Options, check_case
from convgrad_cli.testing import assert_conv_backward
from tests.support import student_loops as student
from tests.support.reference import backward as reference

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


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


# -- --layout spatial: x (H, W), w (kh, kw), δ (Ho, Wo) -------------------------------------------------

STUDENT = ROOT / "tests" / "support" / "student_loops.py"
#: What the loops of tests/support/student_loops.py read: 2-D, one int stride and one int padding.
INT_GEOMETRY = ("--dims", "2", "--same-stride", "--symmetric-padding", "--dilation", "1")


def check(*args):
    result = runner.invoke(app, ["check", *map(str, args), "--format", "json"])
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


@pytest.mark.parametrize("seed", range(6))
def test_the_student_loop_is_right(seed):
    """What the sweep below holds the loop to, held here to the definition written out
    (tests/support/reference.py): the loop is right, so a pass is the layout's doing."""
    rng = np.random.default_rng(seed)
    k, s, p = (int(v) for v in (rng.integers(1, 4), rng.integers(1, 4), rng.integers(0, 3)))
    x, w = (
        rng.standard_normal((int(rng.integers(k, 9)), int(rng.integers(k, 9)))),
        rng.standard_normal((k, k)),
    )
    out = tuple((n + 2 * p - k) // s + 1 for n in x.shape)
    delta = rng.standard_normal(out)
    dx, dw, db = student.backward(x, w, delta, stride=s, padding=p)
    want = reference(x[None, None], w[None, None], delta[None, None], (s, s), (1, 1), [(p, p)] * 2, 1)
    np.testing.assert_allclose(dx, want[0][0, 0], atol=1e-12)
    np.testing.assert_allclose(dw, want[1][0, 0], atol=1e-12)
    assert np.ndim(db) == 0 and np.isclose(db, want[2][0])


def test_a_loop_over_h_w_passes_a_sweep_of_40_in_spatial_layout():
    """Every case one sample, one channel, one filter, groups 1, passed as (H, W); its bias
    gradient, delta.sum(), a 0-d array."""
    result, doc = check("--impl", f"{STUDENT}:backward", "--layout", "spatial", *INT_GEOMETRY)
    assert result.exit_code == 0, result.stdout
    assert doc["passed"] and doc["checked"] == 40 and doc["errors"] == doc["failed"] == 0
    for r in doc["results"]:
        assert r["geometry"].startswith("1×1×") and r["geometry"].split(" * ")[1].startswith("1×1×")
        assert " g" not in r["geometry"]  # groups 1
    assert {"strided", "padded", "kernel_not_square", "uncovered"} <= set(doc["classes_passed"])


def test_spatial_layout_keeps_the_scope_of_dims_and_declared_words(tmp_path):
    """--dims 1 draws 1-D cases, passed as (L,); a declared convgrad_scope is honoured."""
    result, doc = check(
        "--impl", f"{STUDENT}:backward", "--layout", "spatial", "--dims", "1", "--random", "4"
    )
    assert {r["classes"][0] for r in doc["results"]} == {"1d"}
    assert all("not enough values to unpack (expected 2, got 1)" in r["error"] for r in doc["results"])
    wrapper = tmp_path / "declared.py"
    wrapper.write_text(
        "from tests.support.student_loops import backward as f\n"
        "f.convgrad_scope = '2-D, no dilation, one stride for every axis, symmetric padding, "
        "one padding for every axis'\n"
    )
    result, doc = check("--impl", f"{wrapper}:f", "--layout", "spatial", "--random", "12")
    assert result.exit_code == 0 and doc["checked"] == 12 and doc["passed"]


def test_spatial_layout_checks_configs_of_one_channel_and_skips_the_rest():
    result, doc = check(
        ROOT / "configs" / "stride2.yaml", ROOT / "configs" / "multichannel_batch.yaml",
        "--impl", f"{STUDENT}:backward", "--layout", "spatial",
    )  # fmt: skip
    one, many = doc["results"]
    assert one["status"] == "passed"
    assert (
        many["status"] == "skipped"
        and "--layout spatial passes one sample, one channel and one filter" in many["error"]
    )


def test_a_forward_loop_over_h_w_passes_in_spatial_layout():
    result, doc = check(
        "--forward", f"{STUDENT}:forward", "--layout", "spatial", *INT_GEOMETRY, "--random", "12"
    )
    assert result.exit_code == 0 and doc["passed"] and doc["checked"] == 12


@pytest.mark.parametrize(
    "flags, said",
    [
        (["--groups", "2"], "--groups 2 is not allowed with --layout spatial"),
        (["--convention", "cs231n"], "--layout spatial passes x, w and δ as their spatial axes alone"),
    ],
)
def test_spatial_layout_refuses_what_it_cannot_pass(flags, said):
    result = runner.invoke(app, ["check", "--impl", f"{STUDENT}:backward", "--layout", "spatial", *flags])
    assert result.exit_code == 2 and said in result.stderr


# -- an error that shows other shapes were expected says which were passed --------------------------------


def test_the_default_layouts_error_names_the_shapes_and_the_layout():
    """A 2-D loop given (N, C, H, W) arrays: each error says what it was called with and how to pass (H, W)."""
    result, doc = check("--impl", f"{STUDENT}:backward", "--random", "6", "--dims", "2")
    assert result.exit_code == 1 and doc["errors"] == 6
    for r in doc["results"]:
        x, w = r["geometry"].split(" ")[0], r["geometry"].split(" * ")[1].split(" ")[0]
        shapes = tuple(tuple(int(n) for n in s.split("×")) for s in (x, w))
        assert r["error"].startswith(
            "the implementation raised ValueError: too many values to unpack (expected 2) (at student_loops.py:"
        )
        assert f"; called with x {shapes[0]}, w {shapes[1]}, δ (" in r["error"]
        assert r["error"].endswith(
            "for a function of spatial arrays alone ((H, W) in 2-D), give --layout spatial"
        )


def test_in_spatial_layout_the_error_names_the_shapes_alone():
    """There is no other layout to offer: a 2-D loop given a 1-D case is told x (L,)."""
    result, doc = check(
        "--impl", f"{STUDENT}:backward", "--layout", "spatial", "--dims", "1", "--random", "2"
    )
    for r in doc["results"]:
        length = int(r["geometry"].split(" ")[0].split("×")[-1])
        assert (
            f"(expected 2, got 1) (at student_loops.py:12: H, W = x.shape); called with x ({length},), w ("
            in (r["error"])
        )
        assert "--layout" not in r["error"]


def test_gradients_of_the_spatial_axes_alone_are_told_the_layout(tmp_path):
    wrapper = tmp_path / "first_image.py"
    wrapper.write_text(
        "from tests.support.student_loops import backward\n\n\n"
        "def f(x, w, delta, **kw):\n"
        "    return backward(x[0, 0], w[0, 0], delta[0, 0], **kw)\n"
    )
    result, doc = check(ROOT / "configs" / "seed_stride1.yaml", "--impl", f"{wrapper}:f")
    assert doc["results"][0]["error"] == (
        "its input_grad has shape (4, 4); expected exactly (1, 1, 4, 4) — its spatial axes alone: for a function "
        "of spatial arrays alone ((H, W) in 2-D), give --layout spatial"
    )


def test_code_for_full_rank_is_not_sent_to_the_spatial_layout():
    """A (N, C, H, W) loop that fails to broadcast groups, or to unpack a 1-D x.shape, is told
    its shapes alone: spatial arrays would not help it."""
    loop = f"{ROOT / 'tests' / 'support' / 'narrow_impls.py'}:crashes_outside_2d_int_geometry"
    for flags in (["--dims", "2", "--groups", "2"], ["--dims", "1"]):
        result, doc = check("--impl", loop, "--random", "2", "--same-stride", *flags)
        errors = [r["error"] for r in doc["results"] if "broadcast" in r["error"] or "unpack" in r["error"]]
        assert errors and all("; called with x (" in e and "--layout" not in e for e in errors), errors


def test_a_loop_that_forgets_the_stride_fails_and_is_named():
    """Each window at (i, j) where it starts at (i·s, j·s): every failing case has a stride > 1,
    and each is named delta_not_dilated on both gradients."""
    result, doc = check(
        "--impl", f"{STUDENT}:backward_stride_forgotten", "--layout", "spatial", *INT_GEOMETRY
    )
    assert result.exit_code == 1 and doc["errors"] == 0 and doc["failed"] > 0
    assert doc["fails_only_when"] == ["strided"]
    for r in (r for r in doc["results"] if r["status"] == "failed"):
        assert set(r["diagnosis"]) == {"input_grad", "weight_grad"}
        assert all(found[0]["mistake"] == "delta_not_dilated" for found in r["diagnosis"].values()), r["name"]
        assert "strided" in r["classes"]
    assert any(r["status"] == "passed" for r in doc["results"])  # stride 1 is right


def test_the_pytest_helper_takes_the_spatial_layout():
    """assert_conv_backward(layout="spatial"): the loop, made to refuse the dilation it never reads."""

    def loop(x, w, delta, dilation=1, **kw):
        if dilation != 1:
            raise NotImplementedError("no dilation")
        return student.backward(x, w, delta, **kw)

    said = assert_conv_backward(
        loop, dims=(2,), cases=12, same_stride=True, symmetric_padding=True, layout="spatial"
    )
    assert said.startswith("12 cases checked, all pass (supports 2-D")
    with pytest.raises(AssertionError, match="called with x"):
        assert_conv_backward(loop, dims=(2,), cases=2, shrink=False)


def test_a_batched_loop_is_not_told_to_take_spatial_arrays():
    """NCHW code meeting groups or a stride pair breaks on a (C, kh, kw) slice; the report said
    'for a function of spatial arrays alone, give --layout spatial', which it is not."""
    result = runner.invoke(app, ["check", "--impl", f"{STUDENT}:batched_backward", "-f", "json"])
    doc = json.loads(result.stdout)
    errors = [r["error"] for r in doc["results"] if r["status"] == "error"]
    assert result.exit_code == 1 and errors
    assert not any("--layout spatial" in e for e in errors)
    assert any("called with x (" in e for e in errors)  # still says what it was given


def test_a_loop_that_ignores_dilation_is_told_how_to_leave_it_out():
    """Following the scope hint, the batched loop still failed on dilated cases, named
    kernel_not_dilated, and nothing said that --dilation 1 declares it was not meant for them."""
    args = [
        "check",
        "--impl",
        f"{STUDENT}:batched_backward",
        "--dims",
        "2",
        "--same-stride",
        "--symmetric-padding",
    ]
    result = runner.invoke(app, [*args, "--groups", "1", "-f", "plain", "--width", "200"])
    assert result.exit_code == 1
    said = " ".join(result.stdout.split())
    assert "fails only with a dilation > 1 (if it is not meant for a dilation > 1, give --dilation 1)" in said
    assert runner.invoke(app, [*args, "--groups", "1", "--dilation", "1"]).exit_code == 0
