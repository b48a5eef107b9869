"""GitHub Actions annotations: one ``::error`` line per failed or broken rule.

Workflow commands are read line by line from the log, so data must never end a line:
every text goes through ``printable`` (no control characters, no ANSI) and then the
workflow-command escaping of ``%``, ``\\r`` and ``\\n``; properties also escape ``:``
and ``,``, so a name cannot close the property list (``::``) or add a property.
"""

from __future__ import annotations

import os
from typing import TextIO

from restoregate.report import Report
from restoregate.report.escape import printable, workflow_data, workflow_property


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def summarize(report: Report) -> None:
    """Append the Markdown report to the job summary GitHub shows for the step."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    from restoregate.report import markdown  # loads rich: only for a summary

    try:
        with open(path, "a", encoding="utf-8") as stream:
            markdown.render(report, stream)
    except OSError:
        pass  # a summary that cannot be written must not change the verdict


def annotate(report: Report, stream: TextIO) -> None:
    if report.failure is not None:
        title = workflow_property("restoregate: the checks could not run")
        stream.write(f"::error title={title}::{workflow_data(printable(report.failure.message))}\n")
    for result in report.rules:
        if result.status not in ("fail", "error", "warn"):
            continue
        level = "warning" if result.status == "warn" else "error"
        lines = [result.message] + [v.describe() for v in result.violations[:10]]
        title = workflow_property(f"restoregate: rule {result.id} ({result.status})")
        message = "\n".join(printable(line) for line in lines)
        stream.write(f"::{level} title={title}::{workflow_data(message)}\n")
