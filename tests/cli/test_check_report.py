"""check's report as a student reads it: plain (NO_COLOR=1) at 80 columns — every line within
the width, every name and mark whole, every sentence saying something."""

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


def test_an_entry_with_no_terms_is_said_to_have_none():
    """x = a…e (1…5), one tap w = 2, stride 2: windows read a, c and e; b and d are read by none,
    so ∂L/∂b = 0. A δ not dilated, (3, 5, 7), lands on a, b, c: b gets δ₂·w = 5·2 = 10."""
    args = ("--x", "[[1,2,3,4,5]]", "-k", "[[2]]", "--delta", "[[3,5,7]]", "--stride", "2")
    lines = plain(*args, "--impl", f"{BROKEN}:delta_not_dilated")
    assert "  ∂L/∂b has no terms (no window reads it), so 0 expected; got 10" in lines
    sweep = plain("--impl", f"{BROKEN}:delta_not_dilated")
    assert not [line for line in sweep if re.search(r"= 0 = 0\b", line)]
