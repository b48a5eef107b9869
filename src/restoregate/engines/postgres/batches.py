"""How the PostgreSQL engine answers a batch of requests: fewer statements, more workers.

Requests that read user tables become *tasks* run by the workers sharing the snapshot
(``snapshots.Sessions.run``), the biggest tables first. Key ranges of one column type
go into one ``UNION ALL`` statement per batch of tables (one round trip and one plan
for up to ``KEY_RANGES_PER_STATEMENT`` tables instead of one each), within the batch's
lock budget; when such a statement fails, its requests are asked one by one, so one
failing table fails its own rule only. Catalog requests stay on the coordinator, on the
calling thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from psycopg import sql

from restoregate.catalog import Catalog, Reference
from restoregate.engines.base import (
    Answer,
    DuplicateKeys,
    KeyRange,
    Newest,
    NullCounts,
    OrphanScan,
    Request,
    RowCount,
    UserQuery,
    ValueSample,
)
from restoregate.engines.postgres import compose, grouped
from restoregate.engines.postgres.catalog_loader import Handles
from restoregate.engines.postgres.snapshots import Sessions, Task
from restoregate.errors import CheckFailedToRun
from restoregate.names import QualifiedName

KEY_RANGES_PER_STATEMENT = 100
EMPTINESS_BATCH = 1000  # tables a statement finding the empty ones asks about
PACKED_PAGES = 128  # tables up to 1 MB share statements (planning is their cost); bigger
# ones get a task each, so that the workers can share them out
EMPTY = (
    "SELECT c.oid::int8 FROM pg_catalog.pg_class AS c WHERE c.oid = ANY (%(oids)s)"
    " AND c.relkind = 'r' AND c.relam = (SELECT a.oid FROM pg_catalog.pg_am AS a"
    "   WHERE a.amname = 'heap' AND a.amhandler = 'pg_catalog.heap_tableam_handler'::regproc)"
    " AND pg_catalog.pg_relation_size(c.oid) = 0"
)
USER_TABLES = (KeyRange, OrphanScan, NullCounts, RowCount, Newest, DuplicateKeys, ValueSample)
Indexed = list[tuple[int, Any]]


class Batching(Protocol):
    """What the planner needs of the engine."""

    _sessions: Sessions
    _locks: dict[QualifiedName, int]
    _handles: Handles
    _emptiness: dict[QualifiedName, bool]  # plain tables known empty (or not) in the run

    @property
    def _model(self) -> Catalog: ...

    def answer_one(self, request: Request[Any]) -> Answer: ...

    def _operators(self, ref: Reference) -> tuple[tuple[str, str], ...]: ...

    def _rows(
        self,
        what: str,
        query: sql.Composed | sql.SQL,
        params: Any = None,
        *,
        tables: Sequence[QualifiedName] | None = None,
        locks: int = 0,
        targets: int = 1,
        planner: Sequence[tuple[str, str]] = (),
    ) -> list[tuple[Any, ...]]: ...

    @property
    def on_probe(self) -> Callable[[str, int], None] | None: ...


def answer_batch(engine: Batching, requests: Sequence[Request[Any]]) -> dict[int, Answer]:
    """Answers by position for every request but sequence positions (read elsewhere)."""
    found: dict[int, Answer] = {}
    tasks: list[tuple[float, Task]] = []
    empty = _empty_tables(engine, requests)
    ranges: dict[str, list[tuple[int, KeyRange]]] = {}
    scans: list[tuple[int, OrphanScan]] = []
    for i, request in enumerate(requests):
        if isinstance(request, KeyRange) and request.table in empty:
            found[i] = (None, None)
        elif isinstance(request, OrphanScan) and request.reference.child.table in empty:
            found[i] = grouped.clean_stats(request)  # an empty child has no orphans
        elif isinstance(request, KeyRange):
            ranges.setdefault(_type_of(engine._model, request), []).append((i, request))
        elif isinstance(request, OrphanScan) and _packable(engine, request):
            scans.append((i, request))
        elif isinstance(request, (*USER_TABLES, UserQuery)):
            tasks.append((_size(engine, request), _one(engine, i, request)))
        elif request.kind != "sequence_position":
            found[i] = engine.answer_one(request)  # catalog: the coordinator, this thread
    if engine.on_probe is not None and len(found):
        engine.on_probe("empty tables, answered without a scan", len(found))
    for group in ranges.values():
        tasks.extend(_range_tasks(engine, group))
    tasks.extend(_scan_tasks(engine, grouped.parts(scans, engine._handles.pages)))
    found.update(engine._sessions.run(tasks))
    return found


def _empty_tables(engine: Batching, requests: Sequence[Request[Any]]) -> set[QualifiedName]:
    """Plain tables of the batch's ranges and scans whose heap has no page at all.

    Exact, not a statistic: a row this snapshot can see is in the table's file, so a
    file of 0 bytes holds none (a partitioned table has no file of its own, and a table
    of another access method may keep its rows elsewhere: both are left out). One
    cheap statement per batch of tables instead of a plan per request: on a schema of
    thousands of mostly empty tables, most of the work. Asked once per table and run
    (a table empty in the snapshot stays so), most of them while the catalog loads
    (``emptiness_tasks``). A failure here only means the requests are asked as usual.
    """
    names = {r.table for r in requests if isinstance(r, KeyRange)}
    names |= {r.reference.child.table for r in requests if isinstance(r, OrphanScan)}
    known = engine._emptiness
    unknown = [n for n in names if n not in known]
    oids = engine._handles.table_oids
    for _, task in emptiness_tasks(engine, {n: oids[n] for n in unknown if n in oids}):
        for _, found in task():
            known.update(found)
    return {n for n in names if known.get(n)}


def emptiness_tasks(engine: Batching, oids: dict[QualifiedName, int]) -> list[tuple[float, Task]]:
    """Tasks finding which of the tables are empty, ``EMPTINESS_BATCH`` tables each;
    each answers ``{name: empty}`` for its tables (all False when its statement fails,
    as behind a lock held by a running restore: one wait for the lock, not one a table).
    ``pg_relation_size()`` lets go of each table's lock as it returns, so a statement
    holds none, whatever its size (checked in pg_locks, PostgreSQL 15 and 18)."""
    wanted = sorted((oid, name) for name, oid in oids.items())
    size = EMPTINESS_BATCH
    return [
        (0.0, _emptiness(engine, dict(wanted[start : start + size])))
        for start in range(0, len(wanted), size)
    ]


def _emptiness(engine: Batching, by_oid: dict[int, QualifiedName]) -> Task:
    def run() -> Indexed:
        query, params = sql.SQL(EMPTY), {"oids": list(by_oid)}
        try:
            rows = engine._rows("finding empty tables", query, params, locks=1, targets=0)
        except CheckFailedToRun:  # not known to be empty: probed as usual, not asked again
            return [(0, dict.fromkeys(by_oid.values(), False))]
        empty = {int(oid) for (oid,) in rows}
        return [(0, {name: oid in empty for oid, name in by_oid.items()})]

    return run


def _packable(engine: Batching, scan: OrphanScan) -> bool:
    """Small tables' scans share statements and anti-joins; a big table's scan runs as
    the one-reference query, which the planner can run in parallel (the grouped form's
    materialized orphans cannot: measured 1.8x the minimal SQL at 2 M rows)."""
    ref, pages = scan.reference, engine._handles.pages
    small = all(pages.get(t, 0) <= PACKED_PAGES for t in (ref.child.table, ref.parent.table))
    return small and grouped.groupable(engine._model, scan, engine._operators(ref))


def _one(engine: Batching, index: int, request: Request[Any]) -> Task:
    return lambda: [(index, engine.answer_one(request))]


def _size(engine: Batching, request: Request[Any]) -> float:
    """How big the tables a request reads are (pages), to start the biggest first."""
    tables = [getattr(request, "table", None)]
    if isinstance(request, OrphanScan):
        tables = [request.reference.child.table, request.reference.parent.table]
    pages = engine._handles.pages
    return float(sum(pages.get(t, 0) for t in tables if t is not None))


def _type_of(catalog: Catalog, request: KeyRange) -> str:
    table = catalog.tables.get(request.table)
    column = table.column(request.column) if table is not None else None
    return column.base_type if column is not None else f"?{request.table}.{request.column}"


def _range_tasks(engine: Batching, group: list[tuple[int, KeyRange]]) -> list[tuple[float, Task]]:
    """Key ranges of one type in statements of up to a batch's budget of locks each."""
    budget = engine._sessions.probes.budget
    tasks: list[tuple[float, Task]] = []
    chunk: list[tuple[int, KeyRange]] = []
    used = 0
    for item in group:
        if not _cheap_range(engine._handles, item[1]):
            tasks.append((_size(engine, item[1]), _ranges(engine, [item])))
            continue
        locks = engine._locks.get(item[1].table, 1)
        if chunk and (used + locks > budget or len(chunk) >= KEY_RANGES_PER_STATEMENT):
            tasks.append((sum(_size(engine, r) for _, r in chunk), _ranges(engine, chunk)))
            chunk, used = [], 0
        chunk.append(item)
        used += locks
    if chunk:
        tasks.append((sum(_size(engine, r) for _, r in chunk), _ranges(engine, chunk)))
    return tasks


def _cheap_range(handles: Handles, request: KeyRange) -> bool:
    """A small table's range, or one read from the two ends of a btree index: a few
    pages whatever the table's size, so it shares a statement with others (on 300
    tables of 100,000 rows a round trip and a plan each took 0.2 s)."""
    if handles.pages.get(request.table, 0) <= PACKED_PAGES:
        return True
    return request.column in handles.ordered.get(request.table, frozenset())


def _ranges(engine: Batching, chunk: list[tuple[int, KeyRange]]) -> Task:
    def run() -> Indexed:
        if len(chunk) == 1:
            return [(chunk[0][0], engine.answer_one(chunk[0][1]))]
        query = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {i}::int4, min({c}), max({c}) FROM {t}").format(
                i=sql.Literal(n),
                c=sql.Identifier(r.column),
                t=_relation(engine._model, r.table),
            )
            for n, (_, r) in enumerate(chunk)
        )
        tables = [r.table for _, r in chunk]
        try:
            rows = engine._rows("reading key ranges", query, tables=tables, targets=len(chunk))
        except CheckFailedToRun:  # which one, and why: each on its own
            return [(i, engine.answer_one(r)) for i, r in chunk]
        return [(chunk[n][0], (low, high)) for n, low, high in rows]

    return run


def _scan_tasks(engine: Batching, parts: list[grouped.Part]) -> list[tuple[float, Task]]:
    """Parts packed into statements of up to a batch's budget of locks each."""
    budget = engine._sessions.probes.budget
    tasks: list[tuple[float, Task]] = []
    batch: list[grouped.Part] = []
    used = scans = 0
    for part in parts:
        tables = _part_tables(part)
        if any(engine._handles.pages.get(t, 0) > PACKED_PAGES for t in tables):
            tasks.append(_scan_task(engine, [part]))
            continue
        locks = sum(engine._locks.get(t, 1) for t in tables)
        if batch and (
            used + locks > budget or scans + len(part.scans) > grouped.SCANS_PER_STATEMENT
        ):
            tasks.append(_scan_task(engine, batch))
            batch, used, scans = [], 0, 0
        batch.append(part)
        used, scans = used + locks, scans + len(part.scans)
    if batch:
        tasks.append(_scan_task(engine, batch))
    return tasks


def _part_tables(part: grouped.Part) -> list[QualifiedName]:
    return [part.parent[0], *(scan.reference.child.table for _, scan in part.scans)]


def _scan_task(engine: Batching, batch: list[grouped.Part]) -> tuple[float, Task]:
    tables = list(dict.fromkeys(t for part in batch for t in _part_tables(part)))
    pages = engine._handles.pages

    def run() -> Indexed:
        if len(batch) == 1 and len(batch[0].scans) == 1:
            index, scan = batch[0].scans[0]
            return [(index, engine.answer_one(scan))]
        what = (
            "counting orphans of "
            + ", ".join(scan.reference.label for part in batch for _, scan in part.scans)[:200]
        )
        scans = {i: scan for part in batch for i, scan in part.scans}
        try:
            detailed: Sequence[grouped.Part] = batch
            clean: list[int] = []
            if all(pages.get(t, 0) <= grouped.SMALL_PAGES for t in tables):
                query = grouped.counting(engine._model, batch)
                counts = engine._rows(what, query, tables=tables, targets=len(scans))
                detailed, clean = grouped.with_orphans(batch, counts)
            found = [(i, grouped.clean_stats(scans[i])) for i in clean]
            if detailed:
                counted = len(scans) if detailed is batch else 0  # counted in the first pass
                query = grouped.statement(engine._model, detailed)
                rows = engine._rows(what, query, tables=tables, targets=counted)
                found += grouped.answers(detailed, rows)
        except CheckFailedToRun:  # which one, and why: each on its own
            return [(i, engine.answer_one(scan)) for i, scan in scans.items()]
        return found

    return float(sum(pages.get(t, 0) for t in tables)), run


def _relation(catalog: Catalog, name: QualifiedName) -> sql.Composable:
    table = catalog.tables.get(name)
    return compose.relation(name, table is not None and table.partitioned)
