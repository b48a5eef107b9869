"""What restoregate knows about a database's structure, independent of the engine.

The PostgreSQL backend fills these from ``pg_catalog`` in a constant number of queries;
a MySQL or SQLite backend would fill the same shapes. Checks read only this model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from restoregate.names import ColumnSet, QualifiedName, quote_ident

FeedKind = Literal["identity", "owned", "default", "late-bound default", "function", "trigger"]

INTEGER_LIMITS: dict[str, tuple[int, int]] = {
    "smallint": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}


@dataclass(frozen=True)
class Column:
    name: str
    type_name: str  # as the catalog formats it, e.g. "integer", "character varying(20)"
    base_type: str  # the base type of a domain, else the type itself
    type_oid: int  # of the base type
    numeric: bool  # integers, numeric: values a sequence can produce
    not_null: bool
    key: bool = False  # part of a primary key or unique index

    @property
    def limits(self) -> tuple[int, int] | None:
        """The smallest and largest value the column's type can hold, for integer types."""
        return INTEGER_LIMITS.get(self.base_type)


@dataclass(frozen=True)
class Table:
    oid: int
    name: QualifiedName
    partitioned: bool  # a partitioned parent: its rows live in its partitions
    partition: bool  # a partition: judged through its parent
    unlogged: bool
    row_security: bool
    columns: tuple[Column, ...]
    pages: int = 0  # heap pages on disk (0 for a partitioned parent)
    estimated_rows: float = -1  # the planner's estimate; -1: never analyzed

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class SequenceDef:
    oid: int
    name: QualifiedName
    type_name: str
    start: int
    increment: int
    min_value: int
    max_value: int
    cycle: bool
    unlogged: bool

    @property
    def ascending(self) -> bool:
        return self.increment > 0


@dataclass(frozen=True)
class Feed:
    """A sequence that hands out values for a column (or a nextval() we cannot follow)."""

    table: QualifiedName
    column: str
    sequence: QualifiedName | None  # None: named in a default we could not resolve
    kinds: tuple[FeedKind, ...]  # every catalog link seen: identity, owned, default, ...
    expression: str | None = None  # the column default, when there is one
    uncheckable: str | None = None  # why the column cannot be compared with the sequence
    missing: str | None = None  # the sequence the default (or wrapper) names, which is gone
    via: str | None = None  # the wrapper function or trigger the value comes through

    @property
    def column_text(self) -> str:
        return self.table.column(self.column)


@dataclass(frozen=True)
class Reference:
    """A child column set pointing at a parent key: a declared FK or a logical reference."""

    child: ColumnSet
    parent: ColumnSet
    declared: bool
    name: str | None = None  # the constraint's name, for declared references
    match_full: bool = False
    validated: bool = True
    enforced: bool = True
    triggers_disabled: bool = False
    # equality operator per column pair, as (schema, operator name)
    operators: tuple[tuple[str, str], ...] = ()
    child_partitioned: bool = False
    parent_partitioned: bool = False

    def __str__(self) -> str:
        return f"{self.child} -> {self.parent}"

    @property
    def label(self) -> str:
        if self.name is None:
            return f"logical reference {self}"
        return f"foreign key {quote_ident(self.name)} {self}"


@dataclass(frozen=True)
class ServerInfo:
    version: str  # e.g. "18.1"
    version_num: int  # e.g. 180001
    database: str
    user: str


@dataclass(frozen=True)
class Catalog:
    server: ServerInfo
    tables: dict[QualifiedName, Table]
    sequences: dict[QualifiedName, SequenceDef]
    feeds: tuple[Feed, ...]
    foreign_keys: tuple[Reference, ...]
    type_categories: dict[int, str] = field(default_factory=dict)

    def table(self, name: QualifiedName) -> Table | None:
        return self.tables.get(name)
