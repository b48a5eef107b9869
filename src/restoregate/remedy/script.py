"""A plan as a script: the snapshot of what was found, then one commented block per step.

The engine supplies the syntax behind ``PlanWriter``; this module supplies the order,
the comments and the words. A ``Script`` is both the text a DBA reviews and runs with
the engine's client (psql for PostgreSQL) and the statements ``fix --apply`` executes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from restoregate.remedy.plan import MoveSequence, OrphanStep, Plan

_ENGINES = {"postgresql": "PostgreSQL", "mysql": "MySQL", "mariadb": "MariaDB", "sqlite": "SQLite"}
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")


@dataclass(frozen=True)
class Line:
    text: str
    statement: bool  # False: a comment or a client directive, not sent by --apply


class PlanWriter(Protocol):
    """What an engine supplies: its own syntax for each kind of step."""

    client: str  # the tool that runs the script, e.g. "psql"
    transactional: bool  # False: DDL commits at once (MySQL), the moves cannot be rolled back

    def prelude(self) -> list[str]:
        """Client directives and the transaction's start (never sent by --apply)."""
        ...

    def settings(self) -> list[str]:
        """Timeouts and a safe name resolution for the transaction (sent by --apply too)."""
        ...

    def holds_inserts(self) -> str:
        """How long inserts into the locked tables wait, in one sentence."""
        ...

    def move_sequence(self, step: MoveSequence) -> list[str]: ...

    def list_orphans(self, step: OrphanStep) -> str:
        """A one-line query listing the orphaned rows."""
        ...

    def quarantine(self, step: OrphanStep) -> list[str]: ...

    def commit(self) -> list[str]:
        """The transaction's end (never sent by --apply, which commits itself)."""
        ...


def comment(text: str) -> str:
    """``-- text`` that stays one comment line whatever a name in it holds (newlines too)."""
    return "-- " + _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


@dataclass(frozen=True)
class Script:
    lines: tuple[Line, ...]

    @property
    def text(self) -> str:
        return "".join(line.text + "\n" for line in self.lines)

    @property
    def statements(self) -> list[str]:
        return [line.text for line in self.lines if line.statement]


def write_script(plan: Plan, writer: PlanWriter) -> Script:
    lines: list[Line] = []
    lines += _notes(_snapshot(plan, writer))
    lines += [Line(text, False) for text in writer.prelude()]
    lines += _statements(writer.settings())
    for number, step in enumerate(plan.moves, 1):
        lines += _notes(["", f"Step {number}: move {step.sequence} beyond every key it must pass."])
        lines += _notes(f"Answers: {finding}" for finding in step.answers)
        lines += _notes(_move_words(step, writer.holds_inserts()))
        lines += _statements(writer.move_sequence(step))
    for orphans in plan.orphans:
        lines += _orphans(orphans, writer)
    if plan.manual:
        lines += _notes(["", "Not fixable by a script; a person must act:"])
    for manual in plan.manual:
        lines += _notes(
            [f"- [{manual.rule_id}] {manual.finding}", f"  what to do: {manual.advice}"]
        )
    lines += _notes([""])
    lines += [Line(text, False) for text in writer.commit()]
    return Script(tuple(lines))


def _notes(texts: Iterable[str]) -> list[Line]:
    return [Line(comment(t) if t else "", False) for t in texts]


def _statements(texts: Iterable[str]) -> list[Line]:
    return [Line(t, True) for t in texts]


def _snapshot(plan: Plan, writer: PlanWriter) -> list[str]:
    report = plan.report
    out = [
        f"restoregate fix plan for {report.dsn} ({_ENGINES.get(report.engine or '', 'server')} "
        f"{report.server_version or '?'})",
    ]
    if writer.transactional:
        out += [
            f"What the check found at {report.started_at} (run it with {writer.client}; it is one",
            "transaction, idempotent: running it again changes nothing):",
        ]
    else:
        out += [
            f"Run it with {writer.client} (it stops at the first error). DDL commits at once on",
            "this server: each counter moved stays moved even if a later step fails, and no",
            "rollback undoes it. It is idempotent: running it again changes nothing.",
            f"What the check found at {report.started_at}:",
        ]
    for result in report.rules:
        out.append(f"  {result.status.upper():5} {result.id}: {result.message}")
        out += [f"        - {v.describe()}" for v in result.violations]
    if not plan.fixes:
        out += ["", "Nothing here can be fixed by a script; the steps below are comments."]
    return out


def _move_words(step: MoveSequence, holds: str) -> list[str]:
    largest = "largest" if step.ascending else "smallest"
    sources = ", ".join(k.table.column(k.column) for k in step.keys)
    return [
        f"The target is computed when this runs: the {largest} key in {sources},",
        f"plus a headroom of {step.headroom.describe()}, never beyond the column's limit",
        f"and never backwards. {holds}",
    ]


def _orphans(step: OrphanStep, writer: PlanWriter) -> list[Line]:
    rows = "row" if step.orphans == 1 else "rows"
    lines = _notes(["", f"Orphans of {step.reference.label}:", f"Answers: {step.answers}"])
    if step.reassignable:
        lines += _notes(
            [
                f"Once the parent's sequence is beyond them, the {step.reassignable:,}",
                "reassignable ones can no longer be adopted by new rows; they stay orphans",
                "until a person decides (restore the parents, or delete them).",
            ]
        )
    lines += _notes([f"To list the {step.orphans:,} {rows}:", writer.list_orphans(step)])
    if step.quarantine is None:
        lines += _notes(["(left in place: --orphans quarantine moves them aside)"])
        return lines
    lines += _notes(
        [
            f"--orphans quarantine: copied into {step.quarantine} with the time and the",
            "reference, then deleted from the table, in one transaction (ON DELETE",
            "actions of references to these rows apply as for any delete).",
        ]
    )
    return lines + _statements(writer.quarantine(step))
