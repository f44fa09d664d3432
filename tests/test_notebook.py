"""The pictures as Python objects: what a notebook shows (``_repr_html_``), what a
terminal prints, and the files they save — each checked against values computed
here with NumPy loops, never against convgrad's own output."""

import html
import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import convgrad_cli as cg
from convgrad_cli.errors import ConfigError, OutputError
from tests.render.test_page import CHROMIUM, opened
from tests.support import broken_impls, student_loops


def input_grad(x, w, delta, stride=1):
    """∂L/∂x of a 2-D correlation by a loop over every window (no padding)."""
    dx = np.zeros_like(x)
    kh, kw = w.shape
    for i in range(delta.shape[0]):
        for j in range(delta.shape[1]):
            dx[i * stride : i * stride + kh, j * stride : j * stride + kw] += w * delta[i, j]
    return dx


SEED_X = np.arange(1.0, 17.0).reshape(4, 4)  # a … p
SEED_W = np.array([[1.0, 2.0], [3.0, 4.0]])  # w1 … w4


def visible(markup: str) -> str:
    """The text an HTML fragment shows."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_trace_prints_the_slides_terms_and_the_value_a_loop_finds():
    delta = np.arange(1.0, 10.0).reshape(3, 3)
    view = cg.trace(SEED_X, SEED_W, delta, input="f")
    expected = input_grad(SEED_X, SEED_W, delta)[1, 1]  # f is row 1, column 1
    line = next(line for line in str(view).splitlines() if line.startswith("∂L/∂f ="))
    assert line == f"∂L/∂f = w4·δ1 + w3·δ2 + w2·δ4 + w1·δ5 = {expected:g}"


def test_a_notebook_shows_the_terms_the_windows_colours_and_the_legend():
    view = cg.trace(input="f", stride=2)  # at stride 2, f lies in one window only: y1's
    page = view._repr_html_()
    text = visible(page)
    assert page.startswith("<pre") and "∂L/∂f = w4·δ1 = 4" in text  # w4 · δ1 = 4 · 1
    assert "legend:" in text and "a term of the result" in text and "the cell followed" in text
    # the legend's window name is drawn in its window's colour, as the terms are
    coloured = re.findall(r'<span style="color: (#[0-9a-f]{6})[^"]*">([^<]+)</span>', page)
    assert any(word.strip() == "y1" for _, word in coloured)
    assert {c for c, w in coloured if w.strip() == "y1"} & {c for c, w in coloured if "w4·δ1" in w}
    bundle = view._repr_mimebundle_()
    assert bundle["text/html"] == page and "∂L/∂f = w4·δ1 = 4" in bundle["text/plain"]


def test_every_format_of_a_backward_picture():
    x, w = np.arange(1.0, 10.0).reshape(3, 3), np.array([[1.0, -1.0], [2.0, 0.5]])
    view = cg.backward(x, w)  # δ: ones
    dx = input_grad(x, w, np.ones((2, 2)))
    doc = json.loads(view.to_json())
    assert np.allclose(doc["input_grad"], dx) and doc["command"] == "backward"
    latex = view.to_latex(standalone=True)
    assert latex.startswith("\\documentclass") and "\\operatorname{rot180}" in latex
    assert "∂L/∂x, cell by cell" in view.to_markdown()
    assert re.search(rf"∂L/∂e = w4·δ1 \+ w3·δ2 \+ w2·δ3 \+ w1·δ4 +=\s+{dx[1, 1]:g}\n", str(view))


def test_saved_files(tmp_path):
    view = cg.trace(input="b")
    svg = ET.parse(view.save(tmp_path / "b.svg")).getroot()
    assert "∂L/∂b" in "".join(svg.itertext()).replace("\xa0", " ")
    assert (tmp_path / "b.txt").exists() is False
    assert view.save(tmp_path / "b.txt").read_text().strip() == str(view).strip()
    assert json.loads(view.save(tmp_path / "b.json").read_text())["cell"] == "b"
    steps = cg.trace(input="b", steps=True).save(tmp_path / "steps.svg").read_text()
    assert steps.count("<animate ") == 3  # two windows, then the flipped kernel
    with pytest.raises(OutputError, match=r"\.svg, \.html"):
        view.save(tmp_path / "b.doc")


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_check_says_whether_an_implementation_agrees():
    assert cg.check().passed
    report = cg.check(impl=broken_impls.kernel_not_flipped)
    assert not report.passed and "FAIL" in str(report) and "kernel_not_flipped" in str(report)


def test_check_of_an_implementation_alone_is_the_commands_sweep():
    report = cg.check(impl=broken_impls.delta_not_dilated)  # the seed's stride 1 alone would pass it
    doc = json.loads(report.to_json())
    assert not report.passed and doc["cases"] == 40 and "delta_not_dilated" in str(report)
    doc = json.loads(cg.check(impl=broken_impls.correct, random=6, sweep_seed=2).to_json())
    assert doc["passed"] and doc["checked"] == 6
    one = cg.check(np.arange(25.0).reshape(5, 5), impl=broken_impls.delta_not_dilated)
    assert one.passed and json.loads(one.to_json())["cases"] == 1  # stride 1: a case it gets right
    with pytest.raises(TypeError, match="random=3 draws its own arrays; leave out x"):
        cg.check(np.ones((4, 4)), impl=broken_impls.correct, random=3)


def test_a_report_is_true_only_when_it_passed():
    """``assert cg.check(impl=f)`` must fail for a wrong gradient."""
    assert not cg.check(impl=broken_impls.kernel_not_flipped, random=4)
    assert cg.check(impl=broken_impls.correct, random=4)


def test_check_in_python_keeps_the_sweep_inside_what_is_declared():
    """As ``check --impl f --dims 2 --same-stride --stride 2`` does: 40 cases, each 2-D with stride 2;
    a stride bug is not passed on one stride-1 case."""
    report = cg.check(impl=broken_impls.delta_not_dilated, dims=2)
    doc = json.loads(report.to_json())
    assert not report.passed and doc["cases"] == 40 and "delta_not_dilated" in str(report)
    doc = json.loads(
        cg.check(impl=broken_impls.correct, random=6, dims="2", same_stride=True, stride=2).to_json()
    )
    shapes = [r["geometry"] for r in doc["results"]]
    assert (
        doc["passed"]
        and doc["checked"] == 6
        and all(re.fullmatch(r"\d+×\d+×\d+×\d+ \* \S+ s2\b.*", s) for s in shapes)
    )
    with pytest.raises(TypeError, match="check\\(\\) got an unexpected keyword argument 'precision'"):
        cg.check(impl=broken_impls.correct, precision=3)
    with pytest.raises(TypeError, match="forward\\(\\) got an unexpected keyword argument 'slice'"):
        cg.forward(slice={"n": 1})


def test_check_calls_a_loop_over_one_image_with_layout_spatial():
    """x (5, 5) as given, the loop's stride read: it agrees; with the default layout it is called with
    (1, 1, 5, 5) and the report says so; a layer of several channels is refused."""
    x, w = np.arange(25.0).reshape(5, 5), np.array([[1.0, -2.0], [0.5, 3.0]])
    assert cg.check(x, w, impl=student_loops.backward, layout="spatial", stride=2).passed
    default = cg.check(x, w, impl=student_loops.backward, stride=2)
    error = json.loads(default.to_json())["results"][0]["error"]
    assert not default.passed and "called with x (1, 1, 5, 5), w (1, 1, 2, 2), δ (1, 1, 2, 2)" in error
    with pytest.raises(ConfigError, match="layout='spatial' passes one sample, one channel and one filter"):
        cg.check(np.ones((2, 5, 5)), np.ones((3, 2, 2, 2)), impl=student_loops.backward, layout="spatial")
    with pytest.raises(
        ConfigError, match="layout 'hw' is not allowed; allowed: full, given, channels-last, spatial"
    ):
        cg.check(x, w, impl=student_loops.backward, layout="hw")


def test_rich_prints_a_picture():
    from rich.console import Console

    console = Console(record=True, width=100, color_system=None)
    console.print(cg.forward(padding=1))
    assert "input x, with its padding" in console.export_text()


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium to render the notebook's HTML in")
def test_the_notebook_html_in_a_browser(tmp_path):
    """What a notebook's HTML shows in a real browser: the result's line, and the
    window's name in the same colour as its term."""
    page = tmp_path / "cell.html"
    page.write_text("<!doctype html><meta charset=utf-8><body>" + cg.trace(input="f", stride=2)._repr_html_())
    with opened(page) as browser:
        text = browser.inner_text("pre")
        colours = browser.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll('pre span')]
                 .map(s => [s.textContent.trim(), getComputedStyle(s).color]))"""
        )
    assert "∂L/∂f = w4·δ1 = 4" in text and "legend:" in text
    assert colours["y1"] == colours["w4·δ1"] and colours["y1"] != "rgb(0, 0, 0)"


def padded_grads(x, w, delta, padding):
    """y, ∂L/∂x and ∂L/∂W of a 2-D correlation at stride 1 with zero padding, by loops."""
    xp = np.pad(x, padding)
    kh, kw = w.shape
    y, dxp, dw = np.zeros_like(delta), np.zeros_like(xp), np.zeros_like(w)
    for i in range(delta.shape[0]):
        for j in range(delta.shape[1]):
            y[i, j] = (xp[i : i + kh, j : j + kw] * w).sum()
            dxp[i : i + kh, j : j + kw] += w * delta[i, j]
            dw += xp[i : i + kh, j : j + kw] * delta[i, j]
    return y, dxp[padding:-padding, padding:-padding], dw


@pytest.mark.parametrize("cell", [(1, 2), [1, 2], (0, 0, 1, 2), [np.int64(1), np.int32(2)], "1,2"])
def test_trace_takes_a_cell_as_a_tuple_or_list_of_ints_as_it_takes_text(cell):
    rng = np.random.default_rng(3)
    x, w, delta = rng.normal(size=(5, 5)), rng.normal(size=(3, 3)), rng.normal(size=(5, 5))
    y, dx, dw = padded_grads(x, w, delta, 1)
    doc = json.loads(cg.trace(x, w, delta, input=cell, padding=1).to_json())
    assert doc["cell"] == "x₁₂" and doc["value"] == pytest.approx(dx[1, 2])
    doc = json.loads(cg.trace(x, w, delta, weight=cell, padding=1).to_json())
    assert doc["index"][-2:] == [1, 2] and doc["value"] == pytest.approx(dw[1, 2])
    doc = json.loads(cg.trace(x, w, delta, output=cell, padding=1).to_json())
    assert doc["index"][-2:] == [1, 2] and doc["value"] == pytest.approx(y[1, 2])


@pytest.mark.parametrize("kind", ["input", "output", "weight"])
@pytest.mark.parametrize("cell", [5, 1.0, (1.0, 1), (True, 1), (), {1: 1}, None.__class__])
def test_trace_refuses_a_cell_that_is_neither_text_nor_ints_in_one_line(kind, cell):
    from convgrad_cli.errors import CellError

    x, w = np.ones((5, 5)), np.ones((3, 3))
    with pytest.raises(CellError, match=rf"^{kind}=.* is not a cell; give a name .* tuple or list of ints"):
        cg.trace(x, w, padding=1, **{kind: cell})


def test_trace_says_a_tuple_outside_the_array_as_it_says_the_text():
    from convgrad_cli.errors import CellError

    x, w = np.ones((5, 5)), np.ones((3, 3))
    with pytest.raises(CellError, match=r"input index '9,9' is outside the shape \(1, 1, 5, 5\)"):
        cg.trace(x, w, input=(9, 9), padding=1)
    with pytest.raises(CellError, match=r"input index '1,1,1' has 3 numbers"):
        cg.trace(x, w, input=[1, 1, 1], padding=1)


def test_a_fill_with_a_shape_as_the_command_line_writes_it_and_print_fits_the_terminal(monkeypatch):
    """x="arange:5x5" is the 5×5 the flag --x arange:5x5 gives; print() lays it out at COLUMNS."""
    x, w = np.arange(1.0, 26.0).reshape(5, 5), np.arange(1.0, 10.0).reshape(3, 3)
    doc = json.loads(cg.backward(x="arange:5x5", w="arange:3x3", padding=1).to_json())
    padded = np.pad(np.ones((5, 5)), 1)  # δ of ones under every window, padding 1
    expected = np.array(
        [[(padded[i : i + 3, j : j + 3] * w[::-1, ::-1]).sum() for j in range(5)] for i in range(5)]
    )
    assert np.array(doc["input"]).tolist() == x.tolist()
    np.testing.assert_allclose(doc["input_grad"], expected)
    with pytest.raises(ConfigError, match="input fill 'arange:5x' is not allowed"):
        cg.backward(x="arange:5x")
    for columns in (60, 120):
        monkeypatch.setenv("COLUMNS", str(columns))
        lines = str(cg.backward(x="arange:7x7", w="arange:3x3", padding=1)).splitlines()
        assert max(map(len, lines)) <= columns and max(map(len, lines)) > columns - 20


def _contrast(a: str, b: str) -> float:
    """WCAG's contrast ratio of two ``#rrggbb`` colours (1 to 21; 4.5 for text)."""

    def luminance(hex_colour: str) -> float:
        rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize(
    "view",
    [
        lambda: cg.trace(input="f"),
        lambda: cg.trace("arange:5x5", "arange:3x3", padding=1, input="1,1"),
        lambda: cg.trace(input="f", stride=2, steps=True),
    ],
    ids=["seed", "textbook", "steps"],
)
def test_every_text_on_a_coloured_cell_in_the_notebook_can_be_read(view):
    """The followed cell's value was drawn #8c8c8c on #c47f00 (1.0:1): invisible in Jupyter."""
    html = view()._repr_html_()
    spans = re.findall(r'<span style="([^"]*background-color: (#[0-9a-f]{6})[^"]*)">([^<]*)</span>', html)
    assert spans
    for style, background, text in spans:
        found = re.search(r"(?<!-)color: (#[0-9a-f]{6})", style)
        colour = found.group(1) if found else "#191919"  # the light theme's text
        if text.strip():
            assert _contrast(colour, background) >= 3, (text, style)


def test_latex_writes_the_any_output_subscript_and_keeps_headings_with_their_grids():
    latex = cg.trace("names:2x3x7x7", "names:4x3x3x3", stride=2, padding=1, input=(1, 2, 3, 3)).to_latex()
    assert (
        "${}_o$ (a small o, not a zero): each output channel o" in latex
        and "?" not in latex.split("legend")[-1]
    )
    headings = re.findall(r"^\\noindent\\textbf\{.*\}\\par(\\\w+)", latex, re.M)
    assert headings and set(headings) == {"\\nopagebreak"}  # a heading never ends a page without its grid


def test_a_picture_built_in_python_names_pythons_options_not_the_command_lines():
    """``cg.backward(…)`` said "--slice picks others, --full …", flags a notebook cannot take."""
    layer = dict(x="names:2x3x7x7", w="names:4x3x3x3", stride=2, padding=1)
    text = str(cg.backward(**layer))
    assert "only={'o': 1}" in text and "full=True" in text and ".to_json()" in text
    assert not re.search(r"--(slice|full|precision|format|details|save)", text)
    shown = cg.backward(**layer, only={"o": 1}, precision=3)  # what the hint says, typed, works
    assert "[n=0, o=1]" in str(shown)
    report = str(cg.check(impl=broken_impls.delta_not_dilated))
    assert 'details="all" shows each' in report and not re.search(r"--(details|format|save)", report)
    every = str(cg.check(impl=broken_impls.delta_not_dilated, details="all"))
    assert len(every.splitlines()) > len(report.splitlines())
    from convgrad_cli.core import explain
    from convgrad_cli.core.problem import Fill, build
    from convgrad_cli.core.views import backward_view  # the command line's words are unchanged

    p = build(Fill("names", (2, 3, 7, 7)), Fill("names", (4, 3, 3, 3)), stride=2, padding=1)
    said = " ".join(b.text for b in backward_view(explain.backward(p)).blocks if hasattr(b, "text"))
    assert "--slice picks others (e.g. --slice o=1)" in said
