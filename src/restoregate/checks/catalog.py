"""Check ``catalog``: the restore's structural health, as the catalog shows it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from restoregate.catalog import Table
from restoregate.context import CheckContext, Outcome
from restoregate.engines.base import HealthItem, Request
from restoregate.errors import CheckFailedToRun
from restoregate.names import QualifiedName
from restoregate.report import Violation
from restoregate.rules.ruleset import TableFilter

ITEMS = (
    "invalid_indexes",
    "constraints",
    "triggers",
    "materialized_views",
    "unlogged",
    "subscriptions",
    "replication_slots",
    "statistics",
    "quick_check",  # SQLite: PRAGMA quick_check
)
# what a source database may well be like on purpose: judged against --baseline, else warned
SOURCE_STATE = ("constraints", "materialized_views", "unlogged")
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*(?:(>=|==|=)\s*([0-9][0-9A-Za-z.\-]*))?\s*$")


@dataclass(frozen=True)
class CatalogProblem(Violation):
    kind: ClassVar[str] = "catalog"
    item: str
    object: str
    problem: str

    def describe(self) -> str:
        return f"{self.object}: {self.problem}"


@dataclass(frozen=True)
class Extension(Violation):
    kind: ClassVar[str] = "extension"
    extension: str
    required: str
    installed: str | None

    def describe(self) -> str:
        if self.installed is None:
            return f"extension {self.extension} is not installed (required: {self.required})"
        return f"extension {self.extension} is at {self.installed}; required: {self.required}"


def _version(text: str) -> tuple[int | str, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.\-]", text))


def _satisfied(installed: str, op: str | None, wanted: str | None) -> bool:
    if op is None or wanted is None:
        return True
    try:
        have, want = _version(installed), _version(wanted)
        return have >= want if op == ">=" else have == want
    except TypeError:  # mixed numbers and words: compare as text
        return installed >= wanted if op == ">=" else installed == wanted


class Catalog:
    """Structural health after a restore; every item is on unless switched off.

    Fails (an index whose build failed, a materialized view restored empty)::

        - {id: catalog, check: catalog, require_extensions: [citext, postgis>=3.4]}
        -> catalog: public.accounts_email_key: index is invalid ...
        -> extension citext is not installed (required: citext)

    Passes: every index valid, every trigger enabled, no restored subscription or
    inactive logical slot, the extensions present. UNLOGGED tables, NOT VALID constraints
    and unpopulated materialized views fail only when ``--baseline`` says the source was
    not like that; without one they warn. Tables never analyzed and inactive physical
    slots (the server's, not the restore's) are advisories.
    """

    name: ClassVar[str] = "catalog"
    needs: ClassVar[tuple[type[Request[Any]], ...]] = (HealthItem,)

    @dataclass(frozen=True)
    class Params:
        invalid_indexes: bool = True
        constraints: bool = True
        triggers: bool = True
        materialized_views: bool = True
        unlogged: bool = True
        subscriptions: bool = True
        replication_slots: bool = True
        statistics: bool = True
        quick_check: bool = True
        require_extensions: tuple[str, ...] = ()
        tables: TableFilter = field(default_factory=TableFilter)

        def __post_init__(self) -> None:
            for requirement in self.require_extensions:
                if not _REQUIREMENT.match(requirement):
                    raise ValueError(
                        f"require_extensions: {requirement!r}: write name or name>=1.6"
                    )

    def run(self, ctx: CheckContext, params: Params) -> Outcome:
        tables = [t for t in ctx.scope.tables if params.tables(t.name)]
        partitions = [t for t in ctx.scope.partitions if params.tables(t.name)]
        names = [t.name for t in tables + partitions]
        schemas = sorted({t.name.schema for t in tables})
        found: list[Violation] = []
        advisories: list[Violation] = []
        errors: list[CheckFailedToRun] = []
        for item in ITEMS:
            if not getattr(params, item) or item not in ctx.probes.health_items:
                continue
            try:
                rows = self._item(ctx, item, names, schemas, tables)
            except CheckFailedToRun as exc:
                errors.append(exc)
                continue
            if item == "replication_slots":
                advisories.extend(_physical_slots(ctx, errors))
            problems = [CatalogProblem(item, obj, problem) for obj, problem in rows]
            if item in SOURCE_STATE:
                new, same = _against_baseline(ctx, problems)
                found.extend(new)
                advisories.extend(same)
            else:
                (advisories if item == "statistics" else found).extend(problems)
        if params.require_extensions:
            try:
                found.extend(_extensions(ctx, params.require_extensions))
            except CheckFailedToRun as exc:
                errors.append(exc)
        return Outcome(_message(found, advisories), found, [], errors, advisories)

    @staticmethod
    def _item(
        ctx: CheckContext,
        item: str,
        names: list[QualifiedName],
        schemas: list[str],
        tables: list[Table],
    ) -> list[tuple[str, str]]:
        if item == "unlogged":
            return _unlogged(ctx, tables)
        return ctx.probes.health(item, names, schemas)


def _message(found: list[Violation], advisories: list[Violation]) -> str:
    noun = "catalog problem" if len(found) == 1 else "catalog problems"
    message = f"{len(found)} {noun}" if found else "the catalog looks whole"
    if advisories:
        message += f"; {len(advisories)} {'warning' if len(advisories) == 1 else 'warnings'}"
    return message


def state_key(problem: CatalogProblem) -> str:
    """How the manifest records a source-state finding: item and object."""
    return f"{problem.item} {problem.object}"


def _against_baseline(
    ctx: CheckContext, problems: list[CatalogProblem]
) -> tuple[list[Violation], list[Violation]]:
    """(failures, warnings): with a baseline, only what the source did not have fails.

    UNLOGGED tables, NOT VALID constraints and unpopulated materialized views are often
    on purpose (Danbooru's unlogged tables, a migration's NOT VALID constraint, pagila's
    WITH NO DATA views). Without a baseline nothing says whether the source was alike,
    so they only warn.
    """
    recorded = (ctx.baseline or {}).get("catalog_state")
    if not isinstance(recorded, list):
        return [], list(problems)
    source = set(map(str, recorded))
    new: list[Violation] = [p for p in problems if state_key(p) not in source]
    return new, []


def _physical_slots(ctx: CheckContext, errors: list[CheckFailedToRun]) -> list[Violation]:
    try:
        rows = ctx.probes.health("physical_slots", [], [])
    except CheckFailedToRun as exc:
        errors.append(exc)
        return []
    return [CatalogProblem("replication_slots", obj, problem) for obj, problem in rows]


def _unlogged(ctx: CheckContext, tables: list[Table]) -> list[tuple[str, str]]:
    rows = [
        (str(t.name), "unlogged table: emptied after a crash, absent on standbys")
        for t in tables
        if t.unlogged
    ]
    fed = {f.sequence for f in ctx.scope.feeds if f.sequence is not None}
    rows += [
        (str(s.name), "unlogged sequence: reset after a crash")
        for s in ctx.catalog.sequences.values()
        if s.unlogged and s.name in fed
    ]
    return rows


def _extensions(ctx: CheckContext, requirements: tuple[str, ...]) -> list[Violation]:
    installed = ctx.probes.extensions()
    found: list[Violation] = []
    for requirement in requirements:
        match = _REQUIREMENT.match(requirement)
        assert match is not None
        name, op, wanted = match.groups()
        have = installed.get(name)
        if have is None or not _satisfied(have, op, wanted):
            found.append(Extension(name, requirement.strip(), have))
    return found
