"""`check` results as JUnit XML, and the lines that say what disagrees."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from convgrad_cli.core.check import CaseResult


def failure_lines(r: CaseResult) -> list[str]:
    """What disagrees, one line per failed comparison (with its worst entries)."""
    if r.error:
        return [r.error]
    lines = []
    for c in r.comparisons:
        if c.passed:
            continue
        worst = "; ".join(
            (f"[{','.join(map(str, m.index))}] " if m.index else "")
            + f"expected {m.expected:.6g}, got {m.actual:.6g}"
            for m in c.mismatches
        )
        lines.append(
            f"{c.quantity} disagrees with the {c.reference}: max abs error {c.max_abs:.3g} > {c.tolerance:.3g}"
            + (f" ({c.note})" if c.note else "")
            + (f"; {worst}" if worst else "")
        )
    return lines


def junit_xml(results: list[CaseResult]) -> str:
    suite = ET.Element(
        "testsuite",
        name="convgrad check",
        tests=str(len(results)),
        failures=str(sum(not r.passed for r in results)),
        errors="0",
    )
    for r in results:
        case = ET.SubElement(suite, "testcase", classname="convgrad.check", name=f"{r.name} [{r.geometry}]")
        if not r.passed:
            lines = failure_lines(r)
            failure = ET.SubElement(case, "failure", message=lines[0] if lines else "failed")
            failure.text = "\n".join(lines)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
