"""The PostgreSQL backend: catalog, sequence positions, and one aggregate per target.

Every probe runs in its own savepoint inside the single REPEATABLE READ READ ONLY
transaction, so one failing probe (a timeout, a missing privilege) fails its rule
without aborting the snapshot the other rules share. Every identifier is composed
with ``psycopg.sql``; the only other SQL text spliced in is an operator name taken
from the catalog, checked against the operator alphabet first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

import psycopg
from psycopg import sql

from restoregate.catalog import Catalog, Reference, SequenceDef, Table
from restoregate.engines.base import (
    Duplicates,
    FutureKeys,
    QueryRows,
    ReferenceStats,
    SequencePosition,
)
from restoregate.engines.postgres.catalog_loader import load_catalog
from restoregate.engines.postgres.errors import translate
from restoregate.engines.postgres.queries import load
from restoregate.engines.postgres.session import SessionSettings, connect, connected_dsn
from restoregate.errors import CheckFailedToRun, ConnectionProblem, UsageError
from restoregate.names import QualifiedName

_OPERATOR = re.compile(r"[+\-*/<>=~!@#%^&|`?]{1,63}")
_BATCH = 500  # sequences read per UNION ALL query
SAMPLE_PAGES = 64  # pages TABLESAMPLE reads when sampling a big table


_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9]+)?$")


@contextmanager
def open_backend(
    dsn: str | None, settings: SessionSettings, snapshot: str | None = None
) -> Iterator[PostgresBackend]:
    """Connect and hold one read-only snapshot until the block ends; never commits.

    ``snapshot``: an ID from ``pg_export_snapshot()`` (as ``pg_dump --snapshot`` uses), so
    what is read matches what a dump in that snapshot holds.
    """
    if snapshot is not None and not _SNAPSHOT_ID.match(snapshot):
        raise UsageError(
            f"--snapshot {snapshot!r} is not a snapshot ID such as 00000003-0000001B-1"
        )
    conn = connect(dsn, settings)
    try:
        with conn.transaction(force_rollback=True):
            if snapshot is not None:
                _import_snapshot(conn, snapshot, settings)
            yield PostgresBackend(conn, settings)
    except psycopg.OperationalError as exc:
        raise translate(exc, "closing the snapshot", settings) from None
    finally:
        conn.close()


def _import_snapshot(
    conn: psycopg.Connection[Any], snapshot: str, settings: SessionSettings
) -> None:
    try:
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
    except psycopg.Error as exc:
        raise ConnectionProblem(
            f"cannot use snapshot {snapshot}: {translate(exc, 'importing', settings).message}",
            "the exporting transaction must still be open (pg_dump --snapshot, or the session "
            "that ran pg_export_snapshot())",
        ) from None


class PostgresBackend:
    def __init__(self, conn: psycopg.Connection[Any], settings: SessionSettings) -> None:
        self._conn = conn
        self._settings = settings

    @property
    def connection(self) -> psycopg.Connection[Any]:
        return self._conn

    @property
    def dsn(self) -> str:
        """Where we are connected, without the password."""
        return connected_dsn(self._conn)

    def close(self) -> None:
        self._conn.close()

    def _rows(
        self, what: str, query: sql.Composed | sql.SQL, params: Any = None
    ) -> list[tuple[Any, ...]]:
        try:
            with self._conn.transaction():
                rows: list[tuple[Any, ...]] = self._conn.execute(query, params).fetchall()
                return rows
        except psycopg.Error as exc:
            raise translate(exc, what, self._settings) from None

    def catalog(self) -> Catalog:
        try:
            with self._conn.transaction():
                return load_catalog(self._conn)
        except psycopg.Error as exc:
            raise translate(exc, "reading the catalog", self._settings) from None

    def equality_operators(self, pairs: list[tuple[int, int]]) -> list[tuple[str, str] | None]:
        """The equality operator to join each (child type, parent type) pair with."""
        rows = self._rows(
            "looking up equality operators",
            sql.SQL(load("equality_operators")),
            {"left": [p[0] for p in pairs], "right": [p[1] for p in pairs]},
        )
        return [(r[1], r[2]) if r[1] is not None else None for r in rows]

    def sequence_positions(
        self, sequences: list[SequenceDef]
    ) -> dict[QualifiedName, SequencePosition | CheckFailedToRun]:
        found: dict[QualifiedName, SequencePosition | CheckFailedToRun] = {}
        for start in range(0, len(sequences), _BATCH):
            batch = sequences[start : start + _BATCH]
            try:
                found.update(self._read_sequences(batch))
            except CheckFailedToRun:
                for seq in batch:  # find out which one failed, and why
                    try:
                        found.update(self._read_sequences([seq]))
                    except CheckFailedToRun as exc:
                        found[seq.name] = exc
        return found

    def _read_sequences(self, batch: list[SequenceDef]) -> dict[QualifiedName, SequencePosition]:
        query = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {i}::int4, last_value, is_called FROM {seq}").format(
                i=sql.Literal(i), seq=sql.Identifier(s.name.schema, s.name.name)
            )
            for i, s in enumerate(batch)
        )
        what = "reading sequence " + (str(batch[0].name) if len(batch) == 1 else "positions")
        rows = self._rows(what, query)
        return {batch[i].name: SequencePosition(last, called) for i, last, called in rows}

    def column_range(self, table: Table, column: str) -> tuple[Any, Any]:
        col = sql.Identifier(column)
        query = sql.SQL("SELECT min({c}), max({c}) FROM {t}").format(
            c=col, t=_relation(table.name, table.partitioned)
        )
        row = self._rows(f"reading the range of {table.name.column(column)}", query)[0]
        return row[0], row[1]

    def reference_stats(
        self,
        ref: Reference,
        future: list[FutureKeys],
        range_columns: Sequence[str],
        sample_size: int,
    ) -> ReferenceStats:
        """Counts, key ranges and a sample of one reference's orphans from one anti-join.

        The orphans are grouped by key (sorted or hashed, spilling to disk, so memory does
        not grow with the table), the totals are window sums over the groups, and the
        smallest keys are the sample: one scan of child and parent, failing or not. With
        millions of orphans the grouping costs extra (1.5x the bare anti-join measured at
        4 M orphans), which a restore that broken can afford.
        """
        keys = sql.SQL(", ").join(sql.Identifier("c", c) for c in ref.child.columns)
        totals = [
            sql.SQL("sum(count(*)) OVER ()"),
            sql.SQL("sum(count(*) FILTER (WHERE {})) OVER ()").format(_future_condition(future)),
            sql.SQL("count(*) OVER ()"),
        ]
        totals += [
            sql.SQL("min({c}) OVER (), max({c}) OVER ()").format(c=sql.Identifier("c", col))
            for col in range_columns
        ]
        query = sql.SQL(
            "SELECT {keys}, {totals} {orphans} GROUP BY {keys} ORDER BY {keys} LIMIT {n}"
        ).format(
            keys=keys,
            totals=sql.SQL(", ").join(totals),
            orphans=_orphans(ref),
            n=sql.Literal(sample_size),
        )
        rows = self._rows(f"counting orphans of {ref.label}", query)
        if not rows:
            empty = {col: (None, None) for col in range_columns}
            return ReferenceStats(orphans=0, reassignable=0, orphan_ranges=empty, sample=[])
        width, first = len(ref.child.columns), rows[0]
        ranges = {
            col: (first[width + 3 + 2 * i], first[width + 4 + 2 * i])
            for i, col in enumerate(range_columns)
        }
        return ReferenceStats(
            orphans=int(first[width]),
            reassignable=int(first[width + 1] or 0),
            orphan_ranges=ranges,
            sample=[tuple(row[:width]) for row in rows],
            orphan_keys=int(first[width + 2]),
        )

    def count_nulls(self, table: Table, columns: Sequence[str]) -> dict[str, int]:
        counts = sql.SQL(", ").join(
            sql.SQL("count(*) FILTER (WHERE {} IS NULL)").format(sql.Identifier(c)) for c in columns
        )
        query = sql.SQL("SELECT {} FROM {}").format(
            counts, _relation(table.name, table.partitioned)
        )
        row = self._rows(f"counting NULLs in {table.name}", query)[0]
        return dict(zip(columns, row, strict=True))

    def count_rows(self, table: Table, cap: int | None) -> int:
        """Exact below ``cap``; stops reading at ``cap`` rows (a bound is all a limit needs)."""
        limit = sql.SQL(" LIMIT {}").format(sql.Literal(cap)) if cap is not None else sql.SQL("")
        query = sql.SQL("SELECT count(*) FROM (SELECT FROM {}{}) AS r").format(
            _relation(table.name, table.partitioned), limit
        )
        return int(self._rows(f"counting rows of {table.name}", query)[0][0])

    def newest(self, table: Table, column: str) -> datetime | None:
        query = sql.SQL("SELECT max({})::pg_catalog.timestamptz FROM {}").format(
            sql.Identifier(column), _relation(table.name, table.partitioned)
        )
        value = self._rows(f"reading the newest {table.name.column(column)}", query)[0][0]
        return value if isinstance(value, datetime) else None

    def duplicates(self, table: Table, expressions: Sequence[str], sample: int) -> Duplicates:
        """Key values held by several rows (rows with a NULL key part are distinct, as in SQL)."""
        keys = [sql.SQL(cast("Any", e)) for e in expressions]  # validated by sqlcheck
        names = [sql.Identifier(f"k{i}") for i in range(len(keys))]
        query = sql.SQL(
            "SELECT {names}, n, count(*) OVER (), sum(n) OVER () FROM ("
            "SELECT {aliased}, count(*) AS n FROM {t} WHERE {present} GROUP BY {positions}"
            " HAVING count(*) > 1) AS d ORDER BY n DESC, {names} LIMIT {limit}"
        ).format(
            names=sql.SQL(", ").join(names),
            aliased=sql.SQL(", ").join(
                sql.SQL("({}) AS {}").format(k, n) for k, n in zip(keys, names, strict=True)
            ),
            t=_relation(table.name, table.partitioned),
            present=sql.SQL(" AND ").join(sql.SQL("({}) IS NOT NULL").format(k) for k in keys),
            positions=sql.SQL(", ").join(sql.Literal(i + 1) for i in range(len(keys))),
            limit=sql.Literal(sample),
        )
        rows = self._rows(f"looking for duplicates in {table.name}", query)
        if not rows:
            return Duplicates(0, 0, [])
        width = len(keys)
        return Duplicates(
            groups=int(rows[0][width + 1]),
            rows=int(rows[0][width + 2]),
            sample=[(tuple(r[:width]), int(r[width])) for r in rows],
        )

    def query_rows(self, query: str, sample: int, schemas: Sequence[str]) -> QueryRows:
        """A user's validated SELECT: how many rows, and the first few (memory stays bounded).

        Its unqualified names resolve in ``schemas``, after pg_catalog so that nothing in
        the restored database can shadow a built-in; the setting is undone with the
        probe's savepoint.
        """
        wrapped = sql.SQL(
            "SELECT count(*) OVER () AS rg_count, q.* FROM ({}) AS q LIMIT {}"
        ).format(sql.SQL(cast("Any", query)), sql.Literal(sample))
        path = ", ".join(sql.Identifier(s).as_string(self._conn) for s in ["pg_catalog", *schemas])
        try:
            with self._conn.transaction() as savepoint:
                self._conn.execute("SELECT pg_catalog.set_config('search_path', %s, true)", (path,))
                cur = self._conn.execute(wrapped)
                rows = cur.fetchall()
                columns = [d.name for d in cur.description or []][1:]
                raise psycopg.Rollback(savepoint)
        except psycopg.Error as exc:
            raise translate(exc, "running the rule's query", self._settings) from None
        count = int(rows[0][0]) if rows else 0
        return QueryRows(count, columns, [tuple(r[1:]) for r in rows])

    def health(
        self, item: str, table_oids: Sequence[int], schemas: Sequence[str]
    ) -> list[tuple[str, str]]:
        """One catalog query per health item: (object, problem) rows, ready to report."""
        params = {"table_oids": list(table_oids), "schemas": list(schemas)}
        rows = self._rows(
            f"checking {item.replace('_', ' ')}", sql.SQL(load(f"health/{item}")), params
        )
        if item == "constraints" and self.server_version >= 180000:
            query = sql.SQL(load("health/constraints.pg18"))
            rows += self._rows("checking constraints", query, params)
        return [(str(r[0]), str(r[1])) for r in rows]

    def extensions(self) -> dict[str, str]:
        rows = self._rows("reading extensions", sql.SQL(load("health/extensions")))
        return {str(r[0]): str(r[1]) for r in rows}

    def sample_matches(
        self, table: Table, column: str, parents: Sequence[tuple[Table, str]], sample: int
    ) -> tuple[int, int, list[int]]:
        """Sample a column (TABLESAMPLE on big tables) and count values each parent key has.

        Returns (values sampled, distinct values, matches per parent): one query.
        """
        share = min(100.0, 100.0 * SAMPLE_PAGES / table.pages) if table.pages else 100.0
        tablesample = (
            sql.SQL(" TABLESAMPLE SYSTEM ({})").format(sql.Literal(round(share, 4)))
            if share < 100
            else sql.SQL("")
        )
        col = sql.Identifier(column)
        matches = [
            sql.SQL(
                "(SELECT count(*) FROM s WHERE EXISTS (SELECT 1 FROM {p} AS p WHERE p.{k} = s.v))"
            ).format(p=_relation(parent.name, parent.partitioned), k=sql.Identifier(key))
            for parent, key in parents
        ]
        query = sql.SQL(
            "WITH s AS MATERIALIZED (SELECT c.{col} AS v FROM {t} AS c{sample}"
            " WHERE c.{col} IS NOT NULL LIMIT {n})"
            " SELECT (SELECT count(*) FROM s), (SELECT count(DISTINCT v) FROM s), {matches}"
        ).format(
            col=col,
            t=_relation(table.name, table.partitioned),
            sample=tablesample,
            n=sql.Literal(sample),
            matches=sql.SQL(", ").join(matches),
        )
        row = self._rows(f"sampling {table.name.column(column)}", query)[0]
        return int(row[0]), int(row[1]), [int(v) for v in row[2:]]

    def inventory(self) -> list[tuple[str, str, str | None]]:
        """Every restorable object as (kind, identity, detail): one catalog query."""
        rows = self._rows("taking the object inventory", sql.SQL(load("inventory")))
        return [(str(r[0]), str(r[1]), r[2]) for r in rows]

    def existing_roles(self, roles: Sequence[str]) -> set[str]:
        rows = self._rows(
            "looking up roles", sql.SQL(load("privileges/roles")), {"roles": list(roles)}
        )
        return {str(r[0]) for r in rows}

    def missing_privileges(
        self,
        role: str,
        kind: str,
        privileges: Sequence[str],
        oids: Sequence[int],
        schemas: Sequence[str],
    ) -> list[tuple[str, str]]:
        """(object, privilege) pairs ``role`` lacks, for kind tables, sequences or schemas."""
        params = {
            "role": role,
            "privileges": list(privileges),
            "oids": list(oids),
            "schemas": list(schemas),
        }
        query = sql.SQL(load(f"privileges/{kind}"))
        rows = self._rows(f"checking {role}'s privileges on {kind}", query, params)
        return [(str(r[0]), str(r[1])) for r in rows]

    @property
    def server_version(self) -> int:
        return int(self._conn.info.server_version)


def _relation(name: QualifiedName, partitioned: bool) -> sql.Composable:
    """A partitioned parent is read whole; a plain table alone (ONLY), as FKs see it."""
    ident = sql.Identifier(name.schema, name.name)
    return ident if partitioned else sql.SQL("ONLY ") + ident


def _operator(schema: str, name: str) -> sql.Composable:
    if not _OPERATOR.fullmatch(name):
        raise CheckFailedToRun(f"refusing an equality operator with an unexpected name: {name!r}")
    return sql.SQL("OPERATOR({}.{})").format(sql.Identifier(schema), sql.SQL(cast("Any", name)))


def _orphans(ref: Reference) -> sql.Composable:
    """``FROM child c WHERE <key present> AND NOT EXISTS (<parent row>)``: an anti-join.

    MATCH SIMPLE skips a row with any NULL key column; MATCH FULL skips only an all-NULL
    key, and a partly NULL one can never match, so NOT EXISTS counts it as the violation
    it is.
    """
    present = [sql.SQL("{} IS NOT NULL").format(sql.Identifier("c", c)) for c in ref.child.columns]
    operators = ref.operators or tuple(("pg_catalog", "=") for _ in ref.child.columns)
    match = sql.SQL(" AND ").join(
        sql.SQL("{p} {op} {c}").format(
            p=sql.Identifier("p", p), op=_operator(*op), c=sql.Identifier("c", c)
        )
        for c, p, op in zip(ref.child.columns, ref.parent.columns, operators, strict=True)
    )
    return sql.SQL(
        "FROM {child} AS c WHERE ({present})"
        " AND NOT EXISTS (SELECT 1 FROM {parent} AS p WHERE {match})"
    ).format(
        child=_relation(ref.child.table, ref.child_partitioned),
        parent=_relation(ref.parent.table, ref.parent_partitioned),
        present=sql.SQL(" OR " if ref.match_full else " AND ").join(present),
        match=match,
    )


def _future_condition(future: list[FutureKeys]) -> sql.Composable:
    parts = [part for keys in future for part in _future_parts(keys)]
    return sql.SQL(" OR ").join(parts) if parts else sql.SQL("false")


def _future_parts(keys: FutureKeys) -> list[sql.Composable]:
    grids = [keys.first] + ([keys.restart] if keys.restart is not None else [])
    col = sql.Identifier("c", keys.child_column)
    parts: list[sql.Composable] = []
    for origin in grids:
        low, high = sorted((origin, keys.last))
        if keys.restart is None and (keys.first - keys.last) * keys.step > 0:
            continue  # exhausted: nothing left to hand out
        parts.append(
            sql.SQL(
                "({c} BETWEEN ({lo}) AND ({hi}) AND ({c}::pg_catalog.numeric - ({o})) % ({s}) = 0)"
            ).format(
                c=col,
                lo=sql.Literal(low),
                hi=sql.Literal(high),
                o=sql.Literal(origin),
                s=sql.Literal(abs(keys.step)),
            )
        )
    return parts
