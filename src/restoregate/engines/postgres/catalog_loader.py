"""Reading the catalog into the engine-neutral model, in a constant number of queries.

The model holds names only; what PostgreSQL needs to probe (OIDs, type OIDs, heap pages,
a foreign key's equality operators) stays here, in ``Handles``, keyed by those names.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import postgres
from psycopg.adapt import Dumper
from psycopg.rows import namedtuple_row

from restoregate.catalog import (
    Catalog,
    Column,
    Family,
    Feed,
    FeedKind,
    Reference,
    SequenceDef,
    ServerInfo,
    Table,
)
from restoregate.engines.postgres.indirect import indirect_feeds, resolve_sequence
from restoregate.engines.postgres.queries import load
from restoregate.errors import CheckFailedToRun
from restoregate.names import ColumnSet, QualifiedName

Row = Any  # a named tuple: the query's column names as attributes
# nextval('name'::regclass), or the late-bound nextval('name'::text) that the server stores as
# nextval(('name'::text)::regclass), alone: the column gets exactly the sequence's value
_PLAIN_NEXTVAL = re.compile(
    r"^nextval\((?:'(?P<bound>(?:[^']|'')+)'::regclass|\('(?P<late>(?:[^']|'')+)'::text\)::regclass)\)$"
)


class Oids:
    """OIDs as one ``oid[]`` parameter, written out once for every query that takes it
    (as a list, 10,000 OIDs took psycopg 8 ms to dump, each of the eight times)."""

    __slots__ = ("text",)

    def __init__(self, oids: Iterable[int]) -> None:
        self.text = ("{" + ",".join(str(int(oid)) for oid in oids) + "}").encode()


class _OidsDumper(Dumper):
    oid = postgres.types["oid"].array_oid

    def dump(self, obj: Oids) -> bytes:
        return obj.text


def _fetch(conn: psycopg.Connection[Any], name: str, params: Row | None = None) -> list[Row]:
    with conn.cursor(row_factory=namedtuple_row) as cur:
        cur.execute(load(name), params)
        return cur.fetchall()


INTEGER_BITS = {"smallint": 16, "integer": 32, "bigint": 64}
# base type (format_type) -> the engine-neutral family the checks and inference read
FAMILIES: dict[str, Family] = {
    "smallint": "integer",
    "integer": "integer",
    "bigint": "integer",
    "numeric": "decimal",
    "uuid": "uuid",
    "text": "string",
    "character varying": "string",
    "character": "string",
    "citext": "string",
}


def family(base_type: str) -> Family | None:
    """``timestamp ...`` and ``date`` are times; ``time ...`` and ``interval`` are not."""
    if base_type.startswith(("timestamp", "date")):
        return "temporal"
    return FAMILIES.get(base_type)


Operator = tuple[str, str]  # (schema, name) of an equality operator


@dataclass(frozen=True)
class Early:
    """What the engine is told as soon as the first catalog queries are answered."""

    sequences: list[SequenceDef]  # those the connected role may read
    table_oids: dict[QualifiedName, int]
    sequence_oids: dict[QualifiedName, int]
    version_num: int


Known = Callable[[Early], None]


@dataclass
class Handles:
    """PostgreSQL's own identifiers for what the model names."""

    table_oids: dict[QualifiedName, int] = field(default_factory=dict)
    sequence_oids: dict[QualifiedName, int] = field(default_factory=dict)
    type_oids: dict[tuple[QualifiedName, str], int] = field(default_factory=dict)
    pages: dict[QualifiedName, int] = field(default_factory=dict)
    visible_pages: dict[QualifiedName, int] = field(default_factory=dict)  # relallvisible
    ordered: dict[QualifiedName, frozenset[str]] = field(default_factory=dict)  # btree leads
    # per declared FK (child columns, constraint name): one operator per column pair
    fk_operators: dict[tuple[ColumnSet, str], tuple[Operator, ...]] = field(default_factory=dict)
    # per logical column pair (child, parent), found by the Comparable request
    pair_operators: dict[tuple[ColumnSet, ColumnSet], Operator] = field(default_factory=dict)
    locks: dict[QualifiedName, int] = field(default_factory=dict)  # locks reading one takes


def load_catalog(
    conn: psycopg.Connection[Any],
    known: Known = lambda _early: None,
) -> tuple[Catalog, Handles]:
    """``known``: told the sequences the connected role may read, their OIDs and every
    table's OID as soon as they are known (the engine starts reading their positions and which
    tables are empty while the rest of the catalog loads).

    The queries run one after the other on a thread of their own (``_Reader``) while
    this one builds the model from those already answered: at 10,000 tables the server
    takes ~0.6 s for them and the model ~0.4 s of Python, which now overlap."""
    with _Reader(conn) as read:
        return _build(read, known)


def _build(read: _Reader, known: Known) -> tuple[Catalog, Handles]:
    handles = Handles()
    server = _server(read("server")[0])
    sequence_rows = read("sequences")
    sequences = {s.name: s for s in map(_sequence, sequence_rows)}
    seq_by_oid = {r.oid: sequences[_name(r)] for r in sequence_rows}
    table_rows = read("tables")
    names = {r.oid: _name(r) for r in table_rows}
    readable = [seq_by_oid[r.oid] for r in sequence_rows if r.readable]
    handles.sequence_oids = {s.name: oid for oid, s in seq_by_oid.items()}
    handles.table_oids = {name: oid for oid, name in names.items()}
    known(Early(readable, handles.table_oids, handles.sequence_oids, server.version_num))
    attnames: dict[tuple[int, int], str] = {}  # (table OID, column number) -> name
    tables, by_oid = _tables(table_rows, names, read("columns"), read("keys"), handles, attnames)
    feeds = _feeds(read("feeds"), by_oid, attnames, seq_by_oid, sequences)
    traced = {(f.table, f.column) for f in feeds}
    indirect = indirect_feeds(read("indirect_feeds"), by_oid, sequences, traced)
    feeds = tuple(sorted((*feeds, *indirect), key=_feed_order))
    not_enforced: set[int] = set()
    if server.version_num >= NOT_ENFORCED_FROM:
        not_enforced = {r.oid for r in read("not_enforced.pg18")}
    fks = []
    fk_rows = read("foreign_keys")
    operators = {r.oid: (r.schema, r.name) for r in read("fk_operators")}
    for r in fk_rows:
        fk = _foreign_key(r, r.oid not in not_enforced, by_oid, attnames)
        handles.fk_operators[(fk.child, r.name)] = tuple([operators[o] for o in r.operators])
        fks.append(fk)
    handles.locks = {names[r.oid]: 1 + r.indexes + 2 * r.toasted for r in table_rows}
    handles.locks.update({names[r.oid]: int(r.locks) for r in read("lock_weights")})
    return Catalog(server, tables, sequences, feeds, tuple(fks)), handles


NOT_ENFORCED_FROM = 180000
FIRST = ("server", "sequences", "tables")  # the rest are asked about these tables
OF_TABLES = (
    "columns",
    "keys",
    "feeds",
    "indirect_feeds",
    "foreign_keys",
    "fk_operators",
)


class _Reader:
    """Every catalog query's rows, fetched in order on a thread of its own.

    Calling it with a query's name waits for that query's rows (or raises its error).
    The first failing query ends the reading (the transaction is aborted anyway);
    leaving the block early cancels what still runs, and the connection is free again
    when the block ends."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn
        conn.adapters.register_dumper(Oids, _OidsDumper)  # this connection's adapters only
        names = (*FIRST, "not_enforced.pg18", *OF_TABLES, "lock_weights")
        self._rows: dict[str, Future[list[Row]]] = {name: Future() for name in names}
        self._unread = dict(self._rows)  # the thread's: each dropped once answered
        self._thread = threading.Thread(target=self._read, name="catalog", daemon=True)
        self._stop = threading.Event()

    def __enter__(self) -> _Reader:
        self._thread.start()
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is not None:
            self._stop.set()
            while self._thread.is_alive():  # again until it ends: a query may start after one
                with contextlib.suppress(psycopg.Error):
                    self._conn.cancel_safe(timeout=5.0)
                self._thread.join(0.1)
        self._thread.join()

    def __call__(self, name: str) -> list[Row]:
        """The query's rows, once: they are not kept here (memory stays one model's)."""
        return self._rows.pop(name).result()

    def _read(self) -> None:
        try:
            server, _, tables = (self._fetch(name) for name in FIRST)
            oids = {"table_oids": Oids(r.oid for r in tables)}
            if server[0].version_num >= NOT_ENFORCED_FROM:
                self._fetch("not_enforced.pg18", oids)
            for name in OF_TABLES:
                self._fetch(name, oids)
            partitioned = [r.oid for r in tables if r.partitioned]  # the rest: tables.sql
            if partitioned:
                self._fetch("lock_weights", {"table_oids": Oids(partitioned)})
            else:
                self._unread.pop("lock_weights").set_result([])
        except BaseException as exc:  # handed to whoever waits for rows not read
            for rows in self._unread.values():
                rows.set_exception(exc)

    def _fetch(self, name: str, params: Row | None = None) -> list[Row]:
        if self._stop.is_set():
            raise CheckFailedToRun("the catalog was not read to the end", None)
        found = _fetch(self._conn, name, params)
        self._unread.pop(name).set_result(found)
        return found


def _server(row: Row) -> ServerInfo:
    return ServerInfo("postgresql", row.version, row.version_num, row.database, row.user)


def _tables(
    table_rows: list[Row],
    names: dict[int, QualifiedName],
    column_rows: list[Row],
    key_rows: list[Row],
    handles: Handles,
    attnames: dict[tuple[int, int], str],
) -> tuple[dict[QualifiedName, Table], dict[int, Table]]:
    columns: dict[int, list[Column]] = defaultdict(list)
    ordered: dict[int, list[str]] = defaultdict(list)
    type_oids = handles.type_oids
    # columns are immutable values: one object for every column alike (10,000 tables of
    # "id bigint" keys share one), built once instead of per table
    alike: dict[tuple[Any, ...], Column] = {}
    last_oid, name, table_columns = None, None, []  # the rows come ordered by table
    for r in column_rows:
        oid = r.table_oid
        if oid != last_oid:
            last_oid, name, table_columns = oid, names.get(oid), columns[oid]
        attnames[(oid, r.attnum)] = r.name
        if r.ordered:
            ordered[oid].append(r.name)
        shape = (r.name, r.type_name, r.base_type, r.numeric, r.not_null, r.key)
        column = alike.get(shape)
        if column is None:
            column = alike[shape] = Column(
                *shape,
                integer_bits=INTEGER_BITS.get(r.base_type),
                family=family(r.base_type),
            )
        table_columns.append(column)
        if name is not None:
            type_oids[(name, r.name)] = r.type_oid
    # (table OID, column names, primary?): named here, as the foreign keys are
    named = [
        (r.table_oid, tuple(attnames[(r.table_oid, n)] for n in r.attnums), r.is_primary)
        for r in key_rows
    ]
    keys = _keys(table_rows, named)
    primary = {oid: columns for oid, columns, is_primary in named if is_primary}
    tables, by_oid = {}, {}
    for r in table_rows:
        name = names[r.oid]
        shared = keys.get(r.oid, ())
        tables[name] = by_oid[r.oid] = Table(
            name,
            r.partitioned,
            r.partition,
            r.unlogged,
            r.row_security,
            tuple(columns[r.oid]),
            float(r.estimated_rows),
            shared,
            primary.get(r.oid, shared[0] if r.partitioned and shared else ()),
            names.get(r.parent_oid) if r.parent_oid is not None else None,
        )
        handles.pages[name] = int(r.pages or 0)
        handles.visible_pages[name] = int(r.visible_pages or 0)
        if r.oid in ordered:
            handles.ordered[name] = frozenset(ordered[r.oid])
    return tables, by_oid


def _keys(
    table_rows: list[Row], key_rows: list[tuple[int, tuple[str, ...], bool]]
) -> dict[int, tuple[tuple[str, ...], ...]]:
    """Each table's unique keys; a partitioned parent also gets those all its leaves share.

    A primary key declared only on each partition (pagila's ``payment``) still makes the
    column a key of the whole: every partition has it, so the parent has it too.
    """
    own: dict[int, list[tuple[str, ...]]] = defaultdict(list)
    for oid, cols, _ in key_rows:
        if cols not in own[oid]:
            own[oid].append(cols)
    children: dict[int, list[int]] = defaultdict(list)
    for r in table_rows:
        if r.parent_oid is not None:
            children[r.parent_oid].append(r.oid)
    if not children:  # no partitioned table: every table's keys are its own
        return {oid: tuple(found) for oid, found in own.items()}
    memo: dict[int, list[tuple[str, ...]]] = {}

    def shared(oid: int) -> list[tuple[str, ...]]:
        if oid not in memo:
            found = list(own.get(oid, []))
            if children.get(oid):
                common = [set(shared(child)) for child in children[oid]]
                every = set.intersection(*common)
                found += sorted((k for k in every if k not in found), key=lambda k: (len(k), k))
            memo[oid] = found
        return memo[oid]

    return {r.oid: tuple(shared(r.oid)) for r in table_rows}


def _name(r: Row) -> QualifiedName:
    return QualifiedName(r.schema, r.name)


def _sequence(r: Row) -> SequenceDef:
    return SequenceDef(
        _name(r),
        r.type_name,
        r.start,
        r.increment,
        r.min_value,
        r.max_value,
        r.cycle,
        r.unlogged,
    )


def _feeds(
    rows: list[Row],
    tables: dict[int, Table],
    attnames: dict[tuple[int, int], str],
    seq_by_oid: dict[int, SequenceDef],
    sequences: dict[QualifiedName, SequenceDef],
) -> tuple[Feed, ...]:
    """Merge the catalog's links into one Feed per (table, column, sequence)."""
    Key = tuple[QualifiedName, str, QualifiedName | None, str | None]
    grouped: dict[Key, list[Row]] = defaultdict(list)
    for r in rows:
        table = tables.get(r.table_oid)
        if table is None or table.partition:
            continue  # partitions inherit their parent's defaults; the parent is judged
        column = attnames.get((r.table_oid, r.attnum))
        if column is None:
            continue  # not a live column (dropping one drops its default and sequence)
        seq = seq_by_oid.get(r.sequence_oid) if r.sequence_oid is not None else None
        found, missing = (
            (seq.name, None) if seq else _late_bound(r.expression, table.name.schema, sequences)
        )
        grouped[(table.name, column, found, missing)].append(r)
    by_name = {t.name: t for t in tables.values()}
    return tuple(
        _feed(by_name[table], column, found, missing, group)
        for (table, column, found, missing), group in grouped.items()
    )


def _feed_order(feed: Feed) -> tuple[str, ...]:
    return (feed.table.schema, feed.table.name, feed.column, str(feed.sequence), feed.via or "")


def _late_bound(
    expression: str | None, schema: str, sequences: dict[QualifiedName, SequenceDef]
) -> tuple[QualifiedName | None, str | None]:
    """Resolve ``nextval('name'::text)`` the way an insert would: own schema, then public.

    ``(None, name)`` when no schema has such a sequence: every insert would fail."""
    match = _PLAIN_NEXTVAL.match(expression or "")
    if not match or match.group("late") is None:
        return None, None
    return resolve_sequence(match.group("late").replace("''", "'"), [schema, "public"], sequences)


def _feed(
    table: Table, column: str, seq: QualifiedName | None, missing: str | None, rows: list[Row]
) -> Feed:
    kinds: tuple[FeedKind, ...] = tuple(sorted({r.kind for r in rows}))
    expression = next((r.expression for r in rows if r.expression), None)
    col = table.column(column)
    reason = None
    if missing is not None:
        pass  # judged by the sequences check: every insert relying on the default fails
    elif seq is None:
        reason = f"its default {expression} names a sequence that cannot be found on its path"
    elif col is not None and not col.numeric:
        reason = f"it is of type {col.type_name}, not a number the sequence hands out"
    elif expression is not None and not _PLAIN_NEXTVAL.match(expression):
        reason = f"its default {expression} transforms the sequence's value"
    return Feed(table.name, column, seq, kinds, expression, reason, missing=missing)


def _foreign_key(
    r: Row,
    enforced: bool,
    by_oid: dict[int, Table],
    attnames: dict[tuple[int, int], str],
) -> Reference:
    child_oid, parent_oid = r.child_oid, r.parent_oid
    child_table = by_oid[child_oid]
    child = ColumnSet(child_table.name, tuple([attnames[(child_oid, k)] for k in r.child_keys]))
    parent_table = by_oid.get(parent_oid)
    if parent_table is not None:
        parent_name, parent_partitioned = parent_table.name, parent_table.partitioned
        parent_columns = tuple([attnames[(parent_oid, k)] for k in r.parent_keys])
    else:  # not among the tables read: named by the query
        parent_name = QualifiedName(r.parent_schema, r.parent_table)
        parent_partitioned, parent_columns = r.parent_partitioned, tuple(r.parent_columns)
    parent = ColumnSet(parent_name, parent_columns)
    # positional, in the fields' order: 10,000 foreign keys are built per run
    return Reference(
        child,
        parent,
        True,  # declared
        r.name,
        r.match_full,
        r.validated,
        enforced,
        r.triggers_disabled,
        child_table.partitioned,
        parent_partitioned,
    )
