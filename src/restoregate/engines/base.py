"""The one small interface between the checks and a database engine.

Checks never see SQL. They ask a ``Backend`` for the catalog and for a handful of
aggregate probes, each of which the backend answers with one query pushed into the
database. A MySQL or SQLite backend implements the same five methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from restoregate.catalog import Catalog, Reference, SequenceDef, Table
from restoregate.errors import CheckFailedToRun
from restoregate.names import QualifiedName


@dataclass(frozen=True)
class SequencePosition:
    last_value: int
    is_called: bool


@dataclass(frozen=True)
class FutureKeys:
    """The keys a parent's sequence has not handed out yet, tested on one child column.

    Values ``first, first + step, ...`` up to ``last`` inclusive (``step`` is negative for
    a descending sequence). With CYCLE the sequence restarts at ``restart`` after
    ``last``, so every value on either grid between the bounds is still to come.
    ``first`` beyond ``last`` without CYCLE: nothing is left to hand out.
    """

    child_column: str
    first: int
    last: int
    step: int
    restart: int | None = None


@dataclass(frozen=True)
class ReferenceStats:
    orphans: int  # orphaned rows
    reassignable: int  # of which the parent's sequence will hand out the key again
    # per child column: smallest and largest value among orphaned rows (None when none)
    orphan_ranges: dict[str, tuple[Any, Any]]
    sample: list[tuple[Any, ...]]  # the smallest distinct orphaned keys, at most the limit
    orphan_keys: int = 0  # distinct orphaned keys


@dataclass(frozen=True)
class Duplicates:
    groups: int  # key values held by more than one row
    rows: int  # rows holding them
    sample: list[tuple[tuple[Any, ...], int]]  # (key, rows), most repeated first


@dataclass(frozen=True)
class QueryRows:
    count: int
    columns: list[str]
    sample: list[tuple[Any, ...]]


class Backend(Protocol):
    def catalog(self) -> Catalog: ...

    def sequence_positions(
        self, sequences: list[SequenceDef]
    ) -> dict[QualifiedName, SequencePosition | CheckFailedToRun]: ...

    def equality_operators(self, pairs: list[tuple[int, int]]) -> list[tuple[str, str] | None]: ...

    def column_range(self, table: Table, column: str) -> tuple[Any, Any]: ...

    def reference_stats(
        self,
        ref: Reference,
        future: list[FutureKeys],
        range_columns: Sequence[str],
        sample_size: int,
    ) -> ReferenceStats: ...

    def count_nulls(self, table: Table, columns: Sequence[str]) -> dict[str, int]: ...

    def count_rows(self, table: Table, cap: int | None) -> int: ...

    def newest(self, table: Table, column: str) -> datetime | None: ...

    def duplicates(self, table: Table, expressions: Sequence[str], sample: int) -> Duplicates: ...

    def query_rows(self, query: str, sample: int, schemas: Sequence[str]) -> QueryRows: ...

    def health(
        self, item: str, table_oids: Sequence[int], schemas: Sequence[str]
    ) -> list[tuple[str, str]]: ...

    def extensions(self) -> dict[str, str]: ...

    def sample_matches(
        self, table: Table, column: str, parents: Sequence[tuple[Table, str]], sample: int
    ) -> tuple[int, int, list[int]]: ...

    def inventory(self) -> list[tuple[str, str, str | None]]: ...

    def existing_roles(self, roles: Sequence[str]) -> set[str]: ...

    def missing_privileges(
        self,
        role: str,
        kind: str,
        privileges: Sequence[str],
        oids: Sequence[int],
        schemas: Sequence[str],
    ) -> list[tuple[str, str]]: ...

    def close(self) -> None: ...
