"""Check ``sql``: anything else a team can say in SQL, as a query for violating rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from restoregate.context import CheckContext, Outcome
from restoregate.engines.base import Request, UserQuery
from restoregate.report import Violation, plural
from restoregate.report.literals import sql_row
from restoregate.sqlcalls import Call


@dataclass(frozen=True)
class Rows(Violation):
    kind: ClassVar[str] = "rows"
    rows: int
    max_rows: int
    columns: list[str]
    sample: list[dict[str, Any]]

    def describe(self) -> str:
        first = f": first {sql_row(self.sample[0])}" if self.sample else ""
        returned = plural(self.rows, "row")
        return f"the query returned {returned}, at most {self.max_rows:,} allowed{first}"


def _public_first(schema: str) -> tuple[bool, str]:
    return (schema != "public", schema)


def _schemas(ctx: CheckContext) -> list[str]:
    return sorted({t.name.schema for t in ctx.scope.tables}, key=_public_first)


class Sql:
    """A query that returns violating rows; the rule passes when it returns few enough.

    Fails::

        - id: no-negative-totals
          check: sql
          sql: SELECT id, total FROM orders WHERE total < 0
        -> rows: the query returned 4 rows, at most 0 allowed

    Passes: no order has a negative total. The query is parsed as PostgreSQL by sqlglot
    before anything runs: exactly one SELECT (CTEs allowed), no data-modifying CTE, no
    FOR UPDATE/SHARE, no INTO. The server then resolves every function, operator and
    view it touches: only built-in, non-volatile functions that run no query text may
    run, and functions the file lists under ``allow_functions``. It runs inside the
    read-only snapshot, in a savepoint that is rolled back, and only the first 20 rows
    are fetched. Trailing comments and semicolons are fine. Unqualified names
    resolve in the schemas in scope (``public`` first), after ``pg_catalog``.
    """

    name: ClassVar[str] = "sql"
    needs: ClassVar[tuple[type[Request[Any]], ...]] = (UserQuery,)

    @dataclass(frozen=True)
    class Params:
        sql: str
        max_rows: int = 0
        query: str = field(init=False)
        calls: tuple[Call, ...] = field(init=False)

        def __post_init__(self) -> None:
            from restoregate.dialects import query_for_rules  # sqlglot: only when used

            query, calls = query_for_rules(self.sql)
            object.__setattr__(self, "query", query)
            object.__setattr__(self, "calls", calls)
            if self.max_rows < 0:
                raise ValueError("max_rows cannot be negative")

    @staticmethod
    def vet(ctx: CheckContext, params: Params) -> None:
        """Before any rule runs: the server refuses what the query would call (exit 2)."""
        ctx.probes.vet_query(params.query, _schemas(ctx), ctx.allow_functions)

    def run(self, ctx: CheckContext, params: Params) -> Outcome:
        found = ctx.probes.query_rows(params.query, _schemas(ctx), ctx.allow_functions)
        if found.count <= params.max_rows:
            return Outcome(f"the query returned {plural(found.count, 'row')}")
        sample = [dict(zip(found.columns, row, strict=True)) for row in found.sample]
        violation = Rows(found.count, params.max_rows, found.columns, sample)
        return Outcome(plural(found.count, "violating row"), [violation])
