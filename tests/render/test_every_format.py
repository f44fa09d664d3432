"""Every view of every shipped config, drawn from one model in every format, says
the same: the same equations (left side, terms, value), the same marked cells
(boxed, labelled with a factor, padding, past a bound) and the same sentences.

Each format's text is parsed back here with its own grammar — the terminal's
grid lines, Markdown's tables and list items, LaTeX's arrays and aligned
equations, JSON's fields — and the formats are compared with one another.
"""

import dataclasses
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from convgrad_cli.config import load
from convgrad_cli.core import explain, views
from convgrad_cli.core.views import Equations, Result, Sentence
from convgrad_cli.core.views.shape import map_view
from convgrad_cli.render import json as json_doc
from convgrad_cli.render.latex import to_latex
from convgrad_cli.render.markdown import to_markdown
from convgrad_cli.render.terminal import draw
from tests.support.render import text

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
WIDE = 1000  # no line of the terminal wraps


def every_view(config: Path):
    """(name, model, JSON document) of each view the commands draw of ``config``."""
    p = load(config)
    g = p.geom
    zeros = ",".join(["0"] * (g.ndim + 2))
    middle = ",".join(["0", "0", *(str(n // 2) for n in g.in_size)])
    fwd, bwd = explain.forward(p), explain.backward(p)
    yield "forward", views.forward_view(fwd), json_doc.forward_json(fwd)
    yield "backward", views.backward_view(bwd), json_doc.backward_json(bwd)
    for kind, cell in (("input", middle), ("output", zeros), ("weight", zeros)):
        ct = explain.CellTrace.of(kind, p, cell)
        yield f"trace {kind}", views.cell_view(ct), json_doc.trace_json([ct], False)
    ct = explain.CellTrace.of("input", p, middle)
    yield "steps", views.steps_view(ct), json_doc.trace_json([ct], False)
    cells = explain.every_input(p)
    yield "all", views.every_view(cells), json_doc.trace_json(cells, True)
    yield "coverage", map_view(g, "input"), json_doc.coverage_json(g, "input")


# -- equations ---------------------------------------------------------------------------------------

LHS = r"(?:∂L/∂)?[A-Za-zδ][\wδ₀-₉]*(?:\[[\d,]+\])?"
TERMS = r"[A-Za-z0-9₀-₉_\[\],δ·…+ -]+"


def number(v: str | None) -> float | None:
    if v is None:
        return None
    m = re.fullmatch(r"(-?[\d.]+)\\cdot 10\^\{(-?\d+)\}", v)  # LaTeX's 1.5\cdot 10^{-5}
    return float(m.group(1)) * 10 ** int(m.group(2)) if m else float(v)


def row(lhs: str, expression: str, value: str | None) -> tuple:
    """An equation compared across formats: LaTeX writes no · between factors, and
    subscripts (x₀₁) as subscripts."""
    value = value.strip() if value else None
    expression = expression.translate(SUBSCRIPTS).replace("·", "")
    return lhs.strip().translate(SUBSCRIPTS), re.sub(r"\s+", " ", expression).strip(), number(value)


SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def plain_rows(lines: list[str]) -> list[tuple]:
    found = []
    for line in lines:
        line = re.sub(r"^(so far: |Adding every window: )", "", line.strip())
        m = re.fullmatch(rf"({LHS}) = ({TERMS}?)(?:\s+= (\S+))?", line)
        if m and "=" not in m.group(2):
            found.append(row(*m.groups()))
    return found


def markdown_rows(md: str) -> list[tuple]:
    return [row(*m) for m in re.findall(rf"^- `({LHS}) = ({TERMS}?)`(?: = (\S+))?$", md, re.M)]


def unlatex(s: str) -> str:
    """A LaTeX name or expression in the slides' letters: w_2\\delta_{12} → w2δ12."""
    s = s.replace(r"\partial L/\partial ", "∂L/∂").replace(r"\ldots", "…").replace(r"\quad", "")
    s = re.sub(r"\\delta\s*", "δ", s)
    s = re.sub(r"_\{([\d,…]+)\}", lambda m: f"[{m.group(1)}]" if "," in m.group(1) else m.group(1), s)
    return re.sub(r"_(\d)", r"\1", s)


def latex_rows(tex: str) -> list[tuple]:
    found = []
    for body in re.findall(r"\\begin\{align\*\}\n(.*?)\n\\end\{align\*\}", tex, re.S):
        body = re.sub(r"\\\\ &\\quad \+", "+", body)  # a long sum's continuation lines
        body = re.sub(r"\\\\ & \\text\{.*\}$", "", body)  # the rows left out
        for line in body.split("\\\\\n"):
            for eq in re.split(r"(?<!\\) & (?=\\partial|[a-z])", line.strip()):
                m = re.fullmatch(r"(.+?) &= (.+?)(?: = (-?[\d.]+(?:\\cdot 10\^\{-?\d+\})?))?", eq.strip())
                if m and not m.group(1).startswith("\\text"):
                    found.append(row(unlatex(m.group(1)), unlatex(m.group(2)), m.group(3)))
    return found


def json_pairs(doc: dict) -> list[tuple]:
    """Every (expression, value) the document holds: it has all, the pictures may cut."""
    import numpy as np

    def flat(a):
        return [] if a is None else list(np.asarray(a, dtype=object).ravel())

    if doc["command"] == "trace":
        cells = doc.get("cells", [doc])
        return [(row("", c["expression"].partition(" = ")[2], None)[1], c.get("value")) for c in cells]
    pairs = []
    for exprs, values in (
        ("output_expressions", "output"),
        ("input_grad_expressions", "input_grad"),
        ("weight_grad_expressions", "weight_grad"),
    ):
        if doc.get(exprs) is not None:
            numbers = (
                flat(doc[values]) if doc.get("mode") == "numeric" or exprs == "output_expressions" else []
            )
            for i, e in enumerate(flat(doc[exprs])):
                v = numbers[i] if i < len(numbers) and not isinstance(numbers[i], str) else None
                pairs.append((row("", e, None)[1], v))
    return pairs


def in_json(r: tuple, pairs: list[tuple]) -> bool:
    return any(
        e == r[1] and (r[2] is None or (v is not None and abs(v - r[2]) <= 1e-5 * max(1, abs(v))))
        for e, v in pairs
    )


# -- marked cells --------------------------------------------------------------------------------------


def plain_marks(lines: list[str]) -> dict[str, int]:
    cells = [c.strip() for line in lines if line.startswith("│") for c in line.strip("│").split("│")]
    return marks_of(cells)


def markdown_marks(md: str) -> dict[str, int]:
    cells = [
        c.strip() for line in md.splitlines() if re.match(r"\| \S* \|", line) for c in line.split(" | ")[1:]
    ]
    return marks_of(cells)


def latex_marks(tex: str) -> dict[str, int]:
    cells = []
    for array in re.findall(r"\\begin\{array\}\{[rc]+\}(.*?)\\end\{array\}", tex, re.S):
        for line in re.split(r" \\\\ ", array):
            cells += line.split(" & ")
    return {
        "boxed": sum("\\boxed{" in c for c in cells),
        "labelled": sum(bool(re.search(r"\\cdot (?!10\^)", c)) for c in cells),
        "padding": sum("\\square" in c for c in cells),
        "past a bound": sum("^{\\times}" in c for c in cells),
    }


def marks_of(cells: list[str]) -> dict[str, int]:
    return {
        "boxed": sum(bool(re.search(r"\[[^\]]+\]", c)) for c in cells),
        "labelled": sum("·" in c for c in cells),
        "padding": sum("░" in c for c in cells),
        "past a bound": sum("✗" in c for c in cells),
    }


def json_marks(doc: dict) -> dict[str, int]:
    roles = [m["role"] for p in doc.get("panels", []) for m in p["marks"]]
    return {"boxed": roles.count("cell"), "past a bound": roles.count("wrong") + roles.count("uncovered")}


# -- sentences -----------------------------------------------------------------------------------------


def words(s: str) -> list[str]:
    return re.findall(r"[A-Za-z]{3,}", s)


def latex_words(tex: str) -> list[str]:
    return words(re.sub(r"\\[A-Za-z]+", " ", tex))  # the words, in text or math, without the commands


def in_order(needle: list[str], hay: list[str]) -> bool:
    it = iter(hay)
    return all(w in it for w in needle)


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_every_format_says_the_same(config):
    seen = {"rows": 0, "boxed": 0, "labelled": 0, "sentences": 0}
    for name, view, doc in every_view(config):
        plain = text(draw(view), width=WIDE)
        md, tex = to_markdown(view.blocks), to_latex(view.blocks, standalone=True)
        what = f"{config.stem}: {name}"

        rows = plain_rows(plain)
        shown = [b for b in view.of_kind(Equations, Result)]
        assert len(rows) == sum(len(b.rows) if isinstance(b, Equations) else 1 for b in shown), what
        assert markdown_rows(md) == rows, what
        assert latex_rows(tex) == rows, what
        if name != "steps":  # the running sums are the picture's own
            pairs = json_pairs(doc)
            assert all(in_json(r, pairs) for r in rows), what

        left_out = re.compile(r"(\d+) more (?:panels )?\(")
        assert left_out.findall(md) == left_out.findall(" ".join(plain)) == left_out.findall(tex), what

        marks = plain_marks(plain)
        assert markdown_marks(md) == marks == latex_marks(tex), what
        seen["rows"] += len(rows)
        seen["boxed"] += marks["boxed"]
        seen["labelled"] += marks["labelled"]
        counted = json_marks(json.loads(json.dumps(doc, default=str)))
        assert counted["boxed"] >= marks["boxed"], what

        prose = " ".join(plain)
        tex_words = latex_words(tex)
        for sentence in view.of_kind(Sentence):
            said = re.sub(r"\s+", " ", sentence.text).strip()
            assert said in prose, (what, said)
            assert said.replace("|", "\\|") in re.sub(r"\s+", " ", md.replace("**", "")), (what, said)
            assert in_order(words(said), tex_words), (what, said)
            seen["sentences"] += 1
    assert all(seen.values()), seen  # the parsers found something to compare


# -- the explore page ----------------------------------------------------------------------------------


class PageCells(HTMLParser):
    """The page's grid cells: each one's name, classes and lines of text; its words."""

    def __init__(self):
        super().__init__()
        self.cells, self.words, self._td, self._span = [], [], None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "td" and ("data-cell" in a or "data-pad" in a):
            self._td = {"name": a.get("data-cell"), "classes": (a.get("class") or "").split(), "lines": []}
        elif tag == "span" and self._td is not None:
            self._span = a.get("class")

    def handle_endtag(self, tag):
        if tag == "td" and self._td is not None:
            self.cells.append(self._td)
            self._td = None
        elif tag == "span":
            self._span = None

    def handle_data(self, data):
        if self._td is not None and self._span:
            self._td["lines"].append(data)
        elif self._td is None:
            self.words.append(data)


def page_of(config: Path, **cursor):
    from convgrad_cli.core.explore import State
    from convgrad_cli.core.explore.page import page_model
    from convgrad_cli.render.page import draw_page

    state = State.start(load(config))
    if cursor:
        state = dataclasses.replace(state, **cursor)
    m = page_model(state)
    parsed = PageCells()
    parsed.feed(draw_page(m))
    return m, parsed


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_the_explore_page_says_what_every_format_says(config):
    """The page draws its model as the terminal, Markdown and LaTeX draw it: the same
    cells with the same text, the same marks, the same sentences and result."""
    m, page = page_of(config)
    plain = text(draw(m.view), width=WIDE)
    md, tex = to_markdown(m.view.blocks), to_latex(m.view.blocks, standalone=True)
    drawn = ["<br>".join(c["lines"]) for c in page.cells]
    marks = marks_of(drawn)
    assert marks == markdown_marks(md) == latex_marks(tex), config.stem
    cut = any("⋯" in line or "⋮" in line for line in plain)  # the terminal cuts grids over 12 × 10
    assert cut or marks == plain_marks(plain), config.stem
    assert marks["boxed"] == 2 and marks["labelled"] > 0  # the cursor's cell in x and ∂L/∂x, and its terms
    # each cell as Markdown writes it, in the same order (Markdown's row and column indices aside)
    md_cells = [
        c.strip() for line in md.splitlines() if re.match(r"\| \d+ \|", line) for c in line.split(" | ")[1:]
    ]
    assert [d.replace("|", "\\|") for d in drawn] == [c.removesuffix(" |") for c in md_cells], config.stem
    # the names: every cell of x, W, y, δ and ∂L/∂x, as trace names them
    named = [c["name"] for c in page.cells if c["name"] is not None]
    expected = [str(n) for a in ("input", "kernel", "output", "delta") for n in m.names[a].ravel()]
    assert named == expected + [f"∂L/∂{n}" for n in m.names["input"].ravel()]
    prose = re.sub(r"\s+", " ", " ".join(page.words))
    for sentence in m.view.of_kind(Sentence):
        assert sentence.text in prose
    assert plain_rows(plain) == [row(m.expression.lhs, m.expression.expression, m.expression.value)]
    assert f"{m.expression.lhs} = {m.expression.expression}" in prose
    assert all(e in prose for e in m.legend.entries)
