"""The shared engine for SQL databases without a query composer: MySQL/MariaDB, SQLite.

``PortableEngine`` answers every request whose SQL is the same on those engines apart
from how a statement runs, how an identifier is quoted, the parameter marker and how a
driver error reads (the statements themselves are in ``portable_sql.py``). An engine
subclasses it and provides the hooks below; a fourth SQL engine is then mostly a
``portable_sql.Flavour``, a catalog loader and these hooks:

- ``driver_error``: the driver's base exception class, caught around every statement;
- ``translate(exc, what)``: that exception as one ``CheckFailedToRun`` sentence;
- ``execute(query, params)``: run one statement, return (rows, column names);
- ``load_catalog()``: the engine-neutral ``Catalog``;
- ``positions(requests)``: the sequence positions of a batch, in one statement;
- ``expression_sql(text)`` / ``query_sql(text)``: a rule's expression or query as the
  server will see it (vetted, regenerated, or refused with ``CheckFailedToRun``);
- ``user_scope(what)``: the guard a rule's statement runs under (an authorizer policy,
  a session-state check);
- ``timestamp(value)``: a column's largest value as an aware datetime, or None;
- ``joinable(request, child, parent)``: whether two columns compare with ``=`` (by
  default ``same_family``).

This module imports no driver: the drivers stay in the engine folders.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, ClassVar

from restoregate.catalog import Catalog, Column
from restoregate.engines import portable_sql
from restoregate.engines.base import (
    Answer,
    Answerer,
    Comparable,
    DuplicateKeys,
    Duplicates,
    KeyRange,
    Newest,
    NullCounts,
    OrphanScan,
    QueryRows,
    ReferenceSample,
    ReferenceStats,
    Request,
    RowCount,
    SampleMatches,
    SequencePosition,
    SequencePositionOf,
    TableSample,
    UserQuery,
    ValueSample,
)
from restoregate.errors import CheckFailedToRun, UsageError
from restoregate.names import QualifiedName

Rows = list[tuple[Any, ...]]
Positions = dict[Request[Any], SequencePosition | CheckFailedToRun]


def refuse_snapshot(snapshot: str | None, server: str) -> None:
    """``--snapshot`` names a PostgreSQL snapshot; no other engine can join one."""
    if snapshot is not None:
        raise UsageError(f"--snapshot is a PostgreSQL snapshot ID; {server} has no such thing")


_NUMBERS = frozenset(("integer", "decimal"))


def same_family(child: Column, parent: Column) -> bool:
    """Joinable by what the values are, never by a type name: integers and decimals with
    each other, uuids, strings and times each with their own; a column of no family only
    with one of no family and the same base type (``BINARY(16)`` keys, SQLite's ``REAL``).
    Every probe writes ``parent = child``, so where the engine lets the left operand's
    collation decide (SQLite) it is the parent key's."""
    if child.family is None or parent.family is None:
        return (
            child.family is None and parent.family is None and child.base_type == parent.base_type
        )
    if child.family in _NUMBERS and parent.family in _NUMBERS:
        return True
    return child.family == parent.family


class PortableEngine(Answerer, ABC):
    """One snapshot on one connection, answered one aggregate per request."""

    dialect: str
    health_items: tuple[str, ...] = ()
    flavour: ClassVar[portable_sql.Flavour]
    driver_error: ClassVar[type[Exception]]

    _catalog: Catalog | None = None

    # ----- hooks -------------------------------------------------------------------------

    @abstractmethod
    def translate(self, exc: Exception, what: str) -> CheckFailedToRun: ...

    @abstractmethod
    def execute(self, query: str, params: Sequence[Any] = ()) -> tuple[Rows, list[str]]: ...

    @abstractmethod
    def load_catalog(self) -> Catalog: ...

    @abstractmethod
    def positions(self, requests: list[SequencePositionOf]) -> Positions: ...

    @abstractmethod
    def expression_sql(self, text: str) -> str: ...

    @abstractmethod
    def query_sql(self, text: str) -> str: ...

    @abstractmethod
    def user_scope(self, what: str) -> AbstractContextManager[None]: ...

    @abstractmethod
    def timestamp(self, value: Any) -> datetime | None: ...

    def joinable(self, request: Comparable, child: Column, parent: Column) -> bool:
        """Whether ``parent = child`` means what the parent's key means: by default when
        ``same_family`` says so (an engine adds what it needs, MySQL its collations)."""
        return same_family(child, parent)

    # ----- running statements ------------------------------------------------------------

    @contextmanager
    def translated(self, what: str) -> Iterator[None]:
        """A driver error inside becomes the rule's ``CheckFailedToRun``."""
        try:
            yield
        except self.driver_error as exc:
            raise self.translate(exc, what) from None

    def _rows(self, what: str, query: str, params: Sequence[Any] = ()) -> Rows:
        with self.translated(what):
            return self.execute(query, params)[0]

    def _user_rows(self, what: str, query: str) -> tuple[Rows, list[str]]:
        """A statement built around a rule's text, under the engine's guard for it."""
        with self.translated(what), self.user_scope(what):
            return self.execute(query)

    def quote(self, name: str) -> str:
        return self.flavour.quote(name)

    def relation(self, name: QualifiedName) -> str:
        return portable_sql.relation(name, self.flavour.quote)

    def catalog(self) -> Catalog:
        with self.translated("reading the catalog"):
            self._catalog = self.load_catalog()
        return self._catalog

    @property
    def _model(self) -> Catalog:
        return self._catalog if self._catalog is not None else self.catalog()

    # ----- answers -----------------------------------------------------------------------

    def answer(self, requests: Sequence[Request[Any]]) -> list[Answer]:
        """Every sequence position of the batch in one statement; the rest one by one."""
        wanted = [r for r in requests if isinstance(r, SequencePositionOf)]
        found = self.positions(wanted) if wanted else {}
        return [found[r] if r in found else self.answer_one(r) for r in requests]

    def answer_sequence_position(self, request: SequencePositionOf) -> SequencePosition:
        found = self.positions([request])[request]
        if isinstance(found, CheckFailedToRun):
            raise found
        return found

    def answer_key_range(self, request: KeyRange) -> tuple[Any, Any]:
        col = self.quote(request.column)
        query = f"SELECT min({col}), max({col}) FROM {self.relation(request.table)}"
        row = self._rows(f"reading the range of {request.table.column(request.column)}", query)
        return row[0][0], row[0][1]

    def answer_orphan_scan(self, request: OrphanScan) -> ReferenceStats:
        query, params = portable_sql.orphan_scan(request, self.flavour)
        rows = self._rows(f"counting orphans of {request.reference.label}", query, params)
        return portable_sql.reference_stats(request, rows)

    def answer_null_counts(self, request: NullCounts) -> dict[str, int]:
        counts = ", ".join(f"coalesce(sum({self.quote(c)} IS NULL), 0)" for c in request.columns)
        query = f"SELECT {counts} FROM {self.relation(request.table)}"
        row = self._rows(f"counting NULLs in {request.table}", query)[0]
        return {c: int(v) for c, v in zip(request.columns, row, strict=True)}

    def answer_row_count(self, request: RowCount) -> int:
        limit = f" LIMIT {int(request.cap)}" if request.cap is not None else ""
        query = f"SELECT count(*) FROM (SELECT 1 FROM {self.relation(request.table)}{limit}) AS r"
        return int(self._rows(f"counting rows of {request.table}", query)[0][0])

    def answer_newest(self, request: Newest) -> datetime | None:
        query = f"SELECT max({self.quote(request.column)}) FROM {self.relation(request.table)}"
        value = self._rows(f"reading the newest {request.table.column(request.column)}", query)
        return self.timestamp(value[0][0])

    def answer_duplicate_keys(self, request: DuplicateKeys) -> Duplicates:
        keys = [self.expression_sql(text) for text in request.texts]
        names = [f"k{i}" for i in range(len(keys))]
        aliased = ", ".join(f"({k}) AS {n}" for k, n in zip(keys, names, strict=True))
        present = " AND ".join(f"({k}) IS NOT NULL" for k in keys)
        positions = ", ".join(str(i + 1) for i in range(len(keys)))
        query = (
            f"SELECT {', '.join(names)}, n, count(*) OVER (), sum(n) OVER () FROM ("
            f"SELECT {aliased}, count(*) AS n FROM {self.relation(request.table)}"
            f" WHERE {present} GROUP BY {positions} HAVING count(*) > 1) AS d"
            f" ORDER BY n DESC, {', '.join(names)} LIMIT {int(request.sample)}"
        )
        rows, _ = self._user_rows(f"looking for duplicates in {request.table}", query)
        return Duplicates.from_rows(rows, len(keys))

    def answer_user_query(self, request: UserQuery) -> QueryRows:
        """The query as ``query_sql`` gives it, counted and cut to the sample, no parameter
        (the driver leaves the text alone); unqualified names resolve in the default schema."""
        return self._run_user_query(self.query_sql(request.query), request)

    def _run_user_query(self, query: str, request: UserQuery) -> QueryRows:
        limit = int(request.sample)
        wrapped = f"SELECT count(*) OVER () AS rg_count, q.* FROM ({query}) AS q LIMIT {limit}"
        rows, columns = self._user_rows("running the rule's query", wrapped)
        count = int(rows[0][0]) if rows else 0
        return QueryRows(count, columns[1:], [r[1:] for r in rows])

    def answer_value_sample(self, request: ValueSample) -> SampleMatches:
        query = portable_sql.value_sample(request, self.flavour.quote)
        row = self._rows(f"sampling {request.table.column(request.column)}", query)[0]
        return SampleMatches(int(row[0]), int(row[1]), [int(v or 0) for v in row[2:]])

    def answer_reference_sample(self, request: ReferenceSample) -> TableSample:
        """One bounded sample of the table for all its candidate columns (portable_sql)."""
        table = self._model.tables[request.table]
        query, params = portable_sql.reference_sample(request, table, self.flavour)
        row = self._rows(f"sampling {request.table}", query, params)[0]
        return portable_sql.table_sample(request, row)

    def answer_comparable(self, request: Comparable) -> bool:
        tables = self._model.tables
        child = tables[request.child.table].column(request.child.columns[0])
        parent = tables[request.parent.table].column(request.parent.columns[0])
        if child is None or parent is None:
            return False
        return self.joinable(request, child, parent)
