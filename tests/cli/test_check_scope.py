"""`check` on implementations that handle part of what it draws: the sweep fits
itself to what each accepts, says what that is, and a run that checked too few
cases is never a pass."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convgrad_cli.cli import app
from convgrad_cli.core.check import Scope, Spec
from convgrad_cli.core.check.scope import Learner, features, parse
from convgrad_cli.errors import ConfigError
from tests.support import narrow_impls

ROOT = Path(__file__).resolve().parents[2]
NARROW = ROOT / "tests" / "support" / "narrow_impls.py"
runner = CliRunner()


def check(*args):
    result = runner.invoke(app, ["check", *map(str, args), "--format", "json"])
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


@pytest.mark.parametrize(
    "name, supports",
    [
        ("stride1_no_padding", "2-D, groups 1, no dilation, stride 1, no padding"),
        pytest.param("only_2d", "2-D, groups 1", marks=pytest.mark.slow),
        pytest.param("groups_one", "any rank, groups 1", marks=pytest.mark.slow),
        pytest.param("symmetric_padding_only",
                     "2-D, groups 1, no dilation, symmetric padding, one padding for every axis",
                     marks=pytest.mark.slow),
        pytest.param("square_kernels_only", "2-D, groups 1, square kernels", marks=pytest.mark.slow),
    ],
)  # fmt: skip
def test_a_narrow_implementation_gets_n_cases_checked(name, supports):
    result, doc = check("--random", "40", "--impl", f"{NARROW}:{name}")
    assert result.exit_code == 0, result.stderr
    assert doc["passed"] and doc["checked"] == 40 and doc["failed"] == doc["errors"] == 0
    assert doc["supports"] == supports
    assert doc["skipped"] == doc["cases"] - 40 <= 12  # probing costs a few refused calls


def test_refusing_everything_is_not_a_pass():
    result, doc = check("--random", "40", "--impl", f"{NARROW}:refuses_everything")
    assert result.exit_code == 1 and not doc["passed"] and doc["checked"] == 0
    line = result.stderr.strip()
    assert line.count("\n") == 0 and "only 0 cases checked, fewer than the 40 required" in line
    assert "not implemented: work in progress" in line
    # one config the implementation refuses: still nothing checked
    result, doc = check(ROOT / "configs" / "seed_stride1.yaml", "--impl", f"{NARROW}:refuses_everything")
    assert result.exit_code == 1 and "only 0 cases checked, fewer than the 1 required" in result.stderr


def test_refusing_all_but_one_class_is_not_a_pass():
    result, doc = check("--random", "40", "--impl", f"{NARROW}:one_class_only")
    assert result.exit_code == 1 and not doc["passed"] and doc["checked"] < 40
    assert "a 3×3 kernel on one channel only" in result.stderr


def test_min_checked_sets_the_bar():
    result, doc = check("--random", "10", "--min-checked", "3", "--impl", f"{NARROW}:refuses_everything")
    assert result.exit_code == 1 and "fewer than the 3 required" in result.stderr
    result, doc = check(ROOT / "configs" / "conv1d.yaml", ROOT / "configs" / "seed_stride1.yaml",
                        "--impl", f"{NARROW}:only_2d", "--min-checked", "2")  # fmt: skip
    assert result.exit_code == 1 and doc["checked"] == 1


@pytest.mark.slow
def test_a_declared_scope_is_honoured_without_probing():
    """The implementation raises AssertionError (an error) if called outside what it declares."""
    result, doc = check("--random", "40", "--impl", f"{NARROW}:declares_its_scope")
    assert result.exit_code == 0 and doc["checked"] == 40 and doc["skipped"] == 0
    assert doc["supports"].startswith("2-D, groups 1, no dilation, symmetric padding")


def test_scope_flags_rule_cases_out_up_front():
    result, doc = check("--random", "12", "--dims", "2", "--square-kernel", "--same-stride",
                        "--symmetric-padding")  # fmt: skip
    assert result.exit_code == 0 and doc["checked"] == 12
    for r in doc["results"]:
        assert not {"kernel_not_square", "strides_per_axis", "padding_asymmetric"} & set(r["classes"])


def test_the_pytest_helper_counts_and_raises_alike():
    from convgrad_cli.testing import assert_conv_backward

    said = assert_conv_backward(narrow_impls.square_kernels_only, cases=12)
    assert said == "12 cases checked, all pass (supports 2-D, groups 1, square kernels)"
    for fn in (narrow_impls.refuses_everything, narrow_impls.one_class_only):
        with pytest.raises(AssertionError, match="cases checked, fewer than the 12 required"):
            assert_conv_backward(fn, cases=12)
    said = assert_conv_backward(narrow_impls.declares_its_scope, cases=6, square_kernel=True)
    assert said.startswith("6 cases checked, all pass")


def test_confining_keeps_what_the_scope_allows():
    spec = Spec(2, 4, 6, 2, (9, 10), (3, 2), (4, 2), (1, 3), ((1, 0), (0, 2)))
    scope = Scope((2,), frozenset({"grouped", "padding_asymmetric", "kernel_not_square", "uncovered"}))
    out = scope.confine(spec)
    assert out is not None
    assert (out.groups, out.in_channels, out.out_channels) == (1, 2, 3)
    assert out.padding == ((1, 1), (2, 2)) and out.kernel == (3, 3) and out.stride == (4, 2)
    g = out.problem(0).geom
    assert g.uncovered == (0, 0) and not features(g) & scope.refused
    assert Scope((1,)).confine(spec) is None


def test_learning_probes_each_suspect_alone():
    spec = Spec(1, 1, 1, 1, (9, 10), (3, 2), (2, 1), (1, 1), ((1, 0), (0, 0)))
    learner = Learner()
    seen = []

    def probe(s):  # refuses non-square kernels only
        seen.append(s)
        return s.kernel[0] == s.kernel[1]

    assert learner.learn(spec, spec.problem(0).geom, probe)
    assert learner.found == ["kernel_not_square"]
    assert learner.scope.describe() == "any rank, square kernels"


def test_scope_words_parse_back():
    scope = parse("2-D, groups 1, no dilation, symmetric padding, square kernels", "here")
    assert scope.describe() == "2-D, groups 1, no dilation, symmetric padding, square kernels"
    with pytest.raises(ConfigError, match="'round kernels' is not a scope"):
        parse("2-D, round kernels", "here")


def test_junit_records_a_shortfall_as_a_failure(tmp_path):
    """A CI that reads only the XML must not see a pass where too few cases were checked."""
    import xml.etree.ElementTree as ET

    report = tmp_path / "report.xml"
    for name in ("refuses_everything", "one_class_only"):
        result, doc = check("--random", "12", "--impl", f"{NARROW}:{name}", "--junit-xml", report, "--force")
        assert result.exit_code == 1 and doc["shortfall"]
        suite = ET.parse(report).getroot()
        shortfall = suite.find("testcase[@name='enough cases checked (--min-checked)']/failure")
        assert shortfall is not None and f"only {doc['checked']} case" in shortfall.get("message")
        assert int(suite.get("failures")) == doc["failed"] + 1
        assert int(suite.get("tests")) == doc["cases"] + 1
    result, doc = check("--random", "6", "--impl", f"{NARROW}:only_2d", "--junit-xml", report, "--force")
    suite = ET.parse(report).getroot()
    assert result.exit_code == 0 and suite.get("failures") == "0" and int(suite.get("tests")) == doc["cases"]


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_errors_outside_what_it_answered_suggest_the_scope_to_declare(tmp_path):
    """A loop that crashes on 1-D cases, tuple strides and groups refuses nothing, so the
    sweep cannot learn its scope; the report names the scope its errors suggest. Declared,
    the errors go, and what is left is its real bug: dilation is never read."""
    round_, scope, doc = 0, None, None
    while round_ < 3:
        wrapper = tmp_path / f"round{round_}.py"
        wrapper.write_text(
            f"from tests.support.narrow_impls import crashes_outside_2d_int_geometry as f\n"
            f"f.convgrad_scope = {scope!r}\n"
        )
        result, doc = check("--random", "40", "--impl", f"{wrapper}:f")
        assert result.exit_code == 1, result.stderr
        if doc["errors"] == 0:
            break
        hint = doc["undeclared"]
        assert hint is not None and 0 < hint["errors"] <= doc["errors"]
        assert hint["scope"].startswith("2-D, groups 1")  # never more than the answered cases showed
        scope, round_ = hint["scope"], round_ + 1
    assert doc is not None and doc["errors"] == 0 and doc["undeclared"] is None
    bad = [r for r in doc["results"] if r["status"] == "failed"]
    assert bad and all("dilated" in r["classes"] for r in bad)
    inside = parse(scope, "test")
    for r in bad:  # a smaller failing case stays inside what was declared
        g = r["smallest_failing"]
        assert g is None or (
            g["dims"] in inside.dims and g["groups"] == 1 and g["padding"][0][0] == g["padding"][0][1]
        )
