"""The web page of `convgrad explore --export page.html`: self-contained, every
cell named as `trace` names it, and — in a real browser — hovering a cell
lights what it depends on and shows its expression."""

import json
import re
import shutil
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from convgrad_cli.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def make(tmp_path, *args) -> Path:
    tmp_path.mkdir(exist_ok=True)
    out = tmp_path / "page.html"
    result = runner.invoke(app, ["explore", *map(str, args), "--export", str(out)])
    assert result.exit_code == 0, result.stderr
    return out


class Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self.ids, self.sources = [], set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-cell" in a:
            self.cells.append(a["data-cell"])
        if "id" in a:
            self.ids.add(a["id"])
        for key in ("src", "href"):
            if key in a:
                self.sources.append(a[key])


@contextmanager
def opened(path):
    """The page in headless Chromium (the system's, driven by Playwright)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(path.as_uri())
            yield page
        finally:
            browser.close()


def test_the_page_is_self_contained_and_names_every_cell(tmp_path):
    text = make(tmp_path).read_text()
    parsed = Cells()
    parsed.feed(text)
    letters = list("abcdefghijklmnop")
    assert parsed.cells == letters + ["w1", "w2", "w3", "w4"] + [f"y{i}" for i in range(1, 10)] + [
        f"δ{i}" for i in range(1, 10)
    ] + [f"∂L/∂{c}" for c in letters]
    assert {"expression", "data", "scrub", "prev", "next", "play"} <= parsed.ids
    assert parsed.sources == [] and "http" not in text.replace("http://www.w3.org", "")  # nothing fetched
    data = page_data(text)
    name = parsed.cells.__getitem__  # the script names a cell by its place among the data-cell elements
    pairs, value = data["input"][1]  # b
    assert [f"{name(w)}·{name(d)}" for w, d in zip(pairs[::2], pairs[1::2])] == [
        "w2·δ1",
        "w1·δ2",
    ] and value == "3"
    pairs, value = data["output"][4]  # y5
    assert [name(i) for i in pairs] == ["f", "w1", "g", "w2", "j", "w3", "k", "w4"] and value == "94"
    assert data["windows"] == 9 and data["numbers"]["delta"] == [1.0] * 9


def page_data(text):
    return json.loads(
        re.search(r'<script id="data" type="application/json">(.*?)</script>', text, re.S).group(1)
    )


def test_the_page_holds_each_cells_terms_once_and_stays_small(tmp_path):
    # every term trace finds, for every cell of a grouped, batched layer
    from convgrad_cli.config import load
    from convgrad_cli.core import terms

    config = ROOT / "configs" / "multichannel_batch.yaml"
    text = make(tmp_path, config).read_text()
    parsed = Cells()
    parsed.feed(text)
    data, g = page_data(text), load(config).geom
    decoded = [[parsed.cells[i] for i in pairs] for pairs, _ in data["input"]]
    idx = list(np.ndindex(*g.input_shape))
    assert len(decoded) == len(idx)
    for cell, names in zip(idx, decoded):
        found = terms.input_terms(g, cell)
        expected = [n for t in found for n in (_name("w", t.weight), _name("δ", t.delta))]
        assert names == expected
    # a 32×32 input with 4 channels and four 3×3 filters: every cell's terms, once each
    big = make(tmp_path / "big", "--x", "random:1x4x32x32", "-k", "random:4x4x3x3")
    assert big.stat().st_size < 8 * 2**20


def _name(letter, index):
    """``x₀₁₂₂``: the names of docs/naming.md for arrays of at most ten entries an axis."""
    return letter + "".join("₀₁₂₃₄₅₆₇₈₉"[i] for i in index)


def test_a_multichannel_page_uses_indexed_names_and_large_layers_are_refused(tmp_path):
    text = make(tmp_path, ROOT / "configs" / "multichannel_batch.yaml").read_text()
    assert 'data-cell="x₀₁₂₂"' in text and 'data-cell="w₃₂₂₂"' in text
    result = runner.invoke(
        app, ["explore", "--x", "random:1x1x80x80", "--export", str(tmp_path / "big.html")]
    )
    assert result.exit_code == 2 and "for arrays of up to 4096 cells" in result.stderr
    result = runner.invoke(app, ["explore", "--export", str(tmp_path / "page.svg")])
    assert result.exit_code == 2 and "the page is HTML" in result.stderr


def test_explore_needs_a_terminal():
    result = runner.invoke(app, ["explore"])
    assert (
        result.exit_code == 2
        and "explore needs a terminal; --export page.html writes the web page" in result.stderr
    )


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed")
def test_in_a_browser_hovering_b_shows_its_gradient_and_stepping_fills_dx(tmp_path):
    with opened(make(tmp_path)) as page:
        page.hover('[data-cell="b"]')
        assert page.text_content("#expression") == "∂L/∂b = w2·δ1 + w1·δ2 = 3"

        def classes(name):
            return page.get_attribute(f'[data-cell="{name}"]', "class") or ""

        # b's two windows: δ1 (with w2) in the first window's colour, δ2 (with w1) in the second's
        assert "cell" in classes("b") and "w0" in classes("δ1") and "w1" in classes("δ2")
        assert "w0" in classes("w2") and "w1" in classes("w1") and "contributor" not in classes("δ5")
        page.hover('[data-cell="y5"]')
        assert page.text_content("#expression") == "y5 = f·w1 + g·w2 + j·w3 + k·w4 = 94"
        # two steps of the backward pass: y1's window, then y2's, added into ∂L/∂x
        page.click("#next")
        page.click("#next")
        values = page.eval_on_selector_all(
            '[data-array="input_grad"] .value', "els => els.map(e => e.textContent)"
        )
        assert values[:4] == ["1", "3", "2", "0"] and values[4:8] == ["3", "7", "4", "0"]
        assert page.text_content("#step-text").startswith("step 2 of 9: the window of y2 adds w1·δ2 to ∂L/∂b")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed")
def test_in_a_browser_a_grouped_cell_lights_its_windows_on_its_group_only(tmp_path):
    flags = ["--stride", "2", "--padding", "1", "--dilation", "2"]
    path = make(tmp_path, ROOT / "configs" / "groups.yaml", *flags)
    # what x[0,1,1,3] meets, by the definition: y[n,o,p] reads x[n,c,p·s + k·d − pad]
    # for the input channels c of o's group (4 channels, 4 filters, 2 groups, 5×5, 2×2 taps)
    s, d, pad, size, cg = 2, 2, 1, 5, 2
    cell = (0, 1, 1, 3)  # on every other row and column: at stride 2 and dilation 2, (2, 2) is in no window
    windows, deltas, weights = set(), set(), set()
    for o in range(4):
        group = range(o // 2 * cg, o // 2 * cg + cg)
        for p in np.ndindex(3, 3):
            reads = {}
            for c in group:
                for k in np.ndindex(2, 2):
                    at = tuple(pi * s + ki * d - pad for pi, ki in zip(p, k))
                    if all(0 <= a < size for a in at):
                        reads[(0, c, *at)] = (o, c - group[0], *k)
            if cell in reads:
                windows |= set(reads) - {cell}
                deltas.add(_name("δ", (0, o, *p)))
                weights.add(_name("w", reads[cell]))
    windows = {_name("x", w) for w in windows}
    with opened(path) as page:
        page.hover('[data-cell="x₀₁₁₃"]')
        lit = page.eval_on_selector_all("[data-cell]", "els => els.map(e => [e.dataset.cell, e.className])")
        by_role = {
            role: {n for n, c in lit if role in c.split()} for role in ("cell", "window", "contributor")
        }
        assert by_role["cell"] == {"x₀₁₁₃", "∂L/∂x₀₁₁₃"}
        assert by_role["window"] == windows and windows and all(w[2] in "₀₁" for w in windows)
        assert by_role["contributor"] == deltas | weights and len(deltas) == len(weights) > 1
        expression = page.text_content("#expression")
        assert expression.startswith("∂L/∂x₀₁₁₃ = ") and expression.count("·") == len(deltas)
