"""``--format junit``: one testcase per rule, as GitHub, GitLab and Jenkins read JUnit XML.

A failed rule is a ``<failure>`` carrying its violations; a rule that could not run is
an ``<error>``; a skipped rule is ``<skipped>``; warnings pass with the findings in
``<system-out>``. A run that could not judge at all is one ``<error>`` testcase.

Valid against Jenkins' ``junit-10.xsd`` (``tests/junit-10.xsd``): the root carries only
``name``, ``time``, ``tests``, ``failures`` and ``errors``; every text goes through
``printable``, so no character XML 1.0 forbids reaches the file and data cannot add a
line. Suite names are stable from run to run (``restoregate verify-dump nightly.dump``,
never a temporary path), so CI systems can follow a rule's history.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TextIO

from restoregate.report import Report, RuleResult
from restoregate.report.escape import printable

_FAILURE_TYPES = {2: "usage_error", 3: "could_not_check"}


def render(report: Report, stream: TextIO, *, color: bool = False) -> None:
    counts = {
        "tests": str(len(report.rules) if report.failure is None else 1),
        "failures": str(report.count("fail")),
        "errors": str(report.count("error") if report.failure is None else 1),
        "time": f"{report.duration_s:.3f}",
    }
    suites = ET.Element("testsuites", {"name": "restoregate", **counts})
    suite = ET.SubElement(
        suites,
        "testsuite",
        {
            "name": f"restoregate {printable(report.title)}",
            **counts,
            "skipped": str(report.count("skip")),
            "timestamp": report.started_at,
        },
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (("dsn", report.dsn), ("server_version", report.server_version or "")):
        ET.SubElement(properties, "property", {"name": name, "value": printable(value)})
    if report.failure is not None:
        _run_failure(suite, report)
    for result in report.rules:
        _testcase(suite, result)
    ET.indent(suites)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ET.tostring(suites, encoding="unicode"))
    stream.write("\n")


def _run_failure(suite: ET.Element, report: Report) -> None:
    assert report.failure is not None
    case = ET.SubElement(
        suite, "testcase", {"classname": "restoregate", "name": "restoregate", "time": "0.000"}
    )
    kind = _FAILURE_TYPES.get(report.failure.exit_code, "interrupted")
    message = printable(report.failure.message)
    ET.SubElement(case, "error", {"message": message, "type": kind}).text = message


def _testcase(suite: ET.Element, result: RuleResult) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        {
            "classname": f"restoregate.{printable(result.check)}",
            "name": printable(result.id),
            "time": f"{result.duration_s:.3f}",
        },
    )
    details = "\n".join(printable(text) for text in result.findings())
    message = printable(result.message)
    if result.status == "fail":
        kinds = sorted({v.kind for v in result.violations})
        failure = ET.SubElement(case, "failure", {"message": message, "type": ",".join(kinds)})
        failure.text = details
    elif result.status == "error":
        error = ET.SubElement(case, "error", {"message": message, "type": "could_not_run"})
        error.text = printable(result.hint or "")
    elif result.status == "skip":
        ET.SubElement(case, "skipped", {"message": message})
    elif details:
        ET.SubElement(case, "system-out").text = f"warning: {message}\n{details}"
