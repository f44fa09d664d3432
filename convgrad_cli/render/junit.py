"""`check` results as JUnit XML, and the lines that say what is wrong (shared
with the terminal, Markdown and LaTeX views)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from convgrad_cli.core.check.mistakes import CATALOGUE
from convgrad_cli.core.check.run import CaseResult, summary
from convgrad_cli.core.check.sweep import DESCRIBE

NAMES = {"input_grad": "∂L/∂x", "weight_grad": "∂L/∂W", "bias_grad": "∂L/∂bias"}


def _index(index: tuple[int, ...]) -> str:
    return f"[{','.join(map(str, index))}]"


def case_lines(r: CaseResult) -> list[str]:
    """What is wrong with one case, one line per failing quantity (or its error)."""
    if r.status == "error":
        named = [d.mistake for ds in r.diagnosis.values() for d in ds]
        return [f"error: {r.error}" + (f" — looks like {named[0]}: {CATALOGUE[named[0]]}" if named else "")]
    if r.status in ("skipped", "not_run"):
        return [f"{r.status.replace('_', ' ')}: {r.error}"]
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


def summary_line(results: list[CaseResult]) -> str:
    """``13 of 15 cases pass, 1 fails, 1 error; passed on 20 of 22 classes; fails only when groups > 1``."""
    statuses = ("passed", "failed", "error", "skipped", "not_run")
    count = {s: sum(r.status == s for r in results) for s in statuses}
    text = f"{count['passed']} of {len(results)} cases pass"
    text += "".join(
        f", {count[s]} {w}"
        for s, w in (("failed", "fail"), ("error", "error"), ("skipped", "skipped"), ("not_run", "not run"))
        if count[s]
    )
    if count["not_run"]:  # why, once: each not-run case has the same reason
        text += f" ({next(r.error for r in results if r.status == 'not_run')})"
    s = summary(results)
    covered, passed = s["classes_covered"], s["classes_passed"]
    if len(covered) > 3:
        text += f"; passed on {len(passed)} of {len(covered)} classes"
        if s["fails_only_when"]:
            text += "; fails only with " + _and([DESCRIBE[c] for c in s["fails_only_when"]])
        if s["classes_not_covered"] and any(r.name.startswith("random-") for r in results):
            text += "; not covered: " + ", ".join(DESCRIBE[c] for c in s["classes_not_covered"])
    return text


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(text: str) -> str:
    """XML 1.0 cannot hold control characters: they become ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def junit_xml(results: list[CaseResult]) -> str:
    suite = ET.Element(
        "testsuite",
        name="convgrad check",
        tests=str(len(results)),
        failures=str(sum(r.status == "failed" for r in results)),
        errors=str(sum(r.status == "error" for r in results)),
        skipped=str(sum(r.status in ("skipped", "not_run") for r in results)),  # JUnit has no "not run"
    )
    for r in results:
        case = ET.SubElement(
            suite, "testcase", classname="convgrad.check", name=_clean(f"{r.name} [{r.geometry}]")
        )
        lines = [_clean(line) for line in case_lines(r)]
        tag = {"failed": "failure", "error": "error", "skipped": "skipped", "not_run": "skipped"}.get(
            r.status
        )
        if tag:
            element = ET.SubElement(case, tag, message=lines[0] if lines else r.status)
            element.text = "\n".join(lines)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
