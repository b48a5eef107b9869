"""GitHub Actions annotations: one ``::error`` line per failed or broken rule."""

from __future__ import annotations

import os
from typing import TextIO

from restoregate.report import Report, markdown


def _escape(text: str) -> str:
    """Workflow-command escaping for data and properties."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _escape(text).replace(":", "%3A").replace(",", "%2C")


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def summarize(report: Report) -> None:
    """Append the Markdown report to the job summary GitHub shows for the step."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as stream:
            markdown.render(report, stream)
    except OSError:
        pass  # a summary that cannot be written must not change the verdict


def annotate(report: Report, stream: TextIO) -> None:
    for result in report.rules:
        if result.status not in ("fail", "error", "warn"):
            continue
        level = "warning" if result.status == "warn" else "error"
        lines = [result.message] + [v.describe() for v in result.violations[:10]]
        title = _property(f"restoregate: rule {result.id} ({result.status})")
        stream.write(f"::{level} title={title}::{_escape(chr(10).join(lines))}\n")
