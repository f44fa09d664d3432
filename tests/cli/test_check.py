"""`convgrad check`: it passes what is right, catches what is wrong, and says what."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from convgrad_cli.cli import app
from convgrad_cli.config import load
from convgrad_cli.core.check import check_problem, definition_grads

ROOT = Path(__file__).resolve().parents[2]
IMPLS = ROOT / "tests" / "support" / "broken_impls.py"
runner = CliRunner()
SINGLE = [ROOT / "configs" / f"{n}.yaml" for n in
          ("seed_stride1", "stride2", "uneven", "padding", "asymmetric_padding", "dilation")]  # fmt: skip


def check(*args):
    result = runner.invoke(app, ["check", *map(str, args), "--format", "json"])
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


def test_all_configs_pass():
    result, doc = check(ROOT / "configs")
    assert (
        result.exit_code == 0
        and doc["passed"]
        and doc["cases"] == len(list((ROOT / "configs").glob("*.yaml")))
    )
    refs = {(c["quantity"], c["reference"]) for c in doc["results"][0]["checks"]}
    assert refs == {
        ("input_grad", "definition"), ("input_grad", "pipeline"), ("weight_grad", "definition"),
        ("bias_grad", "definition"), ("input_grad", "finite differences"),
        ("weight_grad", "finite differences"), ("bias_grad", "finite differences"),
        ("input_grad", "adjoint"), ("weight_grad", "adjoint"),
    }  # fmt: skip


def test_random_sweep_of_200_passes():
    result, doc = check("--random", "200", "--sweep-seed", "0")
    assert result.exit_code == 0 and doc["cases"] == 200 and doc["failed"] == 0


@pytest.mark.parametrize("name", ["correct", "slides_correct"])
def test_correct_implementations_pass(name):
    result, doc = check(*SINGLE, "--impl", f"{IMPLS}:{name}")
    assert result.exit_code == 0, doc
    result, doc = check("--random", "30", "--impl", f"{IMPLS}:correct")
    assert result.exit_code == 0


# each mistake, and the configs that expose it (a mistake invisible on a problem,
# such as a forgotten flip with a 1×1 kernel, cannot be caught there by anyone)
BROKEN = [
    ("no_flip", "input_grad", SINGLE),
    ("no_dilation", "input_grad", [c for c in SINGLE if c.stem in ("stride2", "uneven")]),
    ("off_by_one_padding", "input_grad", SINGLE),
    ("mean_bias", "bias_grad", SINGLE),
]


@pytest.mark.parametrize("name, quantity, configs", BROKEN, ids=[b[0] for b in BROKEN])
@pytest.mark.parametrize("mode", ["full", "fast"])
def test_broken_implementations_are_caught_every_time(name, quantity, configs, mode):
    for config in configs:
        result, doc = check(config, "--impl", f"{IMPLS}:{name}", "--mode", mode)
        assert result.exit_code == 1, (name, config)
        case = doc["results"][0]
        assert not case["passed"]
        failed = [c for c in case["checks"] if not c["passed"]]
        assert failed and {c["quantity"] for c in failed} == {quantity}
        # every independent reference sees it, and names entries with expected ≠ actual
        assert {c["reference"] for c in failed} >= {"definition", "finite differences"}
        worst = next(c for c in failed if c["reference"] == "definition")["mismatches"][0]
        assert worst["expected"] != worst["actual"]


def test_failure_message_names_quantity_and_entries():
    result = runner.invoke(app, ["check", str(SINGLE[0]), "--impl", f"{IMPLS}:no_flip", "-f", "plain"])
    assert result.exit_code == 1
    # ∂L/∂a = w1·δ1 = 1 with the seed's numbers; without the flip a gets w4·δ1 = 4
    assert "input_grad disagrees with the definition" in result.stdout
    assert "[0,0,0,0] expected 1, got 4" in result.stdout.replace("\n", " ")


def test_an_implementation_that_raises_is_a_failed_check():
    result, doc = check(SINGLE[0], "--impl", f"{IMPLS}:raises")
    assert result.exit_code == 1
    assert doc["results"][0]["error"] == "the implementation raised RuntimeError: not implemented yet"


@pytest.mark.parametrize(
    "spec, message",
    [
        ("nope.py:f", "--impl file 'nope.py' does not exist"),
        ("no_such_module_xyz:f", "cannot import 'no_such_module_xyz' for --impl: ModuleNotFoundError"),
        (f"{IMPLS}:missing", "has no function 'missing' for --impl"),
        ("just_a_name", "must be MODULE:FUNCTION or FILE.py:FUNCTION"),
    ],
)
def test_bad_impl_exits_2(spec, message):
    result = runner.invoke(app, ["check", "--impl", spec])
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""


def test_bad_targets_exit_2(tmp_path):
    assert runner.invoke(app, ["check", str(tmp_path / "none.yaml")]).exit_code == 2
    assert "no file matches" in runner.invoke(app, ["check", str(tmp_path / "*.yaml")]).stderr
    assert "holds no *.yaml config" in runner.invoke(app, ["check", str(tmp_path)]).stderr
    (tmp_path / "bad.yaml").write_text("strid: 2\n")
    result = runner.invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 2 and "did you mean 'stride'" in result.stderr


def test_junit_xml_is_written_whole(tmp_path):
    report = tmp_path / "report.xml"
    result = runner.invoke(app, ["check", *map(str, SINGLE[:2]), "--impl", f"{IMPLS}:no_flip",
                                 "--junit-xml", str(report), "-f", "plain"])  # fmt: skip
    assert result.exit_code == 1
    suite = ET.parse(report).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "2" and suite.get("failures") == "2"
    failure = suite.find("testcase/failure")
    assert failure is not None and "input_grad disagrees" in failure.get("message")
    assert list(tmp_path.iterdir()) == [report]  # no temporary file left behind


def test_glob_and_fast_mode(tmp_path):
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
    assert check_problem(problem, "seed").passed


def test_one_tolerance_flag_keeps_the_dtypes_default_for_the_other():
    # --rtol 0 alone on a float32 config: every bound is then float32's atol, 1e-6
    result, doc = check(ROOT / "configs" / "depthwise_float32.yaml", "--rtol", "0")
    assert result.exit_code in (0, 1) and doc is not None
    assert {c["tolerance"] for c in doc["results"][0]["checks"]} == {1e-6}
    problem = load(ROOT / "configs" / "seed_stride1.yaml")
    bounds = {c.tolerance for c in check_problem(problem, "seed", rtol=0).comparisons}
    assert bounds == {1e-12}  # float64's atol


def test_a_configs_seed_is_the_data_check_uses(tmp_path):
    """`check` draws a config's random fills from its own `seed:` — the data
    `backward` shows — whatever the sweep's seed; `--seed` overrides it explicitly."""
    config = tmp_path / "seeded.yaml"
    config.write_text(
        "input: {shape: [1, 1, 5, 5], fill: random}\nkernel: {shape: [1, 1, 2, 2], fill: random}\nseed: 3\n"
    )
    spy = tmp_path / "spy.py"
    spy.write_text(
        "import numpy as np\nfrom convgrad_cli import conv2d_backward\n"
        f"def backward(x, w, delta, **kw):\n    np.save({str(tmp_path / 'x.npy')!r}, x)\n"
        "    return conv2d_backward(x, w, delta, **kw)\n"
    )
    for extra in ([], ["--sweep-seed", "5"]):
        result, _ = check(config, "--impl", f"{spy}:backward", *extra)
        assert result.exit_code == 0
        np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), load(config).x)
    result, _ = check(config, "--impl", f"{spy}:backward", "--seed", "4")
    assert result.exit_code == 0
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), load(config, {"seed": 4}).x)
    assert not np.array_equal(load(config, {"seed": 4}).x, load(config).x)
