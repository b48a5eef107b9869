"""The one small interface between the checks and a database engine.

Checks never see SQL or an engine. They ask the probe layer (``probes.py``) for what
they need as small typed *requests* (a key range, an orphan scan, NULL counts, ...);
the probe layer caches them and hands the engine a *batch*, which the engine answers
as it sees fit (PostgreSQL groups sequence reads into one statement; an engine may
combine several requests on one table into one scan, or spread them over workers that
share one snapshot). Each answer is the request's answer type or a ``CheckFailedToRun``
in the same position: one failing probe fails its rule, not the batch.

An engine is a package under ``engines/`` whose module satisfies ``EngineModule`` and
is listed in the registry (``engines/__init__.py``). Its ``Engine`` object answers the
requests it supports; everything else gets the shared default, ``unsupported``, which
fails closed with the engine's name (pre-commit's ``lang_base`` style).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from restoregate.catalog import Catalog, Reference
from restoregate.errors import CheckFailedToRun
from restoregate.names import ColumnSet, QualifiedName, hash_once
from restoregate.settings import SessionSettings

T = TypeVar("T")


# ----- answers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SequencePosition:
    """Where a sequence (or counter) stands: what the next insert gets.

    ``next_value`` None: exhausted, nothing is left to hand out. ``last_value`` is the last
    value handed out (the start value before any), as the engine reports it.
    ``lowest_next``: when the server may still hand out values below ``next_value`` (a
    MariaDB sequence's cache), the lowest it may hand out next, and ``basis`` says why in
    the engine's words; collisions are judged from it, exhaustion from ``next_value``.
    """

    next_value: int | None
    last_value: int
    lowest_next: int | None = None
    basis: str | None = None


@dataclass(frozen=True)
class FutureKeys:
    """The keys a parent's sequence has not handed out yet, tested on one child column.

    Values ``first, first + step, ...`` up to ``last`` inclusive (``step`` is negative for
    a descending sequence). With CYCLE the sequence restarts at ``restart`` after
    ``last``, so every value on either grid between the bounds is still to come.
    ``first`` beyond ``last`` without CYCLE: nothing is left to hand out.
    """

    child_column: str
    first: int
    last: int
    step: int
    restart: int | None = None


@dataclass(frozen=True)
class ReferenceStats:
    orphans: int  # orphaned rows
    reassignable: int  # of which the parent's sequence will hand out the key again
    # per child column: smallest and largest value among orphaned rows (None when none)
    orphan_ranges: dict[str, tuple[Any, Any]]
    sample: list[tuple[Any, ...]]  # the smallest distinct orphaned keys, at most the limit
    orphan_keys: int = 0  # distinct orphaned keys


@dataclass(frozen=True)
class SampleProbe:
    """One child column of a sampled table, and the parent keys to look its values up in.

    Each (child column, parent key) pair must have been asked as ``Comparable`` first: the
    engine joins them with the operator it found then.
    """

    column: str
    parents: tuple[ColumnSet, ...]  # single-column parent keys


@dataclass(frozen=True)
class ColumnSample:
    values: int  # non-NULL values in the sample
    distinct: int
    matched: tuple[int, ...]  # per parent: sampled values the parent key holds


@dataclass(frozen=True)
class TableSample:
    rows: int  # rows read
    columns: dict[str, ColumnSample]


@dataclass(frozen=True)
class Duplicates:
    groups: int  # key values held by more than one row
    rows: int  # rows holding them
    sample: list[tuple[tuple[Any, ...], int]]  # (key, rows), most repeated first

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[Any]], width: int) -> Duplicates:
        """From the duplicates query's rows: ``width`` key values, the key's row count,
        then the groups and rows over the whole table (the same on every row)."""
        if not rows:
            return cls(0, 0, [])
        return cls(
            groups=int(rows[0][width + 1]),
            rows=int(rows[0][width + 2]),
            sample=[(tuple(r[:width]), int(r[width])) for r in rows],
        )


@dataclass(frozen=True)
class QueryRows:
    count: int
    columns: list[str]
    sample: list[tuple[Any, ...]]


@dataclass(frozen=True)
class SampleMatches:
    sampled: int  # values sampled
    distinct: int  # distinct values among them
    matches: list[int]  # per parent: sampled values that parent's key holds


# ----- requests: frozen, hashable (the probe layer caches by value) ----------------------


@dataclass(frozen=True)
class Request(Generic[T]):
    """One thing a check needs from the database; ``T`` is the answer's type."""

    kind: ClassVar[str]  # the engine method that answers it: ``answer_<kind>``
    what: ClassVar[str]  # for messages: "reading key ranges"


@dataclass(frozen=True)
class SequencePositionOf(Request[SequencePosition]):
    kind: ClassVar[str] = "sequence_position"
    what: ClassVar[str] = "reading sequence positions"
    sequence: QualifiedName


@dataclass(frozen=True)
class KeyRange(Request[tuple[Any, Any]]):
    kind: ClassVar[str] = "key_range"
    what: ClassVar[str] = "reading key ranges"
    table: QualifiedName
    column: str


@hash_once
@dataclass(frozen=True)
class OrphanScan(Request[ReferenceStats]):
    kind: ClassVar[str] = "orphan_scan"
    what: ClassVar[str] = "scanning for orphans"
    reference: Reference
    future: tuple[FutureKeys, ...]
    range_columns: tuple[str, ...]
    sample: int


@dataclass(frozen=True)
class NullCounts(Request[dict[str, int]]):
    kind: ClassVar[str] = "null_counts"
    what: ClassVar[str] = "counting NULLs"
    table: QualifiedName
    columns: tuple[str, ...]


@dataclass(frozen=True)
class RowCount(Request[int]):
    """Exact below ``cap``; an engine may stop reading at ``cap`` rows."""

    kind: ClassVar[str] = "row_count"
    what: ClassVar[str] = "counting rows"
    table: QualifiedName
    cap: int | None


@dataclass(frozen=True)
class Newest(Request[datetime | None]):
    kind: ClassVar[str] = "newest"
    what: ClassVar[str] = "reading the newest timestamp"
    table: QualifiedName
    column: str


@dataclass(frozen=True)
class DuplicateKeys(Request[Duplicates]):
    kind: ClassVar[str] = "duplicate_keys"
    what: ClassVar[str] = "looking for duplicate keys"
    table: QualifiedName
    expressions: tuple[str, ...]  # validated by sqlcheck, as PostgreSQL SQL
    sample: int
    allowed: tuple[str, ...] = ()  # allow_functions: schema.name the expressions may call
    texts: tuple[str, ...] = ()  # as the rule wrote them, for engines of other dialects


@dataclass(frozen=True)
class UserQuery(Request[QueryRows]):
    kind: ClassVar[str] = "user_query"
    what: ClassVar[str] = "running a rule's query"
    query: str  # validated by sqlcheck in the engine's dialect
    sample: int
    schemas: tuple[str, ...]  # where its unqualified names resolve, first first
    allowed: tuple[str, ...] = ()  # allow_functions: schema.name the query may call


@dataclass(frozen=True)
class VetUserQuery(Request[None]):
    """Refuse (``errors.RefusedSql``) a rule's query unless the server resolves everything
    it would call to a safe built-in or to one of ``allowed``; runs nothing."""

    kind: ClassVar[str] = "vet_user_query"
    what: ClassVar[str] = "vetting a rule's query"
    query: str
    schemas: tuple[str, ...]
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class VetDuplicateKeys(Request[None]):
    """As ``VetUserQuery``, for a ``unique`` rule's expressions on its table."""

    kind: ClassVar[str] = "vet_duplicate_keys"
    what: ClassVar[str] = "vetting a rule's expressions"
    table: QualifiedName
    expressions: tuple[str, ...]
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class HealthItem(Request[list[tuple[str, str]]]):
    """One structural-health item: (object, problem) rows, ready to report."""

    kind: ClassVar[str] = "health_item"
    what: ClassVar[str] = "checking the catalog"
    item: str
    tables: tuple[QualifiedName, ...]
    schemas: tuple[str, ...]


@dataclass(frozen=True)
class Extensions(Request[dict[str, str]]):
    kind: ClassVar[str] = "extensions"
    what: ClassVar[str] = "reading extensions"


@dataclass(frozen=True)
class ValueSample(Request[SampleMatches]):
    kind: ClassVar[str] = "value_sample"
    what: ClassVar[str] = "sampling a column"
    table: QualifiedName
    column: str
    parents: tuple[tuple[QualifiedName, str], ...]
    sample: int


@dataclass(frozen=True)
class ReferenceSample(Request[TableSample]):
    """One bounded sample of a child table, read once for all its candidate columns."""

    kind: ClassVar[str] = "reference_sample"
    what: ClassVar[str] = "sampling for suspected references"
    table: QualifiedName
    probes: tuple[SampleProbe, ...]
    rows: int
    seed: int


@dataclass(frozen=True)
class Inventory(Request[list[tuple[str, str, str | None]]]):
    """Every restorable object as (kind, identity, detail)."""

    kind: ClassVar[str] = "inventory"
    what: ClassVar[str] = "taking the object inventory"


@dataclass(frozen=True)
class RolesPresent(Request[set[str]]):
    kind: ClassVar[str] = "roles_present"
    what: ClassVar[str] = "looking up roles"
    roles: tuple[str, ...]


@dataclass(frozen=True)
class MissingGrants(Request[list[tuple[str, str]]]):
    """(object, privilege) pairs ``role`` lacks on ``kind`` (tables, sequences, schemas)."""

    kind: ClassVar[str] = "missing_grants"
    what: ClassVar[str] = "checking privileges"
    role: str
    object_kind: str
    privileges: tuple[str, ...]
    objects: tuple[QualifiedName, ...]
    schemas: tuple[str, ...]


@dataclass(frozen=True)
class Comparable(Request[bool]):
    """Whether a logical reference's child column can be joined to its parent column."""

    kind: ClassVar[str] = "comparable"
    what: ClassVar[str] = "comparing column types"
    child: ColumnSet
    parent: ColumnSet


# ----- the engine ------------------------------------------------------------------------

Answer = Any  # the request's ``T``, or a CheckFailedToRun


class Engine(Protocol):
    """A connection holding one read-only snapshot, answering batches of requests."""

    name: str  # as reports say it: postgresql, mysql, mariadb, sqlite
    dialect: str  # sqlglot's name for the SQL rules are written in: postgres, mysql, sqlite
    health_items: tuple[str, ...]  # the catalog check's items this engine can judge

    @property
    def target(self) -> str: ...  # where we are connected, without a password

    def catalog(self) -> Catalog: ...

    def answers(self, request_type: type[Request[Any]]) -> bool: ...

    def answer(self, requests: Sequence[Request[Any]]) -> list[Answer]: ...

    def known_empty(self) -> Mapping[QualifiedName, bool]: ...


class EngineModule(Protocol):
    """What ``engines/NAME/__init__.py`` provides at top level."""

    DIALECT: str  # sqlglot's name for the engine's SQL: postgres, mysql, sqlite

    def open_engine(
        self, dsn: str | None, settings: SessionSettings, snapshot: str | None = None
    ) -> AbstractContextManager[Engine]: ...

    def describe_dsn(self, dsn: str | None) -> str: ...  # the DSN without its password

    def default_schema(self, dsn: str | None) -> str: ...  # what a name without one means


def unsupported(engine: str, request: Request[Any]) -> CheckFailedToRun:
    """The shared default for a request an engine cannot answer: fail closed, say where."""
    return CheckFailedToRun(
        f"{request.what}: not supported on {engine}",
        f"skip this rule on {engine} (--skip), or check this database with another tool",
    )


class Answerer:
    """Shared defaults: answer each request with ``answer_<kind>``, or ``unsupported``.

    Engines inherit this and override ``answer`` where a batch can be answered better than
    one request at a time (the PostgreSQL engine reads all sequence positions in one go).
    """

    name: str = "this engine"

    def answers(self, request_type: type[Request[Any]]) -> bool:
        return callable(getattr(self, f"answer_{request_type.kind}", None))

    def known_empty(self) -> Mapping[QualifiedName, bool]:
        """Tables the engine already knows to be empty (True) or not in this snapshot:
        exact knowledge only, never a statistic. Those known empty are judged without a
        request (no key, no orphan), which at thousands of empty tables is most of the
        work. The mapping may grow as the run learns more."""
        return {}

    def answer(self, requests: Sequence[Request[Any]]) -> list[Answer]:
        return [self.answer_one(request) for request in requests]

    def answer_one(self, request: Request[Any]) -> Answer:
        handler: Callable[[Any], Any] | None = getattr(self, f"answer_{request.kind}", None)
        if handler is None:
            return unsupported(self.name, request)
        try:
            return handler(request)
        except CheckFailedToRun as exc:
            return exc
