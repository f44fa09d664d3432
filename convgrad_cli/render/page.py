"""`convgrad explore --export page.html`: one self-contained page — the grids of
x, W, y, δ and ∂L/∂x, every cell's trace embedded as JSON, a little JavaScript
to light a cell's dependencies on hover (or tap) and to step through the
backward pass. No network, no server.

Each cell carries ``data-cell`` with the name `trace` prints (``b``, ``δ2``,
``w1``, ``x[0,1,2,2]``; ∂L/∂x's cells ``∂L/∂b``); the expression is shown in
``#expression``.
"""

from __future__ import annotations

import html
import json
from math import prod
from typing import Any

import numpy as np

from convgrad_cli.core import terms
from convgrad_cli.core.explore import State, Windows
from convgrad_cli.core.names import Index
from convgrad_cli.core.panels import slice_label, slices
from convgrad_cli.errors import TooLargeError

from .numbers import fmt
from .style import PALETTE

#: Cells per array the page holds (each with its trace); larger layers are for the terminal.
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
    data = {"cells": _cells(state, y), "steps": _steps(state), "palette": list(PALETTE)}
    blob = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    title = f"convgrad explore: {g.describe()}"
    return TEMPLATE.format(
        title=html.escape(title), geometry=html.escape(g.describe()), source=html.escape(p.source),
        grids="\n".join(grids), data=blob, steps=len(data["steps"]),
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


def _light(name: str, role: str, window: int | None = None) -> list[Any]:
    return [name, role, window]


def _cells(state: State, y: np.ndarray | None) -> dict[str, dict[str, Any]]:
    """Each cell's expression and the cells it lights, by the name on the page."""
    p, g, namer = state.problem, state.problem.geom, state.namer
    out: dict[str, dict[str, Any]] = {}

    def value(v: float | None) -> str:
        return "" if v is None else f" = {fmt(v)}"

    from convgrad_cli.core.explain import InputTrace, OutputTrace, WeightTrace

    for idx in np.ndindex(*g.input_shape):
        ct = InputTrace(p, namer, idx, terms.input_terms(g, idx))
        number: dict[Index, int] = {}
        lights = [_light(ct.name, "cell"), _light("∂L/∂" + ct.name, "cell")]
        for t in ct.terms:
            j = number.setdefault(t.delta, len(number))
            lights += [
                _light(namer.delta(t.delta), "contributor", j),
                _light(namer.weight(t.weight), "contributor", j),
            ]
            for k in np.ndindex(*g.kernel_size):
                at = tuple(q * s + kk * d - b for q, kk, s, d, (b, _) in
                           zip(t.delta[2:], k, g.stride, g.dilation, g.padding))  # fmt: skip
                if all(0 <= a < n for a, n in zip(at, g.in_size)):
                    cell = (t.input[0], t.input[1], *at)
                    if cell != idx:
                        lights.append(_light(namer.input(cell), "window"))
        text = f"{ct.lhs} = {ct.expression}{value(ct.value)}"
        out[ct.name] = out["∂L/∂" + ct.name] = {"expression": text, "lights": lights}
    for idx in np.ndindex(*g.output_shape):
        ot = OutputTrace(p, namer, idx, terms.output_terms(g, idx))
        lights = [_light(ot.name, "cell", 0), _light(namer.delta(idx), "cell", 0)]
        for t in ot.terms:
            lights += [_light(namer.input(t.input), "contributor", 0), _light(namer.weight(t.weight), "contributor", 0),
                       _light("∂L/∂" + namer.input(t.input), "contributor", 0)]  # fmt: skip
        flows = " + ".join(f"{namer.weight(t.weight)}·{namer.delta(idx)} to ∂L/∂{namer.input(t.input)}"
                           for t in ot.terms[:8])  # fmt: skip
        more = f", … {len(ot.terms) - 8} more" if len(ot.terms) > 8 else ""
        forward = f"{ot.name} = {ot.expression}{value(None if y is None else float(y[idx]))}"
        out[ot.name] = {"expression": forward, "lights": lights}
        out[namer.delta(idx)] = {"expression": f"{namer.delta(idx)} flows back: adds {flows}{more}",
                                 "lights": lights}  # fmt: skip
    for idx in np.ndindex(*g.kernel_shape):
        wt = WeightTrace(p, namer, idx, terms.weight_terms(g, idx))
        lights = [_light(wt.name, "cell")]
        for j, t in enumerate(wt.terms):
            lights += [
                _light(namer.input(t.input), "contributor", j),
                _light(namer.delta(t.delta), "contributor", j),
            ]
        out[wt.name] = {"expression": f"{wt.lhs} = {wt.expression}{value(wt.value)}", "lights": lights}
    return out


def _steps(state: State) -> list[dict[str, Any]]:
    """The backward pass of sample 0, window by window: what each adds to ∂L/∂x."""
    p, g, namer = state.problem, state.problem.geom, state.namer
    w = Windows.of(p, 0)
    steps = []
    for j in range(w.count):
        o, pos = divmod(j, prod(g.out_size))
        d_index = (0, o, *map(int, np.unravel_index(pos, g.out_size)))
        part = w.of_window(j)
        adds, lights = [], [_light(namer.delta(d_index), "cell", 0), _light(namer.output(d_index), "cell", 0)]
        for xi, wi in zip(w.input[part], w.weight[part]):
            c, *q = np.unravel_index(int(xi), (g.in_channels, *g.in_size))
            x_name = namer.input((0, int(c), *map(int, q)))
            wk = tuple(int(v) for v in np.unravel_index(int(wi), g.kernel_shape))
            amount = None
            if p.w is not None and p.delta is not None:
                amount = float(p.w[wk] * p.delta[d_index])
            adds.append(["∂L/∂" + x_name, f"{namer.weight(wk)}·{namer.delta(d_index)}", amount])
            lights += [_light(x_name, "window", 0), _light(namer.weight(wk), "contributor", 0),
                       _light("∂L/∂" + x_name, "contributor", 0)]  # fmt: skip
        steps.append(
            {"window": namer.output(d_index), "delta": namer.delta(d_index), "adds": adds, "lights": lights}
        )
    return steps


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
<p id="expression">hover a cell</p>
<div id="steps">
<button id="prev" type="button">◀</button>
<input id="scrub" type="range" min="0" max="{steps}" value="0" aria-label="windows of the backward pass added">
<button id="next" type="button">▶</button>
<button id="play" type="button">play</button>
<span id="step-text">step through the backward pass: each window adds its w·δ terms into ∂L/∂x</span>
</div>
<script id="data" type="application/json">{data}</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("data").textContent);
const byName = {{}};
document.querySelectorAll("[data-cell]").forEach(td => {{
  (byName[td.dataset.cell] = byName[td.dataset.cell] || []).push(td);
  td.addEventListener("mouseenter", () => show(td.dataset.cell));
  td.addEventListener("click", () => show(td.dataset.cell));
}});
const roles = ["cell", "window", "contributor", "changed", "w0", "w1", "w2", "w3", "w4", "w5", "w6"];
const expression = document.getElementById("expression");
function clear() {{ document.querySelectorAll("[data-cell]").forEach(td => td.classList.remove(...roles)); }}
function light(list) {{
  for (const [name, role, w] of list) for (const td of byName[name] || []) {{
    td.classList.add(role);
    if (w !== null && w !== undefined) td.classList.add("w" + (w % 7));
  }}
}}
function show(name) {{
  const d = data.cells[name];
  if (!d) return;
  clear(); light(d.lights); expression.textContent = d.expression;
}}
const grad = {{}};
document.querySelectorAll('[data-array="input_grad"] [data-cell]').forEach(td => {{
  const v = td.querySelector(".value"); grad[td.dataset.cell] = {{td, v, total: v ? v.textContent : ""}};
}});
const scrub = document.getElementById("scrub"), stepText = document.getElementById("step-text");
function fmt(x) {{ return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(6))); }}
function setStep(k) {{
  k = Math.max(0, Math.min(data.steps.length, k)); scrub.value = k; clear();
  const sums = {{}}, counts = {{}};
  for (let j = 0; j < k; j++) for (const [cell, term, amount] of data.steps[j].adds) {{
    sums[cell] = (sums[cell] || 0) + (amount || 0); counts[cell] = (counts[cell] || 0) + 1;
  }}
  for (const [cell, g] of Object.entries(grad)) {{
    if (!g.v) continue;
    g.v.textContent = k === data.steps.length || k === 0 ? (k ? g.total : "0") : fmt(sums[cell] || 0);
  }}
  if (k === 0) {{ stepText.textContent = "0 of " + data.steps.length + " windows: ∂L/∂x starts at zero"; return; }}
  const s = data.steps[k - 1];
  light(s.lights);
  for (const [cell] of s.adds) for (const td of byName[cell] || []) td.classList.add("changed");
  stepText.textContent = "step " + k + " of " + data.steps.length + ": the window of " + s.window + " adds " +
    s.adds.map(([cell, term]) => term + " to " + cell).join(", ");
  expression.textContent = s.delta + " flows back through the window of " + s.window;
}}
scrub.addEventListener("input", () => setStep(Number(scrub.value)));
document.getElementById("prev").addEventListener("click", () => setStep(Number(scrub.value) - 1));
document.getElementById("next").addEventListener("click", () => setStep(Number(scrub.value) + 1));
let timer = null;
document.getElementById("play").addEventListener("click", () => {{
  if (timer) {{ clearInterval(timer); timer = null; return; }}
  if (Number(scrub.value) >= data.steps.length) setStep(0);
  timer = setInterval(() => {{
    if (Number(scrub.value) >= data.steps.length) {{ clearInterval(timer); timer = null; return; }}
    setStep(Number(scrub.value) + 1);
  }}, 700);
}});
</script>
</body>
</html>
"""
