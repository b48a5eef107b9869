"""``--format prometheus``: a node_exporter textfile, so a nightly gate is alertable.

Two questions an on-call person asks, two alerts: "did last night's verify fail?"
(``restoregate_gate_open == 0``) and "did it run at all?" (``time() -
restoregate_last_run_timestamp_seconds > 26 * 3600``). Every rule has one series per
status (1 for the status it had, 0 for the others), so series never appear or vanish
between runs and ``restoregate_rule_status{status="fail"} == 1`` names the culprit.
The file is rewritten whole on every run (write it with ``--output``, which replaces
the file atomically, into node_exporter's ``--collector.textfile.directory``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TextIO

from restoregate.report import Report, RuleResult, Status

STATUSES: tuple[Status, ...] = ("pass", "fail", "warn", "error", "skip")
_HELP = {
    "restoregate_gate_open": "1 when the last run opened the gate, 0 when it stayed closed.",
    "restoregate_exit_code": "The last run's exit code: 0 open, 1 closed, 2 usage, 3 unchecked.",
    "restoregate_last_run_timestamp_seconds": "When the last run started, in Unix time.",
    "restoregate_duration_seconds": "How long the last run took.",
    "restoregate_rules": "Rules of the last run by status.",
    "restoregate_rule_status": "1 for the status each rule had in the last run, else 0.",
    "restoregate_rule_violations": "Violations each rule found in the last run.",
    "restoregate_rule_duration_seconds": "How long each rule took in the last run.",
}


def render(report: Report, stream: TextIO, *, color: bool = False) -> None:
    started = _unix_time(report.started_at)
    lines = [
        *_metric("restoregate_gate_open", [("", 1 if report.passed else 0)]),
        *_metric("restoregate_exit_code", [("", report.exit_code)]),
        *_metric("restoregate_last_run_timestamp_seconds", [("", started)]),
        *_metric("restoregate_duration_seconds", [("", round(report.duration_s, 3))]),
        *_metric("restoregate_rules", [(_labels(status=s), report.count(s)) for s in STATUSES]),
        *_metric("restoregate_rule_status", list(_statuses(report.rules))),
        *_metric(
            "restoregate_rule_violations",
            [(_rule_labels(r), len(r.violations)) for r in report.rules],
        ),
        *_metric(
            "restoregate_rule_duration_seconds",
            [(_rule_labels(r), round(r.duration_s, 3)) for r in report.rules],
        ),
    ]
    stream.write("\n".join(lines) + "\n")


def render_failure(exit_code: int, stream: TextIO, *, now: float | None = None) -> None:
    """The textfile for a run that ended before any rule was judged (exit 2 or 3)."""
    lines = [
        *_metric("restoregate_gate_open", [("", 0)]),
        *_metric("restoregate_exit_code", [("", exit_code)]),
        *_metric("restoregate_last_run_timestamp_seconds", [("", now or round(time.time()))]),
    ]
    stream.write("\n".join(lines) + "\n")


def _metric(name: str, samples: list[tuple[str, float | int]]) -> list[str]:
    header = [f"# HELP {name} {_HELP[name]}", f"# TYPE {name} gauge"]
    return header + [f"{name}{labels} {value}" for labels, value in samples]


def _statuses(rules: Iterable[RuleResult]) -> Iterable[tuple[str, int]]:
    for rule in rules:
        for status in STATUSES:
            yield _rule_labels(rule, status=status), int(rule.status == status)


def _rule_labels(rule: RuleResult, **extra: str) -> str:
    return _labels(rule=rule.id, check=rule.check, severity=rule.severity, **extra)


def _labels(**labels: str) -> str:
    inner = ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    """The exposition format's label escaping: backslash, double quote, newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _unix_time(started_at: str) -> int:
    moment = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    return int(moment.replace(tzinfo=moment.tzinfo or timezone.utc).timestamp())
