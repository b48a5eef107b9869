"""Probe SQL for engines without a query composer: MySQL/MariaDB and SQLite.

An anti-join per reference and a sample per column, the same text on both apart from
identifier quoting, the parameter marker and the modulo (both have window functions over
aggregates; neither has FILTER). Identifiers go through the engine's quote function;
every value is a driver parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from restoregate.catalog import Table
from restoregate.engines.base import (
    ColumnSample,
    FutureKeys,
    OrphanScan,
    ReferenceSample,
    ReferenceStats,
    TableSample,
    ValueSample,
)
from restoregate.names import QualifiedName

SLICES = 16  # a sampled table keyed by an integer is read in this many key-range slices
_MIX = 2654435761  # spreads consecutive seeds over the key range

Quote = Callable[[str], str]


@dataclass(frozen=True)
class Flavour:
    quote: Quote
    marker: str  # the driver's parameter marker: %s or ?
    integer: str  # a type every key fits in exactly: DECIMAL(65,0), INTEGER

    def modulo(self, left: str, right: str) -> str:
        return f"MOD({left}, {right})" if self.marker == "%s" else f"(({left}) % ({right}))"

    def divide(self, left: str, right: str) -> str:
        """Integer division of non-negative values (SQLite's ``/`` on integers truncates)."""
        return f"FLOOR(({left}) / ({right}))" if self.marker == "%s" else f"(({left}) / ({right}))"


def relation(name: QualifiedName, q: Quote) -> str:
    return f"{q(name.schema)}.{q(name.name)}"


def orphan_scan(request: OrphanScan, flavour: Flavour) -> tuple[str, list[Any]]:
    """``FROM child c WHERE <key present> AND NOT EXISTS (<parent row>)``, grouped by key.

    MySQL and SQLite accept MATCH FULL and ignore it: a row with any NULL key column is
    never checked, so only a complete key is an orphan.
    """
    ref, q = request.reference, flavour.quote
    keys = [f"c.{q(c)}" for c in ref.child.columns]
    future, params = _future(request.future, flavour)
    totals = ["sum(count(*)) OVER ()", f"sum(sum(CASE WHEN {future} THEN 1 ELSE 0 END)) OVER ()"]
    totals.append("count(*) OVER ()")
    # first_value over a sort, not min()/max() OVER (): MariaDB recomputes those per row
    totals += [
        f"first_value(c.{q(col)}) OVER (ORDER BY c.{q(col)}),"
        f" first_value(c.{q(col)}) OVER (ORDER BY c.{q(col)} DESC)"
        for col in request.range_columns
    ]
    present = " AND ".join(f"{k} IS NOT NULL" for k in keys)
    match = " AND ".join(
        f"p.{q(p)} = c.{q(c)}" for c, p in zip(ref.child.columns, ref.parent.columns, strict=True)
    )
    aliases = [f"k{i}" for i in range(len(keys))]
    selected = ", ".join(f"{k} AS {a}" for k, a in zip(keys, aliases, strict=True))
    # ordered outside: MariaDB may return a grouped query with window functions unsorted
    query = (
        f"SELECT * FROM (SELECT {selected}, {', '.join(totals)}"
        f" FROM {relation(ref.child.table, q)} AS c WHERE {present}"
        f" AND NOT EXISTS (SELECT 1 FROM {relation(ref.parent.table, q)} AS p WHERE {match})"
        f" GROUP BY {', '.join(keys)}) AS o"
        f" ORDER BY {', '.join(aliases)} LIMIT {int(request.sample)}"
    )
    return query, params


def _future(future: tuple[FutureKeys, ...], flavour: Flavour) -> tuple[str, list[Any]]:
    q, m = flavour.quote, flavour.marker
    parts: list[str] = []
    params: list[Any] = []
    for keys in future:
        grids = [keys.first] + ([keys.restart] if keys.restart is not None else [])
        if keys.restart is None and (keys.first - keys.last) * keys.step > 0:
            continue  # exhausted: nothing left to hand out
        col = f"c.{q(keys.child_column)}"
        for origin in grids:
            low, high = sorted((origin, keys.last))
            offset = flavour.modulo(f"CAST({col} AS {flavour.integer}) - {m}", m)
            parts.append(f"({col} BETWEEN {m} AND {m} AND {offset} = 0)")
            params += [low, high, origin, abs(keys.step)]
    return (" OR ".join(parts) if parts else "1 = 0"), params


def reference_stats(request: OrphanScan, rows: list[tuple[Any, ...]]) -> ReferenceStats:
    ranged = request.range_columns
    if not rows:
        return ReferenceStats(0, 0, {c: (None, None) for c in ranged}, [])
    width, first = len(request.reference.child.columns), rows[0]
    ranges = {
        col: (first[width + 3 + 2 * i], first[width + 4 + 2 * i]) for i, col in enumerate(ranged)
    }
    return ReferenceStats(
        orphans=int(first[width]),
        reassignable=int(first[width + 1] or 0),
        orphan_ranges=ranges,
        sample=[tuple(row[:width]) for row in rows],
        orphan_keys=int(first[width + 2]),
    )


def value_sample(request: ValueSample, q: Quote) -> str:
    """The first ``sample`` non-NULL values, and how many of them each parent key holds."""
    col = q(request.column)
    matches = [
        f"(SELECT count(*) FROM s WHERE EXISTS (SELECT 1 FROM {relation(t, q)} AS p"
        f" WHERE p.{q(key)} = s.v))"
        for t, key in request.parents
    ]
    return (
        f"WITH s AS (SELECT c.{col} AS v FROM {relation(request.table, q)} AS c"
        f" WHERE c.{col} IS NOT NULL LIMIT {int(request.sample)})"
        f" SELECT (SELECT count(*) FROM s), (SELECT count(DISTINCT v) FROM s)"
        + "".join(f", {m}" for m in matches)
    )


def reference_sample(
    request: ReferenceSample, table: Table, flavour: Flavour
) -> tuple[str, list[Any]]:
    """One statement reading a bounded sample of the table for all its candidate columns.

    A table of at most ``rows`` rows is read whole. A bigger one keyed by one integer
    column is read in ``SLICES`` slices of its key range, the first ``rows / SLICES``
    rows of each (an index range scan each), the slice boundaries shifted by ``seed``:
    the same rows on every run while the table is unchanged, old and new keys alike.
    Any other table is read up to ``rows`` rows in storage order. Each sampled value is
    then looked up in each candidate parent's key.
    """
    q = flavour.quote
    probes = request.probes
    picked = ", ".join(f"c.{q(p.column)} AS v{i}" for i, p in enumerate(probes))
    present = " OR ".join(f"c.{q(p.column)} IS NOT NULL" for p in probes)
    source = relation(request.table, q)
    key = _integer_key(table)
    params: list[Any] = []
    if key is None:
        sampled = f"SELECT {picked} FROM {source} AS c WHERE {present} LIMIT {int(request.rows)}"
    else:
        sampled, params = _slices(request, source, q(key), picked, present, flavour)
    outputs = ["count(*)"]
    for i, probe in enumerate(probes):
        outputs.append(f"count(s.v{i}), count(DISTINCT s.v{i})")
        outputs += [
            f"coalesce(sum(CASE WHEN EXISTS (SELECT 1 FROM {relation(p.table, q)} AS p"
            f" WHERE p.{q(p.columns[0])} = s.v{i}) THEN 1 ELSE 0 END), 0)"
            for p in probe.parents
        ]
    return f"SELECT {', '.join(outputs)} FROM ({sampled}) AS s", params


def _integer_key(table: Table) -> str | None:
    if len(table.primary_key) != 1:
        return None
    column = table.column(table.primary_key[0])
    return column.name if column is not None and column.family == "integer" else None


def _slices(
    request: ReferenceSample, source: str, key: str, picked: str, present: str, flavour: Flavour
) -> tuple[str, list[Any]]:
    m, n = flavour.marker, flavour.integer
    low = f"CAST((SELECT min(k.{key}) FROM {source} AS k) AS {n})"
    span = f"(CAST((SELECT max(k.{key}) FROM {source} AS k) AS {n}) - {low} + 1)"
    per_slice = max(1, -(-int(request.rows) // SLICES))
    phase = (request.seed * _MIX) % 2**31

    def bound(i: int) -> tuple[str, list[Any]]:
        if i == 0:
            return low, []
        shift = flavour.modulo(m, span)
        return f"({low} + {flavour.divide(f'{span} * {i} + {shift}', str(SLICES))})", [phase]

    rows = int(request.rows)
    # rows counted up to rows + 1: uncorrelated, evaluated once. A branch it rules out
    # must still read little: the whole-table branch is bounded by the key of its
    # rows-th row, each slice by its own LIMIT (or, on a small table, by the table)
    counted = f"(SELECT count(*) FROM (SELECT 1 FROM {source} AS k LIMIT {rows + 1}) AS b)"
    head = (
        f"(SELECT max(h.v) FROM (SELECT k.{key} AS v FROM {source} AS k"
        f" ORDER BY k.{key} LIMIT {rows}) AS h)"
    )
    parts = [
        f"SELECT * FROM (SELECT {picked} FROM {source} AS c WHERE c.{key} <= {head}"
        f" AND {counted} <= {rows} AND ({present}) ORDER BY c.{key} LIMIT {rows}) AS whole"
    ]
    params: list[Any] = []
    for i in range(SLICES):
        start, start_params = bound(i)
        where = f"c.{key} >= {start}"
        params += start_params
        if i + 1 < SLICES:
            end, end_params = bound(i + 1)
            where += f" AND c.{key} < {end}"
            params += end_params
        parts.append(
            f"SELECT * FROM (SELECT {picked} FROM {source} AS c WHERE {where}"
            f" AND {counted} > {rows} AND ({present}) ORDER BY c.{key} LIMIT {per_slice}) AS w{i}"
        )
    return " UNION ALL ".join(parts), params


def table_sample(request: ReferenceSample, row: tuple[Any, ...]) -> TableSample:
    found, at = {}, 1
    for probe in request.probes:
        width = len(probe.parents)
        matched = tuple(int(v or 0) for v in row[at + 2 : at + 2 + width])
        found[probe.column] = ColumnSample(int(row[at] or 0), int(row[at + 1] or 0), matched)
        at += 2 + width
    return TableSample(int(row[0] or 0), found)
