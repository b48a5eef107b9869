"""Reading information_schema into the engine-neutral model, in a constant number of queries.

A MySQL "sequence" is a table's AUTO_INCREMENT counter (named after the table); on
MariaDB also a SEQUENCE object used as ``DEFAULT NEXT VALUE FOR s``. Declared foreign
keys come from KEY_COLUMN_USAGE and REFERENTIAL_CONSTRAINTS, composite ones in order.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from restoregate.catalog import (
    Catalog,
    Column,
    Family,
    Feed,
    Reference,
    SequenceDef,
    ServerInfo,
    Table,
)
from restoregate.engines.mysql.queries import load
from restoregate.names import ColumnSet, QualifiedName

Row = dict[str, Any]
INTEGER_BITS = {"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "bigint": 64}
NUMERIC = {*INTEGER_BITS, "decimal"}
# DATA_TYPE -> the engine-neutral family the checks and inference read
FAMILIES: dict[str, Family] = {
    **dict.fromkeys(INTEGER_BITS, "integer"),
    "decimal": "decimal",
    "uuid": "uuid",  # MariaDB 10.7+
    **dict.fromkeys(("char", "varchar", "tinytext", "text", "mediumtext", "longtext"), "string"),
    **dict.fromkeys(("date", "datetime", "timestamp"), "temporal"),
}
_NEXTVAL = re.compile(r"^nextval\((?:`(?P<schema>(?:[^`]|``)+)`\.)?`(?P<name>(?:[^`]|``)+)`\)$")
_WIDTH = re.compile(r"^(\w+)\(\d+\)")


def fetch(conn: Any, name: str, params: Row | None = None) -> list[Row]:
    with conn.cursor(dict_cursor()) as cur:
        cur.execute(load(name), params)
        return list(cur.fetchall())


def dict_cursor() -> Any:
    import pymysql.cursors

    return pymysql.cursors.DictCursor


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def table_sql(name: QualifiedName) -> str:
    return f"{quote(name.schema)}.{quote(name.name)}"


# (table, column) -> the collation its values compare under; strings only
Collations = dict[tuple[QualifiedName, str], str]


def load_catalog(conn: Any, mariadb: bool) -> Catalog:
    return read_catalog(conn, mariadb)[0]


def read_catalog(conn: Any, mariadb: bool) -> tuple[Catalog, Collations]:
    """The engine-neutral catalog, and what only this engine needs of it: collations."""
    server_row = fetch(conn, "server")[0]
    db = str(server_row["db"])
    version = str(server_row["version"])
    server = ServerInfo(
        "mariadb" if mariadb else "mysql",
        version.split("-")[0],
        _version_num(version),
        db,
        str(server_row["user"]),
    )
    table_rows = fetch(conn, "tables", {"db": db})
    column_rows = fetch(conn, "columns", {"db": db})
    kinds = {r["name"]: r["type"] for r in table_rows}
    by_table: dict[str, list[Row]] = defaultdict(list)
    for r in column_rows:
        if kinds.get(r["table_name"]) not in (None, "SEQUENCE"):
            by_table[r["table_name"]].append(r)
    keys = _keys(fetch(conn, "keys", {"db": db}))
    tables = {
        QualifiedName(db, r["name"]): _table(db, r, by_table[r["name"]], keys.get(r["name"], []))
        for r in table_rows
        if r["type"] != "SEQUENCE"
    }
    sequences = _sequence_objects(
        conn, db, [r["name"] for r in table_rows if r["type"] == "SEQUENCE"]
    )
    increment = int(server_row["ai_increment"] or 1)
    feeds: list[Feed] = []
    for table in tables.values():
        for r in by_table[table.name.name]:
            feed = _feed(table, r, sequences, increment)
            if feed is not None:
                feeds.append(feed)
    fks = _foreign_keys(fetch(conn, "foreign_keys", {"db": db}))
    collations = {
        (QualifiedName(db, r["table_name"]), str(r["name"])): str(r["collation"])
        for r in column_rows
        if r["collation"] is not None
    }
    return Catalog(server, tables, sequences, tuple(feeds), fks), collations


def _version_num(version: str) -> int:
    parts = [int(p) for p in re.findall(r"\d+", version.split("-")[0])[:3]] + [0, 0, 0]
    return parts[0] * 10000 + parts[1] * 100 + parts[2]


def _column(r: Row, in_key: bool = False) -> Column:
    """``in_key``: part of a unique index over whole columns. COLUMN_KEY alone says so
    only for an index's first column (``UNI``) and for primary keys (``PRI``)."""
    data_type = str(r["data_type"]).lower()
    column_type = str(r["column_type"])
    base = _WIDTH.sub(r"\1", column_type.lower()) if data_type in INTEGER_BITS else column_type
    return Column(
        name=r["name"],
        type_name=column_type,
        base_type=base,
        numeric=data_type in NUMERIC,
        not_null=bool(r["not_null"]),
        key=bool(r["is_key"]) or in_key,
        integer_bits=INTEGER_BITS.get(data_type),
        unsigned="unsigned" in column_type.lower(),
        family=FAMILIES.get(data_type),
    )


def _keys(rows: list[Row]) -> dict[str, list[tuple[tuple[str, ...], bool]]]:
    """Each table's unique keys over whole columns, as (columns, primary), primary first."""
    grouped: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for r in rows:
        grouped[(r["table_name"], r["index_name"])].append(r)
    found: dict[str, list[tuple[tuple[str, ...], bool]]] = defaultdict(list)
    for (table, index), group in grouped.items():
        if any(r["column_name"] is None or r["sub_part"] is not None for r in group):
            continue
        ordered = sorted(group, key=lambda r: int(r["position"]))
        found[table].append((tuple(str(r["column_name"]) for r in ordered), index == "PRIMARY"))
    return found


def _table(db: str, r: Row, columns: list[Row], keys: list[tuple[tuple[str, ...], bool]]) -> Table:
    rows = r["estimated_rows"]
    primary = next((k for k, is_primary in keys if is_primary), ())
    unique = sorted({k for k, _ in keys if k != primary}, key=lambda k: (len(k), k))
    in_keys = {name for k, _ in keys for name in k}
    return Table(
        name=QualifiedName(db, r["name"]),
        partitioned=False,
        partition=False,
        unlogged=str(r["engine"] or "").upper() == "MEMORY",  # emptied by a restart
        row_security=False,
        columns=tuple(_column(c, c["name"] in in_keys) for c in columns),
        estimated_rows=float(rows) if rows is not None else -1,
        keys=((primary,) if primary else ()) + tuple(unique),
        primary_key=primary,
    )


def _sequence_objects(conn: Any, db: str, names: list[str]) -> dict[QualifiedName, SequenceDef]:
    """MariaDB SEQUENCE objects: one UNION ALL over the sequence tables themselves."""
    if not names:
        return {}
    query = " UNION ALL ".join(
        f"SELECT {i} AS i, minimum_value, maximum_value, start_value, increment, cycle_option"
        f" FROM {table_sql(QualifiedName(db, n))}"
        for i, n in enumerate(names)
    )
    with conn.cursor(dict_cursor()) as cur:
        cur.execute(query)
        rows = list(cur.fetchall())
    found = {}
    for r in rows:
        name = QualifiedName(db, names[int(r["i"])])
        found[name] = SequenceDef(
            name=name,
            type_name="bigint",
            start=int(r["start_value"]),
            increment=int(r["increment"]) or 1,
            min_value=int(r["minimum_value"]),
            max_value=int(r["maximum_value"]),
            cycle=bool(r["cycle_option"]),
            unlogged=False,
        )
    return found


def counter(table: Table, column: Column, increment: int) -> SequenceDef:
    """A table's AUTO_INCREMENT counter, as a sequence named after the table."""
    limits = column.limits or (1, 2**63 - 1)
    return SequenceDef(
        name=table.name,
        type_name=column.type_name,
        start=1,
        increment=increment,
        min_value=1,
        max_value=limits[1],
        cycle=False,
        unlogged=False,
        kind="auto_increment",
    )


def _feed(
    table: Table, r: Row, sequences: dict[QualifiedName, SequenceDef], increment: int
) -> Feed | None:
    column = table.column(r["name"])
    assert column is not None
    if "auto_increment" in str(r["extra"] or "").lower():
        sequences[table.name] = counter(table, column, increment)
        return Feed(table.name, column.name, table.name, ("auto_increment",))
    default = r["column_default"]
    if default is None or "nextval(" not in str(default).lower():
        return None
    match = _NEXTVAL.match(str(default).strip())
    if match is None:
        return Feed(
            table.name,
            column.name,
            None,
            ("default",),
            str(default),
            f"its default {default} transforms the sequence's value",
        )
    schema = (match.group("schema") or table.name.schema).replace("``", "`")
    name = QualifiedName(schema, match.group("name").replace("``", "`"))
    if name not in sequences:
        return Feed(table.name, column.name, None, ("default",), str(default), missing=str(name))
    return Feed(table.name, column.name, name, ("default",), str(default))


def _foreign_keys(rows: list[Row]) -> tuple[Reference, ...]:
    grouped: dict[tuple[str, str, str], list[Row]] = defaultdict(list)
    for r in rows:
        grouped[(r["child_schema"], r["child_table"], r["name"])].append(r)
    refs = []
    for (schema, table, name), group in grouped.items():
        first = group[0]
        refs.append(
            Reference(
                child=ColumnSet(
                    QualifiedName(schema, table), tuple(r["child_column"] for r in group)
                ),
                parent=ColumnSet(
                    QualifiedName(first["parent_schema"], first["parent_table"]),
                    tuple(r["parent_column"] for r in group),
                ),
                declared=True,
                name=name,
                match_full=str(first["match_option"]).upper() == "FULL",
            )
        )
    return tuple(refs)
