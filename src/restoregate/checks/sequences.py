"""Check ``sequences``: every sequence hands out a value beyond every key that uses it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from restoregate.catalog import Feed, Reference, SequenceDef
from restoregate.checks._unattached import judge_unattached, unattached
from restoregate.context import CheckContext, Outcome
from restoregate.engines.base import KeyRange, OrphanScan, Request, SequencePositionOf
from restoregate.errors import CheckFailedToRun
from restoregate.inference.judge import judgement
from restoregate.names import QualifiedName
from restoregate.probes import last_usable
from restoregate.report import Unchecked, Violation, number
from restoregate.rules.ruleset import TableFilter


@dataclass(frozen=True)
class SequenceBehind(Violation):
    kind: ClassVar[str] = "sequence_behind"
    sequence: str
    column: str
    next_value: int
    max_value: Any  # the largest key (smallest, for a descending sequence)
    max_source: str  # the column that holds it
    direction: str  # "ascending" or "descending"
    inserts_at_risk: int  # inserts that may reuse a key before the sequence passes it
    basis: str | None = None  # why next_value is a bound, not the value (a server's cache)

    def describe(self) -> str:
        largest = "largest" if self.direction == "ascending" else "smallest"
        will = "may hand out values from" if self.basis else "will hand out"
        text = (
            f"{self.sequence} {will} {number(self.next_value)} next, but {self.max_source} "
            f"already holds {number(self.max_value)} ({largest} key): the next "
            f"{self.inserts_at_risk:,} inserts into {self.column} can collide with or adopt "
            "existing rows"
        )
        return f"{text} ({self.basis})" if self.basis else text

    def to_dict(self) -> dict[str, Any]:
        found = super().to_dict()
        if found.get("basis") is None:
            found.pop("basis", None)  # only a server with a sequence cache says why
        return found


@dataclass(frozen=True)
class SequenceCacheBehind(SequenceBehind):
    """Ahead of every key at the value a restarted or reloaded server hands out, behind it
    at the lowest value the server's cache may still hand out: a warning, since the keys in
    that window were most likely handed out from the cache itself."""

    kind: ClassVar[str] = "sequence_cache_behind"
    advisory: ClassVar[bool] = True  # warns wherever it is found


@dataclass(frozen=True)
class SequenceExhausted(Violation):
    kind: ClassVar[str] = "sequence_exhausted"
    sequence: str
    column: str
    last_value: int
    limit: int

    def describe(self) -> str:
        return (
            f"{self.sequence} has no value left for {self.column} (at "
            f"{number(self.last_value)}, limit {number(self.limit)}): every insert that needs "
            "one will fail"
        )


@dataclass(frozen=True)
class SequenceMissing(Violation):
    kind: ClassVar[str] = "sequence_missing"
    sequence: str
    column: str
    via: str  # the default, wrapper function or trigger that names it

    def describe(self) -> str:
        return (
            f"{self.column} gets its values from {self.via}, which calls nextval() on "
            f"{self.sequence}, and no such sequence exists: every insert that needs a value "
            "will fail"
        )


@dataclass(frozen=True)
class SequenceHeadroom(Violation):
    kind: ClassVar[str] = "sequence_headroom"
    sequence: str
    column: str
    next_value: int
    limit: int
    used: float  # fraction of the usable range already handed out
    headroom: float

    def describe(self) -> str:
        return (
            f"{self.sequence} has used {self.used:.1%} of the values {self.column} can hold "
            f"(next {number(self.next_value)}, limit {number(self.limit)}); the rule allows "
            f"{self.headroom:.0%}"
        )


@dataclass(frozen=True)
class SequenceCycles(Violation):
    kind: ClassVar[str] = "sequence_cycles"
    sequence: str
    column: str

    def describe(self) -> str:
        return (
            f"{self.sequence} is CYCLE but feeds key column {self.column}: when it wraps, "
            "inserts reuse keys"
        )


class Sequences:
    """Every identity, serial and nextval() sequence is ahead of every key that uses it.

    Fails (the May 2018 restore)::

        accounts.id  serial, sequence at 200      journals.user_id holds 306
        -> sequence_behind: next 201, max 306 in public.journals.user_id

    Passes::

        accounts.id  serial, sequence at 306      every key <= 306

    The keys that count are the column's own and, for each declared or logical
    reference to it, the referencing column's; a referencing key beyond the parent's
    largest is necessarily an orphan, so it is read from the same anti-join the
    ``references`` check uses.
    """

    name: ClassVar[str] = "sequences"
    needs: ClassVar[tuple[type[Request[Any]], ...]] = (
        SequencePositionOf,
        KeyRange,
        OrphanScan,
    )

    @dataclass(frozen=True)
    class Params:
        headroom: float | None = None  # fraction of the range that may be used, e.g. 0.8
        tables: TableFilter = field(default_factory=TableFilter)
        unchecked: str = "warn"  # what a key restoregate cannot trace does: warn or fail

        def __post_init__(self) -> None:
            if self.unchecked not in ("warn", "fail"):
                raise ValueError(f"unchecked: must be warn or fail, not {self.unchecked!r}")
            if self.headroom is not None and not 0 < self.headroom <= 1:
                raise ValueError(
                    f"headroom must be a fraction above 0 and at most 1, not {self.headroom}"
                )

    def run(self, ctx: CheckContext, params: Params) -> Outcome:
        violations: list[Violation] = []
        advisories: list[Violation] = []
        unchecked: list[Unchecked] = []
        errors: list[CheckFailedToRun] = []
        checked = 0
        referring = _referring((*ctx.scope.references, *suspected(ctx)))
        feeds = [f for f in ctx.scope.feeds if params.tables(f.table)]
        _prefetch(ctx, feeds, referring)
        for feed in feeds:
            if feed.missing is not None:
                via = feed.via or f"its default {feed.expression}"
                violations.append(SequenceMissing(feed.missing, feed.column_text, via))
                continue
            if feed.uncheckable or feed.sequence is None:
                unchecked.append(Unchecked(feed.column_text, feed.uncheckable or "no sequence"))
                continue
            seq = ctx.catalog.sequences[feed.sequence]
            try:
                found = _judge(ctx, feed, seq, referring) or _headroom(
                    ctx, feed, seq, params.headroom
                )
            except CheckFailedToRun as exc:
                errors.append(exc)
                continue
            checked += 1
            if isinstance(found, SequenceCacheBehind):
                advisories.append(found)  # behind only while the server's cache is live
            elif found is not None:
                violations.append(found)
            if seq.cycle:
                column = ctx.catalog.tables[feed.table].column(feed.column)
                if column is not None and column.key:
                    advisories.append(SequenceCycles(seq.label, feed.column_text))
        loose = [s for s in unattached(ctx) if params.tables(s.name)]
        judge = lambda c, f, s: _judge(c, f, s, referring)  # noqa: E731
        checked += judge_unattached(ctx, loose, judge, violations, advisories, errors)
        message = _message(checked, violations, len(unchecked))
        outcome = Outcome(message, violations, unchecked, errors, advisories)
        outcome.unchecked_fails = params.unchecked == "fail"
        outcome.lists["unattached_sequences"] = [s.label for s in loose]
        return outcome


Referring = dict[tuple[QualifiedName, str], list[tuple[Reference, str]]]


def _referring(references: Iterable[Reference]) -> Referring:
    """(parent table, parent column) -> the references to it and their child column."""
    found: Referring = {}
    for ref in references:
        for child_column, parent_column in zip(ref.child.columns, ref.parent.columns, strict=True):
            found.setdefault((ref.parent.table, parent_column), []).append((ref, child_column))
    return found


def _prefetch(ctx: CheckContext, feeds: list[Feed], referring: Referring) -> None:
    """Everything the feeds will ask, in two batches the engine can group and spread."""
    judged = [f for f in feeds if f.missing is None and f.sequence and not f.uncheckable]
    empty = ctx.probes.known_empty  # an empty table's range is known: nothing to ask
    ctx.probes.prefetch(KeyRange(f.table, f.column) for f in judged if not empty(f.table))
    refs = {ref: None for f in judged for ref, _ in referring.get((f.table, f.column), ())}
    ctx.probes.prefetch_references(refs)


def _judge(
    ctx: CheckContext, feed: Feed, seq: SequenceDef, referring: Referring
) -> Violation | None:
    column = ctx.catalog.tables[feed.table].column(feed.column)
    position = ctx.probes.position(seq.name)
    upcoming = position.next_value
    limit = last_usable(seq, column)
    if upcoming is None or _beyond(seq, upcoming, limit):
        return SequenceExhausted(seq.label, feed.column_text, position.last_value, limit)
    extreme, source = _extreme_key(ctx, feed, seq, referring)
    if extreme is None:
        return None
    # a live cache may still hand out values below next_value (MariaDB): behind at
    # next_value fails; behind only at the lowest value the cache may hand out warns
    lowest = upcoming if position.lowest_next is None else position.lowest_next
    if _beyond(seq, lowest, extreme):
        return None
    kind = SequenceCacheBehind if _beyond(seq, upcoming, extreme) else SequenceBehind
    return kind(
        sequence=seq.label,
        column=feed.column_text,
        next_value=lowest,
        max_value=extreme,
        max_source=source,
        direction="ascending" if seq.ascending else "descending",
        inserts_at_risk=int(abs(extreme - lowest) // abs(seq.increment)) + 1,
        basis=position.basis if lowest != upcoming else None,
    )


def _headroom(
    ctx: CheckContext, feed: Feed, seq: SequenceDef, headroom: float | None
) -> Violation | None:
    """How much of the usable range (the sequence's, or the column type's if smaller) is gone."""
    if headroom is None:
        return None
    column = ctx.catalog.tables[feed.table].column(feed.column)
    upcoming = ctx.probes.position(seq.name).next_value
    limit = last_usable(seq, column)
    start = seq.min_value if seq.ascending else seq.max_value
    if upcoming is None or limit == start:
        return None
    used = (upcoming - start) / (limit - start)
    if used <= headroom:
        return None
    return SequenceHeadroom(seq.label, feed.column_text, upcoming, limit, used, headroom)


def _beyond(seq: SequenceDef, value: Any, than: Any) -> bool:
    return bool(value > than) if seq.ascending else bool(value < than)


def suspected(ctx: CheckContext) -> tuple[Reference, ...]:
    """Suspected references with strong evidence count like declared ones."""
    if ctx.suspicion is None:
        return ()
    found = judgement(ctx.probes, ctx.scope, ctx.suspicion, ctx.scope.dismissed)
    return tuple(j.reference for j in found.strong)


def _extreme_key(
    ctx: CheckContext, feed: Feed, seq: SequenceDef, referring: Referring
) -> tuple[Any, str]:
    """The largest key (smallest when descending) in the column and every reference to it."""
    pick = 1 if seq.ascending else 0
    best = ctx.probes.column_range(feed.table, feed.column)[pick]
    found: Reference | None = None  # where the best key is, named only once known
    for ref, child_column in referring.get((feed.table, feed.column), ()):
        stats = ctx.probes.reference_stats(ref)
        value = stats.orphan_ranges[child_column][pick]
        if value is not None and (best is None or _beyond(seq, value, best)):
            best, found, column = value, ref, child_column
    if found is None:
        return best, feed.column_text if best is not None else ""
    return best, found.child.table.column(column)


def _message(checked: int, violations: list[Violation], unchecked: int) -> str:
    text = _verdict(checked, violations)
    if unchecked:
        noun = "key" if unchecked == 1 else "keys"
        text += f"; {unchecked} {noun} fed by something restoregate cannot follow (unchecked)"
    return text


def _verdict(checked: int, violations: list[Violation]) -> str:
    missing = sum(1 for v in violations if isinstance(v, SequenceMissing))
    if missing:
        noun = "default names a sequence" if missing == 1 else "defaults name sequences"
        rest = _verdict(checked, [v for v in violations if not isinstance(v, SequenceMissing)])
        return f"{missing} {noun} that does not exist; {rest}"
    behind = sum(1 for v in violations if not isinstance(v, SequenceHeadroom))
    short = len(violations) - behind
    if short and not behind:
        noun = "sequence has" if short == 1 else "sequences have"
        return f"{short} {noun} used more of the range than the headroom allows"
    if behind:
        noun = "sequence is" if behind == 1 else "sequences are"
        pronoun = "it" if behind == 1 else "they"
        extra = f" ({short} more short of headroom)" if short else ""
        return f"{behind} {noun} behind the keys {pronoun} must exceed{extra}"
    noun = "sequence" if checked == 1 else "sequences"
    return f"{checked:,} {noun} ahead of every key"
