"""`check` results as JUnit XML, each failure in the lines the check's view says
(:mod:`convgrad_cli.core.views.check`)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from convgrad_cli.core.check.run import CaseResult, Status
from convgrad_cli.core.views.check import case_lines

#: the element a case's status adds to its testcase (JUnit has no "not run": it is skipped)
TAG = {Status.failed: "failure", Status.error: "error", Status.skipped: "skipped", Status.not_run: "skipped"}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(text: str) -> str:
    """XML 1.0 cannot hold control characters: they become ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def junit_xml(results: list[CaseResult], shortfall: str | None = None) -> str:
    """One testcase per case; a ``shortfall`` (fewer cases checked than required) is a failing
    testcase of its own, so that a CI that reads only the XML does not take it for a pass."""
    suite = ET.Element(
        "testsuite",
        name="convgrad check",
        tests=str(len(results) + (shortfall is not None)),
        failures=str(sum(r.status is Status.failed for r in results) + (shortfall is not None)),
        errors=str(sum(r.status is Status.error for r in results)),
        skipped=str(sum(r.status in (Status.skipped, Status.not_run) for r in results)),
    )
    for r in results:
        case = ET.SubElement(
            suite, "testcase", classname="convgrad.check", name=_clean(f"{r.name} [{r.geometry}]")
        )
        lines = [_clean(line) for line in case_lines(r)]
        tag = TAG.get(r.status)
        if tag:
            element = ET.SubElement(case, tag, message=lines[0] if lines else r.status.value)
            element.text = "\n".join(lines)
    if shortfall is not None:
        case = ET.SubElement(
            suite, "testcase", classname="convgrad.check", name="enough cases checked (--min-checked)"
        )
        message = _clean(f"NOT PASSED: {shortfall}")
        ET.SubElement(case, "failure", message=message).text = message
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
