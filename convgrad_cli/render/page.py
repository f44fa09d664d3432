"""`convgrad explore --export page.html`: one self-contained page — the grids of
x, W, y, δ and ∂L/∂x, every cell's terms embedded as JSON, a little JavaScript
to light a cell's dependencies on hover (or tap) and to step through the
backward pass. No network, no server.

Each cell carries ``data-cell`` with the name `trace` prints (``b``, ``δ2``,
``w1``, ``x₀₁₂₂``; ∂L/∂x's cells ``∂L/∂b``); the expression is shown in
``#expression``.
"""

from __future__ import annotations

import html
import json
from math import prod
from typing import Any

import numpy as np

from convgrad_cli.core import terms
from convgrad_cli.core.explore import State
from convgrad_cli.core.names import Index
from convgrad_cli.core.panels import slice_label, slices
from convgrad_cli.core.views.numbers import fmt
from convgrad_cli.errors import TooLargeError

from .style import PALETTE

#: Cells per array the page holds (each with its terms); larger layers are for the terminal.
MAX_CELLS = 4096


def page(state: State) -> str:
    p, g = state.problem, state.problem.geom
    biggest = max(prod(g.input_shape), prod(g.output_shape), prod(g.kernel_shape))
    if biggest > MAX_CELLS:
        raise TooLargeError(
            f"the page holds every cell's trace, for arrays of up to {MAX_CELLS} cells; this layer has "
            f"{biggest} in one array — use convgrad explore in the terminal, or a smaller layer"
        )
    namer = state.namer
    y = None
    if p.x is not None and p.w is not None:
        from convgrad_cli.core import rules

        y = rules.forward(g, p.x, p.w, p.bias)
    grids = [
        _grid("input x", "input", p.x, namer.grid("input"), ""),
        _grid("kernel W", "kernel", p.w, namer.grid("kernel"), ""),
        _grid("output y", "output", y, namer.grid("output"), ""),
        _grid("δ = ∂L/∂y", "delta", p.delta, namer.grid("delta"), ""),
        _grid("∂L/∂x", "input_grad", state.derived.input_grad, namer.grid("input"), "∂L/∂"),
    ]
    data = _data(state, y)
    blob = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    title = f"convgrad explore: {g.describe()}"
    return TEMPLATE.format(
        title=html.escape(title), geometry=html.escape(g.describe()), source=html.escape(p.source),
        grids="\n".join(grids), data=blob, steps=data["windows"],
        colours="\n".join(f"td.w{i} {{ background: {c}55; }}" for i, c in enumerate(PALETTE)),
    )  # fmt: skip


def _grid(title: str, array: str, values: np.ndarray | None, names: np.ndarray, prefix: str) -> str:
    """Every slice of one array as a table; each cell its name (``data-cell``) and number."""
    spatial = names.ndim - 2
    axes = {"input": ("n", "c"), "input_grad": ("n", "c"), "kernel": ("o", "c"), "output": ("n", "o"),
            "delta": ("n", "o")}[array] + (("z",) if spatial == 3 else ())  # fmt: skip
    out = [f'<section class="array" data-array="{array}"><h2>{html.escape(title)}</h2>']
    for lead in slices(names.shape, spatial):
        label = slice_label(axes, lead, names.shape).strip()
        block = names[lead] if spatial > 1 else names[lead].reshape(1, -1)
        vals = None if values is None else (values[lead] if spatial > 1 else values[lead].reshape(1, -1))
        rows = []
        for r in range(block.shape[0]):
            tds = []
            for c in range(block.shape[1]):
                name = prefix + str(block[r, c])
                number = "" if vals is None else f'<span class="value">{html.escape(fmt(vals[r, c]))}</span>'
                shown = html.escape(str(block[r, c])) if not prefix else ""
                tds.append(
                    f'<td data-cell="{html.escape(name)}"><span class="name">{shown}</span>{number}</td>'
                )
            rows.append("<tr>" + "".join(tds) + "</tr>")
        caption = f"<caption>{html.escape(label)}</caption>" if label else ""
        out.append(f'<table class="grid">{caption}{"".join(rows)}</table>')
    out.append("</section>")
    return "\n".join(out)


class Ids:
    """Each cell's number on the page: its place among the ``data-cell`` elements,
    which come array by array (x, W, y, δ, ∂L/∂x), each in C order."""

    ARRAYS = ("input", "kernel", "output", "delta", "input_grad")

    def __init__(self, shapes: dict[str, tuple[int, ...]]) -> None:
        self.start: dict[str, int] = {}
        self.strides: dict[str, tuple[int, ...]] = {}
        at = 0
        for array in self.ARRAYS:
            shape = shapes[array]
            self.start[array] = at
            self.strides[array] = tuple(prod(shape[i + 1 :]) for i in range(len(shape)))
            at += prod(shape)

    def __call__(self, array: str, idx: Index) -> int:
        return self.start[array] + sum(i * s for i, s in zip(idx, self.strides[array]))


def _data(state: State, y: np.ndarray | None) -> dict[str, Any]:
    """What the page's script needs, by cell number: each cell's terms (pairs of
    cell numbers, the same terms `trace` finds) and value, how many windows the
    backward pass of sample 0 has, and the numbers of W and δ it multiplies. The
    script writes the expressions, lights the cells (a window reads what its
    output's terms name) and replays the steps from these, so the page grows
    with the terms and not with their square."""
    p, g = state.problem, state.problem.geom
    ids = Ids({"input": g.input_shape, "kernel": g.kernel_shape, "output": g.output_shape,
               "delta": g.output_shape, "input_grad": g.input_shape})  # fmt: skip

    def said(v: float | None) -> str | None:
        return None if v is None else fmt(v)

    inputs, outputs, kernel = [], [], []
    for idx in np.ndindex(*g.output_shape):
        found = terms.output_terms(g, idx)
        pairs = [i for t in found for i in (ids("input", t.input), ids("kernel", t.weight))]
        outputs.append([pairs, said(None if y is None else float(y[idx]))])
    for idx in np.ndindex(*g.input_shape):
        found = terms.input_terms(g, idx)
        pairs = [i for t in found for i in (ids("kernel", t.weight), ids("delta", t.delta))]
        value = None if p.w is None or p.delta is None else terms.input_grad_value(found, p.w, p.delta)
        inputs.append([pairs, said(value)])
    for idx in np.ndindex(*g.kernel_shape):
        found = terms.weight_terms(g, idx)
        pairs = [i for t in found for i in (ids("input", t.input), ids("delta", t.delta))]
        value = None if p.x is None or p.delta is None else terms.weight_grad_value(found, p.x, p.delta)
        kernel.append([pairs, said(value)])
    numbers = (
        {}
        if p.w is None or p.delta is None
        else {"w": p.w.ravel().tolist(), "delta": p.delta[0].ravel().tolist()}
    )
    return {"start": ids.start, "input": inputs, "output": outputs, "kernel": kernel,
            "windows": prod(g.output_shape[1:]), "numbers": numbers, "palette": list(PALETTE)}  # fmt: skip


TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; margin: 1.5em; color: #191919; background: #fff; }}
h1 {{ font-size: 1.2em; margin: 0; }} h2 {{ font-size: 1em; margin: .3em 0; }}
.geometry {{ color: #555; margin-top: .2em; }}
.panels {{ display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }}
table.grid {{ border-collapse: collapse; margin-bottom: .6em; }}
table.grid caption {{ text-align: left; color: #555; font-size: .85em; }}
table.grid td {{ border: 1px solid #bbb; padding: .15em .45em; text-align: right; cursor: pointer; min-width: 2.2em; }}
td .name {{ display: block; }} td .value {{ display: block; color: #666; font-size: .85em; }}
td.cell {{ outline: 3px solid #191919; outline-offset: -3px; font-weight: bold; }}
td.contributor {{ font-weight: bold; }}
td.window {{ background: #e8e8e8; }}
td.changed .value {{ color: #000; font-weight: bold; }}
{colours}
#expression {{ font-size: 1.1em; font-weight: bold; min-height: 1.4em; margin: 1em 0 .4em; }}
.bar {{ position: sticky; bottom: 0; background: #fff; border-top: 1px solid #bbb; padding-bottom: .5em; }}  /* in view however far the grids scroll */
#steps {{ display: flex; gap: .6em; align-items: center; flex-wrap: wrap; }}
#step-text {{ color: #333; }}
</style>
</head>
<body>
<h1>convgrad explore</h1>
<p class="geometry">{geometry} <span>({source})</span></p>
<p>Hover or tap a cell of x, y, δ or W: what it depends on lights up, in the colour of each window.</p>
<div class="panels">
{grids}
</div>
<div class="bar">
<p id="expression">hover a cell</p>
<div id="steps">
<button id="prev" type="button">◀</button>
<input id="scrub" type="range" min="0" max="{steps}" value="0" aria-label="windows of the backward pass added">
<button id="next" type="button">▶</button>
<button id="play" type="button">play</button>
<span id="step-text">step through the backward pass: each window adds its w·δ terms into ∂L/∂x</span>
</div>
</div>
<script id="data" type="application/json">{data}</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("data").textContent);
const cells = Array.from(document.querySelectorAll("[data-cell]")), S = data.start;
const name = i => cells[i].dataset.cell;
cells.forEach((td, i) => {{
  td.addEventListener("mouseenter", () => show(i));
  td.addEventListener("click", () => show(i));
}});
const roles = ["cell", "window", "contributor", "changed", "w0", "w1", "w2", "w3", "w4", "w5", "w6"];
const expression = document.getElementById("expression");
let lit = [];
function clear() {{ for (const i of lit) cells[i].classList.remove(...roles); lit = []; }}
function mark(i, role, w) {{
  cells[i].classList.add(role); lit.push(i);
  if (w !== undefined) cells[i].classList.add("w" + (w % 7));
}}
const said = v => v === null ? "" : " = " + v;
function join(pairs) {{
  const out = [];
  for (let k = 0; k < pairs.length; k += 2) out.push(name(pairs[k]) + "·" + name(pairs[k + 1]));
  return out.join(" + ") || "0";
}}
function show(i) {{
  clear();
  if (i < S.kernel || i >= S.input_grad) {{  // x, or ∂L/∂x: the windows that hold the cell
    const x = i < S.kernel ? i : i - S.input_grad, [pairs, v] = data.input[x];
    for (let k = 1; k < pairs.length; k += 2) {{  // what each window reads: its output's terms
      const read = data.output[pairs[k] - S.delta][0];
      for (let r = 0; r < read.length; r += 2) if (read[r] !== x) mark(read[r], "window");
    }}
    mark(x, "cell"); mark(S.input_grad + x, "cell");
    const window = new Map();
    for (let k = 0; k < pairs.length; k += 2) {{
      if (!window.has(pairs[k + 1])) window.set(pairs[k + 1], window.size);
      mark(pairs[k], "contributor", window.get(pairs[k + 1])); mark(pairs[k + 1], "contributor", window.get(pairs[k + 1]));
    }}
    expression.textContent = "∂L/∂" + name(x) + " = " + join(pairs) + said(v);
  }} else if (i < S.output) {{  // a weight: every window it met
    const [pairs, v] = data.kernel[i - S.kernel];
    mark(i, "cell");
    for (let k = 0; k < pairs.length; k += 2) {{ mark(pairs[k], "contributor", k / 2); mark(pairs[k + 1], "contributor", k / 2); }}
    expression.textContent = "∂L/∂" + name(i) + " = " + join(pairs) + said(v);
  }} else {{  // y or δ: one window, forward and back
    const o = i < S.delta ? i - S.output : i - S.delta, [pairs, v] = data.output[o];
    mark(S.output + o, "cell", 0); mark(S.delta + o, "cell", 0);
    const flows = [];
    for (let k = 0; k < pairs.length; k += 2) {{
      mark(pairs[k], "contributor", 0); mark(pairs[k + 1], "contributor", 0); mark(S.input_grad + pairs[k], "contributor", 0);
      if (k < 16) flows.push(name(pairs[k + 1]) + "·" + name(S.delta + o) + " to ∂L/∂" + name(pairs[k]));
    }}
    const more = pairs.length > 16 ? ", … " + (pairs.length / 2 - 8) + " more" : "";
    expression.textContent = i < S.delta ? name(i) + " = " + join(pairs) + said(v)
      : name(i) + " flows back: adds " + flows.join(" + ") + more;
  }}
}}
const grad = [];
document.querySelectorAll('[data-array="input_grad"] [data-cell]').forEach((td, x) => {{
  const v = td.querySelector(".value"); grad.push({{v, total: v ? v.textContent : ""}});
}});
const scrub = document.getElementById("scrub"), stepText = document.getElementById("step-text");
function fmt(x) {{ return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(6))); }}
// the backward pass of sample 0: window j is y's and δ's cell j, adding w·δ to ∂L/∂x for each of its terms
const steps = data.windows, N = data.numbers;
function setStep(k) {{
  k = Math.max(0, Math.min(steps, k)); scrub.value = k; clear();
  const sums = new Float64Array(grad.length);
  if (N.w) for (let j = 0; j < k; j++) {{
    const pairs = data.output[j][0];
    for (let t = 0; t < pairs.length; t += 2) sums[pairs[t]] += N.w[pairs[t + 1] - S.kernel] * N.delta[j];
  }}
  grad.forEach((g, x) => {{
    if (g.v) g.v.textContent = k === steps || k === 0 ? (k ? g.total : "0") : fmt(sums[x]);
  }});
  if (k === 0) {{ stepText.textContent = "0 of " + steps + " windows: ∂L/∂x starts at zero"; return; }}
  const d = S.delta + k - 1, y = S.output + k - 1, pairs = data.output[k - 1][0], adds = [];
  mark(d, "cell", 0); mark(y, "cell", 0);
  for (let t = 0; t < pairs.length; t += 2) {{
    const x = pairs[t], w = pairs[t + 1];
    mark(x, "window", 0); mark(w, "contributor", 0); mark(S.input_grad + x, "contributor", 0);
    mark(S.input_grad + x, "changed");
    adds.push(name(w) + "·" + name(d) + " to ∂L/∂" + name(x));
  }}
  stepText.textContent = "step " + k + " of " + steps + ": the window of " + name(y) + " adds " + adds.join(", ");
  expression.textContent = name(d) + " flows back through the window of " + name(y);
}}
scrub.addEventListener("input", () => setStep(Number(scrub.value)));
document.getElementById("prev").addEventListener("click", () => setStep(Number(scrub.value) - 1));
document.getElementById("next").addEventListener("click", () => setStep(Number(scrub.value) + 1));
let timer = null;
document.getElementById("play").addEventListener("click", () => {{
  if (timer) {{ clearInterval(timer); timer = null; return; }}
  if (Number(scrub.value) >= steps) setStep(0);
  timer = setInterval(() => {{
    if (Number(scrub.value) >= steps) {{ clearInterval(timer); timer = null; return; }}
    setStep(Number(scrub.value) + 1);
  }}, 700);
}});
</script>
</body>
</html>
"""
