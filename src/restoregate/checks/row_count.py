"""Check ``row_count``: a table holds as many rows as it should."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from restoregate.catalog import Catalog
from restoregate.checks._tables import find_table, table_name
from restoregate.context import CheckContext, Outcome
from restoregate.engines.base import Request
from restoregate.engines.base import RowCount as RowCountRequest
from restoregate.names import QualifiedName
from restoregate.report import Violation
from restoregate.rules.ruleset import RuleSet


@dataclass(frozen=True)
class RowCount(Violation):
    kind: ClassVar[str] = "row_count"
    table: str
    rows: int
    at_least: bool  # True: counting stopped at the bound, there are at least this many
    min: int | None
    max: int | None

    def describe(self) -> str:
        counted = f"more than {self.max:,}" if self.at_least else f"{self.rows:,}"
        wanted = " and ".join(
            part
            for part in (
                f"at least {self.min:,}" if self.min is not None else "",
                f"at most {self.max:,}" if self.max is not None else "",
            )
            if part
        )
        rows = "row" if not self.at_least and self.rows == 1 else "rows"
        return f"{self.table} holds {counted} {rows}; it should hold {wanted}"


class RowCountCheck:
    """A table's row count is within bounds: empty tables that should not be are caught.

    Fails (the data section of a table was never restored)::

        - {id: accounts-loaded, check: row_count, table: accounts, min: 1000}
        -> row_count: public.accounts holds 0 rows; it should hold at least 1,000

    Passes: 250,000 accounts. Counting stops at the bound (``max + 1`` rows at most), so
    a ``min`` on a billion-row table costs a few pages.
    """

    name: ClassVar[str] = "row_count"
    needs: ClassVar[tuple[type[Request[Any]], ...]] = (RowCountRequest,)

    @dataclass(frozen=True)
    class Params:
        table: str
        min: int | None = None
        max: int | None = None
        parsed: QualifiedName = field(init=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "parsed", table_name(self.table))
            if self.min is None and self.max is None:
                raise ValueError("row_count needs min, max or both")
            if (self.min or 0) < 0 or (self.max is not None and self.max < 0):
                raise ValueError("min and max cannot be negative")
            if self.min is not None and self.max is not None and self.min > self.max:
                raise ValueError(f"min ({self.min}) is larger than max ({self.max})")

    @staticmethod
    def validate(params: Params, catalog: Catalog, rules: RuleSet) -> None:
        find_table(catalog, rules, params.parsed)

    def run(self, ctx: CheckContext, params: Params) -> Outcome:
        table = ctx.catalog.tables[params.parsed]
        cap = params.max + 1 if params.max is not None else params.min
        rows = ctx.probes.row_count(table.name, cap)
        too_few = params.min is not None and rows < params.min
        too_many = params.max is not None and rows > params.max
        if not (too_few or too_many):
            shown = f"at least {rows:,}" if params.max is None else f"{rows:,}"
            return Outcome(f"{table.name} holds {shown} {'row' if rows == 1 else 'rows'}")
        found = RowCount(str(table.name), rows, too_many, params.min, params.max)
        return Outcome(found.describe(), [found])
