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
from convgrad_cli.errors import OutputError
from tests.render.test_page import CHROMIUM, opened
from tests.support import broken_impls


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


def test_check_says_whether_an_implementation_agrees():
    assert cg.check().passed
    report = cg.check(impl=broken_impls.kernel_not_flipped)
    assert not report.passed and "FAIL" in str(report) and "kernel_not_flipped" in str(report)


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
