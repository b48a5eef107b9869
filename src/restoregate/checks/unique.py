"""Check ``unique``: natural keys are still unique, with or without their index."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from restoregate.catalog import Catalog
from restoregate.checks._tables import find_columns, find_table, table_name
from restoregate.context import CheckContext, Outcome
from restoregate.engines.base import DuplicateKeys, Request
from restoregate.names import QualifiedName
from restoregate.report import Violation, plural
from restoregate.report.literals import sql_tuple
from restoregate.rules.ruleset import RuleSet
from restoregate.sqlcalls import Call


@dataclass(frozen=True)
class Duplicates(Violation):
    kind: ClassVar[str] = "duplicates"
    table: str
    columns: list[str]
    groups: int
    rows: int
    sample: list[dict[str, Any]]  # {"key": [...], "rows": n}, most repeated first

    def describe(self) -> str:
        top = ", ".join(f"{_key(s['key'])} ({plural(s['rows'], 'row')})" for s in self.sample[:3])
        top += ", …" if len(self.sample) > 3 else ""
        return (
            f"{plural(self.groups, 'value')} of ({', '.join(self.columns)}) in {self.table} "
            f"{'is' if self.groups == 1 else 'are'} held by more than one row "
            f"({plural(self.rows, 'row')} in all), e.g. {top}"
        )


def _key(key: list[Any]) -> str:
    return sql_tuple(key)


class Unique:
    """Columns (or expressions such as ``lower(email)``) identify at most one row each.

    Fails (a unique index that failed to build during the restore)::

        - {id: one-account-per-email, check: unique, table: accounts,
           columns: [lower(email)]}
        -> duplicates: 3 values of (LOWER(email)) are held by more than one row

    Passes: every address is used once. Rows with a NULL in the key are distinct, as
    in a unique constraint. Expressions are parsed by sqlglot and may use only the
    table's columns; the server vets the functions they call as for ``sql`` rules.
    """

    name: ClassVar[str] = "unique"
    needs: ClassVar[tuple[type[Request[Any]], ...]] = (DuplicateKeys,)

    @dataclass(frozen=True)
    class Params:
        table: str
        columns: tuple[str, ...]
        parsed: QualifiedName = field(init=False)
        expressions: tuple[str, ...] = field(init=False)
        referenced: frozenset[str] = field(init=False)
        calls: tuple[Call, ...] = field(init=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "parsed", table_name(self.table))
            if not self.columns:
                raise ValueError("columns: name at least one column or expression")
            from restoregate.dialects import expression_for_rules  # sqlglot: only when used

            checked = [expression_for_rules(text) for text in self.columns]
            object.__setattr__(self, "expressions", tuple(sql for sql, _, _ in checked))
            object.__setattr__(
                self, "referenced", frozenset(c for _, cols, _ in checked for c in cols)
            )
            calls = (c for _, _, found in checked for c in found)
            object.__setattr__(self, "calls", tuple(dict.fromkeys(calls)))

    @staticmethod
    def validate(params: Params, catalog: Catalog, rules: RuleSet) -> None:
        find_columns(find_table(catalog, rules, params.parsed), tuple(sorted(params.referenced)))

    @staticmethod
    def vet(ctx: CheckContext, params: Params) -> None:
        """Before any rule runs: the server refuses what the expressions would call (exit 2)."""
        ctx.probes.vet_expressions(params.parsed, params.expressions, ctx.allow_functions)

    def run(self, ctx: CheckContext, params: Params) -> Outcome:
        table = ctx.catalog.tables[params.parsed]
        found = ctx.probes.duplicates(
            table.name, params.expressions, ctx.allow_functions, texts=params.columns
        )
        label = ", ".join(params.columns)
        if not found.groups:
            return Outcome(f"({label}) is unique in {table.name}")
        violation = Duplicates(
            str(table.name),
            list(params.columns),
            found.groups,
            found.rows,
            [{"key": list(key), "rows": rows} for key, rows in found.sample],
        )
        return Outcome(f"{found.groups:,} duplicated values of ({label})", [violation])
