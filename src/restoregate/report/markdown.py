"""``--format markdown``: for ``$GITHUB_STEP_SUMMARY`` and merge-request comments.

Data is inert there: ``markdown_text`` escapes what could become markup, HTML, a link,
math or a table-cell break, and keeps it on one line; the verdict heading is built from
counts only.
"""

from __future__ import annotations

from typing import TextIO

from restoregate.report import Report, RuleResult
from restoregate.report.escape import markdown_code, markdown_text
from restoregate.report.text import verdict

ICONS = {"pass": "✅", "fail": "❌", "warn": "⚠️", "error": "⛔", "skip": "⏭️"}
SHOWN = 20


def render(report: Report, stream: TextIO, *, color: bool = False) -> None:
    icon = "✅" if report.passed else "❌"
    stream.write(f"## {icon} restoregate: {verdict(report)}\n\n")
    if report.failure is not None:
        stream.write(f"{markdown_text(report.title)}\n\n")
        stream.write(f"> ⛔ {markdown_text(report.failure.message)}\n")
        return
    stream.write(
        f"{markdown_text(report.title)} · {markdown_text(report.server_label)}"
        f" · {report.duration_s:.2f} s\n\n"
    )
    stream.write("| | rule | check | severity | result |\n|---|---|---|---|---|\n")
    for r in report.rules:
        cells = (markdown_text(x) for x in (r.check, r.severity, r.message))
        rule = markdown_code(r.id, in_table=True)
        stream.write(f"| {ICONS[r.status]} | {rule} | {' | '.join(cells)} |\n")
    for result in report.rules:
        _details(stream, result)


def _details(stream: TextIO, result: RuleResult) -> None:
    findings = result.findings()
    if not findings and not result.hint:
        return
    stream.write(
        f"\n### {ICONS[result.status]} {markdown_code(result.id)}: "
        f"{markdown_text(result.message)}\n\n"
    )
    for text in findings[:SHOWN]:
        stream.write(f"- {markdown_text(text)}\n")
    if len(findings) > SHOWN:
        stream.write(f"- … and {len(findings) - SHOWN} more (see the JSON report)\n")
    if result.hint:
        stream.write(f"\n> hint: {markdown_text(result.hint)}\n")
