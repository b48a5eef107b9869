"""A live line on stderr while rules run, shown only on a terminal."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from restoregate.report import RuleResult
from restoregate.report.escape import printable
from restoregate.rules.ruleset import Rule


class TerminalProgress:
    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task = self._progress.add_task("connecting", total=None)

    def __enter__(self) -> TerminalProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def started(self, rules: Sequence[Rule]) -> None:
        self._progress.update(self._task, total=len(rules), description="checking")

    def rule_started(self, rule: Rule) -> None:
        shown = escape(printable(rule.id))  # a rule id is data: no markup, no escapes
        self._progress.update(self._task, description=f"rule {shown} ({rule.check})")

    def rule_finished(self, result: RuleResult) -> None:
        self._progress.advance(self._task)
