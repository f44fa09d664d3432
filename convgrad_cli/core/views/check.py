"""The view of `check`: a row per case, then for each failure what is wrong,
which references agree, what mistake it looks like, a picture of the error,
the first wrong cell traced and the smallest failing case; and the summary.
Its lines are JUnit's and the pytest plugin's too."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from convgrad_cli.core.check.mistakes import CATALOGUE
from convgrad_cli.core.check.report import Report
from convgrad_cli.core.check.run import CaseResult, Status, Wrong, summary
from convgrad_cli.core.check.sweep import describe
from convgrad_cli.core.explain import CellTrace
from convgrad_cli.core.options import option
from convgrad_cli.core.panels import Mark, Panel, panel

from .alike import failures
from .blocks import Block, Panels, Sentence, Span, Table, Together, View
from .cases import COUNTED, short_name, smallest_lines
from .cells import GRID_DIGITS, NARROWER
from .numbers import fmt

NAMES = {"input_grad": "∂L/∂x", "weight_grad": "∂L/∂W", "bias_grad": "∂L/∂bias", "output": "y"}
#: The columns of the table: a backward's three gradients, or a forward's y.
COLUMNS = {False: ("input_grad", "weight_grad", "bias_grad"), True: ("output",)}
#: each status's word in the table, and its tone
VERDICT = {
    Status.passed: ("pass", "good"),
    Status.failed: ("FAIL", "bad"),
    Status.error: ("ERROR", "bad"),
    Status.skipped: ("skip", "doubtful"),
    Status.not_run: ("not run", "bad"),
}
#: each status but a pass, as the summary counts it


def check_view(
    results: list[CaseResult],
    impl: str,
    saved: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
    forward: bool = False,
    every: bool = False,
) -> View:
    """What was checked against what, the table of cases, the failures (``every`` one in full, or
    the first of each that fail alike and a line for the rest), the summary."""
    tolerance = results[0].tolerance if results else ""
    intro = (
        f"checking the forward {impl} (y = conv(x, W) + b) against the definition, the input's sliding "
        f"windows and the adjoint identity ⟨y − b, δ⟩ = ⟨x, ∂L/∂x⟩; largest relative error of y; {tolerance}"
        if forward
        else f"checking {impl} against the definition, the slides' pipeline, finite differences (FD: every "
        f"entry or random directions) and the adjoint identity; largest relative error per gradient; "
        f"{tolerance}"
    )
    blocks: list[Block] = [Sentence.of(intro, strong=True), _table(results, forward)]
    blocks += failures(results, saved or {}, every, failure)
    bad = any(r.status.bad for r in results) or any(n.startswith("NOT PASSED") for n in notes)
    blocks.append(Sentence.of(summary_line(results, forward), strong=True, tone="bad" if bad else "good"))
    blocks += [
        Sentence.of(n, strong=n.startswith("NOT PASSED"), tone="bad" if n.startswith("NOT") else "")
        for n in notes
    ]
    return View("check", (Together(tuple(blocks)),))


def _table(results: list[CaseResult], forward: bool = False) -> Table:
    rows: list[tuple[str | Span, ...]] = []
    columns = COLUMNS[forward]
    for r in results:
        errors = []
        for quantity in columns:
            values = [c.max_rel for c in r.comparisons if c.quantity == quantity]
            errors.append(f"{max(values):.0e}" if values else "—")
        word, tone = VERDICT[r.status]
        cells = (short_name(r.name), r.geometry) + (() if forward else (r.mode,))
        rows.append((*cells, *errors, Span(word, strong=tone != "doubtful", tone=tone)))
    head = ("case", "geometry", *(() if forward else ("FD",)), *(NAMES[q] for q in columns), "result")
    numbers = (2,) if forward else (3, 4, 5)
    return Table("", head, tuple(rows), numbers=numbers, names=(0,))


def failure(r: CaseResult, saved: str | None) -> Together:
    """What is wrong with one case: a line per quantity, its error as a grid, the
    first wrong cell traced, and the smallest failing case."""
    parts: list[Block] = [Sentence.of(f"{r.name} [{r.geometry}]", strong=True, tone="bad")]
    parts += [Sentence.of("  " + line) for line in case_lines(r)]
    for quantity in r.failing:
        drawn = error_panel(r, quantity)
        parts.append(Panels("", (drawn,), "  ✗ past its bound; the other entries agree" + rounded(drawn)))
        parts.append(Sentence.of("  " + traced(r, quantity, first_wrong(r.wrong[quantity]))))
    parts += smallest_lines(r.smallest.geom.describe() if r.smallest is not None else None, saved)
    return Together(tuple(parts))


def rounded(panel: Panel) -> str:
    """What the grid's cells leave out, where a number has more digits than the fewest it may
    be drawn with: a reader who needs them whole is told where they are."""
    values = () if panel.values is None else panel.values.ravel()
    fewest = min((digits for digits, _ in panel.narrower), default=GRID_DIGITS)
    if all(fmt(v, fewest) == fmt(v, 17) for v in values):
        return ""
    return f"; numbers to {GRID_DIGITS} significant digits or fewer, to fit the width ({option('json')} has every digit)"


def first_wrong(wrong: Wrong) -> tuple[int, ...]:
    over = np.abs(wrong.actual - wrong.expected) > wrong.bounds
    return tuple(int(i) for i in np.argwhere(over)[0])


def error_panel(r: CaseResult, quantity: str) -> Panel:
    """expected − actual over the slice that holds the first wrong entry, wrong ones marked ✗."""
    wrong = r.wrong[quantity]
    diff = wrong.expected - wrong.actual
    over = np.abs(diff) > wrong.bounds
    first = first_wrong(wrong)
    title = f"expected − actual, {NAMES[quantity]}"
    if quantity == "bias_grad":
        marks = {(0, int(i)): Mark("wrong") for i in np.flatnonzero(over)}
        return Panel(title, "bias", (), diff.reshape(1, -1), None, 1, marks=marks, focus=(0, first[0]),
                     narrower=NARROWER)  # fmt: skip
    spatial = r.problem.geom.ndim
    lead = first[: len(first) - min(spatial, 2)]

    def cell(i: tuple[int, ...]) -> tuple[int, int]:
        return (0, i[-1]) if spatial == 1 else (i[-2], i[-1])

    marks = {
        cell(tuple(int(v) for v in i)): Mark("wrong")
        for i in np.argwhere(over)
        if tuple(i[: len(lead)]) == lead
    }
    made = panel(title, quantity, lead, diff, None, spatial)
    return Panel(made.title, made.array, made.lead, made.values, None, spatial, marks=marks, focus=cell(first),
                 narrower=NARROWER)  # fmt: skip


#: why an entry of a gradient has no terms, in words
NO_TERMS = {"input_grad": "no window reads it", "weight_grad": "every cell it meets is padding"}


def traced(r: CaseResult, quantity: str, index: tuple[int, ...]) -> str:
    """The first wrong entry's expected terms beside the value under check."""
    wrong = r.wrong[quantity]
    got = float(wrong.actual[index])
    text = ",".join(map(str, index))
    kind = {"input_grad": "input", "weight_grad": "weight", "output": "output"}.get(quantity)
    if kind is None:
        return f"∂L/∂bias[{index[0]}] = Σδ over its output channel = {float(wrong.expected[index]):.6g}; got {got:.6g}"
    ct = CellTrace.of(kind, r.problem, text)
    expected = float(wrong.expected[index])
    if not ct.terms and quantity in NO_TERMS:  # "= 0 = 0" says nothing to a reader
        return f"{ct.lhs} has no terms ({NO_TERMS[quantity]}), so 0 expected; got {got:.6g}"
    expression = ct.expression
    if quantity == "output":  # y is its terms and its channel's bias
        expression = f"{expression} + bias[{index[1]}]" if ct.terms else f"bias[{index[1]}]"
    if len(expression) > 120:  # cut between terms, never inside a name, saying how many are left out
        kept = expression[:117].rsplit(" + ", 1)[0]
        left = expression.count(" + ") - kept.count(" + ")
        expression = f"{kept} + … ({left} more term{'s' * (left != 1)})"
    return f"{ct.lhs} = {expression} = {expected:.6g} expected; got {got:.6g}"


# -- the lines JUnit and the pytest plugin share -------------------------------------------------


def _index(index: tuple[int, ...]) -> str:
    return f"[{','.join(map(str, index))}]"


def report_view(
    report: Report,
    impl: str,
    saved: Mapping[str, str] | None = None,
    forward: bool = False,
    every: bool = False,
) -> View:
    """The view of any check's report: a convolution's (its backward, or ``forward``), or a layer of
    another kind's; ``every`` failing case in full, or the first of each that fail alike."""
    if report.layer != "conv":
        from .layercheck import layercheck_view

        return layercheck_view(report, impl, saved, report_lines(report), every)
    return check_view(report.results, impl, saved, report_lines(report), forward=forward, every=every)


def case_lines(r: CaseResult) -> list[str]:
    """What is wrong with one case, one line per failing quantity (or its error)."""
    if not isinstance(r, CaseResult):  # a layer of another kind's
        from .layercheck import layer_case_lines

        return layer_case_lines(r)
    if r.status is Status.error:
        named = [d.mistake for ds in r.diagnosis.values() for d in ds]
        return [f"error: {r.error}" + (f" — looks like {named[0]}: {CATALOGUE[named[0]]}" if named else "")]
    if r.status in (Status.skipped, Status.not_run):
        return [f"{r.status.value.replace('_', ' ')}: {r.error}"]
    lines = []
    for quantity in r.failing:
        failed = [c for c in r.comparisons if c.quantity == quantity and not c.passed]
        entrywise = next((c for c in failed if c.reference == "definition"), failed[0])
        line = f"{quantity} ({NAMES[quantity]}): "
        if entrywise.reference == "definition":
            worst = entrywise.mismatches[0] if entrywise.mismatches else None
            line += f"wrong at {entrywise.wrong} of {entrywise.entries} entries"
            if worst is not None:
                line += (
                    f"; worst {_index(worst.index)}: expected {worst.expected:.6g}, got {worst.actual:.6g} "
                    f"(bound {entrywise.tolerance:.2g})"
                )
        else:
            line += f"max error {entrywise.max_abs:.3g} > {entrywise.tolerance:.3g}"
        line += "; seen by " + _and([c.reference for c in failed])
        found = r.diagnosis.get(quantity, [])
        if found:
            best = found[0]
            line += f" — looks like {best.mistake} (explains {best.explains:.0%} of its entries): {CATALOGUE[best.mistake]}"
            if len(found) > 1:
                line += "; or " + ", ".join(f"{d.mistake} ({d.explains:.0%})" for d in found[1:3])
        lines.append(line)
    return lines


def _and(items: list[str]) -> str:
    items = list(dict.fromkeys(items))
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def summary_line(results: list[CaseResult], forward: bool = False) -> str:
    """``13 of 15 cases pass, 1 fail, 1 error; a passing case in 20 of the 22 edge-case classes
    covered (a stride > 1, padding, groups > 1, …); fails only with groups > 1``, a class said in
    a forward's words for ``forward``."""
    count = {s: sum(r.status is s for r in results) for s in Status}
    text = f"{count[Status.passed]} of {len(results)} cases pass"
    text += "".join(f", {count[s]} {word}" for s, word in COUNTED.items() if count[s])
    if count[Status.not_run]:  # why, once: each not-run case has the same reason
        text += f" ({next(r.error for r in results if r.status is Status.not_run)})"
    s = summary(results)
    covered, passed = s["classes_covered"], s["classes_passed"]

    def said(cids: list[str]) -> str:
        return _and([describe(c, forward) for c in cids])

    if len(covered) > 3:
        examples = sorted(covered, key=lambda c: EXAMPLES.index(c) if c in EXAMPLES else len(EXAMPLES))[:3]
        text += (
            f"; a passing case in {len(passed)} of the {len(covered)} edge-case classes covered "
            f"({', '.join(describe(c, forward) for c in examples)}, …)"
        )
        if s["fails_only_when"]:
            text += "; fails only with " + said(s["fails_only_when"])
            unmeant = [c for c in s["fails_only_when"] if c in OUT_OF_SCOPE]
            if unmeant:  # a loop that ignores dilation is right to fail there, or not meant for it
                options = _and([option(OUT_OF_SCOPE[c]) for c in unmeant])
                text += f" (if it is not meant for {said(unmeant)}, give {options})"
        if s["fails_only_without"]:
            text += "; fails only without " + said(s["fails_only_without"])
        if s["raises_only_without"]:
            text += "; raises only without " + said(s["raises_only_without"])
        if s["raises_only_when"]:
            text += "; raises only with " + said(s["raises_only_when"])
            for mistake in s["errors_look_like"]:
                text += f" — looks like {mistake}: {CATALOGUE[mistake]}"
        if s["classes_not_covered"] and any(r.name.startswith("random-") for r in results):
            text += "; not covered: " + ", ".join(describe(c, forward) for c in s["classes_not_covered"])
    return text


#: classes a first implementation may leave out, and the option that keeps the sweep from them
OUT_OF_SCOPE = {"dilated": "no_dilation", "grouped": "no_groups"}
#: the classes that show a reader what an edge-case class is, first of those covered
EXAMPLES = ("strided", "padded", "grouped", "dilated", "1d", "batch")


def report_lines(report: Report) -> list[str]:
    """What the implementation supports, what it refused, and whether enough was checked."""
    lines = []
    supports = report.supports()
    if supports:
        lines.append(f"supports: {supports}")
    if report.refused:
        lines.append("refused: " + ", ".join(report.refused))
    if any("bias_grad" in getattr(r, "unchecked", ()) for r in report.results):
        lines.append("∂L/∂bias not checked: the implementation returns (input_grad, weight_grad)")
    hint = report.undeclared()
    if hint is not None:
        scope, outside = hint
        errors = sum(r.status is Status.error for r in report.results)
        lines.append(
            f"{outside} of the {errors} errors came on cases unlike any it answered; if it handles "
            f"{scope.describe()} only, say so and the sweep stays inside: raise NotImplementedError "
            f'for the rest, or set fn.convgrad_scope = "{scope.describe()}" (docs/check.md, Scope)'
        )
    if report.swept or report.min_checked > 1:
        lines.append(f"{report.checked} cases checked (at least {report.min_checked} required)")
    shortfall = report.shortfall()
    if shortfall:
        lines.append("NOT PASSED: " + shortfall)
    return lines
