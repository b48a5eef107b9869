"""The SQLite engine: a restored file, read-only, one aggregate per request.

Identifiers are double-quoted (a quote doubled); values are ``?`` parameters; a rule's
query or expression is validated by ``restoregate.dialects`` in the SQLite dialect and
then runs under the authorizer's rule policy (``authorizer.py``): SQLite itself refuses,
while compiling the text it parsed, anything but reading.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from restoregate import dialects
from restoregate.catalog import Catalog, SequenceDef
from restoregate.engines import portable_sql
from restoregate.engines.base import (
    Answer,
    Answerer,
    Comparable,
    DuplicateKeys,
    Duplicates,
    HealthItem,
    Inventory,
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
from restoregate.engines.sqlite.authorizer import Authorizer
from restoregate.engines.sqlite.catalog_loader import (
    ROWID_MAX,
    load_catalog,
    quote,
    relation,
)
from restoregate.engines.sqlite.dsn import parse
from restoregate.engines.sqlite.queries import load
from restoregate.engines.sqlite.session import Deadline, first_line, open_file
from restoregate.errors import CheckFailedToRun, UsageError
from restoregate.settings import SessionSettings

FLAVOUR = portable_sql.Flavour(quote, "?", "INTEGER")


@contextmanager
def open_engine(
    dsn: str | None, settings: SessionSettings, snapshot: str | None = None
) -> Iterator[SqliteEngine]:
    if snapshot is not None:
        raise UsageError("--snapshot is a PostgreSQL snapshot ID; SQLite has no such thing")
    path = parse(dsn or "")
    conn, deadline, authorizer = open_file(path, settings)
    try:
        yield SqliteEngine(conn, deadline, str(path), settings, authorizer)
    finally:
        conn.close()  # the read transaction ends with the connection: nothing was written


class SqliteEngine(Answerer):
    name = "sqlite"
    dialect = "sqlite"
    health_items = ("quick_check",)

    def __init__(
        self,
        conn: sqlite3.Connection,
        deadline: Deadline,
        path: str,
        settings: SessionSettings,
        authorizer: Authorizer | None = None,
    ) -> None:
        self._conn = conn
        self._authorizer = authorizer or Authorizer()
        self._deadline = deadline
        self._path = path
        self._settings = settings
        self._catalog: Catalog | None = None

    @property
    def target(self) -> str:
        return f"sqlite:///{self._path}"

    def _rows(self, what: str, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._deadline.start()
        try:
            return [tuple(r) for r in self._conn.execute(query, tuple(params)).fetchall()]
        except sqlite3.Error as exc:
            raise self._translate(exc, what) from None

    def _user_rows(self, what: str, query: str) -> list[tuple[Any, ...]]:
        """A statement built around a rule's expression: under the rule policy."""
        self._deadline.start()
        try:
            with self._authorizer.user_probe(self._conn):
                return [tuple(r) for r in self._conn.execute(query).fetchall()]
        except sqlite3.Error as exc:
            raise self._translate(exc, what) from None

    def _translate(self, exc: sqlite3.Error, what: str) -> CheckFailedToRun:
        if self._deadline.expired:
            return CheckFailedToRun(
                f"{what}: stopped by the statement timeout ({self._settings.statement_timeout})",
                "raise --statement-timeout; a check that did not finish is never a pass",
            )
        text = first_line(exc)
        if "locked" in text or "busy" in text:
            return CheckFailedToRun(
                f"{what}: waited longer than --lock-timeout ({self._settings.lock_timeout})",
                "another process is writing the file; wait for it or raise --lock-timeout",
            )
        if "not authorized" in text or "prohibited" in text:
            why = self._authorizer.denied or "it does something other than read this database"
            return CheckFailedToRun(f"{what}: refused by SQLite's authorizer: {why}")
        return CheckFailedToRun(f"{what}: {text}")

    def catalog(self) -> Catalog:
        try:
            self._catalog = load_catalog(self._conn, self._path)
        except sqlite3.Error as exc:
            raise self._translate(exc, "reading the catalog") from None
        return self._catalog

    @property
    def _model(self) -> Catalog:
        return self._catalog if self._catalog is not None else self.catalog()

    def answer(self, requests: Sequence[Request[Any]]) -> list[Answer]:
        """Every counter of the batch in one statement; the rest one by one."""
        wanted = [r for r in requests if isinstance(r, SequencePositionOf)]
        positions = self._positions(wanted) if wanted else {}
        return [positions[r] if r in positions else self.answer_one(r) for r in requests]

    def answer_sequence_position(self, request: SequencePositionOf) -> SequencePosition:
        found = self._positions([request])[request]
        if isinstance(found, CheckFailedToRun):
            raise found
        return found

    def _positions(
        self, requests: list[SequencePositionOf]
    ) -> dict[Request[Any], SequencePosition | CheckFailedToRun]:
        """max(rowid), and sqlite_sequence.seq for AUTOINCREMENT tables."""
        seqs = [self._model.sequences[r.sequence] for r in requests]
        has_sequence_table = any(s.kind == "autoincrement" for s in seqs) and bool(
            self._rows(
                "reading sqlite_sequence",
                "SELECT 1 FROM main.sqlite_master WHERE name = 'sqlite_sequence'",
            )
        )
        parts, params = [], []
        for i, seq in enumerate(seqs):
            saved = "NULL"
            if seq.kind == "autoincrement" and has_sequence_table:
                saved = "(SELECT max(seq) FROM main.sqlite_sequence WHERE name = ?)"
                params.append(seq.name.name)
            parts.append(f"SELECT {i}, (SELECT max(rowid) FROM {relation(seq.name)}), {saved}")
        try:
            rows = self._rows("reading rowid counters", " UNION ALL ".join(parts), params)
        except CheckFailedToRun as exc:
            return {r: exc for r in requests}
        found: dict[Request[Any], SequencePosition | CheckFailedToRun] = {}
        for i, top, saved in rows:
            found[requests[int(i)]] = _position(seqs[int(i)], top, saved)
        return found

    def answer_key_range(self, request: KeyRange) -> tuple[Any, Any]:
        col = quote(request.column)
        query = f"SELECT min({col}), max({col}) FROM {relation(request.table)}"
        row = self._rows(f"reading the range of {request.table.column(request.column)}", query)
        return row[0][0], row[0][1]

    def answer_orphan_scan(self, request: OrphanScan) -> ReferenceStats:
        query, params = portable_sql.orphan_scan(request, FLAVOUR)
        rows = self._rows(f"counting orphans of {request.reference.label}", query, params)
        return portable_sql.reference_stats(request, rows)

    def answer_null_counts(self, request: NullCounts) -> dict[str, int]:
        counts = ", ".join(f"coalesce(sum({quote(c)} IS NULL), 0)" for c in request.columns)
        row = self._rows(
            f"counting NULLs in {request.table}", f"SELECT {counts} FROM {relation(request.table)}"
        )[0]
        return {c: int(v) for c, v in zip(request.columns, row, strict=True)}

    def answer_row_count(self, request: RowCount) -> int:
        limit = f" LIMIT {int(request.cap)}" if request.cap is not None else ""
        query = f"SELECT count(*) FROM (SELECT 1 FROM {relation(request.table)}{limit})"
        return int(self._rows(f"counting rows of {request.table}", query)[0][0])

    def answer_newest(self, request: Newest) -> datetime | None:
        """Timestamps as SQLite keeps them: ISO 8601 text (UTC unless it says) or Unix seconds."""
        query = f"SELECT max({quote(request.column)}) FROM {relation(request.table)}"
        value = self._rows(f"reading the newest {request.table.column(request.column)}", query)
        return _timestamp(value[0][0])

    def answer_duplicate_keys(self, request: DuplicateKeys) -> Duplicates:
        keys = [dialects.expression_sql(text, self.dialect) for text in request.texts]
        names = [f"k{i}" for i in range(len(keys))]
        aliased = ", ".join(f"({k}) AS {n}" for k, n in zip(keys, names, strict=True))
        present = " AND ".join(f"({k}) IS NOT NULL" for k in keys)
        positions = ", ".join(str(i + 1) for i in range(len(keys)))
        query = (
            f"SELECT {', '.join(names)}, n, count(*) OVER (), sum(n) OVER () FROM ("
            f"SELECT {aliased}, count(*) AS n FROM {relation(request.table)} WHERE {present}"
            f" GROUP BY {positions} HAVING count(*) > 1)"
            f" ORDER BY n DESC, {', '.join(names)} LIMIT {int(request.sample)}"
        )
        rows = self._user_rows(f"looking for duplicates in {request.table}", query)
        if not rows:
            return Duplicates(0, 0, [])
        width = len(keys)
        return Duplicates(
            int(rows[0][width + 1]),
            int(rows[0][width + 2]),
            [(tuple(r[:width]), int(r[width])) for r in rows],
        )

    def answer_user_query(self, request: UserQuery) -> QueryRows:
        return self._run_user_query(dialects.check_query(request.query, self.dialect), request)

    def _run_user_query(self, query: str, request: UserQuery) -> QueryRows:
        """The text SQLite parses is the rule's own; the authorizer judges what it compiled to."""
        wrapped = f"SELECT count(*) OVER () AS rg_count, q.* FROM ({query}) AS q LIMIT ?"
        self._deadline.start()
        try:
            with self._authorizer.user_probe(self._conn):
                cur = self._conn.execute(wrapped, (int(request.sample),))
                rows = [tuple(r) for r in cur.fetchall()]
                columns = [d[0] for d in cur.description or []][1:]
        except sqlite3.Error as exc:
            raise self._translate(exc, "running the rule's query") from None
        count = int(rows[0][0]) if rows else 0
        return QueryRows(count, columns, [r[1:] for r in rows])

    def answer_health_item(self, request: HealthItem) -> list[tuple[str, str]]:
        if request.item != "quick_check":
            raise CheckFailedToRun(f"catalog item {request.item} is not known on SQLite")
        rows = self._rows("running PRAGMA quick_check", "PRAGMA main.quick_check")
        problems = [str(r[0]) for r in rows if str(r[0]) != "ok"]
        return [(self._path, f"quick_check: {p}") for p in problems]

    def answer_inventory(self, request: Inventory) -> list[tuple[str, str, str | None]]:
        rows = self._rows("taking the object inventory", load("inventory"))
        return [(str(r[0]), str(r[1]), r[2]) for r in rows]

    def answer_value_sample(self, request: ValueSample) -> SampleMatches:
        row = self._rows(
            f"sampling {request.table.column(request.column)}",
            portable_sql.value_sample(request, quote),
        )[0]
        return SampleMatches(int(row[0]), int(row[1]), [int(v or 0) for v in row[2:]])

    def answer_reference_sample(self, request: ReferenceSample) -> TableSample:
        """One bounded sample of the table for all its candidate columns (portable_sql)."""
        table = self._model.tables[request.table]
        query, params = portable_sql.reference_sample(request, table, FLAVOUR)
        row = self._rows(f"sampling {request.table}", query, params)[0]
        return portable_sql.table_sample(request, row)

    def answer_comparable(self, request: Comparable) -> bool:
        tables = self._model.tables
        c = tables[request.child.table].column(request.child.columns[0])
        p = tables[request.parent.table].column(request.parent.columns[0])
        if c is None or p is None:
            return False
        return (c.numeric and p.numeric) or c.base_type == p.base_type


def _position(seq: SequenceDef, top: Any, saved: Any) -> SequencePosition:
    """AUTOINCREMENT: max(seq, max(rowid)) + 1; a plain rowid: max(rowid) + 1."""
    last = max(int(top or 0), int(saved or 0)) if seq.kind == "autoincrement" else int(top or 0)
    if last >= ROWID_MAX:
        return SequencePosition(None, last)  # AUTOINCREMENT: SQLITE_FULL; rowid: random reuse
    return SequencePosition(last + 1, last)


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc)
    if not isinstance(value, str):
        return None
    try:
        found = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=timezone.utc)
