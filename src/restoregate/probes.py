"""What checks ask of the database, asked once: the one probe layer over the engine.

Checks ask for typed requests (``engines/base.py``) through the methods here, never the
engine itself. Every answer is cached by request, so the sequences and the references
checks share each reference's orphan scan: one anti-join per reference however many
checks use it. ``prefetch`` hands the engine a whole batch at once, which is where an
engine combines queries (all sequence positions in one statement) or runs them on
several workers sharing one snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from restoregate.catalog import Catalog, Column, Feed, Reference, SequenceDef
from restoregate.engines.base import (
    Comparable,
    DuplicateKeys,
    Duplicates,
    Engine,
    Extensions,
    FutureKeys,
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
    SampleProbe,
    SequencePosition,
    SequencePositionOf,
    TableSample,
    UserQuery,
    ValueSample,
    VetDuplicateKeys,
    VetUserQuery,
)
from restoregate.errors import CheckFailedToRun
from restoregate.names import ColumnSet, QualifiedName

SAMPLE_SIZE = 20  # offending keys shown per reference (docs/contract.md)
_UNASKED = object()
T = TypeVar("T")


def last_usable(seq: SequenceDef, column: Column | None) -> int:
    """The last value the sequence can put in the column: its own bound or the type's."""
    limits = column.limits if column is not None else None
    if seq.ascending:
        return min(seq.max_value, limits[1]) if limits else seq.max_value
    return max(seq.min_value, limits[0]) if limits else seq.min_value


class Probes:
    def __init__(
        self,
        engine: Engine,
        catalog: Catalog,
        feeds: tuple[Feed, ...] | None = None,
        answers: dict[Request[Any], Any] | None = None,
    ) -> None:
        self._engine = engine
        self.catalog = catalog
        self.feeds = catalog.feeds if feeds is None else feeds
        self._answers: dict[Request[Any], Any] = {} if answers is None else answers
        self._memo: dict[Hashable, Any] = {}
        self._fed_read = False
        self._feeds_by_column: dict[tuple[QualifiedName, str], list[Feed]] | None = None
        self._scans: dict[Reference, OrphanScan] = {}
        self._empty: Mapping[QualifiedName, bool] | None = None
        # references from empty tables, by their child columns: the same clean stats
        # serve every reference with those column names (a tuple of text hashes in C)
        self._clean: dict[tuple[str, ...], ReferenceStats] = {}
        self._positions: dict[QualifiedName, SequencePosition] = {}  # those read, by name

    def scoped(self, feeds: tuple[Feed, ...]) -> Probes:
        """The same cache, judging only the feeds in scope."""
        return Probes(self._engine, self.catalog, feeds, self._answers)

    def cached(self, key: Hashable, compute: Callable[[], T]) -> T:
        """Work several checks share (the suspected references), done once per run."""
        if key not in self._memo:
            self._memo[key] = compute()
        found: T = self._memo[key]
        return found

    @property
    def engine_name(self) -> str:
        return self._engine.name

    @property
    def health_items(self) -> tuple[str, ...]:
        return self._engine.health_items

    def supports(self, request_type: type[Request[Any]]) -> bool:
        return self._engine.answers(request_type)

    # ----- the cache and the batch -----------------------------------------------------

    def prefetch(self, requests: Iterable[Request[Any]]) -> None:
        """Hand the engine every request not answered yet, as one batch."""
        wanted = list(dict.fromkeys(r for r in requests if r not in self._answers))
        if not wanted:
            return
        answers = self._engine.answer(wanted)
        if len(answers) != len(wanted):
            raise CheckFailedToRun(
                f"the {self._engine.name} engine answered {len(answers)} of {len(wanted)} requests",
                "please report this",
            )
        self._answers.update(zip(wanted, answers, strict=True))

    def ask(self, request: Request[T]) -> T:
        found = self._answers.get(request, _UNASKED)
        if found is _UNASKED:
            self.prefetch([request])
            found = self._answers[request]
        if isinstance(found, CheckFailedToRun):
            raise found
        return cast("T", found)

    # ----- what checks ask -------------------------------------------------------------

    def position(self, name: QualifiedName) -> SequencePosition:
        """A sequence's position; the first ask reads every fed sequence in one batch."""
        found = self._positions.get(name)  # asked once per feed and more: no request made
        if found is None:
            if not self._fed_read:
                fed = sorted({f.sequence for f in self.feeds if f.sequence})
                self.prefetch(SequencePositionOf(n) for n in fed)
                self._fed_read = True
            found = self._positions[name] = self.ask(SequencePositionOf(name))
        return found

    def positions(
        self, names: Sequence[QualifiedName]
    ) -> dict[QualifiedName, SequencePosition | CheckFailedToRun]:
        self.prefetch(SequencePositionOf(n) for n in names)
        return {n: self._answers[SequencePositionOf(n)] for n in names}

    def column_range(self, table: QualifiedName, column: str) -> tuple[Any, Any]:
        if self.known_empty(table):
            return None, None
        return self.ask(KeyRange(table, column))

    def known_empty(self, table: QualifiedName) -> bool:
        """The engine knows the table holds no row in this snapshot (exact, not estimated)."""
        if self._empty is None:
            self._empty = self._engine.known_empty()
        return self._empty.get(table, False)

    def feeds_of(self, table: QualifiedName, column: str) -> list[Feed]:
        """The checkable sequences that hand out values for this column (a dict, built once)."""
        if self._feeds_by_column is None:
            self._feeds_by_column = {}
            for f in self.feeds:
                if f.sequence and not f.uncheckable:
                    self._feeds_by_column.setdefault((f.table, f.column), []).append(f)
        return list(self._feeds_by_column.get((table, column), []))

    def sequence_labels(self, table: QualifiedName, column: str) -> list[str]:
        """The sequences feeding the column, in the engine's words."""
        sequences = self.catalog.sequences
        return [sequences[f.sequence].label for f in self.feeds_of(table, column) if f.sequence]

    def orphan_scan(self, ref: Reference) -> OrphanScan:
        found = self._scans.get(ref)
        if found is None:  # built once per reference: each build asks for positions
            found = self._scans[ref] = self._orphan_scan(ref)
        return found

    def _orphan_scan(self, ref: Reference) -> OrphanScan:
        future: list[FutureKeys] = []
        ranged: list[str] = []
        for child_col, parent_col in zip(ref.child.columns, ref.parent.columns, strict=True):
            feeds = self.feeds_of(ref.parent.table, parent_col)
            above = None if feeds else self._above_max(ref, child_col, parent_col)
            if feeds or above or self._integer(ref.child.table, child_col):
                ranged.append(child_col)
            future.extend(self._future(feed, child_col) for feed in feeds)
            future.extend([above] if above else [])
        return OrphanScan(ref, tuple(future), tuple(ranged), SAMPLE_SIZE)

    def _column(self, table: QualifiedName, column: str) -> Column | None:
        """The column, if its table was read (a parent an extension owns was not)."""
        found = self.catalog.table(table)
        return found.column(column) if found is not None else None

    def _integer(self, table: QualifiedName, column: str) -> bool:
        col = self._column(table, column)
        return col is not None and col.limits is not None

    def frontier(self, table: QualifiedName, column: str) -> tuple[int, int, str | None] | None:
        """Where new keys of a parent column start: (first, step, sequence label or None).

        A sequence-fed key starts at the sequence's next value. A plain integer key with
        no sequence starts above its largest key: the next ``max + 1`` insert.
        """
        feeds = self.feeds_of(table, column)
        if feeds:
            assert feeds[0].sequence is not None
            seq = self.catalog.sequences[feeds[0].sequence]
            first = self.position(seq.name).next_value
            return None if first is None else (first, seq.increment, seq.label)
        if not self._integer(table, column):
            return None
        largest = self.column_range(table, column)[1]
        return None if largest is None else (int(largest) + 1, 1, None)

    def _above_max(self, ref: Reference, child_col: str, parent_col: str) -> FutureKeys | None:
        """Orphans above a sequence-less integer key: the next max + 1 insert adopts them."""
        if len(ref.child.columns) != 1:
            return None
        found = self.frontier(ref.parent.table, parent_col)
        col = self._column(ref.parent.table, parent_col)
        if found is None or col is None or col.limits is None:
            return None
        return FutureKeys(child_col, found[0], col.limits[1], 1)

    def prefetch_references(self, refs: Iterable[Reference]) -> None:
        """Every reference's orphan scan in one batch (positions are read first); a
        reference from a table known to be empty needs none."""
        scans = []
        for ref in refs:
            if self.known_empty(ref.child.table):
                continue
            try:
                scans.append(self.orphan_scan(ref))
            except CheckFailedToRun:
                continue  # its sequence could not be read: that reference reports it
        self.prefetch(scans)

    def reference_stats(self, ref: Reference) -> ReferenceStats:
        if self.known_empty(ref.child.table):  # no row, so no orphan
            found = self._clean.get(ref.child.columns)
            if found is None:
                ranges: dict[str, tuple[Any, Any]] = dict.fromkeys(ref.child.columns, (None, None))
                found = self._clean[ref.child.columns] = ReferenceStats(0, 0, ranges, [], 0)
            return found
        return self.ask(self.orphan_scan(ref))

    def null_counts(self, table: QualifiedName, columns: Sequence[str]) -> dict[str, int]:
        return self.ask(NullCounts(table, tuple(columns)))

    def row_count(self, table: QualifiedName, cap: int | None = None) -> int:
        return self.ask(RowCount(table, cap))

    def newest(self, table: QualifiedName, column: str) -> datetime | None:
        return self.ask(Newest(table, column))

    def duplicates(
        self,
        table: QualifiedName,
        expressions: Sequence[str],
        allowed: Sequence[str] = (),
        texts: Sequence[str] = (),
    ) -> Duplicates:
        request = DuplicateKeys(
            table, tuple(expressions), SAMPLE_SIZE, tuple(allowed), texts=tuple(texts)
        )
        return self.ask(request)

    def query_rows(
        self, query: str, schemas: Sequence[str], allowed: Sequence[str] = ()
    ) -> QueryRows:
        return self.ask(UserQuery(query, SAMPLE_SIZE, tuple(schemas), tuple(allowed)))

    def vet_query(self, query: str, schemas: Sequence[str], allowed: Sequence[str]) -> None:
        """Refuse (``RefusedSql``) what the server says the query would call; engines that
        cannot vet leave it to their ``user_query`` answer."""
        if self.supports(VetUserQuery):
            self.ask(VetUserQuery(query, tuple(schemas), tuple(allowed)))

    def vet_expressions(
        self, table: QualifiedName, expressions: Sequence[str], allowed: Sequence[str]
    ) -> None:
        if self.supports(VetDuplicateKeys):
            self.ask(VetDuplicateKeys(table, tuple(expressions), tuple(allowed)))

    def health(
        self, item: str, tables: Sequence[QualifiedName], schemas: Sequence[str]
    ) -> list[tuple[str, str]]:
        return self.ask(HealthItem(item, tuple(tables), tuple(schemas)))

    def extensions(self) -> dict[str, str]:
        return self.ask(Extensions())

    def inventory(self) -> list[tuple[str, str, str | None]]:
        return self.ask(Inventory())

    def roles_present(self, roles: Sequence[str]) -> set[str]:
        return self.ask(RolesPresent(tuple(roles)))

    def missing_grants(
        self,
        role: str,
        kind: str,
        privileges: Sequence[str],
        objects: Sequence[QualifiedName],
        schemas: Sequence[str],
    ) -> list[tuple[str, str]]:
        request = MissingGrants(role, kind, tuple(privileges), tuple(objects), tuple(schemas))
        return self.ask(request)

    def sample_matches(
        self,
        table: QualifiedName,
        column: str,
        parents: Sequence[tuple[QualifiedName, str]],
        sample: int,
    ) -> SampleMatches:
        return self.ask(ValueSample(table, column, tuple(parents), sample))

    def reference_sample(
        self, table: QualifiedName, probes: Sequence[SampleProbe], rows: int, seed: int
    ) -> TableSample:
        """One bounded sample of a child table for all its candidate columns."""
        return self.ask(ReferenceSample(table, tuple(probes), rows, seed))

    def comparable_keys(self, pairs: Sequence[tuple[ColumnSet, ColumnSet]]) -> list[bool]:
        """Per (child column, parent key): can the two be joined? One batch."""
        requests = [Comparable(c, p) for c, p in pairs]
        self.prefetch(requests)
        return [self._answers[r] is True for r in requests]

    def comparable(self, pairs: Sequence[tuple[Reference, str, str]]) -> list[bool]:
        """Per (reference, child column, parent column): can the two be joined?"""
        requests = [
            Comparable(ColumnSet(ref.child.table, (c,)), ColumnSet(ref.parent.table, (p,)))
            for ref, c, p in pairs
        ]
        self.prefetch(requests)
        return [self.ask(r) for r in requests]

    def _future(self, feed: Feed, child_column: str) -> FutureKeys:
        assert feed.sequence is not None
        seq = self.catalog.sequences[feed.sequence]
        column = self.catalog.tables[feed.table].column(feed.column)
        last = last_usable(seq, column)
        first = self.position(seq.name).next_value
        restart = (seq.min_value if seq.ascending else seq.max_value) if seq.cycle else None
        if first is None:  # exhausted: make the range empty
            first = last + seq.increment
        return FutureKeys(child_column, first, last, seq.increment, restart)
