"""From a report to remediation steps: which findings a script can answer, which need a person.

Neutral: no SQL here. Each step says which finding it answers, in the report's words; an
engine's ``PlanWriter`` (``remedy/script.py``) turns it into its own syntax.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from typing import Literal

from restoregate.catalog import Catalog, Reference, SequenceDef
from restoregate.context import CheckContext
from restoregate.inference.judge import judgement
from restoregate.names import QualifiedName
from restoregate.probes import last_usable
from restoregate.report import Report, RuleResult, Violation
from restoregate.scope import Scope

OrphanMode = Literal["report", "quarantine"]
QUARANTINE_SCHEMA = "restoregate_quarantine"
DEFAULT_HEADROOM = "1000"
_HEADROOM = re.compile(r"^\s*(\d{1,18})\s*(%?)\s*$")
_MAX_IDENTIFIER = 63  # bytes PostgreSQL keeps of a name


@dataclass(frozen=True)
class Headroom:
    """Unused values left between the largest key and the sequence's next value."""

    values: int = 1000
    percent: bool = False  # values is a percentage of the largest key's distance from start

    @classmethod
    def parse(cls, text: str) -> Headroom:
        match = _HEADROOM.match(text)
        if not match or (match.group(2) and int(match.group(1)) > 1000):
            raise ValueError(
                f"--headroom {text!r} is not a count of values (1000) or a percentage (10%)"
            )
        return cls(int(match.group(1)), bool(match.group(2)))

    def __str__(self) -> str:
        return f"{self.values}%" if self.percent else str(self.values)

    def describe(self) -> str:
        if self.percent:
            return f"{self.values}% of the largest key's distance from the sequence's start"
        return f"{self.values:,} values"


@dataclass(frozen=True)
class KeyColumn:
    """A column whose keys a sequence must pass: one it feeds, or one that references it."""

    table: QualifiedName
    column: str
    partitioned: bool


@dataclass(frozen=True)
class MoveSequence:
    sequence: QualifiedName
    ascending: bool
    keys: tuple[KeyColumn, ...]
    locked: tuple[KeyColumn, ...]  # one per table, the tables whose inserts are held off
    limit: int  # the last value every column it feeds can hold
    headroom: Headroom
    answers: tuple[str, ...]
    identity: KeyColumn | None = None  # the identity column it belongs to, if any


@dataclass(frozen=True)
class OrphanStep:
    reference: Reference
    orphans: int
    reassignable: int
    quarantine: QualifiedName | None  # where the rows go; None: listed, left in place
    answers: str


@dataclass(frozen=True)
class ManualStep:
    """A finding no script should answer: what was found and what a person should do."""

    rule_id: str
    finding: str
    advice: str


@dataclass(frozen=True)
class Plan:
    report: Report
    moves: tuple[MoveSequence, ...]
    orphans: tuple[OrphanStep, ...]
    manual: tuple[ManualStep, ...]
    answers: frozenset[tuple[str, str]]  # (rule id, violation kind) the steps answer

    @property
    def fixes(self) -> bool:
        """Whether applying it changes anything (a plan of comments only does not)."""
        return bool(self.moves) or any(s.quarantine for s in self.orphans)


def build_plan(report: Report, ctx: CheckContext, headroom: Headroom, orphans: OrphanMode) -> Plan:
    """The steps answering the report, planned with what its check saw (``ctx``)."""
    catalog, scope = ctx.catalog, ctx.scope
    references = (*scope.references, *_strong_suspects(ctx))
    moves: dict[str, MoveSequence] = {}
    orphan_steps: list[OrphanStep] = []
    manual: list[ManualStep] = []
    answers: set[tuple[str, str]] = set()
    for result in report.rules:
        if result.status == "error":
            manual.append(_could_not_run(result))
            continue
        for found in result.violations:
            kind = found.kind
            if kind == "sequence_behind":
                name = str(getattr(found, "sequence", ""))
                step = moves.get(name) or _move(catalog, scope, references, name, headroom)
                if step is None:
                    seq = _sequence(catalog, name)
                    rowid = seq is not None and seq.kind == "rowid"
                    manual.append(_manual(result, found, "rowid" if rowid else None))
                    continue
                if _no_room(step, getattr(found, "max_value", None)):
                    manual.append(_manual(result, found, "no_room"))
                    continue
                moves[name] = _answering(step, found.describe())
                answers.add((result.id, kind))
            elif kind == "orphans":
                ref = _reference(scope, str(getattr(found, "reference", "")))
                if ref is None:
                    manual.append(_manual(result, found))
                    continue
                orphan_steps.append(_orphan_step(ref, found, orphans))
                if orphans == "quarantine":
                    answers.add((result.id, kind))
            elif result.status in ("fail", "warn"):
                manual.append(_manual(result, found))
    return Plan(
        report, tuple(moves.values()), tuple(orphan_steps), tuple(manual), frozenset(answers)
    )


def _answering(step: MoveSequence, finding: str) -> MoveSequence:
    if finding in step.answers:
        return step
    return replace(step, answers=(*step.answers, finding))


def _strong_suspects(ctx: CheckContext) -> tuple[Reference, ...]:
    """Suspected references with strong evidence count for sequences, as in the check."""
    if ctx.suspicion is None:
        return ()
    found = judgement(ctx.probes, ctx.scope, ctx.suspicion, ctx.scope.dismissed)
    return tuple(j.reference for j in found.strong)


def _move(
    catalog: Catalog,
    scope: Scope,
    references: tuple[Reference, ...],
    name: str,
    headroom: Headroom,
) -> MoveSequence | None:
    """Every column the sequence feeds in scope, and every column referencing one of them."""
    seq = _sequence(catalog, name)
    if seq is None or seq.kind == "rowid":
        return None  # a plain rowid has no counter to move: max(rowid) + 1, always
    feeds = [f for f in scope.feeds if f.sequence == seq.name and not f.uncheckable]
    keys: list[KeyColumn] = []
    limits: list[int] = []
    identity = None
    for feed in feeds:
        table = catalog.tables[feed.table]
        keys.append(KeyColumn(feed.table, feed.column, table.partitioned))
        if "identity" in feed.kinds:
            identity = keys[-1]
        limits.append(last_usable(seq, table.column(feed.column)))
        for ref in references:
            if ref.parent.table == feed.table and feed.column in ref.parent.columns:
                child = ref.child.columns[ref.parent.columns.index(feed.column)]
                keys.append(KeyColumn(ref.child.table, child, ref.child_partitioned))
    if not keys:
        return None
    unique = tuple(dict.fromkeys(keys))
    locked = tuple({k.table: k for k in unique}.values())
    limit = min(limits) if seq.ascending else max(limits)
    return MoveSequence(seq.name, seq.ascending, unique, locked, limit, headroom, (), identity)


def _sequence(catalog: Catalog, name: str) -> SequenceDef | None:
    """Findings name a sequence by its label: "the AUTO_INCREMENT counter of db.t" on MySQL."""
    return next((s for s in catalog.sequences.values() if name in (str(s.name), s.label)), None)


def _no_room(step: MoveSequence, largest: object) -> bool:
    """The largest key already sits at the last value the column can hold: nowhere to go."""
    if not isinstance(largest, (int, float)):
        return False
    return largest >= step.limit if step.ascending else largest <= step.limit


def _reference(scope: Scope, text: str) -> Reference | None:
    return next((r for r in scope.references if str(r) == text), None)


def _orphan_step(ref: Reference, found: Violation, mode: OrphanMode) -> OrphanStep:
    target = quarantine_table(ref.child.table) if mode == "quarantine" else None
    return OrphanStep(
        ref,
        int(getattr(found, "orphans", 0)),
        int(getattr(found, "reassignable", 0)),
        target,
        found.describe(),
    )


def quarantine_table(table: QualifiedName) -> QualifiedName:
    """``restoregate_quarantine.<schema>__<table>``; a long name keeps a hash, not a clash."""
    name = f"{table.schema}__{table.name}"
    if len(name.encode()) > _MAX_IDENTIFIER:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = name.encode()[: _MAX_IDENTIFIER - 9].decode(errors="ignore") + "_" + digest
    return QualifiedName(QUARANTINE_SCHEMA, name)


_ADVICE = {
    "no_room": (
        "no value is left beyond the largest key before the limit of the sequence or the "
        "column: widen both (for example to bigint), then plan again"
    ),
    "rowid": (
        "SQLite hands out max(rowid) + 1 and keeps no counter a script could move: "
        "restore the missing parent rows, insert a placeholder parent with the largest "
        "key (INSERT INTO parent (id) VALUES (that key)), delete the children, or rebuild "
        "the table with INTEGER PRIMARY KEY AUTOINCREMENT and run fix again"
    ),
    "sequence_exhausted": (
        "no value is left to move to: widen the column and the sequence (for example to "
        "bigint) or find out why it ran out; a script should not pick a value for you"
    ),
    "sequence_missing": (
        "a default, wrapper or trigger names a sequence that does not exist: restore it "
        "from the source (or CREATE it beyond every key), then run fix again"
    ),
    "sequence_headroom": (
        "the range is running out: plan widening the column and the sequence to bigint "
        "before it does"
    ),
    "missing_object": (
        "restore the missing object from the source (pg_restore -l lists an archive, "
        "pg_restore -L restores the entries you keep), then run the check again"
    ),
    "baseline_drift": "compare with the source and restore what went backwards",
    "suspected_orphans": (
        "decide whether it is a real reference: declare it under references: (then fix "
        "plans answer it) or dismiss it under not_references:"
    ),
}


def _manual(result: RuleResult, found: Violation, why: str | None = None) -> ManualStep:
    advice = _ADVICE.get(why or found.kind) or (
        f"rule {result.id} ({result.check}) failed: a person must decide what is right; "
        "fix the data or the rule, then run the check again"
    )
    return ManualStep(result.id, found.describe(), advice)


def _could_not_run(result: RuleResult) -> ManualStep:
    advice = result.hint or "fix the cause and run the check again"
    return ManualStep(
        result.id,
        f"could not run: {result.message}",
        f"{advice}; nothing it would have found is in this plan",
    )
