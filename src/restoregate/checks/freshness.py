"""Check ``freshness``: the newest row is as recent as the backup we meant to restore."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from restoregate.catalog import Catalog
from restoregate.checks._tables import (
    column_names,
    duration,
    find_columns,
    find_table,
    table_name,
)
from restoregate.context import CheckContext, Outcome
from restoregate.engines.base import Newest, Request
from restoregate.names import QualifiedName
from restoregate.report import Violation
from restoregate.report.literals import sql_literal
from restoregate.rules.ruleset import RuleSet


@dataclass(frozen=True)
class Stale(Violation):
    kind: ClassVar[str] = "stale"
    table: str
    column: str
    newest: str | None  # ISO 8601; None when the table is empty
    reference: str  # ISO 8601
    reference_kind: str  # "restore point" or "now"
    age_s: float | None
    max_age_s: float

    def describe(self) -> str:
        if self.newest is None:
            return f"{self.table} is empty: there is no {self.column} to be recent"
        return (
            f"the newest {self.column} is {_literal(self.newest)}, {_human(self.age_s or 0)} "
            f"before the {self.reference_kind} ({_literal(self.reference)}); at most "
            f"{_human(self.max_age_s)} was expected: is this the backup you meant to restore?"
        )


def _literal(iso: str) -> str:
    try:
        return sql_literal(datetime.fromisoformat(iso))
    except ValueError:
        return sql_literal(iso)


def _human(seconds: float) -> str:
    value = timedelta(seconds=round(seconds))
    if value.days >= 2:
        return f"{value.days} days"
    hours = value.total_seconds() / 3600
    return f"{hours:.1f} hours" if hours >= 1 else f"{value.total_seconds() / 60:.0f} minutes"


class Freshness:
    """The newest row is recent, measured from ``--restore-point`` (else now).

    Fails (last week's backup restored instead of last night's)::

        - {id: recent-orders, check: freshness, table: orders, column: created_at,
           max_age: 36h}
        -> stale: the newest created_at is 7.2 days before the restore point

    Passes: the newest order is 20 minutes older than the backup. ``timestamp`` and
    ``date`` columns are read in the server's time zone.
    """

    name: ClassVar[str] = "freshness"
    needs: ClassVar[tuple[type[Request[Any]], ...]] = (Newest,)

    @dataclass(frozen=True)
    class Params:
        table: str
        column: str
        max_age: str
        parsed: QualifiedName = field(init=False)
        column_name: str = field(init=False)
        limit: timedelta = field(init=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "parsed", table_name(self.table))
            object.__setattr__(self, "column_name", column_names((self.column,), "column")[0])
            object.__setattr__(self, "limit", duration(self.max_age))

    @staticmethod
    def validate(params: Params, catalog: Catalog, rules: RuleSet) -> None:
        table = find_table(catalog, rules, params.parsed)
        find_columns(table, (params.column_name,))
        column = table.column(params.column_name)
        assert column is not None
        if column.family != "temporal":
            raise ValueError(f"column {params.column_name} is {column.type_name}, not a time")

    def run(self, ctx: CheckContext, params: Params) -> Outcome:
        table = ctx.catalog.tables[params.parsed]
        newest = ctx.probes.newest(table.name, params.column_name)
        reference = ctx.restore_point or ctx.now
        kind = "restore point" if ctx.restore_point else "now"
        column = table.name.column(params.column_name)
        age = (reference - newest).total_seconds() if newest else None
        if age is not None and age <= params.limit.total_seconds():
            shown = newest.astimezone(timezone.utc) if newest else None
            return Outcome(f"the newest {column} is {shown:%Y-%m-%d %H:%M} UTC")
        found = Stale(
            str(table.name),
            column,
            newest.isoformat() if newest else None,
            reference.isoformat(),
            kind,
            age,
            params.limit.total_seconds(),
        )
        return Outcome(f"{table.name} is older than {params.max_age}", [found])
