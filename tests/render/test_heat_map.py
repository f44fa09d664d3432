"""trace --output draws its path grids as a heat map: each cell shaded by its count's
share of the grid's largest (in 5 steps) where the format draws colour, the number
in every cell always, and a legend that names the shades only where they are drawn."""

import io
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from typer.testing import CliRunner

from convgrad_cli.cli import app
from convgrad_cli.core import receptive, stack
from convgrad_cli.core.stack import LayerSpec
from convgrad_cli.core.views import Panels
from convgrad_cli.core.views.reach import output_view
from convgrad_cli.render.style import HEAT

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
#: Two 3-tap convolutions of ones: the input cells under output 0 are joined to it by 1, 2, 3, 2, 1 paths.
TWO_CONVS = "input: {shape: [1, 1, 7], fill: arange}\nlayers:\n" + "  - conv: {kernel: [[[1, 1, 1]]]}\n" * 2


def two_convs():
    ones = np.ones((1, 1, 3))
    return stack.build(np.arange(7.0).reshape(1, 1, 7), [LayerSpec("conv", {"kernel": ones})] * 2)


def input_grid(view):
    sections = [b for b in view.blocks if isinstance(b, Panels) and "from each cell of x" in b.title]
    return sections[0].panels[0]


def test_each_count_is_shaded_by_its_share_of_the_largest():
    view = output_view(two_convs(), receptive.output_reach(two_convs(), (0, 0, 0)))
    panel = input_grid(view)
    shades = {c: m.heat for c, m in panel.marks.items()}
    # counts 1, 2, 3, 2, 1 of at most 3: ⌈5·n/3⌉ = 2, 4, 5, 4, 2; cells 5 and 6 have no path and no shade
    assert [shades.get((0, col), 0) for col in range(7)] == [
        math.ceil(5 * n / 3) for n in (1, 2, 3, 2, 1)
    ] + [0, 0]


def _coloured(renderable, width=120):
    out = io.StringIO()
    Console(file=out, width=width, color_system="truecolor", force_terminal=True, no_color=False).print(
        renderable
    )
    return out.getvalue()


#: the heat map drawn in colour, as a fresh interpreter draws it: a whole run once left the shades
#: out of this test's drawing (bold and dim still drawn) where it alone drew them
_DRAW = """
import sys
from tests.render.test_heat_map import _coloured, two_convs
from convgrad_cli.core import receptive
from convgrad_cli.core.views.reach import output_view
from convgrad_cli.render import terminal
view = output_view(two_convs(), receptive.output_reach(two_convs(), (0, 0, 0)))
sys.stdout.write(_coloured(terminal.draw(view)))
"""


def _in_a_fresh_process(code):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def trace(tmp_path, form):
    config = tmp_path / "two_convs.yaml"
    config.write_text(TWO_CONVS)
    result = runner.invoke(app, ["trace", str(config), "--output", "0,0,0", "-f", form])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_the_terminal_draws_each_shade_and_names_it_only_in_colour(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)  # another test's colourless setting must not leak in
    monkeypatch.delenv("TERM", raising=False)
    coloured = _in_a_fresh_process(_DRAW)
    for level in (2, 4, 5):  # the background of each shade used, as 24-bit colour
        r, g, b = (int(HEAT[level - 1][i : i + 2], 16) for i in (1, 3, 5))
        assert f"48;2;{r};{g};{b}" in coloured
    assert "shade: the more paths, the darker" in coloured
    plain = trace(tmp_path, "plain")
    assert "shade" not in plain  # nothing is shaded: the legend does not say it is
    assert re.search(r"│\s*1\s*│\s*2\s*│\s*3\s*│\s*2\s*│\s*1\s*│\s*0\s*│\s*0\s*│", plain)  # the numbers tell


def test_latex_fills_each_cell_with_its_shade_and_markdown_says_only_the_numbers(tmp_path):
    latex = trace(tmp_path, "latex")
    for level, n in ((2, 1), (4, 2), (5, 3)):
        assert (
            rf"\cgc{{cgheat{level}}}{{${n}$}}" in latex
            or rf"\cgc{{cgheat{level}}}{{$\textcolor{{white}}{{{n}}}$}}" in latex
        )
    assert "shade: the more paths" in latex
    markdown = trace(tmp_path, "markdown")
    assert "shade" not in markdown and "| 1 | 2 | 3 | 2 | 1 | 0 | 0 |" in markdown.replace("  ", " ")


def test_json_gives_each_cells_shade(tmp_path):
    doc = json.loads(trace(tmp_path, "json"))
    assert doc["paths"] == [[[1, 2, 3, 2, 1, 0, 0]]]
    assert doc["levels"][0]["heat"] == [[[2, 4, 5, 4, 2, 0, 0]]]  # ⌈5·n/3⌉, 0 where no path
