"""Reading the catalog into the engine-neutral model, in a constant number of queries.

The model holds names only; what PostgreSQL needs to probe (OIDs, type OIDs, heap pages,
a foreign key's equality operators) stays here, in ``Handles``, keyed by those names.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

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
from restoregate.names import ColumnSet, QualifiedName

Row = dict[str, Any]
# nextval('name'::regclass), or the late-bound nextval('name'::text) that the server stores as
# nextval(('name'::text)::regclass), alone: the column gets exactly the sequence's value
_PLAIN_NEXTVAL = re.compile(
    r"^nextval\((?:'(?P<bound>(?:[^']|'')+)'::regclass|\('(?P<late>(?:[^']|'')+)'::text\)::regclass)\)$"
)


def _fetch(conn: psycopg.Connection[Any], name: str, params: Row | None = None) -> list[Row]:
    with conn.cursor(row_factory=dict_row) as cur:
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
Known = Callable[[list[SequenceDef], dict[QualifiedName, int]], None]


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


def load_catalog(
    conn: psycopg.Connection[Any],
    known: Known = lambda _sequences, _tables: None,
) -> tuple[Catalog, Handles]:
    """``known``: told the sequences the connected role may read and every table's OID
    as soon as they are known (the engine starts reading their positions and which
    tables are empty while the rest of the catalog loads)."""
    handles = Handles()
    server = _server(_fetch(conn, "server")[0])
    sequence_rows = _fetch(conn, "sequences")
    sequences = {s.name: s for s in map(_sequence, sequence_rows)}
    table_rows = _fetch(conn, "tables")
    readable = [sequences[_name(r)] for r in sequence_rows if r["readable"]]
    known(readable, {_name(r): r["oid"] for r in table_rows})
    oids = {"table_oids": [r["oid"] for r in table_rows]}
    tables, by_oid = _tables(
        table_rows, _fetch(conn, "columns", oids), _fetch(conn, "keys", oids), handles
    )
    seq_by_oid = {r["oid"]: sequences[_name(r)] for r in sequence_rows}
    handles.sequence_oids = {s.name: oid for oid, s in seq_by_oid.items()}
    feeds = _feeds(_fetch(conn, "feeds", oids), by_oid, seq_by_oid, sequences)
    traced = {(f.table, f.column) for f in feeds}
    indirect = indirect_feeds(_fetch(conn, "indirect_feeds", oids), by_oid, sequences, traced)
    feeds = tuple(sorted((*feeds, *indirect), key=_feed_order))
    not_enforced: set[int] = set()
    if server.version_num >= 180000:
        not_enforced = {r["oid"] for r in _fetch(conn, "not_enforced.pg18", oids)}
    fks = []
    for r in _fetch(conn, "foreign_keys", oids):
        fk = _foreign_key(r, r["oid"] not in not_enforced)
        operators = zip(r["operator_schemas"], r["operator_names"], strict=True)
        handles.fk_operators[(fk.child, r["name"])] = tuple(operators)
        fks.append(fk)
    return Catalog(server, tables, sequences, feeds, tuple(fks)), handles


def _server(row: Row) -> ServerInfo:
    return ServerInfo(
        "postgresql", row["version"], row["version_num"], row["database"], row["user"]
    )


def _tables(
    table_rows: list[Row], column_rows: list[Row], key_rows: list[Row], handles: Handles
) -> tuple[dict[QualifiedName, Table], dict[int, Table]]:
    columns: dict[int, list[Column]] = defaultdict(list)
    types: dict[int, list[tuple[str, int]]] = defaultdict(list)
    ordered: dict[int, list[str]] = defaultdict(list)
    for r in column_rows:
        if r["ordered"]:
            ordered[r["table_oid"]].append(r["name"])
        columns[r["table_oid"]].append(
            Column(
                r["name"],
                r["type_name"],
                r["base_type"],
                r["numeric"],
                r["not_null"],
                r["key"],
                integer_bits=INTEGER_BITS.get(r["base_type"]),
                family=family(r["base_type"]),
            )
        )
        types[r["table_oid"]].append((r["name"], r["type_oid"]))
    keys = _keys(table_rows, key_rows)
    primary = {r["table_oid"]: tuple(r["columns"]) for r in key_rows if r["is_primary"]}
    names = {r["oid"]: QualifiedName(r["schema"], r["name"]) for r in table_rows}
    tables, by_oid = {}, {}
    for r in table_rows:
        name = names[r["oid"]]
        shared = keys.get(r["oid"], ())
        tables[name] = by_oid[r["oid"]] = Table(
            name,
            r["partitioned"],
            r["partition"],
            r["unlogged"],
            r["row_security"],
            tuple(columns[r["oid"]]),
            float(r["estimated_rows"]),
            shared,
            primary.get(r["oid"], shared[0] if r["partitioned"] and shared else ()),
            names.get(r["parent_oid"]) if r["parent_oid"] is not None else None,
        )
        handles.table_oids[name] = r["oid"]
        handles.pages[name] = int(r["pages"] or 0)
        handles.visible_pages[name] = int(r["visible_pages"] or 0)
        if ordered[r["oid"]]:
            handles.ordered[name] = frozenset(ordered[r["oid"]])
        handles.type_oids.update(((name, col), oid) for col, oid in types[r["oid"]])
    return tables, by_oid


def _keys(table_rows: list[Row], key_rows: list[Row]) -> dict[int, tuple[tuple[str, ...], ...]]:
    """Each table's unique keys; a partitioned parent also gets those all its leaves share.

    A primary key declared only on each partition (pagila's ``payment``) still makes the
    column a key of the whole: every partition has it, so the parent has it too.
    """
    own: dict[int, list[tuple[str, ...]]] = defaultdict(list)
    for r in key_rows:
        cols = tuple(r["columns"])
        if cols not in own[r["table_oid"]]:
            own[r["table_oid"]].append(cols)
    children: dict[int, list[int]] = defaultdict(list)
    for r in table_rows:
        if r["parent_oid"] is not None:
            children[r["parent_oid"]].append(r["oid"])
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

    return {r["oid"]: tuple(shared(r["oid"])) for r in table_rows}


def _name(r: Row) -> QualifiedName:
    return QualifiedName(r["schema"], r["name"])


def _sequence(r: Row) -> SequenceDef:
    return SequenceDef(
        _name(r),
        r["type_name"],
        r["start"],
        r["increment"],
        r["min_value"],
        r["max_value"],
        r["cycle"],
        r["unlogged"],
    )


def _feeds(
    rows: list[Row],
    tables: dict[int, Table],
    seq_by_oid: dict[int, SequenceDef],
    sequences: dict[QualifiedName, SequenceDef],
) -> tuple[Feed, ...]:
    """Merge the catalog's links into one Feed per (table, column, sequence)."""
    Key = tuple[QualifiedName, str, QualifiedName | None, str | None]
    grouped: dict[Key, list[Row]] = defaultdict(list)
    for r in rows:
        table = tables.get(r["table_oid"])
        if table is None or table.partition:
            continue  # partitions inherit their parent's defaults; the parent is judged
        seq = seq_by_oid.get(r["sequence_oid"]) if r["sequence_oid"] is not None else None
        found, missing = (
            (seq.name, None) if seq else _late_bound(r["expression"], table.name.schema, sequences)
        )
        grouped[(table.name, r["column_name"], found, missing)].append(r)
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
    kinds: tuple[FeedKind, ...] = tuple(sorted({r["kind"] for r in rows}))
    expression = next((r["expression"] for r in rows if r["expression"]), None)
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


def _foreign_key(r: Row, enforced: bool) -> Reference:
    child = ColumnSet(QualifiedName(r["child_schema"], r["child_table"]), tuple(r["child_columns"]))
    parent = ColumnSet(
        QualifiedName(r["parent_schema"], r["parent_table"]), tuple(r["parent_columns"])
    )
    return Reference(
        child=child,
        parent=parent,
        declared=True,
        name=r["name"],
        match_full=r["match_full"],
        validated=r["validated"],
        enforced=enforced,
        triggers_disabled=r["triggers_disabled"],
        child_partitioned=r["child_partitioned"],
        parent_partitioned=r["parent_partitioned"],
    )
