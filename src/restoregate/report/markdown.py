"""``--format markdown``: for ``$GITHUB_STEP_SUMMARY`` and merge-request comments."""

from __future__ import annotations

from typing import TextIO

from restoregate.report import Report, RuleResult
from restoregate.report.text import verdict

ICONS = {"pass": "✅", "fail": "❌", "warn": "⚠️", "error": "⛔", "skip": "⏭️"}
SHOWN = 20


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render(report: Report, stream: TextIO, *, color: bool = False) -> None:
    icon = "✅" if report.passed else "❌"
    stream.write(f"## {icon} restoregate: {_cell(verdict(report))}\n\n")
    stream.write(
        f"`{_cell(report.dsn)}` · {_cell(report.server_label)} · {report.duration_s:.2f} s\n\n"
    )
    stream.write("| | rule | check | severity | result |\n|---|---|---|---|---|\n")
    for r in report.rules:
        status = ICONS[r.status]
        stream.write(
            f"| {status} | `{_cell(r.id)}` | {r.check} | {r.severity} | {_cell(r.message)} |\n"
        )
    for result in report.rules:
        _details(stream, result)


def _details(stream: TextIO, result: RuleResult) -> None:
    findings = result.findings()
    if not findings and not result.hint:
        return
    stream.write(f"\n### {ICONS[result.status]} `{_cell(result.id)}`: {_cell(result.message)}\n\n")
    for text in findings[:SHOWN]:
        stream.write(f"- {_cell(text)}\n")
    if len(findings) > SHOWN:
        stream.write(f"- … and {len(findings) - SHOWN} more (see the JSON report)\n")
    if result.hint:
        stream.write(f"\n> hint: {_cell(result.hint)}\n")
