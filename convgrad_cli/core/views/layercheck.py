"""The view of ``check --layer``: a row per case and, for each failure, where it
is wrong, which mistake it looks like and the smallest case that still fails."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from convgrad_cli.core.check.report import Report
from convgrad_cli.core.check.run import Status
from convgrad_cli.core.layercheck import CATALOGUE, LayerResult
from convgrad_cli.core.layercheck.contract import SIGNATURES
from convgrad_cli.core.layercheck.stack import StackCheck

from .alike import failures
from .blocks import Block, Heading, Sentence, Span, Table, Together, View
from .cases import COUNTED, short_name, smallest_lines

MARK = {
    Status.passed: "✓",
    Status.failed: "✗",
    Status.error: "error",
    Status.skipped: "skipped",
    Status.not_run: "not run",
}


def layercheck_view(
    report: Report,
    label: str,
    saved: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
    every: bool = False,
) -> View:
    """A row per case, the failures (``every`` one, or the first of each that fail alike and a line
    for the rest), the verdict and, as ``check`` says them, its ``notes``."""
    results: list[LayerResult] = report.results  # type: ignore[assignment]
    kind = report.layer
    rows = []
    for r in results:
        said = " ".join(f"{c.reference}{'' if c.quantity == 'input_grad' else ' ∂L/∂W'} {'✓' if c.passed else '✗'}"
                        for c in r.checks if not c.note)  # fmt: skip
        why = "said below" if r.status is Status.error else r.error  # an error's lines are under the table
        rows.append((short_name(r.case.name), r.case.describe(), MARK[r.status], said or why))
    blocks: list[Block] = [
        Heading(f"check --layer {kind}", label, f"{len(results)} cases", "numbers"),
        Sentence.of(f"called as {SIGNATURES[kind]}", quiet=True),
        Table(
            "each case against convgrad's layer, the windows written out, finite differences and the adjoint "
            "identity",
            ("case", "layer", "result", "references"),
            tuple(rows),
            names=(0,),
        ),  # fmt: skip
    ]
    if results and results[0].tolerance:
        blocks.append(Sentence.of(results[0].tolerance, quiet=True))
    blocks += failures(results, saved or {}, every, _failure)
    blocks.append(Sentence((Span(verdict(results), strong=True),)))
    blocks += [Sentence.of(n, strong=n.startswith("NOT PASSED"), tone="bad" if n.startswith("NOT") else "")
               for n in notes]  # fmt: skip
    return View("check", tuple(blocks))


def verdict(results: Sequence[LayerResult]) -> str:
    """``3 of 6 cases pass, 1 fail, 1 error, 1 skipped``: each status but a pass counted as ``check``
    counts it, a wrong number apart from a broken contract."""
    text = f"{sum(r.passed for r in results)} of {len(results)} cases pass"
    for status, word in COUNTED.items():
        cases = [r for r in results if r.status is status]
        if cases:
            text += f", {len(cases)} {word}"
            if status is Status.not_run:  # why, once: each has the same reason
                text += f" ({cases[0].error})"
    return text


def layer_case_lines(r: LayerResult) -> list[str]:
    """What is wrong with one case, a line per reference it fails (or its error), and the mistake it looks like."""
    if r.status in (Status.error, Status.skipped, Status.not_run):
        return [f"{r.status.value.replace('_', ' ')}: {r.error}"]
    if r.status is not Status.failed:
        return []
    lines = [
        f"{c.quantity} against {c.reference}: "
        + (f"{c.wrong} of {c.entries} entries wrong" if c.reference != "adjoint" else "the identity fails")
        + f" (worst |error| {c.max_abs_error:.3g})"
        for c in r.checks
        if not c.passed
    ]
    lines += [f"{'or ' if i else ''}looks like {d.mistake} ({d.explains:.0%} of the wrong entries): "
              f"{CATALOGUE[d.mistake][1]}" for i, d in enumerate(r.diagnosis[:2])]  # fmt: skip
    return lines


def _failure(r: LayerResult, saved: str | None) -> Together:
    """A failing case's lines, said as one (no blank line between them)."""
    lines = layer_case_lines(r)
    out: list[Block] = [
        Sentence((Span(f"{r.case.name}: ", strong=True), Span(lines[0].removeprefix("error: "))))
    ]
    out += [Sentence.of("  " + line) for line in lines[1:]]
    out += smallest_lines(r.smallest.describe() if r.smallest is not None else None, saved)
    return Together(tuple(out))


def stack_check_view(results: list[tuple[str, list[StackCheck]]]) -> View:
    """A table per stack config: each layer's checks, then the chain's."""
    blocks: list[Block] = []
    for source, checks in results:
        rows = tuple(
            ("chain" if c.layer == 0 else f"{c.layer} · {c.kind}", c.quantity, c.reference,
             "—" if c.note else MARK[Status.passed if c.passed else Status.failed], c.note or f"{c.max_abs_error:.2g}")
            for c in checks
        )  # fmt: skip
        blocks.append(Heading("check", "a stack of layers", source, "numbers"))
        blocks.append(Table("each layer against another way to its gradient and the adjoint identity "
                            "⟨f(x), δ⟩ = ⟨x, ∂L/∂x⟩; the loss end to end against finite differences",
                            ("layer", "gradient", "reference", "result", "worst |error|"), rows))  # fmt: skip
    done = [c for _, checks in results for c in checks if not c.note]  # a check left out checked nothing
    bad = sum(not c.passed for c in done)
    left = sum(len(checks) for _, checks in results) - len(done)
    verdict = f"{len(done) - bad} of {len(done)} checks pass" + (f", {bad} fail" if bad else "")
    verdict += f"; {left} left out (each says why), neither passed nor failed" if left else ""
    blocks.append(Sentence((Span(verdict, strong=True),)))
    return View("check", tuple(blocks))
