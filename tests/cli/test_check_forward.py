"""`check --forward`: a forward pass held against the definition with the same
tolerance rule, diagnosis, shrinking and report contract as the backward — right
forwards pass, each forward mistake of real code is caught and named."""

import importlib.util
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from typer.testing import CliRunner

from convgrad_cli.cli import app
from convgrad_cli.core.check import CATALOGUE, Tolerance
from convgrad_cli.core.check.contract import geometry_kwargs
from convgrad_cli.core.check.forward import (
    definition_output,
    forward_comparisons,
    output_shape_hint,
    output_terms,
    windows_output,
)
from convgrad_cli.core.geometry import Geometry
from tests.support import forward_impls
from tests.support.forward_impls import FORWARD_MISTAKES
from tests.support.profile import examples
from tests.support.strategies import geometries

ROOT = Path(__file__).resolve().parents[2]
FORWARDS = ROOT / "tests" / "support" / "forward_impls.py"
HAS_TORCH = importlib.util.find_spec("torch") is not None
runner = CliRunner()


def check(*args):
    result = runner.invoke(app, ["check", *map(str, args), "--format", "json"])
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


def forward(name):
    return f"{FORWARDS}:{name}"


def operands(g: Geometry, seed: int = 0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(g.input_shape), rng.standard_normal(g.kernel_shape),
            rng.standard_normal(g.out_channels))  # fmt: skip


@settings(max_examples=examples(60))
@given(geometries())
def test_the_references_are_the_naive_loop(g):
    """The definition and the windows agree with a loop over output positions written apart."""
    x, w, b = operands(g)
    naive = forward_impls.loops(x, w, b, **geometry_kwargs(g))
    np.testing.assert_allclose(definition_output(g, x, w, b), naive, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(windows_output(g, x, w, b), naive, rtol=1e-12, atol=1e-12)


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
@settings(max_examples=examples(60))
@given(geometries())
def test_the_references_are_torchs(g):
    import torch
    import torch.nn.functional as F

    x, w, b = operands(g, 1)
    pads = [v for pair in reversed(g.padding) for v in pair]
    conv = (F.conv1d, F.conv2d, F.conv3d)[g.ndim - 1]
    want = conv(F.pad(torch.from_numpy(x), pads), torch.from_numpy(w), torch.from_numpy(b),
                stride=g.stride, dilation=g.dilation, groups=g.groups).numpy()  # fmt: skip
    np.testing.assert_allclose(definition_output(g, x, w, b), want, rtol=1e-10, atol=1e-10)
    # torch's own y passes every reference within the float64 bounds
    sums, counts = output_terms(g, x, w, b)
    delta = np.random.default_rng(2).standard_normal(g.output_shape)
    found, _ = forward_comparisons(g, x, w, b, delta, want, Tolerance("float64").bounds(sums, counts),
                                   Tolerance("float64"))  # fmt: skip
    assert all(c.passed for c in found), [c for c in found if not c.passed]


@pytest.mark.parametrize(
    "name, flags",
    [
        ("correct", []),
        ("im2col", []),
        ("conv_forward_naive", ["--convention", "cs231n"]),
        pytest.param("channels_last", ["--layout", "channels-last"], marks=pytest.mark.slow),
        pytest.param("torch_forward", [], marks=pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")),
    ],
)  # fmt: skip
def test_a_correct_forward_passes_with_n_cases_checked(name, flags):
    result, doc = check("--random", "40", "--forward", forward(name), *flags)
    assert result.exit_code == 0, result.stdout
    assert doc["passed"] and doc["checked"] == 40 and doc["failed"] == doc["errors"] == 0
    passed = next(r for r in doc["results"] if r["status"] == "passed")
    assert {c["reference"] for c in passed["checks"]} == {"definition", "windows", "adjoint"}


#: The forward mistakes the quick run sweeps for; thorough, every one.
QUICK = ("forward_kernel_flipped", "forward_output_size_off_by_one")
#: Mistakes whose code also raises on some cases (an index past the end): those errors are unnamed.
RAISES_TOO = ("forward_stride_on_kernel", "kernel_assumed_square", "forward_output_size_off_by_one")


@pytest.mark.parametrize(
    "mistake", [m if m in QUICK else pytest.param(m, marks=pytest.mark.slow) for m in FORWARD_MISTAKES]
)
def test_every_forward_mistake_is_caught_and_named(mistake):
    """A default sweep of 40 catches each, and names it on every case whose numbers are wrong
    (the best match, or tied for it) and on every error its code does not raise by accident."""
    result, doc = check("--random", "40", "--forward", forward(mistake))
    assert result.exit_code == 1 and not doc["passed"]
    bad = [r for r in doc["results"] if r["status"] in ("failed", "error")]
    assert bad
    for r in bad:
        found = r["diagnosis"].get("output", [])
        best = {d["mistake"] for d in found if d["explains"] == found[0]["explains"]} if found else set()
        if r["status"] == "error" and mistake in RAISES_TOO and "raised" in r["error"]:
            continue
        assert mistake in best, (r["geometry"], r["error"], found)


def test_every_forward_id_has_a_broken_implementation():
    assert {m for m in CATALOGUE if m.startswith("forward_")} <= set(FORWARD_MISTAKES)


def test_a_forward_failure_reads_as_a_backward_one():
    result = runner.invoke(app, ["check", str(ROOT / "configs" / "seed_stride1.yaml"), "--forward",
                                 forward("forward_kernel_flipped"), "-f", "plain"])  # fmt: skip
    text = " ".join(result.stdout.split())
    assert result.exit_code == 1
    # the seed's y1 = a·w1 + b·w2 + e·w3 + f·w4 (+ bias); flipped, w4 reads a
    assert "output (y): wrong at 9 of 9 entries" in text and "seen by definition, windows and adjoint" in text
    assert "looks like forward_kernel_flipped (explains 100% of its entries)" in text
    assert "y1 = a·w1 + b·w2 + e·w3 + f·w4 + bias[0]" in text
    assert "smallest failing case: 1×1×1×2 * 1×1×1×2 s1" in text


def test_a_wrong_size_is_an_error_explained_and_shrunk():
    result, doc = check("--random", "40", "--forward", forward("forward_padding_ignored"))
    errors = [r for r in doc["results"] if r["status"] == "error"]
    assert errors and doc["raises_only_when"] == ["padded"]
    for r in errors:
        assert "the size of an unpadded convolution: the padding was not applied" in r["error"]
        small = r["smallest_failing"]
        assert small is not None and small["input_shape"][:2] == [1, 1]


def test_shape_hints_name_every_mistake_of_that_size():
    g = Geometry.build((7, 7), (3, 3), stride=2, padding=1)  # out 4×4; unpadded 3×3 = a lost + 1
    hint, named = output_shape_hint(g, (1, 1, 3, 3), g.output_shape)
    assert named == ("forward_padding_ignored", "forward_output_size_off_by_one")
    assert "the padding was not applied; or one row or column short" in hint
    g = Geometry.build((9, 9), (3, 3), dilation=3)  # out 3×3; undilated 7×7
    assert output_shape_hint(g, (1, 1, 7, 7), g.output_shape)[1] == ("forward_dilation_ignored",)
    assert output_shape_hint(g, (1, 1, 7, 7, 1), g.output_shape) == ("", ())


def test_an_error_that_comes_with_uncovered_rows_is_named():
    result, doc = check("--random", "40", "--forward", forward("stride_assumed_to_divide"))
    assert doc["errors_look_like"] == ["stride_assumed_to_divide"]
    errors = [r for r in doc["results"] if r["status"] == "error"]
    assert errors and all(
        r["diagnosis"]["output"][0]["mistake"] == "stride_assumed_to_divide" for r in errors
    )
    assert "(at forward_impls.py:" in errors[0]["error"] and "height does not work" in errors[0]["error"]


def test_a_forward_that_refuses_everything_is_not_a_pass(tmp_path):
    code = tmp_path / "nothing.py"
    code.write_text("def conv(x, w, bias=None, **kw):\n    raise NotImplementedError('soon')\n")
    report = tmp_path / "report.xml"
    result, doc = check("--random", "10", "--forward", f"{code}:conv", "--junit-xml", report)
    assert result.exit_code == 1 and doc["checked"] == 0 and "only 0 cases checked" in result.stderr


def test_junit_and_save_failing_say_forward(tmp_path):
    report = tmp_path / "report.xml"
    result = runner.invoke(app, ["check", str(ROOT / "configs" / "stride2.yaml"), "--forward",
                                 forward("forward_bias_missing"), "--junit-xml", str(report),
                                 "--save-failing", str(tmp_path / "failing"), "-f", "plain"])  # fmt: skip
    assert result.exit_code == 1
    suite = ET.parse(report).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "1", "0")
    assert "output (y): wrong at" in suite.find("testcase/failure").get("message")
    saved = next((tmp_path / "failing").iterdir()).read_text()
    assert f"# convgrad check THIS.yaml --forward {forward('forward_bias_missing')}" in saved


def test_a_forward_in_float32_checked_as_float64_is_named_low_precision(tmp_path):
    code = tmp_path / "single.py"
    code.write_text(
        "import numpy as np\nfrom tests.support.forward_impls import loops\n\n"
        "def conv(x, w, bias=None, **kw):\n"
        "    return loops(x.astype(np.float32), w.astype(np.float32), bias.astype(np.float32), **kw)"
        ".astype(np.float32)\n"
    )
    result, doc = check(ROOT / "configs" / "padding.yaml", "--forward", f"{code}:conv")
    assert result.exit_code == 1
    assert doc["results"][0]["diagnosis"]["output"][0]["mistake"] == "low_precision_accumulation"
    result, doc = check(ROOT / "configs" / "padding.yaml", "--forward", f"{code}:conv", "--dtype", "float32")
    assert result.exit_code == 0, doc


@pytest.mark.parametrize(
    "args, said",
    [
        (["--impl", "a.py:f", "--forward", "b.py:g"], "--impl and --forward each name the code to check"),
        (["--layer", "maxpool", "--forward", "b.py:g"], "--forward checks one convolution's forward"),
    ],
)
def test_forward_with_what_it_cannot_take_is_one_line(args, said):
    result = runner.invoke(app, ["check", *args])
    assert result.exit_code == 2 and said in result.stderr and result.stderr.count("\n") == 1


def test_the_pytest_helper_checks_a_forward_and_raises_alike():
    from convgrad_cli.testing import assert_conv_forward

    said = assert_conv_forward(forward_impls.im2col, cases=12)
    assert said == "12 cases checked, all pass (supports 2-D, groups 1)"
    with pytest.raises(AssertionError, match="looks like forward_bias_missing"):
        assert_conv_forward(forward_impls.forward_bias_missing, cases=6)
    with pytest.raises(AssertionError, match="only 0 cases checked, fewer than the 6 required"):
        assert_conv_forward(forward_impls.refuses_everything, cases=6)


TORCH_CONV = """
import torch.nn.functional as F


def conv(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1):
    if isinstance(padding, list):  # asymmetric: padded first, as F.conv*d pads both sides alike
        x, padding = F.pad(x, [v for pair in reversed(padding) for v in pair]), 0
    {flip}
    return (F.conv1d, F.conv2d, F.conv3d)[x.ndim - 3](x, w, bias, stride, padding, dilation, groups)
"""


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
@pytest.mark.parametrize("dtype", ["float16", pytest.param("bfloat16", marks=pytest.mark.slow)])
def test_torch_tensors_in_low_precision_pass_and_a_flip_is_still_caught(tmp_path, dtype):
    right, flipped = tmp_path / "right.py", tmp_path / "flipped.py"
    right.write_text(TORCH_CONV.format(flip=""))
    flipped.write_text(TORCH_CONV.format(flip="w = w.flip(list(range(2, w.ndim)))"))
    common = ("--random", "40", "--framework", "torch", "--dtype", dtype)
    result, doc = check(*common, "--forward", f"{right}:conv")
    assert result.exit_code == 0 and doc["checked"] == 40, doc and doc["shortfall"]
    result, doc = check(*common, "--forward", f"{flipped}:conv")
    failing = [r for r in doc["results"] if r["status"] == "failed"]
    assert result.exit_code == 1 and len(failing) >= 30
    assert all(r["diagnosis"]["output"][0]["mistake"] == "forward_kernel_flipped" for r in failing)
