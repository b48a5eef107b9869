"""What restoregate knows about a database's structure, independent of the engine.

Each engine fills these shapes from its own catalog (``pg_catalog``,
``information_schema``, ``sqlite_schema``) in a constant number of queries. Checks read
only this model; it holds no engine handle (no OID, page count or operator name): an
engine keeps those itself, keyed by the names used here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from restoregate.names import ColumnSet, QualifiedName, hash_once, quote_ident

FeedKind = Literal[
    "identity",
    "owned",
    "default",
    "late-bound default",
    "function",
    "trigger",
    "auto_increment",
    "rowid",
    "autoincrement",
]
# what hands out a column's values: a sequence object, or a per-table counter
SequenceKind = Literal["sequence", "auto_increment", "rowid", "autoincrement"]
Engine = Literal["postgresql", "mysql", "mariadb", "sqlite"]
# what a column's values are, whatever the engine calls its type: set by each engine's
# catalog loader, read by the engine-neutral checks and inference (never a type name)
Family = Literal["integer", "decimal", "uuid", "string", "temporal"]


@dataclass(frozen=True)
class Column:
    name: str
    type_name: str  # as the catalog formats it, e.g. "integer", "character varying(20)"
    base_type: str  # the base type of a domain, else the type itself; equal names compare
    numeric: bool  # integers, numeric: values a sequence can produce
    not_null: bool
    key: bool = False  # part of a primary key or unique index
    integer_bits: int | None = None  # 8, 16, 24, 32, 64 for integer types, else None
    unsigned: bool = False
    family: Family | None = None  # None: anything else (floats, blobs, json, ...)

    @property
    def limits(self) -> tuple[int, int] | None:
        """The smallest and largest value the column's type can hold, for integer types."""
        if self.integer_bits is None:
            return None
        if self.unsigned:
            return 0, 2**self.integer_bits - 1
        return -(2 ** (self.integer_bits - 1)), 2 ** (self.integer_bits - 1) - 1


@dataclass(frozen=True)
class Table:
    name: QualifiedName
    partitioned: bool  # a partitioned parent: its rows live in its partitions
    partition: bool  # a partition: judged through its parent
    unlogged: bool
    row_security: bool
    columns: tuple[Column, ...]
    estimated_rows: float = -1  # the planner's estimate; -1: never analyzed
    # unique keys (primary first, then by width); a partitioned parent's include the keys
    # declared on every one of its partitions
    keys: tuple[tuple[str, ...], ...] = ()
    primary_key: tuple[str, ...] = ()  # empty: none (a partitioned parent's: its partitions')
    partition_of: QualifiedName | None = None  # the partitioned table this one belongs to

    def column(self, name: str) -> Column | None:
        for column in self.columns:  # a loop, not a generator: asked 50,000 times at 10k tables
            if column.name == name:
                return column
        return None


@dataclass(frozen=True)
class SequenceDef:
    """A sequence object, or a table's own counter (AUTO_INCREMENT, rowid)."""

    name: QualifiedName
    type_name: str
    start: int
    increment: int
    min_value: int
    max_value: int
    cycle: bool
    unlogged: bool
    kind: SequenceKind = "sequence"

    @property
    def ascending(self) -> bool:
        return self.increment > 0

    @property
    def label(self) -> str:
        """The name in the engine's words, as reports show it."""
        if self.kind == "auto_increment":
            return f"the AUTO_INCREMENT counter of {self.name}"
        if self.kind == "autoincrement":
            return f"the AUTOINCREMENT counter of {self.name} (sqlite_sequence)"
        if self.kind == "rowid":
            return f"the rowid counter of {self.name} (max(rowid) + 1)"
        return str(self.name)


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


@hash_once
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
    child_partitioned: bool = False
    parent_partitioned: bool = False

    def __str__(self) -> str:
        return f"{self.child} -> {self.parent}"

    @property
    def label(self) -> str:
        if not self.declared:
            return f"logical reference {self}"
        if self.name is None:  # SQLite's foreign keys often have no name
            return f"foreign key {self}"
        return f"foreign key {quote_ident(self.name)} {self}"


@dataclass(frozen=True)
class ServerInfo:
    engine: Engine
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

    def table(self, name: QualifiedName) -> Table | None:
        return self.tables.get(name)
