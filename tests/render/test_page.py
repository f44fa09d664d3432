"""The web page of `convgrad explore --export page.html`: self-contained, every
cell named as `trace` names it, and — in a real browser — hovering a cell
lights what it depends on and shows its expression."""

import dataclasses
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


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
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
            '[data-array="input_grad"] .head', "els => els.map(e => e.textContent)"
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


# -- the padded δ under the flipped kernel ------------------------------------------------------------


def naive_terms(g, cell):
    """(weight, δ) index pairs of input cell ``cell``, by the definition: y[n,o,p] reads
    x[n, c, p·s + k·d − pad] with weight W[o, c − group start, k]."""
    n, c, *q = cell
    cg, og = g.in_channels // g.groups, g.out_channels // g.groups
    found = set()
    for o in range(c // cg * og, (c // cg + 1) * og):
        for p in np.ndindex(*g.out_size):
            for k in np.ndindex(*g.kernel_size):
                at = [
                    pi * s + ki * d - b for pi, ki, s, d, (b, _) in zip(p, k, g.stride, g.dilation, g.padding)
                ]
                if at == q:
                    found.add(((o, c % cg, *k), (n, o, *p)))
    return found


def overlay_as_the_script_reads_it(data, g, x):
    """The flipped kernel over the padded δ at input cell number ``x``, decoded from the
    page's data the way its script places it: (padded slice, position, weight, δ or None)."""
    o_ = data["overlay"]
    q_, chans = o_["positions"], o_["channels"]
    n, c, q = x // (chans * q_), x // q_ % chans, x % q_
    cg, og = o_["group"]
    k_ = o_["kernel"]
    out = set()
    for o in range(c // cg * og, (c // cg + 1) * og):
        for k, at in enumerate(o_["taps"][q]):
            w = np.unravel_index((o * cg + c % cg) * k_ + (k_ - 1 - k), g.kernel_shape)
            held = o_["holds"][at]
            d = None if held < 0 else (n, o, *np.unravel_index(held, g.out_size))
            out.add(
                (
                    (n, o),
                    np.unravel_index(at, g.padded_delta_size),
                    tuple(map(int, w)),
                    d and tuple(map(int, d)),
                )
            )
    return out


@pytest.mark.parametrize(
    "config, flags",
    [
        ("seed_stride1.yaml", []),
        ("stride2.yaml", []),
        ("uneven.yaml", []),
        ("asymmetric_padding.yaml", []),
        ("groups.yaml", ["--stride", "2", "--padding", "1", "--dilation", "2"]),
        ("conv1d.yaml", []),
        ("conv3d.yaml", []),
    ],
)
def test_the_pages_flipped_kernel_covers_each_cells_terms_and_zeros_elsewhere(tmp_path, config, flags):

    path = make(tmp_path, ROOT / "configs" / config, *flags)
    data = page_data(path.read_text())
    g = _problem(config, flags).geom
    before = [d * (k - 1) - b for d, k, (b, _) in zip(g.dilation, g.kernel_size, g.padding)]
    taps = list(np.ndindex(*g.kernel_size))
    og = g.out_channels // g.groups
    for x, cell in enumerate(np.ndindex(*g.input_shape)):
        placed = overlay_as_the_script_reads_it(data, g, x)
        want = naive_terms(g, cell)
        assert {(w, d) for _, _, w, d in placed if d is not None} == want, cell
        assert len(placed) == og * len(taps)
        for _, at, w, d in placed:  # tap k of rot180(W) at q + k·d is W's tap k_max − k
            k = tuple(size - 1 - wi for size, wi in zip(g.kernel_size, w[2:]))
            assert tuple(at) == tuple(qi + ki * di for qi, ki, di in zip(cell[2:], k, g.dilation))
            if d is not None:  # a δ entry sits at before + p·s in the padded δ
                assert tuple(at) == tuple(b + p * s for b, p, s in zip(before, d[2:], g.stride))


DRAWN = "els => els.map(e => [e.className.split(' ').filter(c => c).sort(), Array.from(e.querySelectorAll('span')).map(s => s.textContent).filter(t => t)])"


def model_page(config, flags, focus, index, step=0):
    """The cells of the page the model draws with the cursor on ``index`` of ``focus``."""
    from convgrad_cli.core.explore import State
    from convgrad_cli.core.explore.page import page_model
    from convgrad_cli.render.page import draw_page
    from tests.render.test_every_format import PageCells

    state = State.start(_problem(config, flags))
    state = dataclasses.replace(state, focus=focus, index=index, step=step)
    parsed = PageCells()
    parsed.feed(draw_page(page_model(state)))
    return [[sorted(c["classes"]), c["lines"]] for c in parsed.cells], state


def _problem(config, flags):
    """The problem of ``config`` with ``flags`` (``--stride 2`` …) on top, as the CLI loads it."""
    from convgrad_cli.config import load

    return load(
        ROOT / "configs" / config, {k.removeprefix("--"): int(v) for k, v in zip(flags[::2], flags[1::2])}
    )


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed")
@pytest.mark.parametrize(
    "config, flags, hovers",
    [
        ("seed_stride1.yaml", [], [("input", "f"), ("output", "y5"), ("kernel", "w2"), ("input", "p")]),
        ("stride2.yaml", [], [("input", "b"), ("input", "f"), ("output", "y4")]),
        (
            "groups.yaml",
            ["--stride", "2", "--padding", "1", "--dilation", "2"],
            [("input", "x₀₁₁₃"), ("kernel", "w₃₁₀₁"), ("output", "y₀₂₁₁")],
        ),
    ],
)
def test_in_a_browser_a_hover_lights_what_the_model_lights(tmp_path, config, flags, hovers):
    """The script lights a hovered cell exactly as the model lights the cursor's cell:
    every cell's marks, in class and in text, the padded δ under the flipped kernel too."""
    from convgrad_cli.core.explore import State
    from convgrad_cli.core.explore.page import page_model

    path = make(tmp_path, ROOT / "configs" / config, *flags)
    names = page_model(State.start(_problem(config, flags))).names
    with opened(path) as page:
        for focus, cell in hovers:
            index = next(i for i in np.ndindex(*names[focus].shape) if names[focus][i] == cell)
            page.hover(f'[data-cell="{cell}"]')
            shown = page.eval_on_selector_all("td[data-cell], td[data-pad]", DRAWN)
            want, state = model_page(config, flags, focus, index)
            assert shown == want, (focus, cell)
            if focus != "output":  # a δ cell would say where it flows
                assert page.text_content("main p.result") == page.text_content("#expression")
                assert page.text_content("#expression") == f"{state.trace.lhs} = {state.trace.expression}" + (
                    "" if state.trace.value is None else f" = {_fmt(state.trace.value)}"
                )


def _fmt(v):
    from convgrad_cli.core.views.numbers import fmt

    return fmt(v)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed")
def test_in_a_browser_stepping_fills_the_followed_cells_terms_on_the_padded_delta(tmp_path):
    # δ = 1…9 so that the running sum tells the windows apart: f's terms are
    # w4·δ1 + w3·δ2 + w2·δ4 + w1·δ5 = 4·1 + 3·2 + 2·4 + 1·5
    path = make(tmp_path, "--delta", "arange:1x1x3x3")
    with opened(path) as page:
        page.hover('[data-cell="f"]')
        page.click("#next")
        page.click("#next")
        assert (
            page.text_content("main p.result")
            == "∂L/∂f so far = w4·δ1 + w3·δ2 = 10  (of w4·δ1 + w3·δ2 + w2·δ4 + w1·δ5)"
        )
        pads = page.eval_on_selector_all("td[data-pad]", DRAWN)
        lit = {tuple(lines): classes for classes, lines in pads if classes and classes != ["zero"]}
        assert lit[("w4·δ1", "1")][0] == "contributor" and lit[("w3·δ2", "2")][0] == "contributor"
        assert "pending" in lit[("w2·δ4", "4")] and "pending" in lit[("w1·δ5", "5")]
        assert (
            page.text_content('[data-array="padded_delta"] h2')
            == "padded δ under the flipped kernel, at f's position"
        )
        for _ in range(7):
            page.click("#next")
        assert page.text_content("main p.result").startswith(
            "∂L/∂f so far = w4·δ1 + w3·δ2 + w2·δ4 + w1·δ5 = 23 "
        )
