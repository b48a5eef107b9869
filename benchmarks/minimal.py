"""The hand-written side: the fewest queries that produce restoregate's numbers.

Hard-coded for the row-heavy case's schema, in one REPEATABLE READ READ ONLY
transaction:

1. one statement reads every sequence's position and every sequence-fed column's
   largest key (index-only scans on the primary keys);
2. one statement per reference: the orphans of one anti-join, materialized (they are
   few), and from them the count, the reassignable count (keys at or beyond the parent
   sequence's next value), the largest orphaned key (a referencing key beyond every
   parent key is an orphan, so this is all the sequence check needs of the child) and
   the 20 smallest distinct orphaned keys, the sample.

Six statements for five references and six sequences; nothing that restoregate reports
is left out, so the two sides do the same work.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
from psycopg import sql

from benchmarks.findings import Findings
from benchmarks.rows_data import FEEDS, REFERENCES, ref_name

SAMPLE = 20
Timings = dict[str, float]


def minimal_sql(dsn: str, timings: Timings | None = None) -> Findings:
    with psycopg.connect(dsn) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        positions, maxima = _positions_and_maxima(conn, timings)
        next_of = {FEEDS[seq]: last + 1 if called else last for seq, (last, called) in positions}
        orphans: dict[str, tuple[int, int]] = {}
        samples: dict[str, list[list[Any]]] = {}
        largest: dict[tuple[str, str], int | None] = {}
        for child, column, parent, key, _ in REFERENCES:
            count, ahead, top, sample = _anti_join(
                conn, child, column, parent, key, next_of[(parent, key)], timings
            )
            largest[(child, column)] = top
            if count:
                name = ref_name(child, column, parent, key)
                orphans[name] = (count, ahead)
                samples[name] = [[k] for k in sample]
        conn.rollback()
    return Findings(orphans, _behind(next_of, maxima, largest), samples)


def _timed(
    conn: psycopg.Connection[Any], label: str, query: sql.Composed, timings: Timings | None
) -> tuple[Any, ...]:
    start = time.perf_counter()
    row = conn.execute(query).fetchone()
    if timings is not None:
        timings[label] = timings.get(label, 0.0) + time.perf_counter() - start
    assert row is not None
    return tuple(row)


def _positions_and_maxima(
    conn: psycopg.Connection[Any], timings: Timings | None
) -> tuple[list[tuple[str, tuple[int, bool]]], dict[tuple[str, str], int | None]]:
    ident = sql.Identifier
    parts = [
        sql.SQL("(SELECT last_value FROM {s}), (SELECT is_called FROM {s})").format(s=ident(seq))
        for seq in FEEDS
    ]
    parts += [
        sql.SQL("(SELECT max({c}) FROM {t})").format(c=ident(c), t=ident(t))
        for t, c in FEEDS.values()
    ]
    row = _timed(
        conn, "sequences and key maxima", sql.SQL("SELECT ") + sql.SQL(", ").join(parts), timings
    )
    n = len(FEEDS)
    positions = [(seq, (int(row[2 * i]), bool(row[2 * i + 1]))) for i, seq in enumerate(FEEDS)]
    maxima = {col: row[2 * n + i] for i, col in enumerate(FEEDS.values())}
    return positions, maxima


def _anti_join(
    conn: psycopg.Connection[Any],
    child: str,
    column: str,
    parent: str,
    key: str,
    upcoming: int,
    timings: Timings | None,
) -> tuple[int, int, int | None, list[Any]]:
    query = sql.SQL(
        "WITH o AS MATERIALIZED (SELECT c.{col} AS k FROM {child} AS c WHERE c.{col} IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM {parent} AS p WHERE p.{key} = c.{col}))"
        " SELECT count(*), count(*) FILTER (WHERE k >= {next}), max(k),"
        " ARRAY(SELECT DISTINCT k FROM o ORDER BY k LIMIT {n}) FROM o"
    ).format(
        col=sql.Identifier(column),
        child=sql.Identifier(child),
        parent=sql.Identifier(parent),
        key=sql.Identifier(key),
        next=sql.Literal(upcoming),
        n=sql.Literal(SAMPLE),
    )
    count, ahead, top, sample = _timed(conn, f"anti-join {child}.{column}", query, timings)
    return int(count), int(ahead), top, list(sample)


def _behind(
    next_of: dict[tuple[str, str], int],
    maxima: dict[tuple[str, str], int | None],
    largest: dict[tuple[str, str], int | None],
) -> dict[str, tuple[str, int, int, str]]:
    """Each sequence whose next value is not beyond its column's and its referrers' keys."""
    behind: dict[str, tuple[str, int, int, str]] = {}
    for seq, (table, column) in FEEDS.items():
        top, source = maxima[(table, column)], f"public.{table}.{column}"
        for child, col, parent, key, _ in REFERENCES:
            value = largest[(child, col)]
            if value is None or (parent, key) != (table, column):
                continue
            if top is None or value > top:
                top, source = value, f"public.{child}.{col}"
        upcoming = next_of[(table, column)]
        if top is not None and upcoming <= top:
            behind[f"public.{seq}"] = (f"public.{table}.{column}", upcoming, int(top), source)
    return behind
