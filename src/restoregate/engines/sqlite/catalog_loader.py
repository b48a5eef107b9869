"""Reading ``sqlite_master`` and the table-valued pragmas into the engine-neutral model.

The schema is ``main``. A "sequence" is a table's own counter on its INTEGER PRIMARY KEY
(the rowid): with AUTOINCREMENT the next key is max(sqlite_sequence.seq, max(rowid)) + 1,
without it max(rowid) + 1, so a deleted top key is handed out again. WITHOUT ROWID
tables have no counter. Declared foreign keys come from pragma_foreign_key_list.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from typing import Any

from restoregate.catalog import (
    Catalog,
    Column,
    Family,
    Feed,
    FeedKind,
    Reference,
    SequenceDef,
    SequenceKind,
    ServerInfo,
    Table,
)
from restoregate.engines.sqlite.queries import load
from restoregate.names import ColumnSet, QualifiedName

SCHEMA = "main"
ROWID_MAX = 2**63 - 1
_AUTOINCREMENT = re.compile(r"\bAUTOINCREMENT\b", re.IGNORECASE)
_WITHOUT_ROWID = re.compile(r"\bWITHOUT\s+ROWID\b", re.IGNORECASE)
Row = dict[str, Any]


def fetch(conn: sqlite3.Connection, name: str) -> list[Row]:
    cur = conn.execute(load(name))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def relation(name: QualifiedName) -> str:
    return f"{quote(name.schema)}.{quote(name.name)}"


def load_catalog(conn: sqlite3.Connection, path: str) -> Catalog:
    version = str(conn.execute("SELECT sqlite_version()").fetchone()[0])
    parts = [int(p) for p in version.split(".")[:3]] + [0, 0]
    server = ServerInfo("sqlite", version, parts[0] * 10000 + parts[1] * 100 + parts[2], path, "")
    tables_rows = fetch(conn, "tables")
    unique_rows = fetch(conn, "unique_columns")
    keys = {(r["table_name"], r["column_name"]) for r in unique_rows}
    indexes = _unique_indexes(unique_rows)
    columns: dict[str, list[Row]] = defaultdict(list)
    for r in fetch(conn, "columns"):
        columns[r["table_name"]].append(r)
    tables: dict[QualifiedName, Table] = {}
    sequences: dict[QualifiedName, SequenceDef] = {}
    feeds: list[Feed] = []
    for r in tables_rows:
        table = _table(r["name"], columns[r["name"]], keys, indexes.get(r["name"], []))
        tables[table.name] = table
        counter = _counter(table, r["sql"] or "", columns[r["name"]])
        if counter is not None:
            sequences[table.name] = counter[0]
            kind: FeedKind = "autoincrement" if counter[0].kind == "autoincrement" else "rowid"
            feeds.append(Feed(table.name, counter[1], table.name, (kind,)))
    fks = _foreign_keys(fetch(conn, "foreign_keys"), tables)
    return Catalog(server, tables, sequences, tuple(feeds), fks)


def _affinity(declared: str) -> str:
    """SQLite's type affinity rules, in their order."""
    text = declared.upper()
    if "INT" in text:
        return "integer"
    if any(word in text for word in ("CHAR", "CLOB", "TEXT")):
        return "text"
    if not text or "BLOB" in text:
        return "blob"
    if any(word in text for word in ("REAL", "FLOA", "DOUB")):
        return "real"
    return "numeric"


def _family(declared: str, affinity: str, temporal: bool) -> Family | None:
    """What the values are, from the declared type as SQLite's affinity reads it."""
    text = declared.upper()
    if affinity == "integer":
        return "integer"
    if temporal:
        return "temporal"
    if "UUID" in text or "GUID" in text:
        return "uuid"
    if affinity == "text":
        return "string"
    if affinity == "numeric" and any(w in text for w in ("DEC", "NUM")):
        return "decimal"
    return None


def _unique_indexes(rows: list[Row]) -> dict[str, list[tuple[str, ...]]]:
    """Each table's unique indexes over plain columns (no expression, not partial)."""
    grouped: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for r in rows:
        grouped[(r["table_name"], r["index_name"])].append(r)
    found: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for (table, _), group in grouped.items():
        if any(r["column_name"] is None or r["partial"] for r in group):
            continue
        ordered = sorted(group, key=lambda r: int(r["position"]))
        found[table].append(tuple(str(r["column_name"]) for r in ordered))
    return found


def _table(
    name: str, rows: list[Row], keys: set[tuple[str, str]], indexes: list[tuple[str, ...]]
) -> Table:
    primary = [r for r in rows if r["pk"]]
    primary_key = tuple(str(r["name"]) for r in sorted(primary, key=lambda r: int(r["pk"])))
    unique = sorted({k for k in indexes if k != primary_key}, key=lambda k: (len(k), k))
    cols = []
    for r in rows:
        declared = str(r["type"] or "")
        affinity = _affinity(declared)
        temporal = "DATE" in declared.upper() or "TIME" in declared.upper()
        is_key = (bool(r["pk"]) and len(primary) == 1) or (name, r["name"]) in keys
        cols.append(
            Column(
                name=r["name"],
                type_name=str(r["type"] or "") or "(no type)",
                base_type="timestamp" if temporal and affinity != "integer" else affinity,
                numeric=affinity == "integer" or (affinity == "numeric" and not temporal),
                not_null=bool(r["not_null"]) or (bool(r["pk"]) and affinity == "integer"),
                key=is_key,
                integer_bits=64 if affinity == "integer" else None,
                family=_family(declared, affinity, temporal),
            )
        )
    return Table(
        QualifiedName(SCHEMA, name),
        False,
        False,
        False,
        False,
        tuple(cols),
        -1,
        keys=((primary_key,) if primary_key else ()) + tuple(unique),
        primary_key=primary_key,
    )


def _counter(table: Table, sql: str, rows: list[Row]) -> tuple[SequenceDef, str] | None:
    """The rowid counter, when an INTEGER PRIMARY KEY column names the rowid."""
    primary = [r for r in rows if r["pk"]]
    if len(primary) != 1 or str(primary[0]["type"] or "").upper() != "INTEGER":
        return None
    if _WITHOUT_ROWID.search(sql):
        return None
    kind: SequenceKind = "autoincrement" if _AUTOINCREMENT.search(sql) else "rowid"
    seq = SequenceDef(
        name=table.name,
        type_name="INTEGER",
        start=1,
        increment=1,
        min_value=1,
        max_value=ROWID_MAX,
        cycle=False,
        unlogged=False,
        kind=kind,
    )
    return seq, str(primary[0]["name"])


def _foreign_keys(rows: list[Row], tables: dict[QualifiedName, Table]) -> tuple[Reference, ...]:
    grouped: dict[tuple[str, int], list[Row]] = defaultdict(list)
    for r in rows:
        grouped[(r["child_table"], int(r["id"]))].append(r)
    refs = []
    for (child, _), group in grouped.items():
        parent = QualifiedName(SCHEMA, group[0]["parent_table"])
        parent_columns = [r["parent_column"] for r in group]
        if any(c is None for c in parent_columns):  # REFERENCES parent: its primary key
            target = tables.get(parent)
            pk = [c.name for c in target.columns if c.key] if target else []
            parent_columns = pk if len(pk) == len(group) else parent_columns
        if any(c is None for c in parent_columns):
            continue
        refs.append(
            Reference(
                child=ColumnSet(
                    QualifiedName(SCHEMA, child), tuple(r["child_column"] for r in group)
                ),
                parent=ColumnSet(parent, tuple(parent_columns)),
                declared=True,
                name=None,
            )
        )
    return tuple(refs)
