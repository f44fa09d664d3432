"""check's report as a student reads it: plain (NO_COLOR=1) at 80 columns — every line within
the width, every name and mark whole, every sentence saying something."""

import json
import re

from typer.testing import CliRunner

from convgrad_cli.cli import app

runner = CliRunner()
BROKEN = "tests/support/broken_impls.py"


def plain(*args):
    """The report as NO_COLOR=1 and an 80-column terminal (COLUMNS=80) draw it: its lines."""
    result = runner.invoke(app, ["check", *args], env={"NO_COLOR": "1", "COLUMNS": "80"})
    assert result.exit_code in (0, 1), result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    return lines


def document(*args):
    return json.loads(runner.invoke(app, ["check", *args, "-f", "json"]).stdout)


def test_an_entry_with_no_terms_is_said_to_have_none():
    """x = a…e (1…5), one tap w = 2, stride 2: windows read a, c and e; b and d are read by none,
    so ∂L/∂b = 0. A δ not dilated, (3, 5, 7), lands on a, b, c: b gets δ₂·w = 5·2 = 10."""
    args = ("--x", "[[1,2,3,4,5]]", "-k", "[[2]]", "--delta", "[[3,5,7]]", "--stride", "2")
    lines = plain(*args, "--impl", f"{BROKEN}:delta_not_dilated")
    assert "  ∂L/∂b has no terms (no window reads it), so 0 expected; got 10" in lines
    sweep = plain("--impl", f"{BROKEN}:delta_not_dilated")
    assert not [line for line in sweep if re.search(r"= 0 = 0\b", line)]


def test_the_summary_says_what_a_class_is():
    """The edge-case classes counted are named by example, and the counts are the sweep's: the
    classes some checked case has, and those a passing case has."""
    args = ("--impl", f"{BROKEN}:delta_not_dilated")
    doc = document(*args)
    checked = [r for r in doc["results"] if r["status"] in ("passed", "failed", "error")]
    covered = {c for r in checked for c in r["classes"]}
    passed = {c for r in checked if r["status"] == "passed" for c in r["classes"]}
    said = " ".join(summary(plain(*args)))
    assert (
        f"a passing case in {len(passed)} of the {len(covered)} edge-case classes covered (a stride > 1,"
        in said
    )
    assert " classes;" not in said and "passed on" not in said


def test_a_case_name_is_never_broken():
    """Every config's name is one word: each is a row's first cell, whole, at 80 columns."""
    lines = plain("configs/", "--impl", f"{BROKEN}:delta_not_dilated")
    names = [r["name"] for r in document("configs/", "--impl", f"{BROKEN}:delta_not_dilated")["results"]]
    stems = [name.rsplit("/", 1)[-1].removesuffix(".yaml") for name in names]
    firsts = [line.split()[0] for line in table(lines) if line.startswith(" ") and line[1] != " "]
    assert firsts == stems


def summary(lines):
    """The summary line's wrapped lines."""
    at = next(i for i, line in enumerate(lines) if re.match(r"\d+ of \d+ cases pass", line))
    end = next(i for i in range(at + 1, len(lines)) if re.match(r"supports:|\d+ cases checked|$", lines[i]))
    return lines[at:end]


def table(lines):
    """The table's rows, from the rule under its header to the blank line after it."""
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("────"))
    end = next(i for i in range(start, len(lines)) if not lines[i].strip())
    return lines[start + 1 : end]
