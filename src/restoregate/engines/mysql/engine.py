"""The MySQL/MariaDB engine: one aggregate per request, inside one consistent snapshot.

Identifiers are quoted with backticks (a backtick doubled); every value is a driver
parameter. The only user text that runs is a ``sql`` rule's query or a ``unique`` rule's
expression, never as written: ``vetting.py`` sends the text it generated from the vetted
tree (an allowlist of side-effect-free built-ins, no comments), inside a READ ONLY
transaction, and checks the session's parsing settings after it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import pymysql

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
    MissingGrants,
    Newest,
    NullCounts,
    OrphanScan,
    QueryRows,
    ReferenceSample,
    ReferenceStats,
    Request,
    RolesPresent,
    RowCount,
    SampleMatches,
    SequencePosition,
    SequencePositionOf,
    TableSample,
    UserQuery,
    ValueSample,
)
from restoregate.engines.mysql import grants, vetting
from restoregate.engines.mysql.catalog_loader import load_catalog, quote, table_sql
from restoregate.engines.mysql.dsn import parse
from restoregate.engines.mysql.errors import translate
from restoregate.engines.mysql.queries import load
from restoregate.engines.mysql.session import connect
from restoregate.errors import CheckFailedToRun, UsageError
from restoregate.names import QualifiedName
from restoregate.settings import SessionSettings

FLAVOUR = portable_sql.Flavour(quote, "%s", "DECIMAL(65,0)")


@contextmanager
def open_engine(
    dsn: str | None, settings: SessionSettings, snapshot: str | None = None
) -> Iterator[MysqlEngine]:
    """Connect, open one READ ONLY consistent snapshot, and roll it back at the end."""
    if snapshot is not None:
        raise UsageError("--snapshot is a PostgreSQL snapshot ID; MySQL has no such thing")
    target = parse(dsn or "")
    conn, mariadb = connect(target, settings)
    try:
        yield MysqlEngine(conn, mariadb, target.shown(), settings)
    finally:
        try:
            conn.rollback()
        finally:
            conn.close()


class MysqlEngine(Answerer):
    health_items = ("unlogged",)
    dialect = "mysql"

    def __init__(self, conn: Any, mariadb: bool, target: str, settings: SessionSettings) -> None:
        self._conn = conn
        self.name = "mariadb" if mariadb else "mysql"
        self._target = target
        self._settings = settings
        self._catalog: Catalog | None = None

    @property
    def target(self) -> str:
        return self._target

    def _rows(self, what: str, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._conn.cursor() as cur:
                cur.execute(query, tuple(params) or None)
                return [tuple(r) for r in cur.fetchall()]
        except pymysql.MySQLError as exc:
            raise translate(exc, what, self._settings) from None

    def catalog(self) -> Catalog:
        try:
            self._catalog = load_catalog(self._conn, self.name == "mariadb")
        except pymysql.MySQLError as exc:
            raise translate(exc, "reading the catalog", self._settings) from None
        return self._catalog

    @property
    def _model(self) -> Catalog:
        return self._catalog if self._catalog is not None else self.catalog()

    def answer(self, requests: Sequence[Request[Any]]) -> list[Answer]:
        """Every sequence position of the batch in one statement; the rest one by one."""
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
        """AUTO_INCREMENT counters read fresh from information_schema; SEQUENCE tables read."""
        seqs = [self._model.sequences[r.sequence] for r in requests]
        try:
            values = self._counter_values([s for s in seqs if s.kind == "auto_increment"])
            cached = self._sequence_values([s for s in seqs if s.kind == "sequence"])
        except CheckFailedToRun as exc:
            return {r: exc for r in requests}
        found: dict[Request[Any], SequencePosition | CheckFailedToRun] = {}
        for request, seq in zip(requests, seqs, strict=True):
            if seq.name in cached:
                found[request] = cached_position(seq, *cached[seq.name])
                continue
            value = values.get(seq.name)
            found[request] = (
                _position(seq, value)
                if value is not None
                else CheckFailedToRun(f"reading {seq.label}: the server reported no value")
            )
        return found

    def _counter_values(self, seqs: list[SequenceDef]) -> dict[QualifiedName, int]:
        if not seqs:
            return {}
        marks = ", ".join(["%s"] * len(seqs))
        query = (
            "SELECT TABLE_SCHEMA, TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES"
            f" WHERE TABLE_SCHEMA = %s AND TABLE_NAME IN ({marks})"
        )
        params = [self._model.server.database, *(s.name.name for s in seqs)]
        rows = self._rows("reading AUTO_INCREMENT counters", query, params)
        return {QualifiedName(r[0], r[1]): int(r[2]) for r in rows if r[2] is not None}

    def _sequence_values(self, seqs: list[SequenceDef]) -> dict[QualifiedName, tuple[int, int]]:
        """``next_not_cached_value`` and ``cache_size`` of each MariaDB sequence table."""
        if not seqs:
            return {}
        query = " UNION ALL ".join(
            f"SELECT {i}, next_not_cached_value, cache_size FROM {table_sql(s.name)}"
            for i, s in enumerate(seqs)
        )
        rows = self._rows("reading sequence positions", query)
        return {seqs[int(i)].name: (int(v), int(c or 0)) for i, v, c in rows}

    def answer_key_range(self, request: KeyRange) -> tuple[Any, Any]:
        col = quote(request.column)
        query = f"SELECT min({col}), max({col}) FROM {table_sql(request.table)}"
        row = self._rows(f"reading the range of {request.table.column(request.column)}", query)
        return row[0][0], row[0][1]

    def answer_orphan_scan(self, request: OrphanScan) -> ReferenceStats:
        query, params = portable_sql.orphan_scan(request, FLAVOUR)
        rows = self._rows(f"counting orphans of {request.reference.label}", query, params)
        return portable_sql.reference_stats(request, rows)

    def answer_null_counts(self, request: NullCounts) -> dict[str, int]:
        counts = ", ".join(f"COALESCE(SUM({quote(c)} IS NULL), 0)" for c in request.columns)
        query = f"SELECT {counts} FROM {table_sql(request.table)}"
        row = self._rows(f"counting NULLs in {request.table}", query)[0]
        return {c: int(v) for c, v in zip(request.columns, row, strict=True)}

    def answer_row_count(self, request: RowCount) -> int:
        limit = f" LIMIT {int(request.cap)}" if request.cap is not None else ""
        query = f"SELECT count(*) FROM (SELECT 1 FROM {table_sql(request.table)}{limit}) AS r"
        return int(self._rows(f"counting rows of {request.table}", query)[0][0])

    def answer_newest(self, request: Newest) -> datetime | None:
        """The session's time_zone is UTC: TIMESTAMP values come out in UTC, DATETIME as is."""
        query = f"SELECT max({quote(request.column)}) FROM {table_sql(request.table)}"
        value = self._rows(f"reading the newest {request.table.column(request.column)}", query)
        newest = value[0][0]
        if not isinstance(newest, datetime):
            return None
        return newest if newest.tzinfo else newest.replace(tzinfo=timezone.utc)

    def answer_duplicate_keys(self, request: DuplicateKeys) -> Duplicates:
        keys = [self._vetted(vetting.expression_text, text) for text in request.texts]
        names = [f"k{i}" for i in range(len(keys))]
        aliased = ", ".join(f"({k}) AS {n}" for k, n in zip(keys, names, strict=True))
        present = " AND ".join(f"({k}) IS NOT NULL" for k in keys)
        positions = ", ".join(str(i + 1) for i in range(len(keys)))
        query = (
            f"SELECT {', '.join(names)}, n, count(*) OVER (), sum(n) OVER () FROM ("
            f"SELECT {aliased}, count(*) AS n FROM {table_sql(request.table)} WHERE {present}"
            f" GROUP BY {positions} HAVING count(*) > 1) AS d"
            f" ORDER BY n DESC, {', '.join(names)} LIMIT {int(request.sample)}"
        )
        with self._user_probe(f"looking for duplicates in {request.table}"):
            rows = self._rows(f"looking for duplicates in {request.table}", query)
        if not rows:
            return Duplicates(0, 0, [])
        width = len(keys)
        return Duplicates(
            groups=int(rows[0][width + 1]),
            rows=int(rows[0][width + 2]),
            sample=[(tuple(r[:width]), int(r[width])) for r in rows],
        )

    def answer_user_query(self, request: UserQuery) -> QueryRows:
        """The text generated from the vetted tree; unqualified names resolve in the DSN's
        database."""
        query = self._vetted(vetting.query_text, request.query)
        self._vet_views(query)
        limit = int(request.sample)
        wrapped = f"SELECT count(*) OVER () AS rg_count, q.* FROM ({query}) AS q LIMIT {limit}"
        try:
            with self._user_probe("running the rule's query"), self._conn.cursor() as cur:
                cur.execute(wrapped)  # no parameters: the driver leaves the text alone
                rows = [tuple(r) for r in cur.fetchall()]
                columns = [d[0] for d in cur.description or []][1:]
        except pymysql.MySQLError as exc:
            raise translate(exc, "running the rule's query", self._settings) from None
        count = int(rows[0][0]) if rows else 0
        return QueryRows(count, columns, [r[1:] for r in rows])

    def _vetted(self, render: Any, text: str) -> str:
        try:
            return str(render(text, self.name == "mariadb"))
        except ValueError as exc:
            raise CheckFailedToRun(f"refused on {self.name}: {exc}") from None

    def _vet_views(self, query: str) -> None:
        """Every view the query reads, and the views they read, vetted from the server's
        definitions (one query per level of nesting)."""
        mariadb = self.name == "mariadb"
        default = self._model.server.database
        pending = vetting.tables_read(query)
        seen: set[tuple[str, str]] = set()
        for _ in range(16):
            wanted = sorted({(s or default, n) for s, n in pending} - seen)
            if not wanted:
                return
            seen |= set(wanted)
            marks = ", ".join(["(%s, %s)"] * len(wanted))
            rows = self._rows(
                "reading the definitions of the views the rule reads",
                "SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS"
                f" WHERE (TABLE_SCHEMA, TABLE_NAME) IN ({marks})",
                [part for pair in wanted for part in pair],
            )
            pending = set()
            for schema, name, definition in rows:
                label = f"view {schema}.{name}"
                if not definition:
                    raise CheckFailedToRun(
                        f"refused on {self.name}: cannot read the definition of {label}",
                        "grant the checking account SHOW VIEW on the database",
                    )
                try:
                    vetting.query_text(str(definition), mariadb)
                    pending |= {(s or str(schema), n) for s, n in vetting.tables_read(definition)}
                except ValueError as exc:
                    raise CheckFailedToRun(f"refused on {self.name}: {label}: {exc}") from None
        raise CheckFailedToRun(f"refused on {self.name}: views nested more than 16 deep")

    @contextmanager
    def _user_probe(self, what: str) -> Iterator[None]:
        """A rule's statement: the session must be the same, and the pinned one, after it."""
        timeout = "max_statement_time" if self.name == "mariadb" else "max_execution_time"
        try:
            with self._conn.cursor() as cur:
                before = vetting.session_state(cur, timeout)
            yield
            with self._conn.cursor() as cur:
                vetting.check_state(cur, timeout, before, what)
        except pymysql.MySQLError as exc:
            raise translate(exc, what, self._settings) from None

    def answer_health_item(self, request: HealthItem) -> list[tuple[str, str]]:
        raise CheckFailedToRun(f"catalog item {request.item} is not known on {self.name}")

    def answer_inventory(self, request: Inventory) -> list[tuple[str, str, str | None]]:
        try:
            with self._conn.cursor() as cur:
                cur.execute(load("inventory"), {"db": self._model.server.database})
                rows = [tuple(r) for r in cur.fetchall()]
        except pymysql.MySQLError as exc:
            raise translate(exc, "taking the object inventory", self._settings) from None
        return [(str(r[0]), str(r[1]), r[2]) for r in rows]

    def answer_roles_present(self, request: RolesPresent) -> set[str]:
        return grants.roles_present(self._rows, request.roles, self.name == "mariadb")

    def answer_missing_grants(self, request: MissingGrants) -> list[tuple[str, str]]:
        return grants.missing(self._rows, request, self._model, self.name == "mariadb")

    def answer_value_sample(self, request: ValueSample) -> SampleMatches:
        query = portable_sql.value_sample(request, quote)
        row = self._rows(f"sampling {request.table.column(request.column)}", query)[0]
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
        return (c.numeric and p.numeric) or c.base_type == p.base_type or _both_text(c, p)


def _both_text(c: Any, p: Any) -> bool:
    text = ("char", "varchar", "text", "tinytext", "mediumtext", "longtext")
    return any(c.base_type.lower().startswith(t) for t in text) and any(
        p.base_type.lower().startswith(t) for t in text
    )


def cached_position(seq: SequenceDef, value: int, cache: int) -> SequencePosition:
    """A MariaDB sequence hands out ``next_not_cached_value`` (``value``) next only while its
    cache is empty (after a restart, a reload, SETVAL). Once a NEXTVAL reserved ``cache``
    values, ``value`` has moved past them and the next one handed out may be as low as
    ``value - (cache - 1) * increment`` (ascending; descending mirrored). Exhaustion is
    judged from ``value`` (what the sequence table says is used), collisions from the
    lowest value (what may still come out of the cache)."""
    position = _position(seq, value)
    if cache <= 1 or position.next_value is None:
        return position
    lowest = value - (cache - 1) * seq.increment
    lowest = max(lowest, seq.min_value) if seq.ascending else min(lowest, seq.max_value)
    if lowest == value:
        return position
    low = "low" if seq.ascending else "high"
    basis = (
        f"it caches {cache:,} values: next_not_cached_value is {value:,}, and while values "
        f"are cached the next one handed out may be as {low} as {lowest:,}"
    )
    return SequencePosition(position.next_value, position.last_value, lowest, basis)


def _position(seq: SequenceDef, value: int) -> SequencePosition:
    """``value`` is what the next insert gets (AUTO_INCREMENT, next_not_cached_value)."""
    if seq.min_value <= value <= seq.max_value:
        return SequencePosition(value, value - seq.increment)
    if seq.cycle:
        return SequencePosition(seq.min_value if seq.ascending else seq.max_value, value)
    return SequencePosition(None, value - seq.increment)
