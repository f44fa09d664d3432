"""Exports (SVG, HTML, text), LaTeX and Markdown, `init`, and files written whole."""

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from convgrad_cli.cli import app
from convgrad_cli.config import DEFAULT, build_problem, load, template
from convgrad_cli.render.latex import latex_expression, latex_name

TEMPLATE = template()

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_svg_export_is_xml_holding_the_grid(tmp_path):
    out = tmp_path / "b.svg"
    result = run("backward", "--export", out)
    assert result.exit_code == 0, result.stderr
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    text = "".join(root.itertext()).replace("\xa0", " ")
    # the seed's numbers: ∂L/∂f = 10, ∂L/∂W[0,0] = 54, and the flipped kernel's names
    assert "w4·δ1" in text and "54" in text and "w4" in text


def test_html_export_parses_and_holds_the_values(tmp_path):
    out = tmp_path / "f.html"
    assert run("forward", "--stride", "2", "--export", out).exit_code == 0

    class Collect(HTMLParser):
        def __init__(self):
            super().__init__()
            self.text, self.tags = [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)

        def handle_data(self, data):
            self.text.append(data)

    parser = Collect()
    parser.feed(out.read_text())
    body = "".join(parser.text)
    assert "html" in parser.tags and "pre" in parser.tags
    for value in ("44", "64", "124", "144"):  # y1 … y4 at stride 2
        assert value in body


def test_text_export_equals_plain_output(tmp_path):
    out = tmp_path / "t.txt"
    result = run("trace", "--input", "b", "--export", out, "-f", "plain")
    assert result.exit_code == 0
    assert out.read_text().split() == result.stdout.split()


def test_export_never_overwrites_without_force(tmp_path):
    out = tmp_path / "x.svg"
    out.write_text("keep me")
    result = run("backward", "--export", out)
    assert result.exit_code == 2 and "exists; pass --force" in result.stderr
    assert out.read_text() == "keep me"
    assert run("backward", "--export", out, "--force").exit_code == 0
    assert out.read_text().startswith("<svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.svg"]  # no temporary file left


@pytest.mark.parametrize(
    "fmt, name, message",
    [
        (None, "x.docx", "must end in .svg, .html, .htm, .txt, .png, .pdf"),
        ("json", "x.svg", "must end in .json, .txt"),
        ("latex", "x.md", "must end in .tex, .txt"),
    ],
)
def test_export_extension_must_fit_the_format(tmp_path, fmt, name, message):
    args = ["forward", "--export", tmp_path / name] + (["-f", fmt] if fmt else [])
    result = run(*args)
    assert result.exit_code == 2 and message in result.stderr and not (tmp_path / name).exists()


def test_export_into_a_missing_folder_is_refused(tmp_path):
    result = run("forward", "--export", tmp_path / "no" / "x.svg")
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_json_export_is_the_document(tmp_path):
    out = tmp_path / "t.json"
    result = run("trace", "-i", "a", "-f", "json", "--export", out)
    assert json.loads(out.read_text()) == json.loads(result.stdout)


def _balanced(tex: str) -> None:
    tex = tex.replace("\\\\[", "")  # a line break with its spacing, not display maths
    stack = []
    for kind, env in re.findall(r"\\(begin|end)\{([^}]*)\}", tex):
        if kind == "begin":
            stack.append(env)
        else:
            assert stack and stack.pop() == env, env
    assert not stack
    assert tex.count("\\[") == tex.count("\\]")
    depth = 0
    for ch in tex.replace("\\{", "").replace("\\}", ""):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0


@pytest.mark.parametrize(
    "command",
    [
        ["forward"],
        ["backward", "--stride", "2"],
        ["trace", "-i", "b"],
        ["trace", "--all"],
        ["check"],
        ["backward", ROOT / "configs/groups.yaml"],
    ],
)
def test_latex_is_structurally_sound(command):
    result = run(*command, "--format", "latex")
    assert result.exit_code == 0, result.stderr
    tex = result.stdout
    _balanced(tex)
    for line in tex.splitlines():
        if not line.startswith("%"):
            assert "δ" not in line and "∂" not in line and "·" not in line, line  # all escaped to LaTeX


def test_latex_shows_the_slides_expression():
    tex = run("backward", "--format", "latex").stdout
    assert r"\partial L/\partial b &= w_2\delta_1 + w_1\delta_2 = 3" in tex
    # the flipped kernel, names over values, under its brace in the pipeline's equation
    flipped = r"\cgc{gray!8}{$w_4$}{$4$} & \cgc{gray!8}{$w_3$}{$3$} \\ "
    assert flipped + r"\cgc{gray!8}{$w_2$}{$2$}" in tex
    assert r"\end{array}\right]}}_{\operatorname{rot180}(W)}" in tex  # the grid's group, then the brace


def test_latex_names():
    assert latex_name("w12") == "w_{12}"
    assert latex_name("δ3") == r"\delta_3"
    assert latex_name("x[0,1,2,3]") == "x_{0,1,2,3}"
    assert latex_name("∂L/∂w[1,0,2,2]") == r"\frac{\partial L}{\partial w_{1,0,2,2}}"
    assert latex_expression("a·w1 + b·w2") == "aw_1 + bw_2"


def test_markdown_tables():
    md = run("backward", "--stride", "2", "--format", "markdown").stdout
    assert "|  | 0 | 1 | 2 | 3 | 4 |\n|---:|---:|---:|---:|---:|---:|\n| 0 | 0 | 0 | 0 | 0 | 0 |\n" in md
    assert "| 1 | 0 | δ1<br>1 | 0 | δ2<br>1 | 0 |" in md  # the padded δ of the slides' second example
    assert "- `∂L/∂f = w4·δ1` = 4" in md


def test_init_writes_the_seed_example(tmp_path):
    path = tmp_path / "layer.yaml"
    result = run("init", path)
    assert result.exit_code == 0 and path.read_text() == TEMPLATE
    raw = yaml.safe_load(TEMPLATE)
    assert raw.keys() <= {
        "input",
        "kernel",
        "bias",
        "delta",
        "stride",
        "padding",
        "dilation",
        "groups",
        "dims",
        "seed",
        "dtype",
    }
    from_template, default = load(path), build_problem({})
    assert (from_template.x == default.x).all() and (from_template.w == default.w).all()
    assert from_template.geom == default.geom
    assert run("init", path).exit_code == 2  # no overwrite without --force
    assert run("init", path, "--force").exit_code == 0
    assert run("init", "-").stdout == TEMPLATE
    # every key of the config layer is documented in the template
    for key in (*DEFAULT, "bias", "delta", "dims"):
        assert re.search(rf"^#? ?{key}:", TEMPLATE, re.M), key


@pytest.mark.parametrize("config, dims", [("conv1d", 1), ("conv3d", 3), ("seed_stride1", 2)])
def test_dims_follow_the_rank(config, dims):
    doc = json.loads(run("backward", ROOT / "configs" / f"{config}.yaml", "-f", "json").stdout)
    assert doc["geometry"]["dims"] == dims


def test_one_d_by_hand():
    # padded x = 0 1 2 3 4 5 6 7 0, kernel [1, 0, -1], stride 2: y[i] = xp[2i] − xp[2i+2]
    doc = json.loads(run("forward", ROOT / "configs" / "conv1d.yaml", "-f", "json").stdout)
    assert doc["output"] == [0 - 2, 2 - 4, 4 - 6, 6 - 0]


def test_version_and_completion():
    assert run("--version").stdout.strip() == "convgrad 0.1.0"
    assert "--install-completion" in run("--help").stdout
