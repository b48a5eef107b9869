"""What checks ask of the database, asked once: a per-run cache over the backend.

Both the sequences and the references check need each reference's orphan scan (the
first for the largest orphaned key, the second for the counts). Asking through this
cache means one anti-join per reference however many checks use it.
"""

from __future__ import annotations

from typing import Any

from restoregate.catalog import Catalog, Column, Feed, Reference, SequenceDef
from restoregate.engines.base import Backend, FutureKeys, ReferenceStats, SequencePosition
from restoregate.errors import CheckFailedToRun
from restoregate.names import QualifiedName

SAMPLE_SIZE = 20  # offending keys shown per reference (CONTRACT.md)


def next_value(seq: SequenceDef, pos: SequencePosition) -> int | None:
    """What ``nextval()`` would return now; None when the sequence is exhausted."""
    candidate = pos.last_value + seq.increment if pos.is_called else pos.last_value
    if seq.min_value <= candidate <= seq.max_value:
        return candidate
    if seq.cycle:
        return seq.min_value if seq.ascending else seq.max_value
    return None


def last_usable(seq: SequenceDef, column: Column | None) -> int:
    """The last value the sequence can put in the column: its own bound or the type's."""
    limits = column.limits if column is not None else None
    if seq.ascending:
        return min(seq.max_value, limits[1]) if limits else seq.max_value
    return max(seq.min_value, limits[0]) if limits else seq.min_value


class Probes:
    def __init__(self, backend: Backend, catalog: Catalog, feeds: tuple[Feed, ...]) -> None:
        self.backend = backend
        self.catalog = catalog
        self.feeds = feeds
        self._positions: dict[QualifiedName, SequencePosition | CheckFailedToRun] | None = None
        self._ranges: dict[tuple[QualifiedName, str], tuple[Any, Any]] = {}
        self._stats: dict[Reference, ReferenceStats] = {}

    def position(self, name: QualifiedName) -> SequencePosition:
        if self._positions is None:
            wanted = {f.sequence for f in self.feeds if f.sequence is not None}
            defs = [self.catalog.sequences[n] for n in sorted(wanted)]
            self._positions = self.backend.sequence_positions(defs)
        found = self._positions.get(name)
        if found is None:
            raise CheckFailedToRun(f"the position of sequence {name} was not read")
        if isinstance(found, CheckFailedToRun):
            raise found
        return found

    def column_range(self, table: QualifiedName, column: str) -> tuple[Any, Any]:
        key = (table, column)
        if key not in self._ranges:
            self._ranges[key] = self.backend.column_range(self.catalog.tables[table], column)
        return self._ranges[key]

    def feeds_of(self, table: QualifiedName, column: str) -> list[Feed]:
        """The checkable sequences that hand out values for this column."""
        return [
            f
            for f in self.feeds
            if f.table == table and f.column == column and f.sequence and not f.uncheckable
        ]

    def reference_stats(self, ref: Reference) -> ReferenceStats:
        if ref not in self._stats:
            future: list[FutureKeys] = []
            ranged: list[str] = []
            pairs = zip(ref.child.columns, ref.parent.columns, strict=True)
            for child_col, parent_col in pairs:
                feeds = self.feeds_of(ref.parent.table, parent_col)
                if feeds:
                    ranged.append(child_col)
                future.extend(self._future(feed, child_col) for feed in feeds)
            self._stats[ref] = self.backend.reference_stats(ref, future, ranged, SAMPLE_SIZE)
        return self._stats[ref]

    def _future(self, feed: Feed, child_column: str) -> FutureKeys:
        assert feed.sequence is not None
        seq = self.catalog.sequences[feed.sequence]
        column = self.catalog.tables[feed.table].column(feed.column)
        last = last_usable(seq, column)
        first = next_value(seq, self.position(seq.name))
        restart = (seq.min_value if seq.ascending else seq.max_value) if seq.cycle else None
        if first is None:  # exhausted: make the range empty
            first = last + seq.increment
        return FutureKeys(child_column, first, last, seq.increment, restart)
