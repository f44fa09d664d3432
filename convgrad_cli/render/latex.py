"""LaTeX for slides: every view, at any size, compiles with amsmath, amssymb,
xcolor and graphicx.

Grids are cut around the cell of interest as in the terminal (``\\cdots``,
``\\vdots``); marked cells take their window's colour (the terminal's, a light
tint behind black text) and their text mark (``\\boxed{b}``, ``b\\cdot w_2``);
the pipeline is one equation, ``pad(dilate(δ)) ⋆ rot180(W) = ∂L/∂x``, its
matrices side by side. ``standalone`` wraps all in a document that compiles as is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import singledispatch

from convgrad_cli.core.panels import Panel
from convgrad_cli.core.views import blocks as model
from convgrad_cli.core.views import cells

from .style import HEAT, PALETTE

PACKAGES = r"\usepackage{amsmath,amssymb,xcolor,graphicx}"


#: Scales its argument down to the line's width when, and only when, it is wider.
FIT = r"\providecommand{\cgfit}[1]{\sbox0{#1}\ifdim\wd0>\linewidth\resizebox{\linewidth}{!}{\usebox0}\else\usebox0\fi}"


#: A grid's cells, each one framed box of the same size: ``\cgm`` widens ``\cgW`` to its
#: argument (every line of every cell is measured before the grid), ``\cgc{fill}{line}{under}``
#: draws a cell, ``under`` (a value, a factor) in a smaller size on a line of its own, and a
#: strut a little taller than the box, so that rows keep a gap as columns do.
CELLS = (
    r"\ifdefined\cgW\else\newlength\cgW\newlength\cgH\newlength\cgT\fi",
    r"\providecommand{\cgm}[1]{\settowidth{\cgT}{#1}\ifdim\cgT>\cgW\setlength{\cgW}{\cgT}\fi}",
    r"\providecommand{\cgc}[3]{\fcolorbox{gray!45}{#1}{\parbox[c][\cgH][c]{\cgW}{\centering#2"
    r"\ifx\relax#3\relax\else\\[-1pt]{\scriptsize#3}\fi}}"
    r"\rule[-\dimexpr0.5\cgH+0.5pt\relax]{0pt}{\dimexpr\cgH+5.4pt\relax}}",
)
#: The fill of a cell no mark colours: a light grey, so that every cell shows its box.
PLAIN = "gray!8"


def colours() -> list[str]:
    """The palette's definitions, the macro that keeps a box inside the line, and the cells'."""
    return (
        [rf"\definecolor{{cgw{i}}}{{HTML}}{{{c.lstrip('#')}}}" for i, c in enumerate(PALETTE)]
        + [rf"\definecolor{{cgheat{i + 1}}}{{HTML}}{{{c.lstrip('#')}}}" for i, c in enumerate(HEAT)]
        + [
            FIT,
            *CELLS,
        ]
    )


def to_latex(blocks: Sequence[model.Block], standalone: bool = False) -> str:
    """The blocks of a view as LaTeX: a fragment to ``\\input``, or a whole document."""
    body: list[str] = []
    boxes: list[str] = []  # a run of unmarked one-panel sections, flowing side by side

    def flush() -> None:
        if boxes:
            body.append(_flow(boxes, "2em") + r"\medskip")
            boxes.clear()

    for b in blocks:
        if isinstance(b, model.Panels) and _flows(b):
            boxes.append(_box(b.panels[0], b.title))
            continue
        flush()
        if isinstance(b, model.Heading):
            text = f"{b.title}: {b.geometry}"
            body.append(rf"\section*{{{inline(text)}}}" if standalone else f"% {text}")
        else:
            body.append(block(b))
    flush()
    text = "\n\n".join(t for t in body if t) + "\n"
    if standalone:
        return (
            "\\documentclass{article}\n\\usepackage[margin=1.5cm]{geometry}\n" + PACKAGES + "\n\\allowdisplaybreaks\n"
            + "\n".join(colours()) + "\n\\begin{document}\n\\setlength{\\arraycolsep}{3pt}\n" + text + "\\end{document}\n"
        )  # fmt: skip
    head = [
        "% convgrad: \\input this into a document that loads the packages "
        + PACKAGES.replace("\\usepackage", ""),
        "% (and \\allowdisplaybreaks for long lists of equations); its colours and one macro:",
        *colours(),
    ]
    return "\n".join(head) + "\n\n" + text


@singledispatch
def block(b: model.Block) -> str:
    """One block of the model, drawn; each kind registers its own."""
    raise TypeError(f"no drawing of {type(b).__name__}")


def _flows(b: model.Panels) -> bool:
    """One unmarked panel (forward's, backward's arrays): it flows beside the next."""
    return len(b.panels) == 1 and not b.panels[0].marks and not b.note


# -- text and names ------------------------------------------------------------------------------

_TEXT_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                 "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}  # fmt: skip
_MATH = re.compile(
    r"∂L/∂[\wδ]+(?:,[₀-₉ₒ]+)*(?:\[[\d,]+\])?|[δwxy]\[[\d,…]+\]|[δwxy][₀-₉ₒ]+(?:,[₀-₉ₒ]+)*|δ\d*|[wy]\d+|Σₒ?|ₒ|⋆|·|×|−|→|≤|√|⋯|…|✗|░|∅|rot180"
)
_SYMBOLS = {"Σₒ": r"\textstyle\sum_o", "ₒ": r"{}_o", "Σ": r"\Sigma", "⋆": r"\star", "·": r"\cdot", "×": r"\times", "−": "-", "→": r"\to", "≤": r"\le",
            "√": r"\surd", "⋯": r"\cdots", "…": r"\ldots", "✗": r"\times", "░": r"\square", "∅": r"\emptyset",
            "rot180": r"\operatorname{rot180}"}  # fmt: skip


def inline(text: str) -> str:
    """Words as text, symbols and names as math: ``δ = ∂L/∂y`` → ``$\\delta$ = $\\partial L/\\partial y$``."""
    out, last = [], 0
    for m in _MATH.finditer(text):
        out.append(_escape(text[last : m.start()]))
        token = m.group()
        math = _SYMBOLS.get(token) or (_lhs(token) if token.startswith("∂L/∂") else _name(token))
        out.append("$" + math + "$")
        last = m.end()
    out.append(_escape(text[last:]))
    return re.sub(r"\$\s*\$", " ", "".join(out)).replace("$ $", r"\ ")


_PUNCTUATION = {"—": "---", "–": "--", "‘": "`", "’": "'", "“": "``", "”": "''", "⟨": r"$\langle$",
                "⟩": r"$\rangle$", "≠": r"$\neq$", "≥": r"$\ge$", "°": r"$^\circ$"}  # fmt: skip


def _escape(text: str) -> str:
    text = "".join(_TEXT_ESCAPES.get(ch, ch) for ch in text)
    text = text.replace("--", "-{}-")  # TeX would join ``--slice``'s hyphens into a dash
    text = "".join(_PUNCTUATION.get(ch, ch) for ch in text)
    return "".join(ch if ord(ch) < 128 else "?" for ch in text)  # pdflatex reads no other Unicode


def _name(name: str) -> str:
    """``w2`` → ``w_2``, ``δ12`` → ``\\delta_{12}``, ``x[0,1]`` → ``x_{0,1}``, ``∂L/∂b`` → a fraction."""
    frac = re.fullmatch(r"∂L/∂(.+)", name)
    if frac:
        return rf"\frac{{\partial L}}{{\partial {_name(frac.group(1))}}}"
    sub = re.fullmatch(r"(\D)([₀-₉ₒ,]+)", name)
    if sub:  # x₁₂ → x_{12}; wₒ₂₂₂ → w_{o222}
        return f"{_name(sub.group(1))}_{{{sub.group(2).translate(_SUBSCRIPTS)}}}"
    name = name.replace("δ", r"\delta ").replace("…", r"\ldots ")
    indexed = re.fullmatch(r"(.*?)\[([\d,\\ldots ]+)\]", name)
    if indexed:
        return f"{indexed.group(1).strip()}_{{{indexed.group(2).strip()}}}"
    sub = re.fullmatch(r"(.*?[^\d\s])\s*(\d+)", name)
    if sub:
        digits = sub.group(2)
        return f"{sub.group(1).strip()}_{digits if len(digits) == 1 else '{' + digits + '}'}"
    name = name.strip()
    return rf"\mathrm{{{name}}}" if re.fullmatch(r"[A-Za-z]{2,}", name) else name


_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉ₒ", "0123456789o")
latex_name = _name


def latex_expression(expr: str) -> str:
    """``w2·δ1 + w1·δ2`` → ``w_2\\delta_1 + w_1\\delta_2``."""
    return " + ".join("".join(_name(f) for f in term.split("·")) for term in expr.split(" + "))


def _factor(text: str) -> str:
    """One factor of a cell's text: a name, a number, padding, with its marks."""
    boxed = text.startswith("[") and text.endswith("]")
    if boxed:
        text = text[1:-1]
    wrong = text.endswith("✗")
    text = text.rstrip("✗")
    if text == "░":
        out = r"\square"
    elif re.fullmatch(r"-?[\d.]+(?:e[-+]?\d+)?", text):
        out = text if "e" not in text else re.sub(r"e([-+]?)0*(\d+)", r"\\cdot 10^{\1\2}", text)
    else:
        out = _name(text)
    if wrong:
        out = rf"{{{out}}}^{{\times}}"
    return rf"\boxed{{{out}}}" if boxed else out


def _line(text: str) -> str:
    return r"\cdot ".join(_factor(f) for f in text.split("·") if f)


def _cell(panel: Panel, r: int, c: int, names: bool) -> tuple[str, str, str]:
    """A cell as its fill and its two lines (the second may be empty), each in math."""
    drawn = cells.cell(panel, r, c, names)
    head, *under = [_line(line) for line in drawn.lines]
    second = under[0] if under else ""
    mark = drawn.mark
    if mark is not None and panel.array == "padded_delta":
        head = rf"\underline{{{head}}}"
    fill, grey = PLAIN, drawn.structural if mark is None else mark.role == "tap"
    if mark is not None and mark.role in ("wrong", "uncovered"):
        head, second = rf"\textcolor{{red}}{{{head}}}", second and rf"\textcolor{{red}}{{{second}}}"
    elif mark is not None and mark.role == "heat" and mark.heat:
        fill = f"cgheat{mark.heat}"
        if mark.heat > 3:  # white on the dark shades, as in the terminal
            head, second = rf"\textcolor{{white}}{{{head}}}", second and rf"\textcolor{{white}}{{{second}}}"
    elif mark is not None and mark.window is not None and mark.role != "tap":
        fill = f"cgw{mark.window % len(PALETTE)}!{55 if mark.role == 'cell' else 30}"
    if grey:
        head, second = rf"\textcolor{{gray}}{{{head}}}", second and rf"\textcolor{{gray}}{{{second}}}"
    return fill, f"${head}$", f"${second}$" if second else ""


def _cgc(fill: str, head: str, second: str) -> str:
    return rf"\cgc{{{fill}}}{{{head}}}{{{second}}}"


def matrix(panel: Panel) -> str:
    """A panel as a bracketed array of cells of one size (the widest line's, measured by
    LaTeX), cut as in the terminal."""
    names = cells.show_names(panel)
    rows, cols = cells.shown(panel)
    drawn = {(r, c): _cell(panel, r, c, names) for r in rows for c in cols if r is not None and c is not None}
    lines = []
    for r in rows:
        if r is None:
            lines.append(" & ".join(r"\ddots" if c is None else r"\vdots" for c in cols))
        else:
            lines.append(" & ".join(r"\cdots" if c is None else _cgc(*drawn[r, c]) for c in cols))
    measured = "".join(
        rf"\cgm{{{head}}}" + (rf"\cgm{{\scriptsize{second}}}" if second else "")
        for _, head, second in drawn.values()
    )
    two = any(second for _, _, second in drawn.values())
    size = rf"\setlength{{\cgW}}{{1em}}{measured}\setlength{{\cgH}}{{{'2.1em' if two else '1.25em'}}}"
    spec = "c" * len(cols)
    return (
        rf"{{\setlength{{\fboxsep}}{{1.5pt}}\setlength{{\arraycolsep}}{{1.5pt}}{size}"
        rf"\left[\begin{{array}}{{{spec}}}" + " \\\\ ".join(lines) + r"\end{array}\right]}"
    )


def _box(p: Panel, title: str = "") -> str:
    """A panel under its title, as one box that flows with others."""
    heading = " ".join(t for t in (title, p.title) if t)
    top = rf"\textbf{{\small {inline(heading)}}}\\[3pt]" if heading else ""
    return rf"\cgfit{{\begin{{tabular}}[t]{{@{{}}c@{{}}}}{top}${matrix(p)}$\end{{tabular}}}}"


@block.register
def _panels(b: model.Panels) -> str:
    if not b.panels:
        return ""
    parts = [_box(p) for p in b.panels]
    title = rf"\noindent\textbf{{{inline(b.title)}}}\par\nopagebreak\smallskip" + "\n" if b.title else ""
    note = rf"\par{{\footnotesize {inline(b.note)}}}" if b.note else ""
    return title + _flow(parts, "1.5em") + note + r"\par\medskip"


def _flow(boxes: list[str], gap: str) -> str:
    """Boxes side by side, wrapping onto the next line when the next does not fit
    (ragged right: a line of fewer boxes is not stretched)."""
    return r"{\raggedright\noindent " + rf"\hspace{{{gap}}}".join(boxes) + r"\par}"


@block.register
def _pipeline(b: model.Pipeline) -> str:
    """One slice each: the titles, then the equation that shows the three matrices;
    else the sections, the equation of their first slices, and ∂L/∂x after what is said."""
    parts = (b.padded_delta, b.flipped_kernel, b.input_grad)
    said = [_sentence(s) for s in b.said]
    if b.single:
        return "\n\n".join([*(inline(p.title) + r"\par" for p in parts[:2] if p), _equation(b), *said])
    drawn = [_panels(p) for p in parts[:2] if p]
    if all(parts):
        drawn.append(_equation(b))
    return "\n\n".join([*drawn, *said, *([_panels(b.input_grad)] if b.input_grad else [])])


def _equation(b: model.Pipeline) -> str:
    assert b.padded_delta and b.input_grad
    sum_o = r"\sum_{o}" if b.summed else ""
    equation = (
        rf"{sum_o}\underbrace{{{matrix(b.padded_delta.panels[0])}}}_{{\operatorname{{pad}}(\operatorname{{dilate}}(\delta))}}"
        rf" \star \underbrace{{{matrix(b.flipped_kernel.panels[0])}}}_{{\operatorname{{rot180}}(W)}}"
        rf" = \underbrace{{{matrix(b.input_grad.panels[0])}}}_{{\partial L/\partial x}}"
    )
    return r"\[\cgfit{$\displaystyle " + equation + r"$}\]"


def _spans(spans: Sequence[model.Span]) -> str:
    """Words in their colour and weight; a line break a new line."""
    out = []
    for s in spans:
        text = r"\\ ".join(inline(line) for line in s.text.split("\n"))
        if s.colour is not None or s.tone:
            colour = f"cgw{s.colour % len(PALETTE)}" if s.colour is not None else TONES[s.tone]
            text = rf"\textcolor{{{colour}}}{{{text}}}"
        if s.strong:
            text = rf"\textbf{{{text}}}"
        if s.quiet:
            text = rf"\textcolor{{gray}}{{{text}}}"
        out.append(text)
    return "".join(out)


#: a verdict's tone, as a colour xcolor knows
TONES = {"good": "green!50!black", "bad": "red", "doubtful": "orange"}


@block.register
def _together(b: model.Together) -> str:
    return "\n\n".join(t for t in (block(part) for part in b.blocks) if t)


@block.register
def _sentence(b: model.Sentence) -> str:
    return r"\noindent " + _spans(b.spans) + r"\par\smallskip"


@block.register
def _result(b: model.Result) -> str:
    """The result as a one-row list of equations (long sums wrap four terms a line)."""
    lead = rf"\noindent {_spans(b.lead)}\par" + "\n" if b.lead else ""
    return lead + _equations(model.Equations("", ((b.lhs, b.expression, b.value),)))


@block.register
def _legend(b: model.Legend) -> str:
    entries = "; ".join(
        _entry(e) for e in b.entries + b.styled + b.coloured
    )  # LaTeX draws styles and colours
    lines = [rf"{{\footnotesize\noindent legend: {entries}"]
    if b.windows:
        boxes = [
            rf"\colorbox{{cgw{i % len(PALETTE)}!30}}{{{inline(name)}}}" for i, name in enumerate(b.windows)
        ]
        lines.append(r"\par\smallskip windows: " + " ".join(boxes) + (f" {inline(b.more)}" if b.more else ""))
    return "\n".join(lines) + r"\par}"


def _entry(entry: str) -> str:
    """A legend entry, its example as the grid draws it (``[f]·w4`` boxed, as math)."""
    example, _, meaning = entry.partition(" ")
    if re.fullmatch(r"\[[^\]\s]+\](?:·\S+)?|[^\s·]+·[^\s·]+", example):
        return f"${_line(example)}$ {inline(meaning)}"
    return inline(entry)


def _lhs(name: str) -> str:
    """``∂L/∂b`` as ``\\partial L/\\partial b``: a list of equations reads better unstacked."""
    if name.startswith("∂L/∂"):
        return r"\partial L/\partial " + _name(name[4:])
    return _name(name)


@block.register
def _equations(b: model.Equations) -> str:
    if not b.rows:
        return ""
    equations = []
    for lhs, rhs, value in b.rows:
        terms = rhs.split(" + ")
        chunks = [" + ".join(latex_expression(t) for t in terms[i : i + 4]) for i in range(0, len(terms), 4)]
        equations.append((f"{_lhs(lhs)} &= " + r" \\ &\quad + ".join(chunks), value, len(terms)))
    # short equations three to a row, as the slides list them
    per_row = 3 if all(n <= 2 for _, _, n in equations) else 2 if all(n <= 4 for _, _, n in equations) else 1
    widest = max(len(lhs) + len(rhs) + len(value or "") for lhs, rhs, value in b.rows)
    while per_row > 1 and per_row * widest > 110:  # long names: fewer to a row, so the page holds them
        per_row -= 1
    lines = []
    for i in range(0, len(equations), per_row):
        row = [eq + (f" = {_factor(v)}" if v is not None else "") for eq, v, _ in equations[i : i + per_row]]
        lines.append("  " + " & ".join(row))
    more = rf"\\ & \text{{\ldots\ {_escape(b.more)}}}" if b.more else ""
    title = rf"\noindent\textbf{{{inline(b.title)}}}" + "\n" if b.title else ""
    return title + "\\begin{align*}\n" + " \\\\\n".join(lines) + more + "\n\\end{align*}"


@block.register
def _table(b: model.Table) -> str:
    lines = [rf"\noindent\textbf{{{inline(b.title)}}}\par\nopagebreak\smallskip", r"{\footnotesize\noindent"]
    lines.append(rf"\cgfit{{\begin{{tabular}}{{{'l' * len(b.header)}}}")
    for row in [b.header, *b.rows]:
        lines.append(
            "  " + " & ".join(inline(c) if isinstance(c, str) else _spans((c,)) for c in row) + r" \\"
        )
    lines.append(r"\end{tabular}}}")
    return "\n".join(lines)
