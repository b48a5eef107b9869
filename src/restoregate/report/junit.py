"""``--format junit``: one testcase per rule, as GitHub, GitLab and Jenkins read JUnit XML.

A failed rule is a ``<failure>`` carrying its violations; a rule that could not run is
an ``<error>``; a skipped rule is ``<skipped>``; warnings pass with the findings in
``<system-out>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TextIO

from restoregate.report import Report, RuleResult


def render(report: Report, stream: TextIO, *, color: bool = False) -> None:
    counts = {
        "tests": str(len(report.rules)),
        "failures": str(report.count("fail")),
        "errors": str(report.count("error")),
        "skipped": str(report.count("skip")),
        "time": f"{report.duration_s:.3f}",
    }
    suites = ET.Element("testsuites", {"name": "restoregate", **counts})
    suite = ET.SubElement(
        suites,
        "testsuite",
        {"name": f"restoregate {report.dsn}", **counts, "timestamp": report.started_at},
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (("dsn", report.dsn), ("server_version", report.server_version or "")):
        ET.SubElement(properties, "property", {"name": name, "value": value})
    for result in report.rules:
        _testcase(suite, result)
    ET.indent(suites)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ET.tostring(suites, encoding="unicode"))
    stream.write("\n")


def _testcase(suite: ET.Element, result: RuleResult) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        {
            "classname": f"restoregate.{result.check}",
            "name": result.id,
            "time": f"{result.duration_s:.3f}",
        },
    )
    details = "\n".join(result.findings())
    if result.status == "fail":
        kinds = sorted({v.kind for v in result.violations})
        failure = ET.SubElement(
            case, "failure", {"message": result.message, "type": ",".join(kinds)}
        )
        failure.text = details
    elif result.status == "error":
        error = ET.SubElement(case, "error", {"message": result.message, "type": "could_not_run"})
        error.text = result.hint or ""
    elif result.status == "skip":
        ET.SubElement(case, "skipped", {"message": result.message})
    elif details:
        ET.SubElement(case, "system-out").text = f"warning: {result.message}\n{details}"
