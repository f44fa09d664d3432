"""What `check` suggests is what can be so: a message that holds for any form of
code, no mistake the failing geometry cannot have, and "fails only when" with
only the conditions that matter."""

import json
import math
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convgrad_cli.cli import app
from convgrad_cli.core.check import CATALOGUE, CaseResult, Status, summary
from convgrad_cli.core.check.mistakes import APPLIES
from convgrad_cli.core.check.sweep import CLASSES, describe

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = ROOT / "tests" / "support"
runner = CliRunner()


def check(*args):
    result = runner.invoke(app, ["check", *map(str, args), "--format", "json"])
    return result, json.loads(result.stdout)


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_kernel_not_flipped_is_said_for_a_scatter_loop_too():
    """A scatter loop that rotates W gives the numbers of a correlation that does not: the
    words name both forms."""
    result, doc = check("--random", "40", "--impl", f"{SUPPORT / 'real_bugs.py'}:scatter_with_rotated_kernel")
    failing = [r for r in doc["results"] if r["status"] == "failed"]
    assert result.exit_code == 1 and failing
    for r in failing:
        assert r["diagnosis"]["input_grad"][0]["mistake"] == "kernel_not_flipped", r["geometry"]
    words = CATALOGUE["kernel_not_flipped"]
    assert "a correlation of the padded δ with W not rotated" in words and "a loop that scatters" in words


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_no_mistake_is_suggested_where_the_geometry_cannot_have_it():
    """padding_off_by_one was offered at 52% on an unpadded case of a kernel that was not
    flipped; every mistake with a condition is now offered only where it holds."""
    for impl in ("kernel_not_flipped", "delta_not_dilated", "stride_dilation_swapped"):
        result, doc = check("--random", "40", "--impl", f"{SUPPORT / 'broken_impls.py'}:{impl}")
        for r in doc["results"]:
            named = {d["mistake"] for ds in r["diagnosis"].values() for d in ds}
            if "padded" not in r["classes"]:
                assert "padding_off_by_one" not in named, (impl, r["geometry"])
            for mistake in named & set(APPLIES):
                assert mistake != "delta_not_dilated" or "strided" in r["classes"]
                assert mistake != "kernel_not_dilated" or "dilated" in r["classes"]
                assert mistake != "groups_ignored" or "grouped" in r["classes"]


def _case(classes: tuple[str, ...], status: Status) -> CaseResult:
    return CaseResult("c", None, "", status, classes=classes)  # type: ignore[arg-type]


def test_fails_only_when_keeps_only_the_conditions_that_matter():
    """Three conditions every failing case has; only dilation separates them from the passing ones."""
    bad = [_case(("strided", "padded", "dilated"), Status.failed)] * 6
    good = [
        _case(("strided",), Status.passed),
        _case(("padded",), Status.passed),
        _case((), Status.passed),
    ] * 4
    assert summary(bad + good)["fails_only_when"] == ["dilated"]
    # two that matter together stay together: each alone lets a passing case in
    bad = [_case(("strided", "padded"), Status.failed)] * 6
    good = [_case(("strided",), Status.passed), _case(("padded",), Status.passed)] * 2
    good += [_case((), Status.passed)] * 10
    assert summary(bad + good)["fails_only_when"] == ["strided", "padded"]


def test_a_condition_chance_would_give_is_not_said():
    """One failing case of two checked has every class it has "only"; 6 failures among 18 cases
    with a class that 10 of them have share it by chance once in 88 sweeps (C(10,6)/C(18,6))."""
    one = [_case(("padded", "delta_padding_crops"), Status.failed), _case((), Status.passed)]
    assert summary(one)["fails_only_when"] == []
    bad = [_case(("strided",), Status.failed)] * 6
    good = [_case(("strided",), Status.passed)] * 4 + [_case((), Status.passed)] * 8
    assert math.comb(10, 6) / math.comb(18, 6) > 1 / 100
    assert summary(bad + good)["fails_only_when"] == []
    # the same failures among 30 cases, 20 of them without a stride: once in 5,000 sweeps
    good += [_case((), Status.passed)] * 12
    assert math.comb(10, 6) / math.comb(30, 6) < 1 / 1000
    assert summary(bad + good)["fails_only_when"] == ["strided"]


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_what_the_sweep_says_of_failures_is_so():
    """stride_dilation_swapped fails where stride ≠ dilation on an axis, which no class names:
    its 2-D sweep of seed 1 said "fails only without padding that makes δ's padding crop", from
    the four passing cases that crop (each with stride = dilation). given_rank_2d, called in full
    rank, returned numbers on two cases: "fails only with δ's padding crop" rested on one."""
    for impl in ("stride_dilation_swapped", "given_rank_2d"):
        _, doc = check("--impl", f"{SUPPORT / 'broken_impls.py'}:{impl}", "--dims", "2", "--sweep-seed", "1")
        assert "delta_padding_crops" not in doc["fails_only_when"] + doc["fails_only_without"], impl
    for impl, said in (("delta_not_dilated", ["strided"]), ("padding_off_by_one", ["padded"])):
        _, doc = check("--impl", f"{SUPPORT / 'broken_impls.py'}:{impl}")
        assert doc["fails_only_when"] == said
        failed = [r for r in doc["results"] if r["status"] == "failed"]
        assert failed and all(set(said) <= set(r["classes"]) for r in failed)


def test_a_forward_is_told_in_a_forwards_words():
    """A forward has no δ and no output_padding: its classes are said as windows and cells."""
    for cid, _, _ in CLASSES:
        words = describe(cid, forward=True)
        assert "δ" not in words and "output_padding" not in words and "gradient" not in words, cid
    result = runner.invoke(app, ["check", "--forward", f"{SUPPORT / 'forward_impls.py'}:stride_assumed_to_divide",
                                 "--width", "80"], env={"NO_COLOR": "1"})  # fmt: skip
    said = summary_said(result.stdout.splitlines())
    assert "raises only with uncovered rows at the end (no window reads them)" in said
    assert "output_padding" not in said and "δ" not in said


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_an_error_with_uncovered_rows_is_said_once():
    """'raises only with a stride > 1 and uncovered rows' named two conditions; the second implies the first."""
    result, doc = check("--random", "40", "--impl", f"{SUPPORT / 'real_bugs.py'}:stride_assumed_to_divide")
    assert doc["raises_only_when"] == ["uncovered"]
    result, doc = check("--random", "40", "--impl", f"{SUPPORT / 'broken_impls.py'}:output_padding_missing")
    assert doc["raises_only_when"] == ["uncovered"]


def summary_said(lines):
    """The summary line of a plain report, its wrapped lines joined."""
    at = next(i for i, line in enumerate(lines) if re.match(r"\d+ of \d+ cases pass", line))
    end = next(
        (i for i in range(at + 1, len(lines)) if re.match(NOTES, lines[i]) or not lines[i]), len(lines)
    )
    return " ".join(lines[at:end])


NOTES = r"supports:|refused:|∂L/∂bias not checked|\d+ cases checked|NOT PASSED"
