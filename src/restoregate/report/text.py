"""``--format text``: a table of rules, then each failure in words, then the verdict.

Everything that comes from the database or a rules file goes through ``printable`` and
into rich ``Text`` (never markup), and wrapped lines indent under their bullet, so data
can neither start a line of its own nor colour the terminal: the verdict is always the
only line that starts with ``GATE``.
"""

from __future__ import annotations

import io
import shutil
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from restoregate.report import Report, RuleResult, plural
from restoregate.report.escape import printable

STYLES = {
    "pass": "green",
    "fail": "bold red",
    "warn": "yellow",
    "error": "bold magenta",
    "skip": "dim",
}
MARKS = {"pass": "✓", "fail": "✗", "warn": "!", "error": "?", "skip": "-"}


def render(
    report: Report, stream: TextIO, *, color: bool = False, width: int | None = None
) -> None:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        width=width or _width(stream),
    )
    _render(report, console)
    for line in buffer.getvalue().splitlines():
        stream.write(line.rstrip() + "\n")


def _render(report: Report, console: Console) -> None:
    title = f" · {printable(report.title)}"
    header = Text.assemble((f"restoregate {report.tool_version}", "bold"), title)
    if report.failure is None:
        header.append(f" · {printable(report.server_label)} · {report.duration_s:.2f} s")
    if header.cell_len > console.width:  # the target on a line of its own, indented
        header = Text.assemble((f"restoregate {report.tool_version}", "bold"))
        if report.failure is None:
            header.append(f" · {printable(report.server_label)} · {report.duration_s:.2f} s")
        header.append(f"\n  {printable(report.title)}")
    console.print(header, soft_wrap=True)
    if report.consistency != "snapshot":
        note = printable(report.consistency_note or "no shared snapshot")
        console.print(
            Text(f"results are consistent per batch of probes, not as one snapshot: {note}"),
            style="yellow",
            highlight=False,
        )
    if report.failure is not None:
        console.print(_hanging([("?", Text(printable(report.failure.message)))]))
    else:
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
    console.print(Text(verdict(report), style="bold green" if report.passed else "bold red"))
    if report.count("fail") and not report.count("error"):
        console.print(NEXT_STEP, highlight=False)


NEXT_STEP = "Next: `restoregate fix` writes a plan for what can be fixed; it changes nothing."


def _width(stream: TextIO) -> int:
    if stream.isatty():
        return shutil.get_terminal_size((100, 24)).columns
    return 120


def _table(report: Report) -> Table:
    # pad_edge: every row, wrapped or not, starts with a space, never with data
    table = Table(show_edge=False, pad_edge=True, box=None, header_style="bold")
    for name in ("rule", "check", "severity", "status", "result"):
        table.add_column(name, overflow="fold")
    for r in report.rules:
        table.add_row(
            Text(printable(r.id)),
            Text(printable(r.check)),
            Text(printable(r.severity)),
            Text(r.status.upper(), style=STYLES[r.status]),
            Text(printable(r.message)),
        )
    return table


def _details(console: Console, result: RuleResult) -> None:
    style = STYLES[result.status]
    console.print()
    title = Text.assemble((printable(result.id), style), f" — {printable(result.message)}")
    console.print(_hanging([(MARKS[result.status], title)], indent=""))
    lines = [("•", Text(printable(v.describe()))) for v in result.violations]
    lines += [("!", Text(printable(v.describe()), style="yellow")) for v in result.advisories]
    if result.hint:
        lines.append(("hint:", Text(printable(result.hint), style="italic")))
    console.print(_hanging(lines))
    unchecked = [
        ("?", Text(printable(f"not checkable: {u.subject}: {u.reason}"), style="dim"))
        for u in result.unchecked
    ]
    console.print(_hanging(unchecked))
    listed = [
        ("·", Text(printable(f"{name.replace('_', ' ')}: {_listing(items)}"), style="dim"))
        for name, items in result.lists.items()
        if items
    ]
    console.print(_hanging(listed))


def _listing(items: list[str], shown: int = 10) -> str:
    text = ", ".join(items[:shown])
    return text + (f" and {len(items) - shown:,} more" if len(items) > shown else "")


def _hanging(lines: list[tuple[str, Text]], indent: str = "  ") -> Table:
    """Bulleted lines whose continuation lines indent under the text, not the bullet."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for mark, text in lines:
        grid.add_row(f"{indent}{mark}", text)
    return grid


def verdict(report: Report) -> str:
    """The last line of every report; built from counts only, never from data."""
    judged = [r for r in report.rules if r.status != "skip"]
    if report.failure is not None:
        return (
            f"GATE CLOSED: the checks could not run (exit {report.failure.exit_code}). "
            "Nothing was proven safe; fix the cause and run again."
        )
    if report.count("error"):
        return (
            f"GATE CLOSED: {report.count('error')} of {plural(len(judged), 'rule')} could not be "
            "checked. Nothing was proven safe; fix the cause and run again."
        )
    if not report.passed:
        failed = f"{report.count('fail')} of {plural(len(judged), 'rule')}"
        return f"GATE CLOSED: {failed} failed. Do not go live."
    warned = f" ({report.count('warn')} with warnings)" if report.count("warn") else ""
    passed = "the only rule" if len(judged) == 1 else f"all {len(judged)} rules"
    return f"GATE OPEN: {passed} passed{warned}."
