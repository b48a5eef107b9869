"""Orphan scans that share work: one anti-join per parent key, many scans per statement.

The minimal SQL runs one anti-join per reference, so a parent referenced from several
children is hashed once per child. Here the references to one parent column (integer
keys, the built-in equality) form a *part*: the children's keys as a ``UNION ALL``
tagged by reference, one anti-join against the parent, and per tag the orphan count,
the reassignable count, the key range, the distinct keys and the 20 smallest, from that
one pass. A child far smaller than its parent gets a part of its own: grouping does not
pay there (an index probe per child row beats hashing the parent), so the planner's
choice for that reference stands. Parts are then packed into statements within a
batch's lock budget, which also saves a round trip and a plan per reference on schemas
of many small tables.

Answers equal the one-reference query's (``PostgresEngine._reference_stats``): the same
counts, ranges and sample. Scans that do not qualify (composite or non-integer keys, a
custom operator, MATCH FULL) are left to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from psycopg import sql

from restoregate.catalog import Catalog
from restoregate.engines.base import FutureKeys, OrphanScan, ReferenceStats
from restoregate.engines.postgres import compose
from restoregate.engines.postgres.catalog_loader import Handles
from restoregate.names import QualifiedName

SMALL_CHILD = 10  # a child with under 1/10 of its parent's pages is scanned on its own
SMALL_PAGES = 1_280  # tables up to 10 MB: counted first, orphans' details read only if any
SCANS_PER_STATEMENT = 50
INTEGERS = ("smallint", "integer", "bigint")
WALK_PAGES = 128  # tables over 1 MB: walking both indexes beats hashing the parent
VISIBLE = 0.9  # share of a table's pages the visibility map must cover to walk its index
# The merge anti-join over the two indexes, on one process: the parallel form walks the
# parent's whole index in every worker.
WALK_SETTINGS = (("enable_hashjoin", "off"), ("max_parallel_workers_per_gather", "0"))


@dataclass(frozen=True)
class Part:
    """Scans of one parent column, answered by one anti-join."""

    scans: tuple[tuple[int, OrphanScan], ...]  # (position in the batch, scan)

    @property
    def parent(self) -> tuple[QualifiedName, str]:
        ref = self.scans[0][1].reference
        return ref.parent.table, ref.parent.columns[0]


def groupable(catalog: Catalog, scan: OrphanScan, operators: Sequence[tuple[str, str]]) -> bool:
    """Single-column integer keys joined with pg_catalog's equality, MATCH SIMPLE."""
    ref = scan.reference
    if len(ref.child.columns) != 1 or tuple(operators) != (("pg_catalog", "="),):
        return False
    child = catalog.tables.get(ref.child.table)
    parent = catalog.tables.get(ref.parent.table)
    if child is None or parent is None:
        return False
    c, p = child.column(ref.child.columns[0]), parent.column(ref.parent.columns[0])
    return c is not None and p is not None and c.base_type in INTEGERS and p.base_type in INTEGERS


def walks_indexes(
    catalog: Catalog, handles: Handles, scan: OrphanScan, operators: Sequence[tuple[str, str]]
) -> bool:
    """Whether one reference's anti-join should walk the child's and the parent's index
    in key order (a merge anti-join over index-only scans) instead of hashing the parent.

    The planner costs index pages as random reads and picks a parallel hash anti-join,
    which at the default ``work_mem`` spills child and parent to temporary files in
    batches; walking two btree indexes reads each once, in order, and writes nothing.
    Measured at 12 M rows (PostgreSQL 15): ``order_lines`` against ``orders`` 0.34 s
    instead of 0.83 s, ``orders`` against ``accounts`` 0.15 s instead of 0.45 s. Only
    where it is sure to pay: integer keys with the built-in equality, plain tables over
    1 MB, the child not far smaller than the parent (there an index probe per child row
    is the planner's better choice), both key columns leading a btree index, and the
    visibility map covering nearly every page of both (else every index entry costs a
    heap visit: a fresh restore before its first VACUUM).
    """
    ref = scan.reference
    if ref.child_partitioned or ref.parent_partitioned or not groupable(catalog, scan, operators):
        return False
    pages, visible, ordered = handles.pages, handles.visible_pages, handles.ordered
    child, parent = ref.child.table, ref.parent.table
    for table, column in ((child, ref.child.columns[0]), (parent, ref.parent.columns[0])):
        size = pages.get(table, 0)
        if size <= WALK_PAGES or visible.get(table, 0) < VISIBLE * size:
            return False
        if column not in ordered.get(table, frozenset()):
            return False
    return pages.get(child, 0) * SMALL_CHILD >= pages.get(parent, 0)


def parts(scans: list[tuple[int, OrphanScan]], pages: dict[QualifiedName, int]) -> list[Part]:
    """References to one parent column together, but for children far smaller than it."""
    by_parent: dict[tuple[QualifiedName, str, tuple[FutureKeys, ...]], list[Any]] = {}
    alone: list[Part] = []
    for item in scans:
        ref = item[1].reference
        parent_pages = pages.get(ref.parent.table, 0)
        if pages.get(ref.child.table, 0) * SMALL_CHILD < parent_pages:
            alone.append(Part((item,)))
            continue
        key = (ref.parent.table, ref.parent.columns[0], _neutral(item[1].future))
        by_parent.setdefault(key, []).append(item)
    return alone + [Part(tuple(items)) for items in by_parent.values()]


def _neutral(future: tuple[FutureKeys, ...]) -> tuple[FutureKeys, ...]:
    """The parent sequence's future keys, whatever child column they were asked for."""
    return tuple(replace(keys, child_column="k") for keys in future)


def statement(catalog: Catalog, batch: Sequence[Part]) -> sql.Composed:
    """One statement for several parts: a CTE of tagged orphans each, then per tag."""
    ctes, selects, tag = [], [], 0
    for n, part in enumerate(batch):
        name = sql.Identifier(f"o{n}")
        ctes.append(sql.SQL("{} AS MATERIALIZED ({})").format(name, _orphans(catalog, part, tag)))
        future = compose.future_condition(list(_neutral(part.scans[0][1].future)))
        selects.append(
            sql.SQL(
                "SELECT c.tag, count(*)::int8, count(*) FILTER (WHERE {future})::int8,"
                " count(DISTINCT c.k)::int8, min(c.k), max(c.k),"
                " ARRAY(SELECT DISTINCT x.k FROM {o} AS x WHERE x.tag = c.tag ORDER BY 1"
                " LIMIT {n}) FROM {o} AS c GROUP BY c.tag"
            ).format(future=future, o=name, n=sql.Literal(part.scans[0][1].sample))
        )
        tag += len(part.scans)
    return sql.SQL("WITH {} {}").format(
        sql.SQL(", ").join(ctes), sql.SQL(" UNION ALL ").join(selects)
    )


def counting(catalog: Catalog, batch: Sequence[Part]) -> sql.Composed:
    """The lean first pass for small tables: orphans per tag, nothing else.

    Planning the full statement costs about four times as much per reference, and on a
    clean schema of many small tables every count is 0: the details of the few with
    orphans are read afterwards, by ``statement`` (a second scan of small tables)."""
    selects, tag = [], 0
    for part in batch:
        selects.append(
            sql.SQL("SELECT o.tag, count(*)::int8 FROM ({}) AS o GROUP BY o.tag").format(
                _orphans(catalog, part, tag)
            )
        )
        tag += len(part.scans)
    return sql.SQL(" UNION ALL ").join(selects)


def with_orphans(
    batch: Sequence[Part], rows: list[tuple[Any, ...]]
) -> tuple[list[Part], list[int]]:
    """From the counts: the parts (narrowed) that need details, and the scans that do not."""
    counted = {int(r[0]) for r in rows if r[1]}
    detailed: list[Part] = []
    clean: list[int] = []
    tag = 0
    for part in batch:
        keep = []
        for item in part.scans:
            if tag in counted:
                keep.append(item)
            else:
                clean.append(item[0])
            tag += 1
        if keep:
            detailed.append(Part(tuple(keep)))
    return detailed, clean


def clean_stats(scan: OrphanScan) -> ReferenceStats:
    return ReferenceStats(0, 0, {col: (None, None) for col in scan.range_columns}, [], 0)


def _orphans(catalog: Catalog, part: Part, first_tag: int) -> sql.Composable:
    keys = sql.SQL(" UNION ALL ").join(
        sql.SQL(
            "SELECT {tag}::int4 AS tag, c.{col}::int8 AS k FROM {child} AS c"
            " WHERE c.{col} IS NOT NULL"
        ).format(
            tag=sql.Literal(first_tag + i),
            col=sql.Identifier(scan.reference.child.columns[0]),
            child=compose.relation(scan.reference.child.table, scan.reference.child_partitioned),
        )
        for i, (_, scan) in enumerate(part.scans)
    )
    ref = part.scans[0][1].reference
    return sql.SQL(
        "SELECT u.tag, u.k FROM ({keys}) AS u WHERE NOT EXISTS"
        " (SELECT 1 FROM {parent} AS p WHERE p.{key} OPERATOR(pg_catalog.=) u.k)"
    ).format(
        keys=keys,
        parent=compose.relation(ref.parent.table, ref.parent_partitioned),
        key=sql.Identifier(ref.parent.columns[0]),
    )


def answers(batch: Sequence[Part], rows: list[tuple[Any, ...]]) -> list[tuple[int, ReferenceStats]]:
    """Each scan's stats by its position in the request batch; no row means no orphans."""
    scans = [scan for part in batch for scan in part.scans]
    found = {int(r[0]): r for r in rows}
    out = []
    for tag, (index, scan) in enumerate(scans):
        row = found.get(tag)
        ranged = scan.range_columns
        if row is None:
            out.append((index, clean_stats(scan)))
            continue
        ranges = {col: (row[4], row[5]) for col in ranged}
        sample = [(k,) for k in row[6]]
        out.append((index, ReferenceStats(int(row[1]), int(row[2]), ranges, sample, int(row[3]))))
    return out
