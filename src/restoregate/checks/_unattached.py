"""Sequences that feed no column: listed, and judged where names and data tie them.

An application may call ``nextval('events_stream_seq')`` itself and write the value
into ``events.stream_ordering``: the catalog links nothing, yet a data-only restore that
skipped ``SEQUENCE SET`` hands out values the column already holds. Used by the
``sequences`` check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from restoregate.catalog import Column, Feed, SequenceDef, Table
from restoregate.context import CheckContext
from restoregate.errors import CheckFailedToRun
from restoregate.inference.naming import words
from restoregate.names import QualifiedName
from restoregate.report import Violation


@dataclass(frozen=True)
class SequenceNeverCalled(Violation):
    kind: ClassVar[str] = "sequence_never_called"
    sequence: str

    def describe(self) -> str:
        return (
            f"{self.sequence} feeds no column and was never called, while the tables hold "
            "data: restored without its position? (an application that calls it will hand "
            "out values from the start)"
        )


@dataclass(frozen=True)
class Tie:
    sequence: SequenceDef
    table: Table
    column: Column
    strong: bool  # the name is exactly <table>_<column>_seq, or the column is a key


def unattached(ctx: CheckContext) -> list[SequenceDef]:
    fed = {f.sequence for f in ctx.catalog.feeds if f.sequence is not None}
    schemas = {t.name.schema for t in ctx.scope.tables}
    loose = [
        s for name, s in ctx.catalog.sequences.items() if name not in fed and name.schema in schemas
    ]
    return sorted(loose, key=lambda s: s.name)


def ties(ctx: CheckContext, sequences: list[SequenceDef]) -> Iterator[Tie]:
    """``<table>_<word>..._seq`` and an integer column of that table starting with the words."""
    tables = {t.name: t for t in ctx.scope.tables}
    by_schema: dict[str, list[Table]] = {}
    for table in tables.values():
        by_schema.setdefault(table.name.schema, []).append(table)
    for seq in sequences:
        parts = words(seq.name.name)
        if parts[-1:] != ("seq",):
            continue
        parts = parts[:-1]
        for table in by_schema.get(seq.name.schema, []):
            prefix = words(table.name.name)
            rest = parts[len(prefix) :]
            if not rest or parts[: len(prefix)] != prefix:
                continue
            for column in table.columns:
                cols = words(column.name)
                if column.limits is not None and cols[: len(rest)] == rest:
                    exact = cols == rest
                    strong = exact or (column.name,) in table.keys
                    yield Tie(seq, table, column, strong)
                    break


def never_called(ctx: CheckContext, seq: SequenceDef) -> bool:
    """At its start and not called: nextval() would hand out the start value itself."""
    pos = ctx.probes.position(seq.name)
    return pos.next_value == pos.last_value == seq.start


def holds_data(ctx: CheckContext) -> bool:
    return any(t.estimated_rows > 0 for t in ctx.scope.tables)


def judge_unattached(
    ctx: CheckContext,
    loose: list[SequenceDef],
    judge: Callable[[CheckContext, Feed, SequenceDef], Violation | None],
    violations: list[Violation],
    advisories: list[Violation],
    errors: list[CheckFailedToRun],
) -> int:
    """Sequences no column feeds: judged like attached ones where names and data tie them
    (strong ties fail, weak ones warn); without a baseline, one never called while the
    tables hold data warns. Returns how many were judged.
    """
    ctx.probes.positions([s.name for s in loose])  # one batch
    tied: set[QualifiedName] = set()
    judged = 0
    for tie in ties(ctx, loose):
        tied.add(tie.sequence.name)
        feed = Feed(tie.table.name, tie.column.name, tie.sequence.name, ())
        try:
            found = judge(ctx, feed, tie.sequence)
        except CheckFailedToRun as exc:
            errors.append(exc)
            continue
        judged += 1
        if found is not None:
            strong = tie.strong and not getattr(found, "advisory", False)
            (violations if strong else advisories).append(found)
    if ctx.baseline is not None or not holds_data(ctx):
        return judged
    for seq in loose:
        if seq.name in tied:
            continue
        try:
            if never_called(ctx, seq):
                advisories.append(SequenceNeverCalled(seq.label))
        except CheckFailedToRun as exc:
            errors.append(exc)
    return judged
