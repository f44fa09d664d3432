"""`convgrad explore STACK.yaml --export page.html`: a stack's page model
(:mod:`convgrad_cli.core.explore.stack_page`) drawn as one self-contained HTML file.
Hovering a top output swaps in the reach the model gave for it, level by level
from the top; the controls step down the backward pass one layer at a time. The
script computes nothing: every number and sentence it shows is the model's."""

from __future__ import annotations

import html

from convgrad_cli.core.explore.stack_page import StackPage
from convgrad_cli.core.views import blocks as model

from .page import block, document, stepper, style


def draw_stack_page(m: StackPage) -> str:
    reach = set(map(id, m.reach))
    before = [b for b in m.view.blocks if id(b) not in reach]
    head, rest = before[:2], before[2:]  # the heading and hint; the backward pass's opening
    steps = "\n".join(
        f'<div class="step" data-step="{k + 1}" hidden>\n' + "\n".join(_lines(step)) + "\n</div>"
        for k, step in enumerate(m.steps)
    )
    start = html.escape(m.data["words"]["stack_start"].format(count=m.data["steps"]))
    body = BODY.format(
        head="\n".join(_lines(head)),
        reach="\n".join(_lines(m.reach)),
        opening="\n".join(_lines(rest)),
        steps=steps,
        stepper=stepper(m.data["steps"], "layers of the backward pass shown", start),
    )
    return document(m.view, style() + STYLE, body, m.data, SCRIPT)


def _lines(blocks: tuple[model.Block, ...] | list[model.Block]) -> list[str]:
    return [line for b in blocks for line in block(b, {})]


STYLE = """
#reach section.array:first-of-type td { cursor: pointer; }
.step { border-top: 1px dashed #bbb; margin-top: .6em; display: flex; flex-wrap: wrap; gap: 0 1.5em; }
.step[hidden] { display: none; }
.step > p { flex-basis: 100%; margin: .4em 0; }
"""

BODY = """\
{head}
<div id="reach">
{reach}
</div>
<main id="backward">
{opening}
{steps}
</main>
<div class="bar">
{stepper}
</div>"""

SCRIPT = """\
"use strict";
const data = JSON.parse(document.getElementById("data").textContent), W = data.words;
const fill = (t, v) => t.replace(/\\{(\\w+)\\}/g, (_, k) => v[k]);
const sections = Array.from(document.querySelectorAll("#reach section.array"));
const field = document.querySelector("#reach p.sentence");
let timers = [];
function level(s, said) {  // one level's cells as the model drew them under the hovered output
  const tds = sections[s].querySelectorAll("td");
  tds.forEach(td => { td.className = ""; td.querySelector(".head").textContent = "0"; });
  for (const [place, text, role] of said.cells) {
    const td = tds[place];
    td.querySelector(".head").textContent = text;
    if (role) td.classList.add(role);
  }
  sections[s].querySelector("h2").textContent = said.title;
}
function show(t) {  // the reach of top output t, lit from the top level down
  timers.forEach(clearTimeout); timers = [];
  const reach = data.reach[t];
  field.textContent = reach.sentence;
  reach.sections.forEach((said, s) => timers.push(setTimeout(() => level(s, said), s * 150)));
}
sections[0].querySelectorAll("td").forEach((td, t) => {
  td.addEventListener("mouseenter", () => show(t));
  td.addEventListener("click", () => show(t));
});
const scrub = document.getElementById("scrub"), stepText = document.getElementById("step-text");
const steps = Array.from(document.querySelectorAll(".step"));
function setStep(k) {  // the backward pass down to layer k from the top
  k = Math.max(0, Math.min(data.steps, k)); scrub.value = k;
  steps.forEach((div, i) => { div.hidden = i >= k; });
  stepText.textContent = k ? fill(W.stack_step, {step: k, count: data.steps, layer: data.said[k - 1]})
    : fill(W.stack_start, {count: data.steps});
  if (k) steps[k - 1].scrollIntoView({block: "nearest"});
}
scrub.addEventListener("input", () => setStep(Number(scrub.value)));
document.getElementById("prev").addEventListener("click", () => setStep(Number(scrub.value) - 1));
document.getElementById("next").addEventListener("click", () => setStep(Number(scrub.value) + 1));
"""
