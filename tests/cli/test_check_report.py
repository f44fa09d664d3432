"""check's report as a student reads it: plain (NO_COLOR=1) at 80 columns — every line within
the width, every name and mark whole, every sentence saying something."""

import itertools
import json
import math
import re

import numpy as np
import pytest
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


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_an_entry_with_no_terms_is_said_to_have_none():
    """x = a…e (1…5), one tap w = 2, stride 2: windows read a, c and e; b and d are read by none,
    so ∂L/∂b = 0. A δ not dilated, (3, 5, 7), lands on a, b, c: b gets δ₂·w = 5·2 = 10."""
    args = ("--x", "[[1,2,3,4,5]]", "-k", "[[2]]", "--delta", "[[3,5,7]]", "--stride", "2")
    lines = plain(*args, "--impl", f"{BROKEN}:delta_not_dilated")
    assert "  ∂L/∂b has no terms (no window reads it), so 0 expected; got 10" in lines
    sweep = plain("--impl", f"{BROKEN}:delta_not_dilated", "--details", "all")
    assert not [line for line in sweep if re.search(r"= 0 = 0\b", line)]


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
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


# -- the error's grid at 80 columns ----------------------------------------------------------------

ROWS = [[round(3 * math.sin(1 + 19 * i + j), 4) for j in range(19)] for i in range(3)]
KERNEL = [[0.7071, -1.3183], [2.1459, 0.4142]]
DELTA = [[round(math.cos(3 + 9 * o + p), 4) for p in range(9)] for o in range(2)]
WIDE = ("--x", json.dumps(ROWS), "-k", json.dumps(KERNEL), "--delta", json.dumps(DELTA), "--stride", "1,2")


def input_grad(stride):
    """∂L/∂x of the 3×19 layer, a loop over δ's entries: each adds w·δ to the cells its window read
    (a window every ``stride`` columns, or — a δ not dilated — every column)."""
    grad = np.zeros((3, 19))
    for o, p, a, b in itertools.product(range(2), range(9), range(2), range(2)):
        grad[o + a, stride * p + b] += KERNEL[a][b] * DELTA[o][p]
    return grad


def grid_cells(lines, title):
    """The cells of the grid under ``title``, row by row, as drawn."""
    at = lines.index(title)
    rows = []
    for line in lines[at + 2 :]:
        if not line.startswith("│"):
            break
        rows.append([cell.strip() for cell in line.strip("│").split("│")])
    return rows


def test_a_wide_error_grid_keeps_every_mark_and_every_number_whole():
    """δ not dilated lands on columns 0 … 9 where the stride 2 puts it on 0 … 17: the difference is
    drawn at 80 columns with fewer digits (and columns), never cut inside a number, a ✗ on each
    entry past its bound; the columns left out under a ⋯, and the way to see every digit said."""
    want = input_grad(stride=2)
    got = input_grad(stride=1)  # what a δ not dilated gives; the 19-wide result fitted with zeros
    diff = want - got
    wrong = np.abs(diff) > 1e-9
    for colour in (False, True):
        if colour:  # the same report in colour: its text without the escape codes
            result = runner.invoke(app, ["check", *WIDE, "--impl", f"{BROKEN}:delta_not_dilated", "-f", "rich",
                                         "--width", "80"])  # fmt: skip
            lines = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout).splitlines()
        else:
            lines = plain(*WIDE, "--impl", f"{BROKEN}:delta_not_dilated")
        assert max(map(len, lines)) <= 80
        drawn = grid_cells(lines, "expected − actual, ∂L/∂x")
        assert len(drawn) == 3 and not any("…" in cell for row in drawn for cell in row)
        columns = _columns(drawn, diff, wrong)
        assert columns[0] == 0 and columns[-1] == 18
        assert sum(row.count("⋯") for row in drawn) == 3 * (len(drawn[0]) - len(columns))
        said = " ".join(line.strip() for line in lines)
        assert "✗ past its bound" in said and "--format json has every digit" in said


def _columns(drawn, diff, wrong):
    """The column of ``diff`` each drawn column shows, left to right: its numbers, rounded as
    drawn, and its marks agree with that column's in every row; the columns beside one another
    with no ⋯ between them are neighbours."""
    found, after, gap = [], 0, False
    for j in range(len(drawn[0])):
        if drawn[0][j] == "⋯":
            gap = True
            continue
        match = next(c for c in range(after, 19) if all(_shows(row[j], diff[r, c], wrong[r, c])
                                                          for r, row in enumerate(drawn)))  # fmt: skip
        assert gap or not found or match == found[-1] + 1
        found.append(match)
        after, gap = match + 1, False
    return found


def _shows(cell, value, past):
    """A cell reads ``value`` (to the digits drawn) and is marked ✗ where it is past its bound."""
    if cell.endswith("✗") != past:
        return False
    number = cell.removesuffix("✗")
    digits = len(re.sub(r"e.*|[-.]|^[-0.]+", "", number)) or 1
    return (
        abs(float(number) - value)
        <= 0.5 * 10 ** (math.floor(math.log10(abs(value) or 1)) - digits + 1) + 1e-12
    )


# -- a failing sweep at 80 columns ---------------------------------------------------------------------

SWEEP = ("--impl", f"{BROKEN}:delta_not_dilated")
#: the most lines the default sweep of a backward that never dilates δ may take at 80 columns: its
#: table (40 rows, most wrapped to two) is about 75, a failure drawn in full about 20
MOST = 120


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_a_failing_sweep_says_each_failure_once_and_names_every_case():
    """17 of the 40 cases fail, every one as delta_not_dilated: the first is drawn in full, a line
    names the other 16 and says how to see each; --details all draws every one."""
    doc = document(*SWEEP)
    failed = [r["name"] for r in doc["results"] if r["status"] == "failed"]
    assert len(failed) > 10 and all(
        r["diagnosis"]["input_grad"][0]["mistake"] == "delta_not_dilated"
        for r in doc["results"]
        if r["status"] == "failed"
    )
    lines = plain(*SWEEP)
    assert len(lines) <= MOST
    headers = [line.split(" [")[0] for line in lines if re.match(r"random-\d+ \[", line)]
    assert headers == failed[:1]
    said = " ".join(line.strip() for line in lines)
    more = re.search(r"(\d+) more failing cases look like delta_not_dilated too: ([\w\-, ]+);", said)
    assert more and int(more.group(1)) == len(failed) - 1
    assert more.group(2).split(", ") == failed[1:]
    assert "--details all shows each, --format json has every case" in said
    assert not [line for line in lines if re.search(r"= 0 = 0\b", line)]
    grids = [cell for line in lines if line.startswith("│") for cell in line.strip("│").split("│")]
    assert grids and not any("…" in cell for cell in grids)
    every = plain(*SWEEP, "--details", "all")
    assert [line.split(" [")[0] for line in every if re.match(r"random-\d+ \[", line)] == failed
    assert not any("more failing case" in line for line in every)


def test_a_long_sum_is_cut_between_terms_and_says_how_many_it_left_out():
    """random-0 of the forward sweep: 2×3×11 * 4×3×5, stride 3, padding 2 before: y₀₀₀'s window
    starts at −2, so taps 2, 3, 4 of each of the 3 channels read x — 9 products and the bias."""
    lines = plain("--forward", "tests/support/forward_impls.py:forward_padding_one_side")
    said = " ".join(line.strip() for line in lines)
    sum_ = re.search(r"y₀₀₀ = (.*?) = \S+ expected", said).group(1)
    shown = sum_.split(" + … ")[0].split(" + ")
    left = int(re.search(r"\+ … \((\d+) more terms?\)", sum_).group(1))
    assert all(re.fullmatch(r"x[₀-₉,]+·w[₀-₉]+", term) for term in shown)  # each a whole product
    assert len(shown) + left == 3 * 3 + 1
