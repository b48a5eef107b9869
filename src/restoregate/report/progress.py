"""A live progress bar on stderr while rules run, shown only on a terminal.

It counts check targets (a table read, a reference's anti-join) done out of the total
the run expects, names the one being read, and estimates the time left; on a big
schema that is what tells a runbook the check is moving. On a non-terminal stderr the
CLI does not create it, so logs and CI output stay clean.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Column

from restoregate.report import RuleResult
from restoregate.report.escape import printable
from restoregate.rules.ruleset import Rule


class TerminalProgress:
    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", table_column=Column(no_wrap=True)),
            BarColumn(bar_width=16, table_column=Column(min_width=16)),
            MofNCompleteColumn(table_column=Column(no_wrap=True)),
            TextColumn("targets", table_column=Column(no_wrap=True)),
            TextColumn("eta", table_column=Column(no_wrap=True)),
            TimeRemainingColumn(table_column=Column(no_wrap=True, min_width=7)),
            TextColumn(
                "[dim]{task.fields[current]}",
                table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1),
            ),
            console=console,
            transient=True,
        )
        self._task = self._progress.add_task("connecting", total=None, current="")
        self._rule = ""

    def __enter__(self) -> TerminalProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def started(self, rules: Sequence[Rule], targets: int = 0) -> None:
        """``targets``: probes the run expects (a lower bound; the total grows if passed)."""
        self._progress.update(self._task, total=max(targets, 1), description="checking")

    def rule_started(self, rule: Rule) -> None:
        self._rule = rule.id
        self._progress.update(self._task, description=f"rule {escape(printable(rule.id))}")

    def target(self, what: str, count: int = 1) -> None:
        """A probe answering ``count`` targets started: count them, show what it reads."""
        task = self._progress.tasks[0]
        if task.total is not None and task.completed + count > task.total:
            self._progress.update(self._task, total=task.completed + count)
        self._progress.update(self._task, advance=count, current=escape(printable(what)))

    def rule_finished(self, result: RuleResult) -> None:
        self._progress.update(self._task, current="")
