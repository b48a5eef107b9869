"""``--format text``: a table of rules, then each failure in words, then the verdict."""

from __future__ import annotations

import io
import shutil
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from restoregate.report import Report, RuleResult

STYLES = {
    "pass": "green",
    "fail": "bold red",
    "warn": "yellow",
    "error": "bold magenta",
    "skip": "dim",
}
MARKS = {"pass": "✓", "fail": "✗", "warn": "!", "error": "?", "skip": "-"}


def render(report: Report, stream: TextIO, *, color: bool = False) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=_width(stream))
    _render(report, console)
    for line in buffer.getvalue().splitlines():
        stream.write(line.rstrip() + "\n")


def _render(report: Report, console: Console) -> None:
    console.print(
        f"[bold]restoregate {report.tool_version}[/] · {escape(report.dsn)} · "
        f"PostgreSQL {escape((report.server_version or '?').split()[0])} · "
        f"{report.duration_s:.2f} s",
        highlight=False,
    )
    console.print(_table(report))
    for result in report.rules:
        if (
            result.status in ("fail", "warn", "error")
            or result.unchecked
            or result.advisories
            or any(result.lists.values())
        ):
            _details(console, result)
    console.print()
    console.print(
        verdict(report), style="bold green" if report.passed else "bold red", highlight=False
    )
    if report.count("fail") and not report.count("error"):
        console.print(NEXT_STEP, highlight=False)


NEXT_STEP = "Next: `restoregate fix` writes a plan for what can be fixed; it changes nothing."


def _width(stream: TextIO) -> int:
    if stream.isatty():
        return shutil.get_terminal_size((100, 24)).columns
    return 120


def _table(report: Report) -> Table:
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for name in ("rule", "check", "severity", "status", "result"):
        table.add_column(name, overflow="fold")
    for r in report.rules:
        style = STYLES[r.status]
        table.add_row(
            escape(r.id), r.check, r.severity, f"[{style}]{r.status.upper()}[/]", escape(r.message)
        )
    return table


def _details(console: Console, result: RuleResult) -> None:
    style = STYLES[result.status]
    console.print()
    console.print(
        f"[{style}]{MARKS[result.status]} {escape(result.id)}[/] — {escape(result.message)}",
        highlight=False,
    )
    lines = [("•", Text(v.describe())) for v in result.violations]
    lines += [("!", Text(v.describe(), style="yellow")) for v in result.advisories]
    if result.hint:
        lines.append(("hint:", Text(result.hint, style="italic")))
    console.print(_hanging(lines), highlight=False)
    unchecked = [
        ("?", Text(f"not checkable: {u.subject}: {u.reason}", style="dim"))
        for u in result.unchecked
    ]
    console.print(_hanging(unchecked), highlight=False)
    listed = [
        ("·", Text(f"{name.replace('_', ' ')}: {_listing(items)}", style="dim"))
        for name, items in result.lists.items()
        if items
    ]
    console.print(_hanging(listed), highlight=False)


def _listing(items: list[str], shown: int = 10) -> str:
    text = ", ".join(items[:shown])
    return text + (f" and {len(items) - shown:,} more" if len(items) > shown else "")


def _hanging(lines: list[tuple[str, Text]]) -> Table:
    """Bulleted lines whose continuation lines indent under the text, not the bullet."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for mark, text in lines:
        grid.add_row(f"  {mark}", text)
    return grid


def verdict(report: Report) -> str:
    judged = [r for r in report.rules if r.status != "skip"]
    if report.count("error"):
        return (
            f"GATE CLOSED: {report.count('error')} of {len(judged)} rules could not be "
            "checked. Nothing was proven safe; fix the cause and run again."
        )
    if not report.passed:
        return f"GATE CLOSED: {report.count('fail')} of {len(judged)} rules failed. Do not go live."
    warned = f" ({report.count('warn')} with warnings)" if report.count("warn") else ""
    return f"GATE OPEN: all {len(judged)} rules passed{warned}."
