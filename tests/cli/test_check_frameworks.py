"""`check --framework torch|jax`, low precision, and the testing API."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convgrad_cli.cli import app

ROOT = Path(__file__).resolve().parents[2]
IMPLS = ROOT / "tests" / "support" / "framework_impls.py"
runner = CliRunner()
LOW = ["float32", "float16", "bfloat16"]


def check(*args):
    result = runner.invoke(app, ["check", *map(str, args), "--format", "json"])
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


@pytest.mark.parametrize("dtype", ["float64", *(pytest.param(d, marks=pytest.mark.slow) for d in LOW)])
def test_a_correct_torch_implementation_passes_in_every_precision(dtype):
    pytest.importorskip("torch")
    result, doc = check(
        "--random", "30", "--impl", f"{IMPLS}:torch_backward", "--framework", "torch", "--dtype", dtype
    )
    assert result.exit_code == 0, [r["error"] or r["checks"] for r in doc["results"] if not r["passed"]][:2]
    assert doc["failed"] == doc["errors"] == 0
    assert f"({dtype})" in doc["results"][0]["tolerance"]


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_a_wrong_torch_implementation_fails_in_every_precision(dtype):
    pytest.importorskip("torch")
    result, doc = check(
        "--random", "20", "--impl", f"{IMPLS}:torch_not_flipped", "--framework", "torch", "--dtype", dtype
    )
    assert result.exit_code == 1 and doc["failed"] >= 10
    named = {d["mistake"] for r in doc["results"] for ds in r["diagnosis"].values() for d in ds[:1]}
    assert "kernel_not_flipped" in named


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_correct_jax_implementation_passes(dtype):
    # jax narrows float64 to float32 unless x64 is on: float64 checks only pass if convgrad turns it on
    pytest.importorskip("jax")
    result, doc = check(
        "--random", "20", "--impl", f"{IMPLS}:jax_backward", "--framework", "jax", "--dtype", dtype
    )
    assert (
        result.exit_code == 0
        and doc["passed"] is True
        and doc["cases"] == 20
        and doc["failed"] == doc["errors"] == 0
    )


@pytest.mark.slow
def test_a_wrong_jax_implementation_fails_with_its_diagnosis():
    pytest.importorskip("jax")
    result, doc = check("--random", "12", "--impl", f"{IMPLS}:jax_not_flipped", "--framework", "jax")
    assert result.exit_code == 1 and doc["failed"] >= 6
    named = {d["mistake"] for r in doc["results"] for ds in r["diagnosis"].values() for d in ds[:1]}
    assert "kernel_not_flipped" in named


def test_a_framework_that_is_not_installed_is_refused_in_one_line(monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "jax" else find_spec(name, *a)
    )
    result = runner.invoke(app, ["check", "--impl", f"{IMPLS}:jax_backward", "--framework", "jax"])
    assert result.exit_code == 2
    assert (
        result.stderr.strip() == "convgrad: error: --framework jax needs jax installed here (pip install jax)"
    )


def test_assert_conv_backward_passes_and_fails_with_the_diagnosis():
    from convgrad_cli import conv2d_backward
    from convgrad_cli.testing import assert_conv_backward
    from tests.support import broken_impls

    assert_conv_backward(conv2d_backward, dims=(2,), cases=15)
    assert_conv_backward(broken_impls.correct, cases=20)
    with pytest.raises(
        AssertionError, match=r"looks like kernel_not_flipped \(explains 100% of its entries\)"
    ):
        assert_conv_backward(broken_impls.kernel_not_flipped, cases=15)
    with pytest.raises(AssertionError, match="bias_averaged"):
        assert_conv_backward(broken_impls.bias_averaged, dims=(1,), cases=8)
