"""`convgrad check`: it passes what is right, catches what is wrong, says where
and why, and no implementation can make it lie or stop."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from convgrad_cli.cli import app
from convgrad_cli.config import load
from convgrad_cli.core.check import CATALOGUE, Options, check_case, definition_grads
from convgrad_cli.core.check.mistakes import SHAPE_MISTAKES
from tests.support.broken_impls import MISTAKES
from tests.support.profile import THOROUGH

ROOT = Path(__file__).resolve().parents[2]
IMPLS = ROOT / "tests" / "support" / "broken_impls.py"
runner = CliRunner()
SINGLE = [
    ROOT / "configs" / f"{n}.yaml"
    for n in ("seed_stride1", "stride2", "uneven", "padding", "asymmetric_padding", "dilation")
]


def check(*args):
    result = runner.invoke(app, ["check", *map(str, args), "--format", "json"])
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


def impl(name):
    return f"{IMPLS}:{name}"


def test_all_configs_pass():
    result, doc = check(ROOT / "configs")
    assert (
        result.exit_code == 0
        and doc["passed"]
        and doc["cases"] == len(list((ROOT / "configs").glob("*.yaml")))
    )
    refs = {(c["quantity"], c["reference"]) for c in doc["results"][0]["checks"]}
    assert refs == {
        ("input_grad", "definition"),
        ("input_grad", "pipeline"),
        ("weight_grad", "definition"),
        ("bias_grad", "definition"),
        ("input_grad", "finite differences"),
        ("weight_grad", "finite differences"),
        ("bias_grad", "finite differences"),
        ("input_grad", "adjoint"),
        ("weight_grad", "adjoint"),
    }


@pytest.mark.slow
def test_random_sweep_of_200_passes():
    result, doc = check("--random", "200", "--sweep-seed", "0")
    assert result.exit_code == 0 and doc["cases"] == 200 and doc["failed"] == 0


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_an_implementation_given_nothing_else_gets_a_sweep_that_finds_a_stride_bug():
    # the default problem has stride 1: one case of it would pass a backward that never dilates δ
    result, doc = check("--impl", impl("delta_not_dilated"))
    assert result.exit_code == 1 and doc["cases"] == 40 and doc["failed"] > 0
    named = {d["mistake"] for r in doc["results"] for ds in r["diagnosis"].values() for d in ds}
    assert "delta_not_dilated" in named
    result, doc = check("--impl", impl("correct"))
    assert result.exit_code == 0 and doc["checked"] == 40 and doc["min_checked"] == 40


def test_without_an_implementation_or_with_arrays_one_problem_is_checked():
    result, doc = check()
    assert result.exit_code == 0 and doc["cases"] == 1 and doc["results"][0]["name"] == "default"
    # arrays given as flags are the case to check, whoever computes its gradients
    result, doc = check("--impl", impl("delta_not_dilated"), "--x", "arange:5x5", "-k", "arange:2x2")
    assert result.exit_code == 0 and doc["cases"] == 1
    result, doc = check("--impl", impl("delta_not_dilated"), "--random", "0", "--stride", "2")
    assert result.exit_code == 1 and doc["cases"] == 1
    assert doc["results"][0]["diagnosis"]["input_grad"][0]["mistake"] == "delta_not_dilated"


@pytest.mark.slow
def test_the_sweep_covers_every_class_on_every_run():
    from convgrad_cli.core.check import CLASSES

    for seed in (0, 1, 7):
        result, doc = check("--random", "40", "--sweep-seed", seed)
        assert result.exit_code == 0
        assert doc["classes_covered"] == [cid for cid, _, _ in CLASSES] and doc["classes_not_covered"] == []
        deltas_vary = all(len(r["classes"]) for r in doc["results"])
        assert deltas_vary


@pytest.mark.parametrize("name", ["correct", "pipeline"])
def test_correct_implementations_pass(name):
    result, doc = check(*SINGLE, "--impl", impl(name))
    assert result.exit_code == 0, doc
    result, doc = check("--random", "40", "--impl", impl(name))
    assert result.exit_code == 0 and doc["failed"] == doc["errors"] == 0


#: The mistake the quick run sweeps for (the lesson's own); thorough, every one.
QUICK_MISTAKES = ("kernel_not_flipped",)


#: Named from the shape where its geometry has a stride or dilation, else as what it then is
#: (padding_not_cropped): tested in test_check_conventions.
NAMED_APART = ("stride_dilation_dropped",)


@pytest.mark.parametrize(
    "mistake",
    [
        m if m in QUICK_MISTAKES else pytest.param(m, marks=pytest.mark.slow)
        for m in MISTAKES
        if m not in NAMED_APART
    ],
)
def test_every_classic_mistake_is_caught_and_named(mistake):
    """A default sweep of 40 catches each mistake, and names it on every case it fails
    (the best match, or tied for it; a mistake the case cannot show passes)."""
    result, doc = check("--random", "40", "--impl", impl(mistake))
    assert result.exit_code == 1
    failing = [r for r in doc["results"] if r["status"] == "failed"]
    named = [r for r in doc["results"] if r["status"] in ("failed", "error") and r["diagnosis"]]
    assert failing or mistake in ("output_padding_missing", *SHAPE_MISTAKES)
    assert named, mistake
    for r in named:
        best = set()
        for found in r["diagnosis"].values():
            if found:
                top = found[0]["explains"]
                best |= {d["mistake"] for d in found if d["explains"] == top}
        assert mistake in best, (r["name"], r["geometry"], r["diagnosis"])
    for r in failing:
        assert r["diagnosis"], (r["name"], r["geometry"])


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_a_hand_written_loop_that_forgets_dilation_is_named():
    result, doc = check("--random", "40", "--impl", impl("scatter_without_dilation"))
    assert result.exit_code == 1 and doc["fails_only_when"] == ["dilated"]
    failing = [r for r in doc["results"] if r["status"] == "failed"]
    assert len(failing) >= 4
    for r in failing:
        assert r["diagnosis"]["input_grad"][0] == {"mistake": "kernel_not_dilated", "explains": 1.0}, r[
            "geometry"
        ]
        assert not r["diagnosis"].get("weight_grad")


def test_a_hand_written_loop_that_forgets_the_stride_is_named_in_both_gradients():
    """Windows stepped by 1 instead of the stride: ∂L/∂x is the pipeline's δ not dilated, and
    ∂L/∂W correlates x with δ not dilated — one mistake, named for both."""
    result, doc = check("--random", "40", "--impl", impl("loop_without_stride"))
    failing = [r for r in doc["results"] if r["status"] == "failed"]
    assert result.exit_code == 1 and doc["fails_only_when"] == ["strided"] and len(failing) >= 4
    for r in failing:
        for quantity in ("input_grad", "weight_grad"):
            assert r["diagnosis"][quantity][0] == {"mistake": "delta_not_dilated", "explains": 1.0}, (
                r["geometry"],
                quantity,
            )


def test_every_catalogue_id_has_a_broken_implementation():
    """The backward's ids here; the forward's have theirs in forward_impls (test_check_forward)."""
    assert sorted(MISTAKES) == sorted(m for m in CATALOGUE if not m.startswith("forward_"))


def test_a_failure_says_where_and_why():
    result = runner.invoke(
        app, ["check", str(SINGLE[0]), "--impl", impl("kernel_not_flipped"), "-f", "plain"]
    )
    assert result.exit_code == 1
    out = " ".join(result.stdout.split())
    assert "input_grad (∂L/∂x): wrong at 12 of 16 entries" in out
    assert "seen by definition, pipeline, finite differences and adjoint" in out
    assert "looks like kernel_not_flipped (explains 100% of its entries)" in out
    # the picture of the error, then the first wrong cell traced: a = w1·δ1 = 1, but w4·δ1 = 4 came back
    assert "expected − actual, ∂L/∂x" in out and "-3✗" in out
    assert "∂L/∂a = w1·δ1 = 1 expected; got 4" in out
    assert "smallest failing case:" in out


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_the_smallest_failing_case_is_saved_small_and_reproduces(tmp_path):
    result, doc = check("--random", "12", "--impl", impl("kernel_not_flipped"), "--save-failing", tmp_path)
    assert result.exit_code == 1
    saved = sorted(tmp_path.glob("*.yaml"))
    assert saved and len(saved) == doc["failed"]
    for i, path in enumerate(saved):
        assert path.stat().st_size < 2048  # a few cells, written out
        config = yaml.safe_load(path.read_text())
        assert np.size(config["input"]) <= 16
        if i >= 2 and not THOROUGH:  # each re-check is a run of its own; the quick run redoes two
            continue
        again, redoc = check(path, "--impl", impl("kernel_not_flipped"))
        assert again.exit_code == 1 and redoc["results"][0]["status"] == "failed"
        assert check(path, "--impl", impl("correct"))[0].exit_code == 0


def test_an_implementation_that_raises_is_an_error_with_its_line():
    result, doc = check(SINGLE[0], "--impl", impl("raises"))
    assert result.exit_code == 1
    case = doc["results"][0]
    assert case["status"] == "error" and doc["errors"] == 1 and doc["failed"] == 0
    assert case["error"].startswith(
        "the implementation raised RuntimeError: not implemented yet (at broken_impls.py:"
    )


@pytest.mark.parametrize(
    "name, message",
    [
        ("transposed", "its input_grad has shape (1, 1, 4, 4); expected exactly (1, 1, 4, 4)"),
        ("complex_result", "its input_grad has dtype complex128; a gradient must be real"),
        ("returns_none", "its input_grad is None"),
        ("integers", "its input_grad has dtype int64; a gradient must be floating"),
        ("returns_nan", "its input_grad holds NaN or infinity"),
        ("exits", "the implementation called sys.exit(3)"),
        ("ends_the_process", "the implementation ended its process while it ran (exit status 7)"),
        ("generator_exit", "the implementation raised GeneratorExit"),
    ],
)
def test_a_broken_contract_is_an_error_of_that_case_only(name, message):
    config = SINGLE[2] if name == "transposed" else SINGLE[0]  # 4×5: transposed, 5×4
    if name == "transposed":
        message = "its input_grad has shape (1, 1, 5, 4); expected exactly (1, 1, 4, 5)"
    result, doc = check(config, SINGLE[1], "--impl", impl(name))
    assert result.exit_code == 1
    first, second = doc["results"]
    assert first["status"] == "error" and message in first["error"], first["error"]
    assert second["status"] in ("error", "failed")  # the next case ran too, in a fresh process where needed


def test_output_padding_missing_is_named_from_the_shape():
    result, doc = check(ROOT / "configs" / "uneven.yaml", "--impl", impl("output_padding_missing"))
    case = doc["results"][0]
    assert case["status"] == "error" and "output_padding" in case["error"]
    assert case["diagnosis"] == {"input_grad": [{"mistake": "output_padding_missing", "explains": 1.0}]}


def test_printing_does_not_corrupt_json_and_passes():
    result = runner.invoke(app, ["check", str(SINGLE[0]), "--impl", impl("prints"), "-f", "json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["passed"]


def test_a_hang_is_stopped_by_the_timeout():
    result, doc = check(SINGLE[0], SINGLE[1], "--impl", impl("hangs"), "--timeout", "0.3")
    assert result.exit_code == 1
    assert all("no result within 0.3 s (--timeout)" in r["error"] for r in doc["results"])


def test_an_implementation_for_2d_only_skips_the_rest():
    result, doc = check(ROOT / "configs" / "conv1d.yaml", SINGLE[0], "--impl", impl("only_2d"))
    assert result.exit_code == 0
    assert [r["status"] for r in doc["results"]] == ["skipped", "passed"]
    assert doc["results"][0]["error"] == "not implemented: 2-D only"
    result, doc = check("--random", "20", "--dims", "2", "--impl", impl("only_2d"))
    assert result.exit_code == 0 and doc["skipped"] == 0 and all("2d" in r["classes"] for r in doc["results"])
    result, doc = check(ROOT / "configs" / "conv3d.yaml", "--dims", "2")
    assert doc["results"][0]["status"] == "skipped" and "--dims 2" in doc["results"][0]["error"]


def test_problem_flags_constrain_the_sweep_or_are_refused():
    result, doc = check("--random", "15", "--stride", "2")
    assert result.exit_code == 0
    assert all(set(r["geometry"].split(" s")[1].split()[0].split(",")) == {"2"} for r in doc["results"])
    result, doc = check("--random", "15", "--groups", "2")
    assert all(" g2" in r["geometry"] for r in doc["results"])
    refused = runner.invoke(app, ["check", "--random", "5", "--x", "ones:4x4"])
    assert refused.exit_code == 2 and "--x does not apply to the --random sweep" in refused.stderr


def test_bad_impl_exits_2():
    for spec, message in [
        ("nope.py:f", "--impl file 'nope.py' does not exist"),
        ("no_such_module_xyz:f", "cannot import 'no_such_module_xyz' for --impl: ModuleNotFoundError"),
        (f"{IMPLS}:missing", "has no function 'missing' for --impl"),
        ("just_a_name", "must be MODULE:FUNCTION or FILE.py:FUNCTION"),
    ]:
        result = runner.invoke(app, ["check", "--impl", spec])
        assert result.exit_code == 2 and message in result.stderr and result.stdout == ""


def test_bad_targets_exit_2(tmp_path):
    assert runner.invoke(app, ["check", str(tmp_path / "none.yaml")]).exit_code == 2
    assert "no file matches" in runner.invoke(app, ["check", str(tmp_path / "*.yaml")]).stderr
    assert "holds no *.yaml config" in runner.invoke(app, ["check", str(tmp_path)]).stderr
    (tmp_path / "bad.yaml").write_text("strid: 2\n")
    result = runner.invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 2 and "did you mean 'stride'" in result.stderr


def test_junit_xml_counts_failures_errors_and_skips(tmp_path):
    report = tmp_path / "report.xml"
    args = [*map(str, SINGLE[:2]), "--impl", impl("kernel_not_flipped")]
    result = runner.invoke(app, ["check", *args, "--junit-xml", str(report), "-f", "plain"])
    assert result.exit_code == 1
    suite = ET.parse(report).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "2", "0")
    failure = suite.find("testcase/failure")
    assert failure is not None and "input_grad (∂L/∂x): wrong at" in failure.get("message")
    runner.invoke(
        app, ["check", str(SINGLE[0]), "--impl", impl("raises"), "--junit-xml", str(report), "--force"]
    )
    suite = ET.parse(report).getroot()
    assert (suite.get("failures"), suite.get("errors")) == ("0", "1") and suite.find(
        "testcase/error"
    ) is not None
    assert list(tmp_path.iterdir()) == [report]  # no temporary file left behind


def test_mode_full_on_a_real_layer_is_refused_in_one_line(tmp_path):
    layer = tmp_path / "layer.yaml"
    layer.write_text(
        "input: {shape: [8, 64, 56, 56], fill: random}\nkernel: {shape: [64, 64, 3, 3], fill: random}\n"
    )
    result = runner.invoke(app, ["check", str(layer), "--mode", "full"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "--mode full on 1,642,560 entries would take 3,285,120 forward passes" in result.stderr


def test_glob_and_fast_mode():
    result, doc = check(str(ROOT / "configs" / "s*.yaml"), "--mode", "fast", "--directions", "3")
    assert result.exit_code == 0
    assert {Path(r["name"]).stem for r in doc["results"]} == {
        "same_padding",
        "seed_stride1",
        "stride2",
        "symbolic",
    }
    assert all(r["mode"] == "fast" for r in doc["results"])


def test_float32_is_checked_at_float32_tolerance():
    result, doc = check("--random", "20", "--dtype", "float32")
    assert result.exit_code == 0
    tolerances = [
        c["tolerance"] for r in doc["results"] for c in r["checks"] if c["reference"] == "definition"
    ]
    assert min(tolerances) >= 1e-6


def test_definition_reference_is_the_slides_numbers():
    problem = load(ROOT / "configs" / "seed_stride1.yaml")
    dx, dw = definition_grads(problem.geom, problem.x, problem.w, problem.delta)
    assert dx[0, 0].tolist() == [[1, 3, 3, 2], [4, 10, 10, 6], [4, 10, 10, 6], [3, 7, 7, 4]]
    assert dw[0, 0, 0, 0] == 1 + 2 + 3 + 5 + 6 + 7 + 9 + 10 + 11
    assert check_case(problem, "seed").passed


def test_one_tolerance_flag_keeps_the_dtypes_default_for_the_other():
    # --rtol 0 alone on a float32 config: every bound is then float32's atol, 1e-6
    result, doc = check(ROOT / "configs" / "depthwise_float32.yaml", "--rtol", "0")
    assert result.exit_code in (0, 1) and doc is not None
    assert {c["tolerance"] for c in doc["results"][0]["checks"]} == {1e-6}
    problem = load(ROOT / "configs" / "seed_stride1.yaml")
    bounds = {c.tolerance for c in check_case(problem, "seed", options=Options(rtol=0)).comparisons}
    assert bounds == {1e-12}  # float64's atol


def test_the_tolerance_rule_is_stated():
    result, doc = check(SINGLE[0])
    assert doc["results"][0]["tolerance"].startswith(
        "|actual − expected| ≤ 1e-12 + (4·√n + 1)·u·Σ|terms| per entry"
    )
