"""`check` results as JSON and as JUnit XML."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import Any

from .checking import CaseResult


def _number(v: float) -> float | str:
    return v if math.isfinite(v) else str(v)


def case_json(r: CaseResult) -> dict[str, Any]:
    return {
        "name": r.name,
        "geometry": r.geometry,
        "mode": r.mode,
        "passed": r.passed,
        "error": r.error or None,
        "checks": [
            {
                "quantity": c.quantity,
                "reference": c.reference,
                "passed": c.passed,
                "max_abs_error": _number(c.max_abs),
                "max_rel_error": _number(c.max_rel),
                "tolerance": c.tolerance,
                "note": c.note or None,
                "mismatches": [
                    {"index": list(m.index), "expected": m.expected, "actual": m.actual} for m in c.mismatches
                ],
            }
            for c in r.comparisons
        ],
    }


def check_json(results: list[CaseResult]) -> dict[str, Any]:
    return {
        "command": "check",
        "passed": all(r.passed for r in results),
        "cases": len(results),
        "failed": sum(not r.passed for r in results),
        "results": [case_json(r) for r in results],
    }


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
