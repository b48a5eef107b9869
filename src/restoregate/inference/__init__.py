"""Finding references nobody declared: names propose, a bounded sample decides.

``candidates`` lists the columns that may be references and ranks their possible
parents by what the names say. Each child table is then sampled once, for all its
candidate columns together (a ``ReferenceSample`` request), within a total budget of
rows and seconds, so a schema of ten thousand tables costs at most the budget. For each
column the best parent whose key holds at least ``min_match`` of the sampled values is
the suspect: by name when a name proposed it; by data alone only when the values are
varied enough and exactly one parent fits.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from restoregate.catalog import Reference
from restoregate.engines.base import ColumnSample, ReferenceSample, SampleProbe, TableSample
from restoregate.errors import CheckFailedToRun
from restoregate.inference.candidates import Child, Parent, children, reference
from restoregate.names import ColumnSet, QualifiedName
from restoregate.probes import Probes
from restoregate.rules.ruleset import TableFilter
from restoregate.scope import Scope

DATA_ONLY_DISTINCT = 10  # distinct sampled values needed to trust data alone
CLOSE = 0.9  # a second data-only parent this close to the best makes the choice ambiguous


@dataclass(frozen=True)
class Settings:
    """How hard inference looks: per-table sample, total budget, and the seed."""

    min_match: float = 0.5
    sample_rows: int = 2000
    budget_rows: int = 1_000_000
    budget_seconds: float = 60.0
    seed: int = 1
    tables: TableFilter = field(default_factory=TableFilter)  # child tables to look at


@dataclass(frozen=True)
class Suspect:
    reference: Reference
    sampled: int
    matched: int
    by_name: bool
    how: str  # what the names say (or that none fits)
    rivals: tuple[Reference, ...] = ()  # data-only: other parents the data fits as well

    @property
    def share(self) -> float:
        return self.matched / self.sampled if self.sampled else 0.0

    @property
    def evidence(self) -> str:
        parent = self.reference.parent
        return (
            f"{self.matched:,} of {self.sampled:,} sampled values match "
            f"{parent.table.column(parent.columns[0])}; {self.how}"
        )


@dataclass(frozen=True)
class Inference:
    suspects: tuple[Suspect, ...]
    sampled_tables: int
    skipped_tables: tuple[QualifiedName, ...]  # not sampled: the budget ran out first
    budget: str | None  # which budget ran out, in words
    errors: tuple[CheckFailedToRun, ...]


def infer(
    scope: Scope,
    probes: Probes,
    settings: Settings = Settings(),
    dismissed: Sequence[tuple[ColumnSet, ColumnSet]] = (),
) -> Inference:
    """The suspected references, best parent per column, confirmed by a sample."""
    kids = [k for k in children(scope, dismissed) if settings.tables(k.table.name)]
    joinable = _joinable(probes, kids)
    by_table: dict[QualifiedName, list[tuple[Child, list[Parent]]]] = {}
    for kid in kids:
        usable = [p for p in kid.parents if _pair(kid, p) in joinable]
        if usable:
            by_table.setdefault(kid.table.name, []).append((kid, usable))
    suspects: list[Suspect] = []
    errors: list[CheckFailedToRun] = []
    clock, rows, sampled = time.monotonic(), 0, 0
    names = list(by_table)
    for position, name in enumerate(names):
        spent = _spent(settings, rows, time.monotonic() - clock)
        if spent is not None:
            skipped = tuple(names[position:])
            return Inference(tuple(suspects), sampled, skipped, spent, tuple(errors))
        group = by_table[name]
        asked = [SampleProbe(k.column.name, tuple(_pair(k, p)[1] for p in ps)) for k, ps in group]
        try:
            sample = _sample(probes, name, asked, settings)
        except CheckFailedToRun as exc:
            errors.append(exc)
            continue
        rows, sampled = rows + sample.rows, sampled + 1
        for kid, parents in group:
            found = _decide(kid, parents, sample.columns[kid.column.name], settings)
            if found is not None:
                suspects.append(found)
    return Inference(tuple(suspects), sampled, (), None, tuple(errors))


def _sample(
    probes: Probes, table: QualifiedName, asked: list[SampleProbe], settings: Settings
) -> TableSample:
    """One sample of the table; an engine without it samples column by column."""
    if probes.supports(ReferenceSample):
        return probes.reference_sample(table, asked, settings.sample_rows, settings.seed)
    columns, rows = {}, 0
    for probe in asked:
        parents = [(p.table, p.columns[0]) for p in probe.parents]
        found = probes.sample_matches(table, probe.column, parents, settings.sample_rows)
        columns[probe.column] = ColumnSample(found.sampled, found.distinct, tuple(found.matches))
        rows = max(rows, found.sampled)
    return TableSample(rows, columns)


def _spent(settings: Settings, rows: int, seconds: float) -> str | None:
    if rows >= settings.budget_rows:
        return f"the sampling budget of {settings.budget_rows:,} rows"
    if seconds >= settings.budget_seconds:
        return f"the sampling budget of {settings.budget_seconds:g} s"
    return None


def _pair(kid: Child, parent: Parent) -> tuple[ColumnSet, ColumnSet]:
    return (
        ColumnSet(kid.table.name, (kid.column.name,)),
        ColumnSet(parent.table.name, (parent.key.name,)),
    )


def _joinable(probes: Probes, kids: list[Child]) -> set[tuple[ColumnSet, ColumnSet]]:
    """The (child, parent key) pairs the engine can join: one batch for all of them."""
    pairs = list(dict.fromkeys(_pair(k, p) for k in kids for p in k.parents))
    if not pairs:
        return set()
    verdicts = probes.comparable_keys(pairs)
    return {pair for pair, ok in zip(pairs, verdicts, strict=True) if ok}


def _decide(
    kid: Child,
    parents: list[Parent],
    sample: ColumnSample,
    settings: Settings,
) -> Suspect | None:
    if not sample.values:
        return None
    scored = [
        (p, m)
        for p, m in zip(parents, sample.matched, strict=True)
        if m / sample.values >= settings.min_match
    ]
    if not scored:
        return None

    def ref(parent: Parent) -> Reference:
        return reference(kid, parent)

    named = [(p, m) for p, m in scored if p.score > 0]
    if named:
        best, matched = max(
            named, key=lambda pm: (pm[0].score, pm[1], pm[0].table.name != kid.table.name)
        )
        return Suspect(ref(best), sample.values, matched, True, best.how)
    if sample.distinct < DATA_ONLY_DISTINCT:
        return None  # a handful of small codes matches any dense key range
    scored.sort(key=lambda pm: -pm[1])
    best, matched = scored[0]
    rivals = tuple(ref(p) for p, m in scored[1:] if m >= CLOSE * matched)
    return Suspect(ref(best), sample.values, matched, False, best.how, rivals)
