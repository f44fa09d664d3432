"""The page of `convgrad explore STACK --export page.html`: under each top output,
the paths from every cell of every level, its receptive field and its gradient —
held to an independent count of the paths and to PyTorch — and the backward pass
one layer at a time."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from convgrad_cli.cli import app
from tests.render.test_page import CHROMIUM, opened

ROOT = Path(__file__).resolve().parents[2]
LENET = ROOT / "configs" / "layers" / "lenet.yaml"
runner = CliRunner()


def make(tmp_path, config=LENET) -> Path:
    out = tmp_path / "page.html"
    result = runner.invoke(app, ["explore", str(config), "--export", str(out)])
    assert result.exit_code == 0, result.stderr
    return out


def page_data(text):
    return json.loads(
        re.search(r'<script id="data" type="application/json">(.*?)</script>', text, re.S).group(1)
    )


def lenet_paths(top):
    """Paths from each input cell to top output ``top`` of configs/layers/lenet.yaml,
    counted edge by edge from the layers as the file writes them: conv 4×1×3×3 padding 1
    on 1×1×8×8 → relu → maxpool 2 → conv 1×4×3×3 (every weight a path, max-pool every cell)."""
    counts = {top: 1}

    def down(counts, reads):
        out = {}
        for cell, n in counts.items():
            for src in reads(cell):
                out[src] = out.get(src, 0) + n
        return out

    def conv(cell, cin, pad, size):
        n, _, i, j = cell
        return [(n, c, i + a - pad, j + b - pad) for c in range(cin) for a in range(3) for b in range(3)
                if 0 <= i + a - pad < size and 0 <= j + b - pad < size]  # fmt: skip

    counts = down(counts, lambda y: conv(y, 4, 0, 4))  # layer 4 reads the 4×4×4 pooled map
    counts = down(
        counts, lambda y: [(y[0], y[1], 2 * y[2] + a, 2 * y[3] + b) for a in range(2) for b in range(2)]
    )
    counts = down(counts, lambda y: [y])  # relu
    counts = down(counts, lambda y: conv(y, 1, 1, 8))
    paths = np.zeros((8, 8), dtype=int)
    for (_, _, i, j), n in counts.items():
        paths[i, j] += n
    return paths


def section_grid(section, shape):
    """A section's cells as the page's data says them: 0 where it names none."""
    grid = np.zeros(int(np.prod(shape)))
    for place, text, _ in section["cells"]:
        grid[place] = float(text.strip("[]"))
    return grid.reshape(shape)


def test_each_top_outputs_paths_field_and_gradient_are_the_independent_count_and_torch(tmp_path):
    from convgrad_cli.config import load_any

    data = page_data(make(tmp_path).read_text())
    assert len(data["reach"]) == 4  # the top output is 1×1×2×2
    stack = load_any(LENET)
    torch = None
    try:
        import torch
    except ImportError:
        pass
    for t, reach in enumerate(data["reach"]):
        top = (0, 0, *np.unravel_index(t, (2, 2)))
        want = lenet_paths(top)
        *levels, gradient = reach["sections"]
        assert len(levels) == 5  # y⁽⁴⁾, y⁽³⁾, y⁽²⁾, y⁽¹⁾, x
        assert (section_grid(levels[-1], (8, 8)) == want).all(), t
        rows, cols = np.nonzero(want)
        field = f"rows [{rows.min()}, {rows.max() + 1}) × columns [{cols.min()}, {cols.max() + 1})"
        assert reach["sentence"] == f"receptive field on the input: {field} (padding never in it)"
        assert levels[-1]["title"].endswith(f"x, the input: {field}")
        assert [r for _, _, r in levels[0]["cells"]] == ["cell"] and levels[0]["cells"][0][0] == t
        if torch is not None:  # ∂y[top]/∂x through the actual weights and activations
            x = torch.tensor(stack.x, requires_grad=True)
            w1, w2 = (torch.tensor(layer.w) for layer in (stack.layers[0], stack.layers[3]))
            y = torch.nn.functional.conv2d(
                torch.nn.functional.max_pool2d(torch.relu(torch.nn.functional.conv2d(x, w1, padding=1)), 2),
                w2,
            )
            y[top].backward()
            assert np.allclose(section_grid(gradient, (8, 8)), x.grad.numpy()[0, 0]), t


def test_the_backward_pass_steps_are_backwards_blocks_from_the_top(tmp_path):
    data = page_data(make(tmp_path).read_text())
    assert data["steps"] == 4
    assert [s.split(" — ")[0] for s in data["said"]] == [
        "layer 4 · conv 1×4×3×3 s1",
        "layer 3 · maxpool k2 s2",
        "layer 2 · relu",
        "layer 1 · conv 4×1×3×3 s1 p1",
    ]


def test_a_stack_outside_a_terminal_is_refused_with_what_to_do():
    result = runner.invoke(app, ["explore", str(LENET)])
    assert result.exit_code == 2 and "explore needs a terminal; --export page.html" in result.stderr


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed")
def test_in_a_browser_hovering_a_top_output_lights_its_paths_and_the_steps_go_down(tmp_path):
    path = make(tmp_path)
    data = page_data(path.read_text())
    with opened(path) as page:
        page.hover("#reach section.array >> nth=0 >> td >> nth=3")
        page.wait_for_timeout(1500)  # the levels light one after another
        assert page.text_content("#reach p.sentence") == data["reach"][3]["sentence"]
        heads = page.eval_on_selector_all(
            "#reach section.array",
            "ss => ss.map(s => Array.from(s.querySelectorAll('td .head')).map(h => h.textContent))",
        )
        for shown, said in zip(heads, data["reach"][3]["sections"]):
            want = ["0"] * len(shown)
            for place, text, _ in said["cells"]:
                want[place] = text
            assert shown == want
        assert heads[-2][:9] == ["0"] * 9 and heads[-2][9] == str(lenet_paths((0, 0, 1, 1))[1, 1])
        assert page.eval_on_selector_all(".step", "ds => ds.filter(d => !d.hidden).length") == 0
        page.click("#next")
        page.click("#next")
        assert page.eval_on_selector_all(".step", "ds => ds.map(d => d.hidden)") == [False, False, True, True]
        assert page.text_content("#step-text") == "step 2 of 4: " + data["said"][1]
