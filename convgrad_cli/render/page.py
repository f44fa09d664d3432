"""`convgrad explore --export page.html`: the page's model (:mod:`convgrad_cli.core.explore.page`)
drawn as one self-contained HTML file — every block as HTML, the script's data as
JSON, and a little JavaScript that lights a hovered (or tapped) cell's dependencies
as the model lights the cursor's, and steps through the backward pass. No network,
no server.

Each cell carries ``data-cell`` with the name `trace` prints (``b``, ``δ2``,
``w1``, ``x₀₁₂₂``; ∂L/∂x's cells ``∂L/∂b``), its text as the other formats write
it (``[b]``, ``w2·δ1``), and its marks as classes.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import replace
from functools import singledispatch

import numpy as np

from convgrad_cli.core.explore import State
from convgrad_cli.core.explore.page import PageModel, page_model
from convgrad_cli.core.panels import Panel
from convgrad_cli.core.views import blocks as model
from convgrad_cli.core.views import cells

from .style import PALETTE


def page(state: State) -> str:
    return draw_page(page_model(state))


def draw_page(m: PageModel) -> str:
    """The model as a page: its view, the result and step line in a bar that stays in
    view, and the script's data."""
    body = BODY.format(
        body="\n".join(line for b in m.view.blocks for line in block(b, m.names)),
        expression=_result_text(m.expression),
        steps=stepper(
            m.data["windows"], "windows of the backward pass added", _spans(m.step.spans), play=True
        ),
    )
    return document(m.view, style(), body, m.data, SCRIPT)


def stepper(count: int, label: str, text: str, play: bool = False) -> str:
    """The controls either page steps with, by the ids its script reads: ◀, a slider of
    ``count`` steps, ▶, with ``play`` a play button, and the step's ``text``."""
    return STEPPER.format(count=count, label=label, play=PLAY if play else "", text=text)


def document(view: model.View, css: str, body: str, data: object, script: str) -> str:
    """A self-contained page: titled by ``view``'s heading, ``body``, and the ``script``
    with the ``data`` it reads."""
    heading = next(b for b in view.blocks if isinstance(b, model.Heading))
    return DOCUMENT.format(
        title=html.escape(f"convgrad {heading.title}: {heading.geometry}"),
        style=css,
        body=body,
        data=json.dumps(data, ensure_ascii=False).replace("</", "<\\/"),  # no "</script>" ends it early
        script=script,
    )


def style() -> str:
    """The page's CSS: the grids, the marks, each window's colour."""
    return STYLE + "\n".join(f"td.w{i}, .w{i} {{ background: {c}55; }}" for i, c in enumerate(PALETTE))


# -- the blocks ----------------------------------------------------------------------------------------

Names = dict[str, np.ndarray]


@singledispatch
def block(b: model.Block, names: Names) -> list[str]:
    """One block of the model as HTML; each kind registers its own."""
    raise TypeError(f"no drawing of {type(b).__name__}")


@block.register
def _heading(b: model.Heading, names: Names) -> list[str]:
    return [
        f"<h1>convgrad {html.escape(b.title)}</h1>",
        f'<p class="geometry">{html.escape(b.geometry)} <span>({html.escape(b.source)}, {html.escape(b.mode)})</span></p>',
    ]


def _spans(spans: Sequence[model.Span]) -> str:
    out = []
    for s in spans:
        classes = " ".join(
            c
            for c in (
                f"w{s.colour % len(PALETTE)}" if s.colour is not None else "",
                "quiet" if s.quiet else "",
                s.tone,
            )
            if c
        )
        text = html.escape(s.text).replace("\n", "<br>")
        text = f"<b>{text}</b>" if s.strong else text
        out.append(f'<span class="{classes}">{text}</span>' if classes else text)
    return "".join(out)


@block.register
def _sentence(b: model.Sentence, names: Names) -> list[str]:
    return [f'<p class="sentence">{_spans(b.spans)}</p>']


@block.register
def _together(b: model.Together, names: Names) -> list[str]:
    return [line for part in b.blocks for line in block(part, names)]


@block.register
def _panels(b: model.Panels, names: Names) -> list[str]:
    array = b.panels[0].array if b.panels else ""
    out = [f'<section class="array" data-array="{array}">']
    out += [f"<h2>{html.escape(b.title)}</h2>"] if b.title else []
    for p in (*b.panels, *b.hidden):
        out.append(table(p, names.get(p.array)))
    out += [f'<p class="note">{html.escape(b.note)}</p>'] if b.note else []
    return out + ["</section>"]


@block.register
def _pipeline(b: model.Pipeline, names: Names) -> list[str]:
    out = [line for part in (b.padded_delta, b.flipped_kernel) if part for line in _panels(part, names)]
    out += [line for s in b.said for line in _sentence(s, names)]
    return out + (_panels(b.input_grad, names) if b.input_grad else [])


def _result_text(b: model.Result) -> str:
    value = "" if b.value is None else f" = {html.escape(b.value)}"
    return f"{_spans(b.lead)}{html.escape(b.lhs)} = {html.escape(b.expression)}{value}"


@block.register
def _result(b: model.Result, names: Names) -> list[str]:
    return [f'<p class="result">{_result_text(b)}</p>']


@block.register
def _equations(b: model.Equations, names: Names) -> list[str]:
    out = [f"<h2>{html.escape(b.title)}</h2>"] if b.title else []
    out.append("<ul>")
    for lhs, rhs, value in b.rows:
        said = "" if value is None else f" = {html.escape(value)}"
        out.append(f"<li><code>{html.escape(lhs)} = {html.escape(rhs)}</code>{said}</li>")
    out += [f"<li>… {html.escape(b.more)}</li>"] if b.more else []
    return out + ["</ul>"]


@block.register
def _table(b: model.Table, names: Names) -> list[str]:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in b.header)
    rows = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(c) if isinstance(c, str) else _spans((c,))}</td>" for c in row)
        + "</tr>"
        for row in b.rows
    )
    title = f"<h2>{html.escape(b.title)}</h2>" if b.title else ""
    return [f'{title}<table class="plain"><tr>{head}</tr>{rows}</table>']


@block.register
def _legend(b: model.Legend, names: Names) -> list[str]:
    out = [
        '<p class="legend">legend: ' + "<br>".join(html.escape(e) for e in b.entries + b.styled + b.coloured)
    ]
    if b.windows:
        coloured = "  ".join(
            f'<span class="w{i % len(PALETTE)}">{html.escape(n)}</span>' for i, n in enumerate(b.windows)
        )
        out.append(f"<br>colour = window: {coloured}" + (f" {html.escape(b.more)}" if b.more else ""))
    return ["".join(out) + "</p>"]


# -- a panel -------------------------------------------------------------------------------------------


def table(p: Panel, names: np.ndarray | None) -> str:
    """Every cell of a panel: its text as :mod:`~convgrad_cli.core.views.cells` writes
    it, its mark as classes, its name (``data-cell``, or for the padded δ ``data-pad``)
    and its unmarked text (``data-own``), which the script marks anew."""
    shown = cells.show_names(p)
    bare = replace(p, marks={})
    rows, cols = p.shape
    out = []
    for r in range(rows):
        tds = []
        for c in range(cols):
            drawn, own = cells.cell(p, r, c, shown), cells.cell(bare, r, c, shown)
            address = _address(p, names, r, c)
            same = address == f' data-cell="{html.escape(own.head)}"'  # the script reads its name instead
            attrs = address + ("" if same else f' data-own="{html.escape(own.head)}"')
            mark = drawn.mark
            classes = (
                []
                if mark is None
                else [mark.role] + ([f"w{mark.window % len(PALETTE)}"] if mark.window is not None else [])
            )
            classes += ["zero"] if drawn.structural else []
            spans = "".join(
                f'<span class="{kind}">{html.escape(text)}</span>'
                for kind, text in (("head", drawn.head), ("label", drawn.label), ("value", drawn.value))
                if text is not None
            )
            classed = f' class="{" ".join(classes)}"' if classes else ""
            tds.append(f"<td{classed}{attrs}>{spans}</td>")
        out.append("<tr>" + "".join(tds) + "</tr>")
    caption = f"<caption>{html.escape(p.title)}</caption>" if p.title else ""
    return f'<table class="grid" data-names="{int(shown)}">{caption}{"".join(out)}</table>'


def _address(p: Panel, names: np.ndarray | None, r: int, c: int) -> str:
    if p.array == "padded_delta":
        return ' data-pad=""'
    if names is None:
        return ""
    return f' data-cell="{html.escape(str(names[p.index((r, c))]))}"'


STYLE = """\
body { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; margin: 1.5em; color: #191919; background: #fff; }
h1 { font-size: 1.2em; margin: 0; } h2 { font-size: 1em; margin: .3em 0; }
.geometry, .quiet, .legend, .note { color: #555; } .geometry { margin-top: .2em; }
main { display: flex; flex-wrap: wrap; gap: 0 1.5em; align-items: flex-start; }
main > p { flex-basis: 100%; margin: .4em 0; }
section.array { display: flex; flex-wrap: wrap; gap: 0 1em; align-items: flex-start; }
section.array > h2, section.array > p { flex-basis: 100%; }
table.grid { border-collapse: collapse; margin-bottom: .6em; }
table.grid caption { text-align: left; color: #555; font-size: .85em; }
table.grid td { border: 1px solid #bbb; padding: .15em .45em; text-align: right; cursor: pointer; min-width: 2.2em; }
td span { display: block; } td .label:empty { display: none; }
td .value, td .label { color: #666; font-size: .85em; }
td.zero { color: #aaa; }
td.cell { outline: 3px solid #191919; outline-offset: -3px; font-weight: bold; }
td.contributor { font-weight: bold; }
td.window { background: #e8e8e8; }
td.tap { outline: 1px dashed #191919; outline-offset: -3px; color: #777; }
td.pending { outline: 1px dashed #888; outline-offset: -3px; color: #999; }
td.changed .head { color: #000; font-weight: bold; }
#expression { font-size: 1.1em; font-weight: bold; min-height: 1.4em; margin: 1em 0 .4em; }
.bar { position: sticky; bottom: 0; background: #fff; border-top: 1px solid #bbb; padding-bottom: .5em; }  /* in view however far the grids scroll */
#steps { display: flex; gap: .6em; align-items: center; flex-wrap: wrap; }
#step-text { color: #333; }
"""

#: A page of either kind: the head, the body, and the script with its data.
DOCUMENT = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{style}</style>
</head>
<body>
{body}
<script id="data" type="application/json">{data}</script>
<script>
{script}
</script>
</body>
</html>
"""

BODY = """\
<main>
{body}
</main>
<div class="bar">
<p id="expression">{expression}</p>
{steps}
</div>"""

STEPPER = """\
<div id="steps">
<button id="prev" type="button">◀</button>
<input id="scrub" type="range" min="0" max="{count}" value="0" aria-label="{label}">
<button id="next" type="button">▶</button>
{play}<span id="step-text">{text}</span>
</div>"""

PLAY = '<button id="play" type="button">play</button>\n'

#: The script: lights a cell as the model's ``lights`` does, from the embedded terms.
SCRIPT = """\
"use strict";
const data = JSON.parse(document.getElementById("data").textContent), W = data.words;
const cells = Array.from(document.querySelectorAll("[data-cell]")), pads = Array.from(document.querySelectorAll("[data-pad]"));
const S = data.start, O = data.overlay, N = data.numbers;
const name = i => cells[i].dataset.cell;
const fill = (t, v) => t.replace(/\\{(\\w+)\\}/g, (_, k) => v[k]);
cells.forEach((td, i) => {
  td.addEventListener("mouseenter", () => show(i));
  td.addEventListener("click", () => show(i));
});
let lit = new Set(document.querySelectorAll("td[class]"));
function draw(td, role, w, factor, first) {  // a cell's mark, in class and in text, as the other formats write it
  td.className = td.className.split(" ").filter(c => c === "zero").join(" ");
  let own = td.dataset.own ?? td.dataset.cell, head = own, label = "";
  if (role) {
    td.classList.add(role); lit.add(td);
    if (w !== undefined && w !== null) td.classList.add("w" + (w % 7));
    if (role === "cell") head = "[" + own + "]";
    if (factor) {
      if (td.closest("table").dataset.names === "1") head = first ? factor + "·" + head : head + "·" + factor;
      else label = first ? factor + "·" : "·" + factor;
    }
  }
  td.querySelector(".head").textContent = head; labelOf(td).textContent = label;
}
function labelOf(td) {  // the line under a number that says which factor it meets (made when first needed)
  let span = td.querySelector(".label");
  if (!span) { span = document.createElement("span"); span.className = "label"; td.querySelector(".head").after(span); }
  return span;
}
function clear() { for (const td of lit) draw(td); lit = new Set(); }
const mark = (i, role, w, factor, first) => draw(cells[i], role, w, factor, first);
const said = v => v === null ? "" : " = " + v;
function join(pairs, upto) {
  const out = [];
  for (let k = 0; k < pairs.length; k += 2) if (!upto || upto(pairs[k + 1])) out.push(name(pairs[k]) + "·" + name(pairs[k + 1]));
  return out.join(" + ") || "0";
}
let selected = data.cell;  // the input cell the step-through follows on the padded δ
const overlayTitle = document.querySelector('[data-array="padded_delta"] h2');
function overlay(x, colour, done) {  // rot180(W) over the padded δ at x, for each output channel of its group
  overlayTitle.textContent = fill(W.overlay, {padded: O.padded_words, cell: name(x)});
  const Q = O.positions, n = Math.floor(x / (O.channels * Q)), c = Math.floor(x / Q) % O.channels, q = x % Q;
  const [cg, og] = O.group, K = O.kernel, first = Math.floor(c / cg) * og;
  for (let o = first; o < first + og; o++) {
    O.taps[q].forEach((at, k) => {
      const held = O.holds[at], w = S.kernel + (o * cg + c % cg) * K + (K - 1 - k), td = pads[(n * O.outputs + o) * O.padded + at];
      if (held < 0) { draw(td, "tap", null, name(w), true); return; }
      const d = S.delta + (n * O.outputs + o) * O.out + held;
      draw(td, done && !done(d) ? "pending" : "contributor", colour.get(d), name(w), true);
    });
  }
}
function colours(pairs) {  // each δ entry of a cell's terms: its window's colour, in the order of the terms
  const colour = new Map();
  for (let k = 1; k < pairs.length; k += 2) if (!colour.has(pairs[k])) colour.set(pairs[k], colour.size);
  return colour;
}
function input(x) {  // an input cell: its windows, its terms in their colours, the flipped kernel over the padded δ
  const [pairs, v] = data.input[x], colour = colours(pairs);
  for (const d of colour.keys()) {
    const read = data.output[d - S.delta][0];
    for (let r = 0; r < read.length; r += 2) mark(read[r], "window");
  }
  for (let k = 0; k < pairs.length; k += 2) {
    const j = colour.get(pairs[k + 1]);
    mark(pairs[k + 1], "contributor", j, name(pairs[k]), true); mark(pairs[k], "contributor", j, name(pairs[k + 1]));
  }
  mark(x, "cell"); mark(S.input_grad + x, "cell");
  overlay(x, colour);
  return [pairs, v];
}
const result = document.querySelector("main p.result"), expression = document.getElementById("expression");
function show(i) {
  clear();
  if (i < S.kernel || i >= S.input_grad) {
    const x = i < S.kernel ? i : i - S.input_grad, [pairs, v] = input(x);
    selected = x;
    expression.textContent = result.textContent = "∂L/∂" + name(x) + " = " + join(pairs) + said(v);
  } else if (i < S.output) {  // a weight: every window it met
    const [pairs, v] = data.kernel[i - S.kernel];
    mark(i, "cell");
    for (let k = 0; k < pairs.length; k += 2) {
      mark(pairs[k], "contributor", k / 2, name(pairs[k + 1])); mark(pairs[k + 1], "contributor", k / 2, name(pairs[k]), true);
    }
    expression.textContent = result.textContent = "∂L/∂" + name(i) + " = " + join(pairs) + said(v);
  } else {  // y or δ: one window, forward and back
    const o = i < S.delta ? i - S.output : i - S.delta, [pairs, v] = data.output[o], flows = [];
    mark(S.output + o, "cell", 0); mark(S.delta + o, "cell", 0);
    for (let k = 0; k < pairs.length; k += 2) {
      mark(pairs[k], "contributor", 0, name(pairs[k + 1])); mark(pairs[k + 1], "contributor", 0, name(pairs[k]), true);
      mark(S.input_grad + pairs[k], "contributor", 0, name(pairs[k + 1]), true);
      if (k < 16) flows.push(fill(W.add, {weight: name(pairs[k + 1]), delta: name(S.delta + o), input: name(pairs[k])}));
    }
    const more = pairs.length > 16 ? fill(W.more, {count: pairs.length / 2 - 8}) : "";
    if (i < S.delta) result.textContent = name(i) + " = " + join(pairs) + said(v);
    expression.textContent = i < S.delta ? result.textContent
      : fill(W.flows, {delta: name(i), adds: flows.join(" + ") + more});
  }
}
const grad = Array.from(document.querySelectorAll('[data-array="input_grad"] [data-cell]')).map(td => ({td, total: td.dataset.own ?? td.dataset.cell}));
const scrub = document.getElementById("scrub"), stepText = document.getElementById("step-text");
function fmt(x) { return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(6))); }
// the backward pass of sample 0: window j is y's and δ's cell j, adding w·δ to ∂L/∂x for each of its terms
const steps = data.windows;
function setStep(k) {
  k = Math.max(0, Math.min(steps, k)); scrub.value = k; clear();
  const sums = new Float64Array(grad.length);  // ∂L/∂x of sample 0 after k windows
  if (N.w) for (let j = 0; j < k; j++) {
    const pairs = data.output[j][0];
    for (let t = 0; t < pairs.length; t += 2) sums[pairs[t]] += N.w[pairs[t + 1] - S.kernel] * N.delta[j];
  }
  if (N.w) grad.forEach((g, x) => { g.td.dataset.own = k === steps ? g.total : fmt(sums[x]); draw(g.td); });
  followed(k);
  if (k === 0) { stepText.textContent = fill(W.start, {count: steps}); return; }
  const d = S.delta + k - 1, y = S.output + k - 1, here = data.output[k - 1][0], adds = [];
  mark(d, "cell", 0); mark(y, "cell", 0);
  for (let t = 0; t < here.length; t += 2) {
    const x = here[t], w = here[t + 1];
    if (x !== selected) mark(x, "window", 0, name(w));
    mark(w, "contributor", 0, name(d)); mark(S.input_grad + x, "contributor", 0);
    cells[S.input_grad + x].classList.add("changed");
    labelOf(cells[S.input_grad + x]).textContent = "+" + name(w) + "·" + name(d);
    adds.push(fill(W.add, {weight: name(w), delta: name(d), input: name(x)}));
  }
  stepText.textContent = fill(W.step, {step: k, count: steps, output: name(y), adds: adds.join(", ") || W.nothing});
  expression.textContent = fill(W.through, {delta: name(d), output: name(y)});
}
function followed(k) {  // the followed cell on the padded δ: the terms of the windows added so far, and their sum
  const [pairs] = data.input[selected], n = Math.floor(selected / (O.channels * O.positions));
  const done = d => n === 0 && d - S.delta < k;
  let sum = 0;
  for (let t = 0; t < pairs.length; t += 2) if (done(pairs[t + 1])) sum += N.w ? N.w[pairs[t] - S.kernel] * N.delta[pairs[t + 1] - S.delta] : 0;
  mark(selected, "cell");
  overlay(selected, colours(pairs), done);
  const value = N.w ? " = " + fmt(sum) : "";
  result.textContent = fill(W.so_far, {lhs: "∂L/∂" + name(selected), expression: join(pairs, done), value, all: join(pairs)});
}
scrub.addEventListener("input", () => setStep(Number(scrub.value)));
document.getElementById("prev").addEventListener("click", () => setStep(Number(scrub.value) - 1));
document.getElementById("next").addEventListener("click", () => setStep(Number(scrub.value) + 1));
let timer = null;
document.getElementById("play").addEventListener("click", () => {
  if (timer) { clearInterval(timer); timer = null; return; }
  if (Number(scrub.value) >= steps) setStep(0);
  timer = setInterval(() => {
    if (Number(scrub.value) >= steps) { clearInterval(timer); timer = null; return; }
    setStep(Number(scrub.value) + 1);
  }, 700);
});
"""
