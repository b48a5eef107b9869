"""The PostgreSQL engine: catalog, sequence positions, and one aggregate per request.

Every probe runs in its own savepoint inside the single REPEATABLE READ READ ONLY
transaction, so one failing probe (a timeout, a missing privilege) fails its rule
without aborting the snapshot the other rules share. Every identifier is composed
with ``psycopg.sql``; the only other SQL text spliced in is an operator name taken
from the catalog, checked against the operator alphabet first.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from restoregate.catalog import Reference, SequenceDef
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
    ReferenceStats,
    Request,
    RowCount,
    SampleMatches,
    SequencePosition,
    SequencePositionOf,
    UserQuery,
    ValueSample,
    VetDuplicateKeys,
    VetUserQuery,
)
from restoregate.engines.postgres import compose, grouped
from restoregate.engines.postgres.batches import answer_batch, emptiness_tasks
from restoregate.engines.postgres.catalog_answers import HEALTH_ITEMS, CatalogAnswers
from restoregate.engines.postgres.catalog_loader import Early, Operator
from restoregate.engines.postgres.errors import translate
from restoregate.engines.postgres.sampling import SamplingAnswers
from restoregate.engines.postgres.session import SessionSettings
from restoregate.engines.postgres.snapshots import Sessions, Task, open_sessions
from restoregate.engines.postgres.user_sql import UserProbe, duplicates_query, wrapped
from restoregate.errors import CheckFailedToRun, UsageError
from restoregate.names import ColumnSet, QualifiedName

# sequences read per UNION ALL statement (one lock each): planning grows faster than
# the branches (10,000 sequences: 0.9 s in statements of 250, 0.66 s in 50, 0.85 s in 25)
_BATCH = 50
# PostgreSQL 18 reads positions with a function: no plan per sequence, no lock kept
SEQUENCE_DATA_FROM = 180000
_DATA_BATCH = 2000  # positions per pg_get_sequence_data() statement (workers share them)
SEQUENCE_DATA = (
    "SELECT s.oid::int8, d.last_value, d.is_called"
    " FROM pg_catalog.unnest(%(oids)s::pg_catalog.oid[]) AS s(oid)"
    " CROSS JOIN LATERAL pg_catalog.pg_get_sequence_data(s.oid::pg_catalog.regclass) AS d"
)
_POSITIONS = 1  # what a read-ahead task answers: positions (else which tables are empty)
SAMPLE_PAGES = 64  # pages TABLESAMPLE reads when sampling a big table


_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9]+)?$")


@contextmanager
def open_engine(
    dsn: str | None, settings: SessionSettings, snapshot: str | None = None
) -> Iterator[PostgresEngine]:
    """Connect and read everything in one read-only snapshot until the block ends.

    ``snapshot``: an ID from ``pg_export_snapshot()`` (as ``pg_dump --snapshot`` uses), so
    what is read matches what a dump in that snapshot holds. Probes run in batches of
    worker transactions that import the snapshot (see ``snapshots.py``); nothing commits.
    """
    if snapshot is not None and not _SNAPSHOT_ID.match(snapshot):
        raise UsageError(
            f"--snapshot {snapshot!r} is not a snapshot ID such as 00000003-0000001B-1"
        )
    with open_sessions(dsn, settings, snapshot, settings.jobs) as sessions:
        yield PostgresEngine(sessions, settings)


open_backend = open_engine  # the name before the engine-neutral core


class PostgresEngine(CatalogAnswers, SamplingAnswers, Answerer):
    name = "postgresql"
    dialect = "postgres"
    health_items = HEALTH_ITEMS

    def __init__(self, sessions: Sessions, settings: SessionSettings) -> None:
        super().__init__(sessions, settings)
        self._known: dict[QualifiedName, SequencePosition | CheckFailedToRun] = {}
        self._ahead: Callable[[], list[tuple[int, Any]]] | None = None
        self._sequence_oids: dict[QualifiedName, int] = {}
        self._sequence_data = False  # PostgreSQL 18's pg_get_sequence_data()

    def answer(self, requests: Sequence[Request[Any]]) -> list[Answer]:
        """All type pairs in one statement; sequence positions and empty tables mostly
        read ahead (``_catalog_known``), the rest of the positions 50 a statement; key
        ranges in a few; the rest spread over the workers that share the snapshot
        (``batches.py``)."""
        pairs = [r for r in requests if isinstance(r, Comparable)]
        if pairs:
            with contextlib.suppress(CheckFailedToRun):  # each request then carries it
                self.compare_types(pairs)
        self._read_ahead()
        wanted = [r for r in requests if isinstance(r, SequencePositionOf)]
        positions = self._positions(wanted) if wanted else {}
        found = answer_batch(self, requests)
        return [
            positions[r] if isinstance(r, SequencePositionOf) else found[i]
            for i, r in enumerate(requests)
        ]

    def known_empty(self) -> Mapping[QualifiedName, bool]:
        """What the read-ahead found (a table file of no page holds no row), and what
        later batches add to it."""
        self._read_ahead()
        return self._emptiness

    def answer_sequence_position(self, request: SequencePositionOf) -> SequencePosition:
        found = self._positions([request])[request]
        if isinstance(found, CheckFailedToRun):
            raise found
        return found

    def _positions(
        self, requests: list[SequencePositionOf]
    ) -> dict[SequencePositionOf, SequencePosition | CheckFailedToRun]:
        """Every requested position: those read ahead (``_sequences_known``), and the
        rest ``_BATCH`` sequences a statement, the statements shared out between the
        workers."""
        known = self._read_ahead()
        wanted = dict.fromkeys(r.sequence for r in requests if r.sequence not in known)
        if wanted:
            sequences = [self._model.sequences[name] for name in wanted]
            for _, part in self._sessions.run(self._position_tasks(sequences)):
                known.update(part)
        return {r: known[r.sequence] for r in requests}

    def _catalog_known(self, early: Early) -> None:
        """Read every position and find the empty tables on the workers while the
        coordinator reads the rest of the catalog (10,000 tables: 0.9 s of a 1.4 s
        catalog). The same snapshot, the same batches of locks; the checks then ask
        for what is already there."""
        self._sequence_oids = early.sequence_oids
        self._sequence_data = early.version_num >= SEQUENCE_DATA_FROM
        tasks = [*self._position_tasks(early.sequences), *emptiness_tasks(self, early.table_oids)]
        self._holding = True  # the progress display is told of these once it starts
        self._ahead = self._sessions.run_ahead(tasks)

    def _read_ahead(self) -> dict[QualifiedName, SequencePosition | CheckFailedToRun]:
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            try:
                for index, part in ahead():
                    (self._known if index == _POSITIONS else self._emptiness).update(part)
            finally:
                self._holding = False
        return self._known

    def _position_tasks(self, sequences: list[SequenceDef]) -> list[tuple[float, Task]]:
        if self._sequence_data:
            size = _DATA_BATCH
            chunks = [sequences[i : i + size] for i in range(0, len(sequences), size)]
            return [(float(len(chunk)), self._data_task(chunk)) for chunk in chunks]
        batches = (sequences[i : i + _BATCH] for i in range(0, len(sequences), _BATCH))
        return [(float(len(batch)), self._position_task(batch)) for batch in batches]

    def _position_task(self, batch: list[SequenceDef]) -> Task:
        def run() -> list[tuple[int, Any]]:
            return [(_POSITIONS, self._read_batch(batch))]

        return run

    def _read_batch(
        self, batch: list[SequenceDef]
    ) -> dict[QualifiedName, SequencePosition | CheckFailedToRun]:
        found: dict[QualifiedName, SequencePosition | CheckFailedToRun] = {}
        try:
            found.update(self._read_sequences(batch))
        except CheckFailedToRun:
            for seq in batch:  # find out which one failed, and why
                try:
                    found.update(self._read_sequences([seq]))
                except CheckFailedToRun as exc:
                    found[seq.name] = exc
        return found

    def _data_task(self, chunk: list[SequenceDef]) -> Task:
        """PostgreSQL 18: many positions from one statement, ``pg_get_sequence_data()``
        (what pg_dump 18 reads them with): it opens each sequence with ACCESS SHARE and
        lets go of the lock when it returns, so the statement holds none of them. What it
        answers NULL for (no privilege after all, an unlogged sequence on a standby) and
        a statement that fails are read the old way, one SELECT a sequence, whose error
        then says why."""

        def run() -> list[tuple[int, Any]]:
            oids = self._sequence_oids
            by_oid = {oids[s.name]: s for s in chunk if s.name in oids}
            found: dict[QualifiedName, SequencePosition | CheckFailedToRun] = {}
            try:
                rows = self._rows(
                    "reading sequence positions",
                    sql.SQL(SEQUENCE_DATA),
                    {"oids": list(by_oid)},
                    locks=1,
                )
            except CheckFailedToRun:
                rows = []
            for oid, last, called in rows:
                seq = by_oid.get(int(oid))
                if seq is not None and last is not None and called is not None:
                    found[seq.name] = compose.position(seq, int(last), bool(called))
            rest = [s for s in chunk if s.name not in found]
            for start in range(0, len(rest), _BATCH):
                found.update(self._read_batch(rest[start : start + _BATCH]))
            return [(_POSITIONS, found)]

        return run

    def _read_sequences(self, batch: list[SequenceDef]) -> dict[QualifiedName, SequencePosition]:
        query = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {i}::int4, last_value, is_called FROM {seq}").format(
                i=sql.Literal(i), seq=sql.Identifier(s.name.schema, s.name.name)
            )
            for i, s in enumerate(batch)
        )
        what = "reading sequence " + (str(batch[0].name) if len(batch) == 1 else "positions")
        rows = self._rows(what, query, locks=len(batch))
        return {
            batch[i].name: compose.position(batch[i], int(last), bool(called))
            for i, last, called in rows
        }

    def _relation(self, name: QualifiedName) -> sql.Composable:
        table = self._model.tables.get(name)
        return compose.relation(name, table is not None and table.partitioned)

    def answer_key_range(self, request: KeyRange) -> tuple[Any, Any]:
        col = sql.Identifier(request.column)
        query = sql.SQL("SELECT min({c}), max({c}) FROM {t}").format(
            c=col, t=self._relation(request.table)
        )
        what = f"reading the range of {request.table.column(request.column)}"
        row = self._rows(what, query, tables=[request.table])[0]
        return row[0], row[1]

    def operators(self, ref: Reference) -> tuple[Operator, ...]:
        """The equality operator per column pair of a reference (``fix`` plans use them too)."""
        return self._operators(ref)

    def _operators(self, ref: Reference) -> tuple[Operator, ...]:
        if ref.declared and ref.name is not None:
            found = self._handles.fk_operators.get((ref.child, ref.name))
            if found:
                return found
        pairs = self._handles.pair_operators
        return tuple(
            pairs.get(
                (ColumnSet(ref.child.table, (c,)), ColumnSet(ref.parent.table, (p,))),
                ("pg_catalog", "="),
            )
            for c, p in zip(ref.child.columns, ref.parent.columns, strict=True)
        )

    def answer_orphan_scan(self, request: OrphanScan) -> ReferenceStats:
        return self._reference_stats(request)

    def _reference_stats(self, request: OrphanScan) -> ReferenceStats:
        """Counts, key ranges and a sample of one reference's orphans from one anti-join.

        The orphans are grouped by key (sorted or hashed, spilling to disk, so memory does
        not grow with the table), the totals are window sums over the groups, and the
        smallest keys are the sample: one scan of child and parent, failing or not. With
        millions of orphans the grouping costs extra (1.5x the bare anti-join measured at
        4 M orphans), which a restore that broken can afford.
        """
        ref, future = request.reference, list(request.future)
        range_columns, sample_size = request.range_columns, request.sample
        keys = sql.SQL(", ").join(sql.Identifier("c", c) for c in ref.child.columns)
        totals = [
            sql.SQL("sum(count(*)) OVER ()"),
            sql.SQL("sum(count(*) FILTER (WHERE {})) OVER ()").format(
                compose.future_condition(future)
            ),
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
            orphans=compose.orphans(ref, self._operators(ref)),
            n=sql.Literal(sample_size),
        )
        tables = [ref.child.table, ref.parent.table]
        walk = grouped.walks_indexes(self._model, self._handles, request, self._operators(ref))
        rows = self._rows(
            f"counting orphans of {ref.label}",
            query,
            tables=tables,
            planner=grouped.WALK_SETTINGS if walk else (),
        )
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

    def answer_null_counts(self, request: NullCounts) -> dict[str, int]:
        table, columns = request.table, request.columns
        counts = sql.SQL(", ").join(
            sql.SQL("count(*) FILTER (WHERE {} IS NULL)").format(sql.Identifier(c)) for c in columns
        )
        query = sql.SQL("SELECT {} FROM {}").format(counts, self._relation(table))
        row = self._rows(f"counting NULLs in {table}", query, tables=[table])[0]
        return dict(zip(columns, row, strict=True))

    def answer_row_count(self, request: RowCount) -> int:
        """Exact below ``cap``; stops reading at ``cap`` rows (a bound is all a limit needs)."""
        cap = request.cap
        limit = sql.SQL(" LIMIT {}").format(sql.Literal(cap)) if cap is not None else sql.SQL("")
        query = sql.SQL("SELECT count(*) FROM (SELECT FROM {}{}) AS r").format(
            self._relation(request.table), limit
        )
        rows = self._rows(f"counting rows of {request.table}", query, tables=[request.table])
        return int(rows[0][0])

    def answer_newest(self, request: Newest) -> datetime | None:
        table, column = request.table, request.column
        query = sql.SQL("SELECT max({})::pg_catalog.timestamptz FROM {}").format(
            sql.Identifier(column), self._relation(table)
        )
        value = self._rows(f"reading the newest {table.column(column)}", query, tables=[table])[0][
            0
        ]
        return value if isinstance(value, datetime) else None

    def _user_probe(self, what: str) -> UserProbe:
        """User SQL on a worker, in a batch of its own (its locks are not estimated)."""
        if self.on_probe is not None:
            self.on_probe(what, 1)
        worker = self._sessions.worker()
        try:
            conn = worker.for_probe(worker.budget)
        except psycopg.Error as exc:
            raise translate(exc, what, self._settings) from None
        return UserProbe(conn, self._settings, self._state)

    def answer_duplicate_keys(self, request: DuplicateKeys) -> Duplicates:
        """Key values held by several rows (rows with a NULL key part are distinct, as in SQL)."""
        table, expressions = request.table, request.expressions
        query = duplicates_query(self._relation(table), expressions, request.sample)
        probe = self._user_probe(f"looking for duplicates in {table}")
        rows = probe.run(f"looking for duplicates in {table}", query, (), request.allowed)[1]
        return Duplicates.from_rows(rows, len(expressions))

    def answer_vet_duplicate_keys(self, request: VetDuplicateKeys) -> None:
        query = duplicates_query(self._relation(request.table), request.expressions, 1)
        probe = self._user_probe("running the rule's query")
        what = f"the expressions on {request.table}"
        probe.run(what, query, (), request.allowed, execute=False)

    def answer_user_query(self, request: UserQuery) -> QueryRows:
        """A user's validated SELECT: how many rows, and the first few (memory stays bounded).

        Its unqualified names resolve in ``schemas``, after pg_catalog so that nothing in
        the restored database can shadow a built-in (and the server's vetting refuses
        what does); the setting is undone with the probe's savepoint.
        """
        probe = self._user_probe("running the rule's query")
        query = wrapped(request.query, request.sample)
        columns, rows = probe.run(
            "running the rule's query", query, request.schemas, request.allowed
        )
        count = int(rows[0][0]) if rows else 0
        return QueryRows(count, columns[1:], [tuple(r[1:]) for r in rows])

    def answer_vet_user_query(self, request: VetUserQuery) -> None:
        probe = self._user_probe("running the rule's query")
        query = wrapped(request.query, 1)
        probe.run("the rule's query", query, request.schemas, request.allowed, execute=False)

    def answer_value_sample(self, request: ValueSample) -> SampleMatches:
        """Sample a column (TABLESAMPLE on big tables) and count values each parent key has.

        One query: values sampled, distinct values, matches per parent.
        """
        table, column, parents, sample = (
            request.table,
            request.column,
            request.parents,
            request.sample,
        )
        pages = self._handles.pages.get(table, 0)
        share = min(100.0, 100.0 * SAMPLE_PAGES / pages) if pages else 100.0
        tablesample = (
            sql.SQL(" TABLESAMPLE SYSTEM ({})").format(sql.Literal(round(share, 4)))
            if share < 100
            else sql.SQL("")
        )
        col = sql.Identifier(column)
        matches = [
            sql.SQL(
                "(SELECT count(*) FROM s WHERE EXISTS (SELECT 1 FROM {p} AS p WHERE p.{k} = s.v))"
            ).format(p=self._relation(parent), k=sql.Identifier(key))
            for parent, key in parents
        ]
        query = sql.SQL(
            "WITH s AS MATERIALIZED (SELECT c.{col} AS v FROM {t} AS c{sample}"
            " WHERE c.{col} IS NOT NULL LIMIT {n})"
            " SELECT (SELECT count(*) FROM s), (SELECT count(DISTINCT v) FROM s), {matches}"
        ).format(
            col=col,
            t=self._relation(table),
            sample=tablesample,
            n=sql.Literal(sample),
            matches=sql.SQL(", ").join(matches),
        )
        read = [table, *(parent for parent, _ in parents)]
        row = self._rows(f"sampling {table.column(column)}", query, tables=read)[0]
        return SampleMatches(int(row[0]), int(row[1]), [int(v) for v in row[2:]])
