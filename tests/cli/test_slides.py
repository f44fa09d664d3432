"""Slide-ready output: LaTeX that compiles for every view and size, Markdown with
real headers, SVG that librsvg draws as a browser does, PNG/PDF, the animated
walk-through."""

import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.text import Text
from typer.testing import CliRunner

from convgrad_cli.cli import app
from convgrad_cli.config import load
from convgrad_cli.render import export

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


def _tex_ready() -> bool:
    """pdflatex, and the packages the fragments name (xcolor comes apart from the base)."""
    if shutil.which("pdflatex") is None or shutil.which("kpsewhich") is None:
        return False
    wanted = ["amsmath.sty", "amssymb.sty", "xcolor.sty", "graphicx.sty", "geometry.sty"]
    found = subprocess.run(["kpsewhich", *wanted], capture_output=True, text=True).stdout.split()
    return len(found) == len(wanted)


TEX = _tex_ready()
RSVG = shutil.which("rsvg-convert")
SVG_NS = "{http://www.w3.org/2000/svg}"


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


RANDOM = ["--x", "random:20x20", "-k", "random:3x3"]


def views(config: Path | None) -> list[list]:
    """Every view of a problem (a config, or a random 20×20 one): forward, backward,
    each kind of trace, the walk-through, the coverage map."""
    from convgrad_cli.config import build_problem

    problem = (
        load(config)
        if config
        else build_problem(
            {"input": {"shape": [20, 20], "fill": "random"}, "kernel": {"shape": [3, 3], "fill": "random"}}
        )
    )
    source = [config] if config else RANDOM
    g = problem.geom
    zeros = ",".join(["0"] * (g.ndim + 2))
    middle = ",".join(["0", "0", *(str(n // 2) for n in g.in_size)])
    coverage = (
        ["shape", config] if config else ["shape", "--in", "20", "--kernel", "3", "--stride", "1", "--map"]
    )
    return [
        ["forward", *source],
        ["backward", *source],
        ["trace", *source, "--input", middle],
        ["trace", *source, "--input", middle, "--steps"],
        ["trace", *source, "--all"],
        ["trace", *source, "--output", zeros],
        ["trace", *source, "--weight", zeros],
        coverage,
    ]


def latex(*args) -> str:
    result = run(*args, "-f", "latex")
    assert result.exit_code == 0, (args, result.stderr)
    return result.stdout


def compile_tex(tmp_path: Path, name: str, tex: str) -> str:
    (tmp_path / f"{name}.tex").write_text(tex)
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = (tmp_path / f"{name}.log").read_text(errors="replace")
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert done.returncode == 0 and not errors, "\n".join(errors) or done.stdout[-2000:]
    return log


def overfull(log: str) -> list[float]:
    """How far past the text width (in points) each overfull box sticks out."""
    return [float(p) for p in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]


@pytest.mark.slow
@pytest.mark.skipif(not TEX, reason="pdflatex with amsmath, xcolor, graphicx and geometry is not installed")
@pytest.mark.parametrize("config", [*CONFIGS, None], ids=[c.stem for c in CONFIGS] + ["random20x20"])
def test_every_view_compiles(tmp_path, config):
    """Each view's fragment, \\input into a document with only the packages its first
    line names, compiles without an error and stays inside the page; so does
    the backward view's --standalone document as it is."""
    fragments = [latex(*view) for view in views(config)]
    packages = re.match(
        r"% convgrad: \\input this into a document that loads the packages \{([^}]*)\}", fragments[0]
    )
    assert packages, fragments[0][:200]
    for i, text in enumerate(fragments):
        (tmp_path / f"view{i}.tex").write_text(text)
    document = (
        "\\documentclass{article}\n\\usepackage[margin=1.5cm]{geometry}\n"
        f"\\usepackage{{{packages.group(1)}}}\n\\allowdisplaybreaks\n\\begin{{document}}\n"
        + "".join(f"\\input{{view{i}}}\n\\clearpage\n" for i in range(len(fragments)))
        + "\\end{document}\n"
    )
    log = compile_tex(tmp_path, "views", document)
    assert max(overfull(log), default=0) < 1, overfull(log)

    standalone = latex("backward", *([config] if config else RANDOM), "--standalone")
    assert standalone.startswith("\\documentclass") and standalone.rstrip().endswith("\\end{document}")
    log = compile_tex(tmp_path, "standalone", standalone)
    assert max(overfull(log), default=0) < 1, overfull(log)


def test_large_grids_are_cut_like_the_terminal():
    tex = latex("backward", *RANDOM)  # 20×20 input, 3×3 kernel: 18×18 δ, 22×22 padded δ
    arrays = re.findall(r"\\begin\{array\}\{([^}]*)\}", tex)
    assert arrays and max(len(a) for a in arrays) <= 10  # no matrix wider than a slide's columns
    assert r"\cdots" in tex and r"\vdots" in tex and r"\ddots" in tex


def test_pipeline_is_one_equation_with_the_matrices_side_by_side():
    tex = latex("backward", ROOT / "configs/stride2.yaml")
    equation = re.search(r"(?<!\\)\\\[(.*?)\\\]", tex, re.S)
    assert equation, tex
    body = equation.group(1)
    braces = re.findall(r"\}_\{(.*?)\}(?= \\star| =|$)", body)
    assert r"_{\operatorname{pad}(\operatorname{dilate}(\delta))} \star" in body
    assert r"_{\operatorname{rot180}(W)} =" in body and body.rstrip().endswith(r"_{\partial L/\partial x}$}")
    assert len(braces) >= 2
    # stride 2's ∂L/∂x is the slides' [[1,2,1,2],[3,4,3,4],…]
    last = re.findall(r"\\begin\{array\}\{c+\}(.*?)\\end\{array\}", body, re.S)[-1]
    assert array_values(last) == [["1", "2", "1", "2"], ["3", "4", "3", "4"]] * 2


def array_values(array: str) -> list[list[str]]:
    """Each cell's first line, row by row, from a LaTeX grid of ``\\cgc{fill}{$line$}{$under$}``."""
    rows = re.split(r" \\\\ ", array)
    return [re.findall(r"\\cgc\{[^}]*\}\{\$(.*?)\$\}", row) for row in rows]


def test_every_cell_of_a_grid_is_one_box_of_one_size():
    """Each grid measures its every line before it is drawn (``\\cgm``), and each cell is
    one ``\\cgc`` box of that one width and height: the 5×5 textbook trace's nine windows
    (3×3 cells each), δ (5×5), W (3×3) and the padded δ (7×7)."""
    tex = latex("trace", "--x", "arange:5x5", "-k", "arange:3x3", "--padding", "1", "--input", "1,1")
    grids = re.findall(
        r"\\setlength\{\\cgW\}\{1em\}(.*?)\\left\[\\begin\{array\}\{(c+)\}(.*?)\\end\{array\}", tex, re.S
    )
    shapes = [(len(re.split(r" \\\\ ", body)), len(spec)) for _, spec, body in grids]
    assert shapes == [(3, 3)] * 9 + [(5, 5), (3, 3), (7, 7)]
    for measured, _, body in grids:
        drawn = re.findall(r"\\cgc\{[^}]*\}\{(\$.*?\$)\}", body)
        assert len(drawn) == body.count("\\cgc{") and all(f"\\cgm{{{line}}}" in measured for line in drawn)
        assert "\\colorbox" not in body and "\\genfrac" not in body


def test_trace_picture_colours_each_window_as_the_legend_does():
    tex = latex("trace", "--input", "f")
    # f (row 1, col 1) sits in the windows of y1, y2, y4 and y5: four panels of the input,
    # each with the window's four cells tinted in that window's colour, f boxed
    first = tex.split(r"\noindent\textbf{$\delta$ entries")[0]
    panels = first.split(r"\begin{tabular}")[1:]
    assert len(panels) == 4
    panels[-1] = panels[-1].split("windows:")[0]
    for colour, panel in enumerate(panels):
        assert panel.count(f"\\cgc{{cgw{colour}!") == 4, colour
        assert panel.split(r"\begin{array}")[1].count(r"\boxed{f}") == 1  # drawn once (measured before)
        assert all(f"cgw{other}!" not in panel for other in range(7) if other != colour)
    legend = re.findall(r"\\colorbox\{cgw(\d)!30\}\{\$y_(\d)\$\}", tex)
    assert legend[:4] == [("0", "1"), ("1", "2"), ("2", "4"), ("3", "5")]
    assert r"\partial L/\partial f &= w_4\delta_1 + w_3\delta_2 + w_2\delta_4 + w_1\delta_5 = 10" in tex
    # the legend's examples as the grid draws them: f boxed, its weight a factor
    assert r"legend: $\boxed{f}\cdot w_4$ the cell followed; $a\cdot w_1$ a cell of a window" in tex


def boxes(png: Path) -> list[tuple[int, int, int, int]]:
    """The bounding boxes (x, y, width, height) of the page's marks that are not white
    and fill their box: the cells' frames, each with its text inside."""
    from collections import deque

    from PIL import Image

    with Image.open(png) as image:
        grey = image.convert("L")
    w, h = grey.size
    px, seen, found = grey.load(), bytearray(w * h), []
    for y in range(h):
        for x in range(w):
            if seen[y * w + x] or px[x, y] > 250:
                continue
            queue, seen[y * w + x] = deque([(x, y)]), 1
            x0, x1, y0, y1, n = x, x, y, y, 0
            while queue:
                cx, cy = queue.popleft()
                n += 1
                x0, x1, y0, y1 = min(x0, cx), max(x1, cx), min(y0, cy), max(y1, cy)
                for nx, ny in ((cx + 1, cy), (cx - 1, cy), (cx, cy + 1), (cx, cy - 1)):
                    if 0 <= nx < w and 0 <= ny < h and not seen[ny * w + nx] and px[nx, ny] <= 250:
                        seen[ny * w + nx] = 1
                        queue.append((nx, ny))
            box = (x0, y0, x1 - x0 + 1, y1 - y0 + 1)
            if box[2] >= 15 and box[3] >= 15 and n >= 0.8 * box[2] * box[3]:
                found.append(box)
    return found


def grids(found: list[tuple[int, int, int, int]], gap: int = 8) -> list[list[tuple[int, int, int, int]]]:
    """Boxes gathered into grids: two boxes less than ``gap`` pixels apart are of one grid."""
    group = list(range(len(found)))

    def root(i):
        while group[i] != i:
            i = group[i]
        return i

    for i, (x, y, w, h) in enumerate(found):
        for j, (u, v, p, q) in enumerate(found[:i]):
            if max(u - (x + w), x - (u + p)) < gap and max(v - (y + h), y - (v + q)) < gap:
                group[root(i)] = root(j)
    out: dict[int, list] = {}
    for i, box in enumerate(found):
        out.setdefault(root(i), []).append(box)
    return list(out.values())


@pytest.mark.slow
@pytest.mark.skipif(
    not TEX or shutil.which("pdftoppm") is None, reason="pdflatex or pdftoppm is not installed"
)
def test_every_cell_of_a_compiled_grid_is_the_same_size(tmp_path):
    """The 5×5 textbook trace compiled and drawn at 100 dpi: nine windows of 3×3 cells, δ of
    5×5, W of 3×3 and the padded δ of 7×7, each cell a framed box apart from its neighbours
    and of its grid's one size (to a pixel of rounding)."""
    pytest.importorskip("PIL")
    tex = latex(
        "trace", "--x", "arange:5x5", "-k", "arange:3x3", "--padding", "1", "--input", "1,1", "--standalone"
    )
    compile_tex(tmp_path, "textbook", tex)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "100", "-f", "1", "-l", "1", "textbook.pdf", "page"],
        cwd=tmp_path,
        check=True,
    )
    found = grids(boxes(next(tmp_path.glob("page*.png"))))
    assert sorted(len(g) for g in found) == sorted([9] * 9 + [25, 9, 49])
    for grid in found:
        widths, heights = {w for _, _, w, _ in grid}, {h for _, _, _, h in grid}
        assert max(widths) - min(widths) <= 1 and max(heights) - min(heights) <= 1, (widths, heights)
        assert min(heights) >= 20  # a line of 10 pt type and its frame: readable when projected


def test_latex_typography_is_maths():
    tex = latex("backward", ROOT / "configs/stride2.yaml")
    assert r"\textbf{$\partial$L" not in tex and r"$\Sigma$$\delta$" not in tex
    assert r"$\partial L/\partial y$" in tex and r"$\Sigma \delta$" in tex


def test_markdown_tables_have_headers_and_the_marks_in_text():
    md = run("trace", "--input", "f", "-f", "markdown").stdout
    tables = re.findall(r"((?:^\|.*\|\n)+)", md, re.M)
    assert tables
    for table in tables:
        header, rule, *rows = table.splitlines()
        names = [c.strip() for c in header.strip("|").split("|")]
        assert names[1:] == [str(i) for i in range(len(names) - 1)], header  # column indices, none empty
        assert set(rule.replace("|", "")) <= set("-:") and rows
        assert [r.split("|")[1].strip() for r in rows] == [str(i) for i in range(len(rows))]
    # the window of y1 in text: f boxed as [f], its neighbours with the weight they meet
    assert "| 1 | e·w3<br>5 | [f]·w4<br>6 | g<br>7 | h<br>8 |" in md
    assert "- `∂L/∂f = w4·δ1 + w3·δ2 + w2·δ4 + w1·δ5` = 10" in md


# -- SVG ------------------------------------------------------------------------------------------


def svg_lines(path: Path) -> list[str]:
    """The SVG's text placed back on its grid of columns, line by line."""
    root = ET.parse(path).getroot()
    rows: dict[float, dict[int, str]] = {}
    for t in root.iter(f"{SVG_NS}text"):
        if t.text is None:
            continue
        column = round(float(t.get("x")) / export.CHAR_WIDTH)
        rows.setdefault(float(t.get("y")), {})[column] = t.text.replace("\xa0", " ")
    lines = []
    for _, cells in sorted(rows.items()):
        line = ""
        for column, text in sorted(cells.items()):
            line = line.ljust(column) + text
        lines.append(line.rstrip())
    return lines


def test_svg_has_the_terminals_text_and_is_cropped_to_it(tmp_path):
    out, plain = tmp_path / "a.svg", tmp_path / "a.txt"
    assert run("trace", "--input", "a", "--export", out).exit_code == 0
    assert run("trace", "--input", "a", "--export", plain).exit_code == 0
    text = [line.rstrip() for line in plain.read_text().rstrip("\n").splitlines()]
    # plain text leaves out the legend of what only colour and underlining draw
    drawn = svg_lines(out)
    assert [line for line in drawn if not re.search(r"underlined:|colour = window", line)] == text
    assert len(drawn) == len(text) + 2
    root = ET.parse(out).getroot()
    assert root.get("{http://www.w3.org/XML/1998/namespace}space") == "preserve"
    columns = max(len(line) for line in text)
    assert columns < 80  # as wide as the content, not as the terminal
    assert float(root.get("width")) == pytest.approx(columns * export.CHAR_WIDTH + 2 * export.PAD, abs=0.1)
    source = out.read_text()
    assert (
        "http" not in source.replace("http://www.w3.org", "") and "@font-face" not in source
    )  # no network font
    assert "#ff5f57" not in source  # no window chrome unless asked


def test_svg_themes_width_and_chrome(tmp_path):
    light, dark, chrome, narrow = (tmp_path / f"{n}.svg" for n in ("light", "dark", "chrome", "narrow"))
    assert run("backward", "--export", light).exit_code == 0
    assert run("backward", "--export", dark, "--theme", "dark").exit_code == 0
    assert run("backward", "--export", chrome, "--chrome").exit_code == 0
    assert run("trace", "--input", "f", "--export", narrow, "--width", "40").exit_code == 0
    assert 'fill="#ffffff"' in light.read_text() and 'fill="#292929"' in dark.read_text()
    assert "#ff5f57" in chrome.read_text()
    assert max(len(line) for line in svg_lines(narrow)) <= 40
    bad = run("backward", "--export", tmp_path / "x.svg", "--theme", "sepia")
    assert bad.exit_code == 2 and "'--theme': 'sepia' is not one of 'light', 'dark'" in bad.stderr
    bad = run("backward", "--export", tmp_path / "x.svg", "--width", "5")
    assert bad.exit_code == 2 and "--width" in bad.stderr


def ink(png: Path, top: float = 0, bottom: float | None = None) -> tuple[int, int] | None:
    """The leftmost and rightmost dark pixel of a band of rows."""
    from PIL import Image

    with Image.open(png) as image:
        grey = image.convert("L")
    w, h = grey.size
    pixels = grey.load()
    rows = range(max(0, int(top)), min(h, int(bottom if bottom is not None else h)))
    xs = [x for x in range(w) for y in rows if pixels[x, y] < 160]
    return (min(xs), max(xs)) if xs else None


def rasterise(svg: Path) -> Path:
    png = svg.with_suffix(".png")
    subprocess.run(["rsvg-convert", str(svg), "-o", str(png)], check=True)
    return png


@pytest.mark.slow
@pytest.mark.skipif(RSVG is None, reason="rsvg-convert is not installed")
def test_librsvg_keeps_leading_spaces(tmp_path):
    """librsvg drops the spaces that open a text run unless the SVG says to keep
    them: ``c`` must stay five columns right of ``a``."""
    pytest.importorskip("PIL")
    out = tmp_path / "spaces.svg"
    out.write_text(export.svg(Text.assemble(("ab", "bold"), ("   c", "#0072B2")), 80))
    left, right = ink(rasterise(out))
    assert (right - left) / export.CHAR_WIDTH == pytest.approx(5.6, abs=0.5)  # 2.7 when the spaces are lost


@pytest.mark.slow
@pytest.mark.skipif(RSVG is None, reason="rsvg-convert is not installed")
@pytest.mark.parametrize("args", [["trace", "--input", "f"], ["backward", ROOT / "configs/uneven.yaml"]])
def test_librsvg_draws_every_line_where_the_terminal_does(tmp_path, args):
    """Rasterised by librsvg, each line's ink starts and ends in the columns where
    the terminal's text has its first and last character."""
    pytest.importorskip("PIL")
    svg, txt = tmp_path / "p.svg", tmp_path / "p.txt"
    assert run(*args, "--export", svg).exit_code == 0 and run(*args, "--export", txt).exit_code == 0
    png = rasterise(svg)
    from PIL import Image

    with Image.open(png) as image:
        assert abs(image.size[0] - float(ET.parse(svg).getroot().get("width"))) < 1
    cw, lh = export.CHAR_WIDTH, export.LINE_HEIGHT
    checked = 0
    for i, line in enumerate(txt.read_text().rstrip("\n").splitlines()):
        if not line.strip() or set(line.strip()) <= set("─│┌┐└┘├┤┬┴┼ ") or "told apart by name" in line:
            continue  # box-drawing rows join their neighbours' ink; names stand for colours in text only
        # a comma or full stop may have no ink in the band's middle of the line (by font): the ink
        # ends after the glyph before it at least, and after the comma at most
        first, last = len(line) - len(line.lstrip()), len(line.rstrip().rstrip(",.")) - 1
        end = len(line.rstrip()) - 1
        band = ink(png, export.PAD + i * lh + 0.25 * lh, export.PAD + i * lh + 0.75 * lh)
        assert band is not None, line
        assert export.PAD + (first - 0.1) * cw <= band[0] <= export.PAD + (first + 0.5) * cw, (line, band)
        assert export.PAD + (last + 0.4) * cw <= band[1] <= export.PAD + (end + 1.1) * cw, (
            line,
            band,
        )  # bold: wider
        checked += 1
    assert checked > 10


# -- PNG and PDF ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_png_and_pdf_export(tmp_path):
    pytest.importorskip("matplotlib")
    from PIL import Image

    png, pdf, txt = tmp_path / "f.png", tmp_path / "f.pdf", tmp_path / "f.txt"
    assert run("trace", "--input", "f", "--export", png).exit_code == 0
    assert run("trace", "--input", "f", "--export", pdf).exit_code == 0
    assert run("trace", "--input", "f", "--export", txt).exit_code == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    image = Image.open(png).convert("RGB")
    # text says how the windows are told apart by name; the picture draws their colours and the underline
    text = [line for line in txt.read_text().rstrip("\n").splitlines() if "told apart by name" not in line]
    columns = max(len(line.rstrip()) for line in text)
    lines = len(text) + 2
    assert image.size[0] == pytest.approx(
        (columns * export.ASPECT * 10 + 2 * export.PAD) * 2, abs=2
    )  # 144 dpi
    assert image.size[1] == pytest.approx((lines * 1.17 * 10 + 2 * export.PAD) * 2, abs=2)
    colours = {c for _, c in image.getcolors(1 << 20)}
    # the four windows' colours fill f's cell in each picture (orange, sky blue, green, the darker yellow)
    for hexa in ("#c47f00", "#1f86c4", "#009e73", "#9a8a00"):
        assert tuple(int(hexa[i : i + 2], 16) for i in (1, 3, 5)) in colours, hexa


def test_png_without_matplotlib_says_what_to_install(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = run("backward", "--export", tmp_path / "b.png")
    assert result.exit_code == 2
    assert "needs matplotlib: pip install 'convgrad[images]'" in result.stderr
    assert not (tmp_path / "b.png").exists()


# -- the walk-through, animated -------------------------------------------------------------------


def test_steps_export_is_an_animation_of_the_running_sum(tmp_path):
    out = tmp_path / "f.svg"
    assert run("trace", "--input", "f", "--steps", "--export", out).exit_code == 0
    root = ET.parse(out).getroot()
    frames = [g for g in root if g.tag == f"{SVG_NS}g"]
    assert len(frames) == 5  # four windows, then the sum
    opacity = [g.get("opacity") for g in frames]
    assert opacity == ["1", "0", "0", "0", "0"]  # a viewer without animation shows the first
    starts = []
    for g in frames:
        animate = g.find(f"{SVG_NS}animate")
        assert animate is not None and animate.get("repeatCount") == "indefinite"
        values, times = (
            animate.get("values").split(";"),
            [float(t) for t in animate.get("keyTimes").split(";")],
        )
        starts.append(times[values.index("1", 1)] if values[0] == "0" else 0.0)
    assert starts == sorted(starts) and len(set(starts)) == 5  # shown one after the other

    def text(g):
        return "".join(g.itertext()).replace("\xa0", " ")

    # the seed, δ = 1: f receives w4, w3, w2, w1 in turn; the sum so far is 4, 7, 9, 10
    sums = [re.search(r"so far: ∂L/∂f = .*? = (\d+)", text(g)).group(1) for g in frames[:4]]
    assert sums == ["4", "7", "9", "10"]
    assert "∂L/∂f = w4·δ1 + w3·δ2 + w2·δ4 + w1·δ5 = 10" in text(frames[4])


def test_html_export_is_light_by_default(tmp_path):
    out = tmp_path / "b.html"
    assert run("backward", "--export", out).exit_code == 0
    source = out.read_text()
    assert "#ffffff" in source.lower() and "http" not in source.replace("http://www.w3.org", "")
    assert isinstance(io.StringIO(source).read(), str)
