"""Pictures beyond the slides' 4×4 example, read as a student reads plain output:
line counts at 100 columns, one name per weight, no dangling labels, an honest legend."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from convgrad_cli.cli import app
from convgrad_cli.config import load

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
TEXTBOOK = ["trace", "--x", "arange:5x5", "-k", "arange:3x3", "--padding", "1", "--input", "1,1"]
LAYER = ["--x", "names:2x3x7x7", "-k", "names:4x3x3x3", "--stride", "2", "--padding", "1"]
MULTICHANNEL = ["trace", *LAYER, "--input", "1,2,3,3"]
SEVEN_LAYER = ["--x", "arange:7x7", "-k", "arange:3x3", "--padding", "1"]
SEVEN = ["trace", "--x", "arange:7x7", "-k", "arange:3x3", "--padding", "1", "--input", "3,3"]
WEIGHT = re.compile(r"w(ₒ|[₀-₉])([₀-₉ₒ,]*)|w\d+")


def plain(*args, width=100):
    result = runner.invoke(app, [*args, "--width", str(width)], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    return result.stdout.splitlines()


@pytest.mark.parametrize("args, most", [(TEXTBOOK, 70), (MULTICHANNEL, 100)])
def test_a_trace_fits_a_screen_at_100_columns(args, most):
    lines = plain(*args)
    assert len(lines) <= most and max(len(line) for line in lines) <= 100


def test_a_multichannel_trace_draws_windows_on_the_cells_own_channel_and_says_what_it_left_out():
    """x₁₂₃₃ at stride 2, padding 1, kernel 3: rows (and columns) 3 = 2·i − 1 + k for
    output i = 1 (k = 2) and i = 2 (k = 0), so four windows, each read by o = 0…3."""
    lines = plain(*MULTICHANNEL, width=80)
    titles = [t for line in lines for t in re.findall(r"y₁ₒ(\S\S), o = 0…3 \[n=1, c=(\d)\]", line)]
    assert sorted(titles) == [("₁₁", "2"), ("₁₂", "2"), ("₂₁", "2"), ("₂₂", "2")]
    said = " ".join(lines)
    assert "each window also reads channels c=0, 1 at the same rows and columns" in said
    assert "--slice c=0 draws them" in said
    other = plain(*MULTICHANNEL, "--slice", "c=0", width=80)
    assert (
        sorted(t for line in other for t in re.findall(r"y₁ₒ\S\S, o = 0…3 \[n=1, c=(\d)\]", line))
        == ["0"] * 4
    )


@pytest.mark.parametrize("args", [TEXTBOOK, MULTICHANNEL, SEVEN], ids=["5x5", "2x3x7x7", "7x7"])
def test_every_weight_has_as_many_indices_as_in_the_w_panel(args):
    lines = plain(*args)
    at = lines.index("the kernel taps it meets, each with its window's δ")
    in_w = {
        _indices(m.group()) for line in lines[at + 1 :] if line.startswith("│") for m in WEIGHT.finditer(line)
    }
    assert len(in_w) == 1  # the W panel writes every tap alike
    everywhere = {_indices(m.group()) for line in lines for m in WEIGHT.finditer(line)}
    assert everywhere == in_w


def _indices(token):
    """How many indices a weight's name carries: ``w5`` one number, ``w₀₂₂₂`` four."""
    if token[1:].isascii():
        return 1
    body = token[1:]
    return len(body.split(",")) if "," in body else len(body)


@pytest.mark.parametrize("args", [TEXTBOOK, MULTICHANNEL, SEVEN, ["trace", "--input", "f"]])
def test_no_label_dangles_and_the_plain_legend_claims_no_colour(args):
    lines = plain(*args)
    cells = [c.strip() for line in lines if line.startswith("│") for c in line.strip("│").split("│")]
    assert not any(c.endswith("·") or c.startswith("·") for c in cells)
    legend = lines[next(i for i, line in enumerate(lines) if line.startswith("legend:")) :]
    assert not any(re.search(r"colou?r|underline", line) for line in legend)


def test_with_colour_the_legend_names_the_underline_and_the_window_colours():
    result = runner.invoke(app, ["trace", "--input", "f", "--format", "rich", "--width", "100"])
    text = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    assert "underlined: under the flipped kernel" in text and "colour = window: y1  y2  y4  y5" in text


def test_windows_too_large_to_draw_whole_are_each_cut_to_themselves():
    """x₂₂ of a 7×7 at stride 2 is in four 3×3 windows; drawn on the whole 7×7 each, they
    stacked 120 lines at 80 columns. Cut to themselves, they sit two to a row."""
    lines = plain(
        "trace", "--x", "arange:7x7", "-k", "arange:3x3", "--stride", "2", "--input", "2,2", width=80
    )
    assert len(lines) <= 70
    start = lines.index("the forward windows that contain it")
    tops = [i for i in range(start, start + 12) if lines[i].startswith("┌")]
    assert [lines[i - 1].split() for i in tops] == [["y1", "y2"], ["y4", "y5"]]
    assert all(lines[i + 4].startswith("└") for i in tops)  # three rows each: the window alone
    assert "[x₂₂]·w9" in lines[tops[0] + 3] and "[x₂₂]·w1" in lines[tops[1] + 1]


def test_styles_without_colour_keep_the_underline_in_the_legend_and_drop_the_colours():
    """NO_COLOR with --format rich: the padded δ is still underlined (a style, not a colour),
    so the legend says so; the windows have no colour, so it names them instead."""
    result = runner.invoke(
        app, ["trace", "--input", "f", "--format", "rich", "--width", "100"], env={"NO_COLOR": "1"}
    )
    underlined = re.findall(r"\x1b\[(?:[0-9]+;)*4[;m]", result.stdout)
    text = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    assert underlined and "underlined: under the flipped kernel" in text
    assert (
        "colour = window" not in text and "4 windows, told apart by name: y1's panel, δ1 in its terms" in text
    )
    assert not re.search(r"\x1b\[[0-9;]*(3[0-7]|9[0-7]|38;)", result.stdout)  # no colour drawn


def test_more_windows_than_colours_are_told_apart_by_name():
    """Nine windows and seven colours: the legend says how the text tells them apart."""
    result = runner.invoke(app, [*TEXTBOOK, "--format", "rich", "--width", "100"])
    text = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    assert (
        "colour = window" not in text and "9 windows, told apart by name: y1's panel, δ1 in its terms" in text
    )
    titles = [line.split() for line in text.splitlines() if re.fullmatch(r"(y\d+\s*)+", line.strip())]
    assert sorted(n for t in titles for n in t) == sorted(
        ["y1", "y2", "y3", "y6", "y7", "y8", "y11", "y12", "y13"]
    )


@pytest.mark.parametrize("command", ["forward", "backward"])
def test_a_layer_is_summarised_to_a_screen_and_full_shows_every_slice(command):
    lines = plain(command, *LAYER)
    assert len(lines) <= 150
    note = " ".join(lines[2:5])
    assert "Shown: sample n=0, input channel c=0, output channel o=0" in note and "--full" in note
    titles = [line for line in lines if line.startswith("[") or line.startswith("δ [") or "[n=" in line]
    assert titles and not any("n=1" in t or "c=1" in t or "o=1" in t for t in titles)
    full = plain(command, *LAYER, "--full")
    assert len(full) > len(lines) and any("[n=1, " in line for line in full)
    assert not any(line.startswith("Shown:") for line in full)


def test_a_layer_of_several_filters_says_its_input_gradient_adds_one_correlation_per_filter():
    """The pipeline's grids show one filter's δ and kernel; ∂L/∂x[n, c] is the sum of that
    correlation over every filter reading channel c, and the view says so where it holds."""
    said = " ".join(plain("backward", *LAYER))
    assert "adds this correlation over all 4 filters: Σₒ correlate(padded δ[n, o], rot180(W[o, c]))" in said
    assert "the grids show o=0 alone" in said
    assert "the grids show o=2 alone" in " ".join(plain("backward", *LAYER, "--slice", "o=2"))
    full = " ".join(plain("backward", *LAYER, "--full"))
    assert "over all 4 filters" in full and "alone" not in full
    groups = " ".join(plain("backward", str(ROOT / "configs" / "groups.yaml")))
    assert "over the 2 filters of channel c's group" in groups  # 4 filters in 2 groups
    assert "adds this correlation" not in " ".join(
        plain("backward", str(ROOT / "configs" / "seed_stride1.yaml"))
    )
    markdown = runner.invoke(app, ["backward", *LAYER, "--format", "markdown"]).stdout
    assert "over all 4 filters" in markdown and "(summed over o)" not in markdown


def test_the_sum_over_filters_is_what_the_input_gradient_is():
    """The sentence's claim, in NumPy: rot180 of each filter correlated with its padded δ,
    summed over the filters, against ∂L/∂x from a loop over the forward's taps."""
    rng = np.random.default_rng(3)
    x, w, delta = rng.normal(size=(3, 5, 5)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=(4, 3, 3))
    # forward: y[o, i, j] = Σ_c,a,b x[c, i + a, j + b] w[o, c, a, b]; ∂L/∂x by scattering δ
    expected = np.zeros_like(x)
    for o, i, j in np.ndindex(delta.shape):
        expected[:, i : i + 3, j : j + 3] += delta[o, i, j] * w[o]
    padded = np.pad(delta, ((0, 0), (2, 2), (2, 2)))
    summed = np.zeros_like(x)
    for o, c, i, j in np.ndindex(4, 3, 5, 5):
        summed[c, i, j] += (padded[o, i : i + 3, j : j + 3] * w[o, c, ::-1, ::-1]).sum()
    np.testing.assert_allclose(summed, expected, rtol=1e-12)
    arrays = ["--x", str(x.tolist()), "-k", str(w.tolist()), "--delta", str(delta.tolist())]
    result = runner.invoke(app, ["backward", *arrays, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    np.testing.assert_allclose(
        np.array(json.loads(result.stdout)["input_grad"]).reshape(3, 5, 5), expected, rtol=1e-12
    )


def test_a_7x7_backward_writes_a_screen_of_equations_and_says_how_to_see_the_rest():
    """49 cells of ∂L/∂x with up to 9 terms each, 9 taps of ∂L/∂W with 49 each: 215 lines at
    80 columns until the equations were limited to what a screen holds."""
    lines = plain("backward", *SEVEN_LAYER, width=80)
    assert len(lines) <= 150
    cells = [line for line in lines if _cell_equation(line)]
    taps = [line for line in lines if line.startswith("∂L/∂w")]
    cut = [line.strip() for line in lines if line.strip().startswith("…")]
    assert cut == [
        f"…{49 - len(cells)} more (--full or --format json)",
        f"…{9 - len(taps)} more (--full or --format json)",
    ]
    full = plain("backward", *SEVEN_LAYER, "--full", width=80)
    assert sum(line.startswith("∂L/∂w") for line in full) == 9
    assert sum(_cell_equation(line) for line in full) == 49
    assert not any(line.strip().startswith("…") for line in full)


def test_names_with_numbers_for_delta_keep_delta_s_numbers_through_the_pipeline():
    """Names for x and W, δ of ones: the dilated and padded δ carry δ's 1s as the δ panel
    does — drawn with names only, their inserted rows of 0 read as δ's values."""
    result = runner.invoke(app, ["backward", *LAYER, "--format", "json"])
    doc = json.loads(result.stdout)
    dilated = np.zeros((2, 4, 7, 7))
    dilated[:, :, ::2, ::2] = 1  # stride 2: one zero between neighbours
    np.testing.assert_array_equal(np.array(doc["dilated_delta"], dtype=float), dilated)
    padded = np.pad(dilated, ((0, 0), (0, 0), (1, 1), (1, 1)))  # dilation·(k−1) − padding = 1
    np.testing.assert_array_equal(np.array(doc["padded_delta"], dtype=float), padded)
    lines = plain("backward", *LAYER, width=80)
    top = lines.index("dilated δ: 1 zero between neighbours (stride − 1)")
    assert lines[top + 3].startswith("│ δ₀₀₀₀ │ 0 │") and lines[top + 4].startswith("│     1 │   │")


def _cell_equation(line: str) -> bool:
    return line.startswith("∂L/∂x") and " = " in line and "correlate" not in line


def test_precision_writes_numbers_whole():
    """0.1 + 0.2 in float64 is 0.30000000000000004: 17 digits say so, the grid's 4 do not."""
    args = ["forward", "--x", "[[0.1, 0.2]]", "-k", "[[1, 1]]"]
    assert "y1 = a·w1 + b·w2 = 0.3" in plain(*args)
    assert "y1 = a·w1 + b·w2 = 0.30000000000000004" in plain(*args, "--precision", "17")
    result = runner.invoke(app, [*args, "--precision", "0"])
    assert result.exit_code == 2 and "--precision 0 is not allowed; give 1 to 17" in result.stderr


# -- wrapping at 80 columns ---------------------------------------------------------------------------

FIVE = ["--x", "arange:5x5", "-k", "arange:3x3", "--padding", "1"]
SOURCES = [
    *([str(p)] for p in sorted((ROOT / "configs").glob("*.yaml"))),
    FIVE,
    SEVEN_LAYER,
    LAYER,
]


def _views(source):
    """Every view the commands draw of one layer: forward, backward, a trace of each kind
    (an input cell in the middle), the steps, every cell, and the coverage map."""
    if source[0].endswith(".yaml"):
        size = load(source[0]).geom.in_size
    else:
        size = tuple(int(n) for n in source[1].split(":")[1].split("x")[-2:])
    middle = ",".join(["0", "0", *(str(n // 2) for n in size)])
    zeros = ",".join(["0"] * (len(size) + 2))
    yield ["forward", *source]
    yield ["backward", *source]
    yield ["trace", *source, "--input", middle]
    yield ["trace", *source, "--input", middle, "--steps"]
    yield ["trace", *source, "--output", zeros]
    yield ["trace", *source, "--weight", zeros]
    yield ["trace", *source, "--all"]
    if source[0].endswith(".yaml"):
        yield ["shape", *source]


def _stack_views():
    for config in sorted((ROOT / "configs" / "layers").glob("*.yaml")):
        for command in (["forward"], ["backward"], ["shape"], ["trace", "--input", "0,0,0,0"]):
            yield [command[0], str(config), *command[1:]]


EVERY_VIEW = [args for source in SOURCES for args in _views(source)] + list(_stack_views())


def ends_mid_expression(line: str) -> bool:
    """A line that stops where an expression goes on: after an operator or ``=``, an
    opening bracket, a ``·``, or a comma between a call's brackets."""
    line = line.rstrip()
    if re.search(r"(^|\s)([+−=×⋆]|Σₒ?)$|[(·=\[]$", line):
        return True
    return line.endswith(",") and _inside_a_call(line)


def _inside_a_call(line: str) -> bool:
    opened = []
    for i, ch in enumerate(line):
        if ch in "([":
            opened.append(ch == "[" or (i > 0 and line[i - 1] not in " "))
        elif ch in ")]" and opened:
            opened.pop()
    return any(opened)


@pytest.mark.parametrize("args", EVERY_VIEW, ids=lambda a: " ".join(Path(x).name for x in a))
def test_no_line_at_80_columns_ends_mid_expression(args):
    lines = plain(*args, width=80)
    assert not [line for line in lines if ends_mid_expression(line)]
    assert not [line for line in lines if line != line.rstrip()]  # no blanks a table padded


def test_the_checker_sees_the_breaks_the_issue_saw():
    for line in (
        "w2·δ12 +",
        "7 − 3 + 1 =",
        "output_padding=(0,",
        "rows [0,",
        "a·",
        "f(",
        "over all 4 filters: Σₒ",
    ):
        assert ends_mid_expression(line), line
    for line in ("∂L/∂x₁₁ = w9·δ1 + w8·δ2", "(configs/conv3d.yaml,", "legend: [f] the cell followed"):
        assert not ends_mid_expression(line), line


def test_a_long_sum_goes_on_under_its_equals_sign():
    """The 5×5 textbook cell x₁₁ meets all nine taps of arange:3x3 (1 … 9) with δ = 1: 45."""
    lines = plain(*TEXTBOOK, width=80)
    at = next(i for i, line in enumerate(lines) if line.startswith("∂L/∂x₁₁ = "))
    continued = lines[at + 1]
    assert continued.lstrip().startswith("+ ") and continued.index("+") == lines[at].index("=")
    terms = re.findall(r"w(\d)·δ(\d+)", lines[at] + continued)
    assert sorted(int(w) for w, _ in terms) == list(range(1, 10))
    assert continued.endswith(f"= {sum(range(1, 10))}")


def test_a_legend_entry_goes_on_under_its_first_line():
    lines = plain("trace", "--input", "f", width=40)
    legend = lines[next(i for i, line in enumerate(lines) if line.startswith("legend: ")) :]
    legend = legend[: legend.index("")] if "" in legend else legend
    entries = [line for line in legend if line.startswith("legend: ") or re.match(r" {8}\S", line)]
    continued = [line for line in legend if line not in entries]
    assert continued and all(re.match(r" {10}\S", line) for line in continued)
    whole = " ".join(line.strip() for line in legend)
    assert "a·w1 a cell of a window, with the weight it meets" in whole


# -- windows told apart without colour -----------------------------------------------------------------


def test_markdown_says_how_windows_are_told_apart_and_numbers_none():
    """f = (1, 1) of the 4×4 input lies in the 2×2 windows of outputs (0,0), (0,1), (1,0),
    (1,1) of the 3×3 output: y1, y2, y4, y5. Markdown draws no colour, and numbers nothing."""
    result = runner.invoke(app, ["trace", "--input", "f", "-f", "markdown"])
    titles = re.findall(r"^\*(y\d+): f·w\d\*$", result.stdout, re.M)
    assert titles == ["y1", "y2", "y4", "y5"]
    legend = next(line for line in result.stdout.splitlines() if line.startswith("legend:"))
    assert legend.endswith("4 windows, told apart by name: y1's panel, δ1 in its terms")
    assert not re.search(r"\d\. y\d|windows:|colou?r", result.stdout)


def test_latex_past_seven_windows_names_each_and_says_colours_repeat():
    """The 5×5 textbook cell (1, 1), padding 1: the 3×3 windows of outputs rows 0–2 and columns
    0–2 of the 5×5 output, y1 y2 y3 y6 y7 y8 y11 y12 y13 — nine windows, seven colours."""
    tex = runner.invoke(app, [*TEXTBOOK, "-f", "latex"]).stdout
    titles = re.findall(r"\\textbf\{\\small \$y_(\{\d+\}|\d)\$\}", tex)
    assert [int(t.strip("{}")) for t in titles] == [r * 5 + c + 1 for r in range(3) for c in range(3)]
    legend = tex[tex.index("legend:") :]
    assert "9 windows, told apart by name: $y_1$'s panel, $\\delta_1$ in its terms" in legend
    assert "repeated past 7 windows" in legend and "\\colorbox" not in legend
    # the terms that share a colour are told apart by their δ: each δ entry is one window's
    colours = re.findall(r"\\cgc\{cgw(\d)!30\}\{\$(w_\d\\cdot \\delta_\{?\d+\}?)\$\}", tex)
    assert len({c for c, _ in colours}) == 7 and len({t.split("delta_")[1] for _, t in colours}) == 9


def test_a_weights_legend_names_no_window_panel_it_does_not_draw():
    """w5, the middle tap of a 3×3 kernel at padding 1, meets an input cell in each of the 25
    windows of the 5×5 output; the trace draws x, δ and W, no panel per window."""
    lines = plain("trace", *FIVE, "--weight", "1,1")
    assert "        25 windows, told apart by name: δ1 in a term is window y1's" in lines
    assert not any(re.fullmatch(r"y\d+", line.strip()) for line in lines)


SLICES = [
    ("groups.yaml", "n=1,o=2"),
    ("groups.yaml", "o=2"),
    ("groups.yaml", "o=2,c=2"),
    ("groups.yaml", "c=3"),
    ("groups.yaml", "o=2,c=0"),
    ("groups.yaml", "n=1"),
    ("depthwise_float32.yaml", "o=1,c=1"),
    ("depthwise_float32.yaml", "c=1"),
    ("multichannel_batch.yaml", "n=5"),
]


@pytest.mark.parametrize("command", ["forward", "backward"])
@pytest.mark.parametrize("config, chosen", SLICES)
def test_a_slice_draws_what_its_filter_reads_or_says_in_one_line_why_not(command, config, chosen):
    """``backward configs/groups.yaml --slice o=2`` raised IndexError, and ``forward`` drew filter 2
    beside input channel 0, which it never reads. A slice is drawn whole — the input channel, the
    filter and its kernel panel agree on c and o — or refused with exit 2 and one line."""
    result = runner.invoke(app, [command, str(ROOT / "configs" / config), "--slice", chosen, "--width", "100"],
                           env={"NO_COLOR": "1"})  # fmt: skip
    p = load(ROOT / "configs" / config)
    g = p.geom
    asked = {a: int(v) for a, v in (part.split("=") for part in chosen.split(","))}
    sizes = {"n": g.batch, "c": g.in_channels, "o": g.out_channels}
    per_c, per_o = g.in_channels // g.groups, g.out_channels // g.groups
    fits = all(asked[a] < sizes[a] for a in asked)
    if fits and "o" in asked and "c" in asked:
        fits = asked["c"] // per_c == asked["o"] // per_o
    if not fits:
        assert result.exit_code == 2 and result.exception is None or isinstance(result.exception, SystemExit)
        assert len(result.stderr.strip().splitlines()) == 1 and "--slice" in result.stderr
        return
    assert result.exit_code == 0, result.stderr
    labels = re.findall(r"^\[([^\]]*)\]$", result.stdout, re.M)
    seen = [dict(part.split("=") for part in label.split(", ")) for label in labels]
    filters = {int(s["o"]) for s in seen if "o" in s}
    channels = {int(s["c"]) for s in seen if "c" in s}
    assert len(filters) <= 1 and len(channels) <= 1, labels  # one slice, named alike in every panel
    if filters and channels:
        assert next(iter(channels)) // per_c == next(iter(filters)) // per_o  # the filter reads that channel
    for axis, index in asked.items():
        assert {"o": filters, "c": channels}.get(axis, {index}) in ({index}, set()), (axis, labels)


def test_a_trace_sliced_to_one_filter_says_how_many_panels_it_left_out():
    """The result sums 16 terms over 4 filters; --slice o=0 draws one filter's δ, W and padded δ,
    and each section says the other 3 are left out."""
    lines = plain(
        "trace", str(ROOT / "configs" / "multichannel_batch.yaml"), "--input", "1,2,3,3", "--slice", "o=0"
    )
    said = " ".join(lines)
    assert said.count("3 more panels left out by --slice o=0") == 3
    assert "w₃₂₀₀·δ₁₃₂₂" in said  # the result still sums every filter's terms


def test_a_legend_says_how_subscripts_and_the_slides_numbers_count():
    """x₁₁ (0-based, as --input takes it) beside w9 and δ13 (1-based, as on the slides): a student
    read both as counting alike. Said where both are drawn, and not where one notation is."""
    legend = " ".join(plain(*TEXTBOOK)[-6:])
    assert "(subscripts count from 0, as --input; w1, δ1 … from 1)" in legend
    assert "subscripts count" not in " ".join(plain("trace", "--input", "f"))  # letters and w1 … alone
    assert "subscripts count" not in " ".join(plain(*MULTICHANNEL))  # subscripts alone


def test_an_overlay_that_leaves_deltas_numbers_out_says_where_they_are():
    """Nine windows' overlay drops δ's numbers to fit a screen (four windows' keeps them): a student
    saw them vanish between x₀₀ and x₁₁ without a word."""
    many = plain(*TEXTBOOK)
    title = next(line for line in many if line.startswith("padded δ under"))
    assert title.endswith("(δ's numbers: in the δ panel above)")
    few = plain(*TEXTBOOK[:-1], "0,0")
    assert next(line for line in few if line.startswith("padded δ under")).endswith("x₀₀'s position")


def test_the_heading_says_names_when_delta_is_names_and_no_config_when_none_was_given():
    config = str(ROOT / "configs" / "stride2.yaml")
    assert plain("backward", config, "--delta", "names")[0].endswith("(" + config + ", names)")
    assert plain("forward", config, "--delta", "names")[0].endswith(
        ", numbers and names)"
    )  # forward has no δ
    assert plain("trace", "--input", "a")[0].endswith("(no config, numbers and names)")
