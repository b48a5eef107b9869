"""PostgreSQL's answers for inference: comparable types in one query, one sample per table."""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

from restoregate.catalog import Table
from restoregate.engines.base import (
    ColumnSample,
    Comparable,
    ReferenceSample,
    TableSample,
)
from restoregate.engines.postgres import compose
from restoregate.engines.postgres.catalog_loader import Operator
from restoregate.engines.postgres.connected import Connected
from restoregate.engines.postgres.queries import load
from restoregate.names import ColumnSet

SAMPLE_PAGES = 64  # a table this small (in pages) is read up to the row limit


class SamplingAnswers(Connected):
    _type_operators: dict[tuple[int, int], Operator | None]

    def answer_comparable(self, request: Comparable) -> bool:
        """The equality operator PostgreSQL would pick for the two types, if any."""
        self.compare_types([request])
        return (request.child, request.parent) in self._handles.pair_operators

    def compare_types(self, requests: Sequence[Comparable]) -> None:
        """Resolve every type pair of the batch in one query (types repeat; asked once)."""
        if not hasattr(self, "_type_operators"):
            self._type_operators = {}
        pairs = {r: self._types(r.child, r.parent) for r in requests}
        unknown = sorted({p for p in pairs.values() if p not in self._type_operators})
        if unknown:
            rows = self._rows(
                "looking up equality operators",
                sql.SQL(load("equality_operators")),
                {"left": [p[0] for p in unknown], "right": [p[1] for p in unknown]},
            )
            for pair, row in zip(unknown, rows, strict=True):
                self._type_operators[pair] = (row[1], row[2]) if row[1] is not None else None
        for request, pair in pairs.items():
            found = self._type_operators[pair]
            if found is not None:
                self._handles.pair_operators[(request.child, request.parent)] = found

    def _types(self, child: ColumnSet, parent: ColumnSet) -> tuple[int, int]:
        types = self._handles.type_oids
        return types[(child.table, child.columns[0])], types[(parent.table, parent.columns[0])]

    def answer_reference_sample(self, request: ReferenceSample) -> TableSample:
        """Read a bounded sample of one table once, for every candidate column at a time.

        On a big table ``TABLESAMPLE SYSTEM ... REPEATABLE (seed)`` picks pages all over
        it (the same pages on every run while the table is unchanged); a small one is read
        up to ``rows``. Each sampled value is looked up in each candidate parent's key, an
        index probe with the equality operator the reference would use.
        """
        table = self._model.tables[request.table]
        probes = request.probes
        aliases = [sql.Identifier(f"v{i}") for i in range(len(probes))]
        picked = sql.SQL(", ").join(
            sql.SQL("c.{} AS {}").format(sql.Identifier(p.column), a)
            for p, a in zip(probes, aliases, strict=True)
        )
        present = sql.SQL(" OR ").join(
            sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(p.column)) for p in probes
        )
        outputs: list[sql.Composable] = [sql.SQL("count(*)")]
        for probe, alias in zip(probes, aliases, strict=True):
            outputs.append(sql.SQL("count({a}), count(DISTINCT {a})").format(a=alias))
            child = ColumnSet(request.table, (probe.column,))
            outputs += [self._lookup(child, parent, alias) for parent in probe.parents]
        query = sql.SQL(
            "WITH s AS MATERIALIZED (SELECT {picked} FROM {t} AS c{sample} WHERE {present}"
            " LIMIT {n}) SELECT {outputs} FROM s"
        ).format(
            picked=picked,
            t=compose.relation(table.name, table.partitioned),
            sample=self._tablesample(table, request.rows, request.seed),
            present=present,
            n=sql.Literal(request.rows),
            outputs=sql.SQL(", ").join(outputs),
        )
        row = self._rows(f"sampling {table.name}", query)[0]
        found, at = {}, 1
        for probe in probes:
            width = len(probe.parents)
            matched = tuple(int(v) for v in row[at + 2 : at + 2 + width])
            found[probe.column] = ColumnSample(int(row[at]), int(row[at + 1]), matched)
            at += 2 + width
        return TableSample(int(row[0]), found)

    def _lookup(self, child: ColumnSet, parent: ColumnSet, alias: sql.Identifier) -> sql.Composable:
        operator = self._handles.pair_operators.get((child, parent), ("pg_catalog", "="))
        target = self._model.tables[parent.table]
        return sql.SQL(
            "count(*) FILTER (WHERE EXISTS (SELECT 1 FROM {p} AS p WHERE p.{k} {op} s.{a}))"
        ).format(
            p=compose.relation(target.name, target.partitioned),
            k=sql.Identifier(parent.columns[0]),
            op=compose.operator(*operator),
            a=alias,
        )

    def _tablesample(self, table: Table, rows: int, seed: int) -> sql.Composable:
        """Pages enough for ``rows`` (twice, for slack) when the table is much bigger."""
        pages = self._handles.pages.get(table.name, 0)
        if pages <= SAMPLE_PAGES or table.estimated_rows <= 0:
            return sql.SQL("")
        per_page = max(1.0, table.estimated_rows / pages)
        share = min(100.0, 100.0 * max(SAMPLE_PAGES, 2 * rows / per_page) / pages)
        if share >= 50:
            return sql.SQL("")
        return sql.SQL(" TABLESAMPLE SYSTEM ({}) REPEATABLE ({})").format(
            sql.Literal(round(share, 6)), sql.Literal(seed)
        )
