"""Check ``not_null``: columns that must hold a value in every row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from restoregate.catalog import Catalog
from restoregate.checks._tables import column_names, find_columns, find_table, table_name
from restoregate.context import CheckContext, Outcome
from restoregate.engines.base import NullCounts, Request
from restoregate.names import QualifiedName
from restoregate.report import Violation, plural
from restoregate.rules.ruleset import RuleSet


@dataclass(frozen=True)
class Nulls(Violation):
    kind: ClassVar[str] = "nulls"
    table: str
    column: str
    rows: int

    def describe(self) -> str:
        verb = "has" if self.rows == 1 else "have"
        return f"{plural(self.rows, 'row')} of {self.table} {verb} no {self.column}"


class NotNull:
    """Columns hold a value in every row, whether or not a NOT NULL constraint survived.

    Fails (a NOT NULL constraint that was never restored)::

        - {id: emails, check: not_null, table: accounts, columns: [email]}
        -> nulls: 12 rows of public.accounts have no email

    Passes: every account has an email. One scan counts every listed column.
    """

    name: ClassVar[str] = "not_null"
    needs: ClassVar[tuple[type[Request[Any]], ...]] = (NullCounts,)

    @dataclass(frozen=True)
    class Params:
        table: str
        columns: tuple[str, ...]
        parsed: QualifiedName = field(init=False)
        names: tuple[str, ...] = field(init=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "parsed", table_name(self.table))
            object.__setattr__(self, "names", column_names(self.columns))

    @staticmethod
    def validate(params: Params, catalog: Catalog, rules: RuleSet) -> None:
        find_columns(find_table(catalog, rules, params.parsed), params.names)

    def run(self, ctx: CheckContext, params: Params) -> Outcome:
        table = ctx.catalog.tables[params.parsed]
        counts = ctx.probes.null_counts(table.name, params.names)
        found: list[Violation] = [
            Nulls(str(table.name), column, rows) for column, rows in counts.items() if rows
        ]
        if not found:
            return Outcome(f"no NULLs in {', '.join(params.names)} of {table.name}")
        return Outcome(
            f"NULLs in {len(found)} of {plural(len(params.names), 'column')} of {table.name}", found
        )
