"""Carry a PostgreSQL database to MariaDB/MySQL or SQLite the way a migration tool would.

An evaluation helper, not part of restoregate: it reads PostgreSQL's catalog (tables,
columns, primary keys, unique constraints and indexes, foreign keys with their actions,
plain indexes, the sequence behind each serial key) and the rows through ``COPY``, and
writes the same schema and data to the other engine:

- a key fed by a sequence becomes ``AUTO_INCREMENT`` (MariaDB: the table's counter set to
  the sequence's next value, as pgloader does) or ``INTEGER PRIMARY KEY`` (SQLite: the
  rowid; its counter is ``max(rowid) + 1``);
- the same foreign keys, composite ones too, with ON UPDATE / ON DELETE;
- types as sakila has them on those engines: enums become ``ENUM`` (MariaDB) or TEXT,
  arrays and ``tsvector`` TEXT, ``bytea`` a BLOB, booleans ``TINYINT(1)``/``BOOLEAN``,
  ``timestamp`` ``DATETIME(6)``/``TIMESTAMP``;
- rows loaded with foreign key checks off (MariaDB ``FOREIGN_KEY_CHECKS=0``; SQLite never
  enforces them unless asked), as dumps are.

dvdrental is PostgreSQL's port of MySQL's sakila, so going back is the migration real
users make. Only what the sample databases use is handled; anything else is an error.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

HERE = Path(__file__).resolve().parent


def samples_dir() -> Path | None:
    """The shared sample databases (``RESTOREGATE_SAMPLES``, else ``../shared/samples`` of
    the checkout or of the folder holding worktrees); None when absent."""
    given = os.environ.get("RESTOREGATE_SAMPLES")
    candidates = [Path(given)] if given else []
    candidates += [HERE.parent.parent / "shared" / "samples", HERE.parents[2] / "shared/samples"]
    return next((p for p in candidates if (p / "README.md").is_file()), None)


@dataclass
class Column:
    name: str
    type: str  # the base type's name (a domain is followed to its base)
    kind: str  # pg_type.typtype of the declared type's base: b, e, ...
    array: bool
    length: int | None
    precision: int | None
    scale: int | None
    not_null: bool
    default: str | None
    labels: list[str] = field(default_factory=list)  # enum labels


@dataclass
class ForeignKey:
    name: str
    columns: list[str]
    parent: str
    parent_columns: list[str]
    on_update: str
    on_delete: str


@dataclass
class Table:
    name: str
    columns: list[Column]
    primary_key: list[str]
    unique: list[tuple[str, list[str]]]
    indexes: list[tuple[str, list[str]]]
    foreign_keys: list[ForeignKey]
    serial: str | None = None  # the column a sequence feeds
    sequence: str | None = None  # that sequence (regclass text)
    next_value: int | None = None  # what it hands out next


ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}

COLUMNS = """
SELECT c.relname, a.attname, coalesce(bt.typname, t.typname), coalesce(bt.typtype, t.typtype),
       t.typcategory = 'A', a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
       information_schema._pg_char_max_length(b.oid, b.mod),
       information_schema._pg_numeric_precision(b.oid, b.mod),
       information_schema._pg_numeric_scale(b.oid, b.mod),
       (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e
         WHERE e.enumtypid = coalesce(bt.oid, t.oid)),
       coalesce(pg_get_serial_sequence(format('%%I.%%I', n.nspname, c.relname), a.attname),
       (SELECT d2.refobjid::regclass::text FROM pg_depend d2
         WHERE d2.classid = 'pg_attrdef'::regclass AND d2.objid = d.oid
           AND d2.refclassid = 'pg_class'::regclass AND d2.deptype = 'n'
           AND d2.refobjid IN (SELECT oid FROM pg_class WHERE relkind = 'S') LIMIT 1))
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype AND t.typtype = 'd'
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
CROSS JOIN LATERAL (SELECT coalesce(bt.oid, t.oid) AS oid,
                           coalesce(nullif(t.typtypmod, -1), a.atttypmod) AS mod) b
WHERE n.nspname = %s AND c.relkind = 'r'
ORDER BY c.relname, a.attnum
"""

CONSTRAINTS = """
SELECT c.relname, k.conname, k.contype, p.relname,
       ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i),
       ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
             JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i),
       k.confupdtype, k.confdeltype
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class p ON p.oid = k.confrelid
WHERE n.nspname = %s AND k.contype IN ('p', 'u', 'f')
ORDER BY c.relname, k.conname
"""

# indexes on plain columns that no constraint owns (expression and partial ones are left)
INDEXES = """
SELECT c.relname, i.relname, x.indisunique,
       ARRAY(SELECT a.attname FROM unnest(x.indkey::int2[]) WITH ORDINALITY u(n, o)
             JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.n ORDER BY u.o)
FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am m ON m.oid = i.relam
WHERE n.nspname = %s AND c.relkind = 'r' AND m.amname = 'btree' AND x.indexprs IS NULL
  AND x.indpred IS NULL AND 0 <> ALL (x.indkey::int2[])
  AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = x.indexrelid)
ORDER BY c.relname, i.relname
"""


def read_catalog(conn: psycopg.Connection[Any], schema: str = "public") -> list[Table]:
    """Every ordinary table of ``schema`` with what a migration carries."""
    tables: dict[str, Table] = {}
    serials: dict[str, tuple[str, str]] = {}
    for row in conn.execute(COLUMNS, (schema,)):
        relname, name, typ, kind, array, not_null, default, length, prec, scale, labels, seq = row
        table = tables.setdefault(relname, Table(relname, [], [], [], [], []))
        table.columns.append(
            Column(name, typ, kind, array, length, prec, scale, not_null, default, labels or [])
        )
        if seq and (default is None or "nextval(" in default):  # identity, serial, nextval
            serials[relname] = (name, seq)
    for relname, name, contype, parent, cols, pcols, upd, dele in conn.execute(
        CONSTRAINTS, (schema,)
    ):
        table = tables[relname]
        if contype == "p":
            table.primary_key = list(cols)
        elif contype == "u":
            table.unique.append((name, list(cols)))
        else:
            fk = ForeignKey(name, list(cols), parent, list(pcols), ACTIONS[upd], ACTIONS[dele])
            table.foreign_keys.append(fk)
    for relname, name, unique, cols in conn.execute(INDEXES, (schema,)):
        (tables[relname].unique if unique else tables[relname].indexes).append((name, list(cols)))
    for relname, (column, sequence) in serials.items():
        query = "SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM "
        row = conn.execute((query + sequence).encode()).fetchone()  # regclass text: quoted
        assert row is not None
        table = tables[relname]
        table.serial, table.sequence, table.next_value = column, sequence, int(row[0])
    if not tables:  # a load that failed unnoticed: an empty file judged, "not an SQLite database"
        raise ValueError(f"schema {schema} has no tables to carry over")
    return [tables[name] for name in sorted(tables)]


def read_rows(
    conn: psycopg.Connection[Any], table: Table, schema: str = "public"
) -> Iterator[list[Any]]:
    """The table's rows through COPY, each value as text (bytea as bytes, booleans 1/0)."""
    outputs = []
    for column in table.columns:
        ident = sql.Identifier(column.name)
        if column.type == "bytea" and not column.array:
            outputs.append(sql.SQL("encode({}, 'hex')").format(ident))
        elif column.type == "timestamptz" and not column.array:  # in UTC, without +00
            outputs.append(sql.SQL("({} AT TIME ZONE 'UTC')::text").format(ident))
        elif column.type == "bool" and not column.array:
            outputs.append(sql.SQL("{}::int::text").format(ident))
        else:
            outputs.append(sql.SQL("{}::text").format(ident))
    query = sql.SQL("COPY (SELECT {} FROM {}.{}) TO STDOUT").format(
        sql.SQL(", ").join(outputs), sql.Identifier(schema), sql.Identifier(table.name)
    )
    blobs = [i for i, c in enumerate(table.columns) if c.type == "bytea" and not c.array]
    with conn.cursor() as cur, cur.copy(query) as copy:
        copy.set_types(["text"] * len(table.columns))
        for row in copy.rows():
            values = list(row)
            for i in blobs:
                if values[i] is not None:
                    values[i] = bytes.fromhex(values[i])
            yield values


# ------------------------------------------------------------------------------ types

INTEGERS = {"int2": "SMALLINT", "int4": "INT", "int8": "BIGINT"}
TEXTUAL = {
    "text",
    "tsvector",
    "json",
    "jsonb",
    "xml",
    "citext",
    "inet",
    "interval",
    "uuid",
    "cube",
    "point",
}


def mysql_type(column: Column) -> str:
    if column.array or column.type in TEXTUAL:
        return "CHAR(36)" if column.type == "uuid" and not column.array else "TEXT"
    if column.type in INTEGERS:
        return INTEGERS[column.type]
    if column.kind == "e":
        return "ENUM({})".format(", ".join(quote_string(label) for label in column.labels))
    simple = {
        "bool": "TINYINT(1)",
        "bytea": "LONGBLOB",
        "date": "DATE",
        "timestamp": "DATETIME(6)",
        "timestamptz": "DATETIME(6)",
        "float4": "FLOAT",
        "float8": "DOUBLE",
        "time": "TIME(6)",
    }
    if column.type in simple:
        return simple[column.type]
    if column.type == "varchar":
        return f"VARCHAR({column.length or 255})"
    if column.type == "bpchar":
        return f"CHAR({column.length or 1})"
    if column.type == "numeric":
        if column.precision is None:
            return "DECIMAL(38, 10)"
        return f"DECIMAL({column.precision}, {column.scale or 0})"
    raise ValueError(f"{column.name}: type {column.type} is not handled")


def sqlite_type(column: Column) -> str:
    if column.array or column.kind == "e" or column.type in TEXTUAL:
        return "TEXT"
    if column.type in INTEGERS:
        return {"int2": "SMALLINT", "int4": "INTEGER", "int8": "BIGINT"}[column.type]
    simple = {
        "bool": "BOOLEAN",
        "bytea": "BLOB",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
        "timestamptz": "TIMESTAMP",
        "float4": "REAL",
        "float8": "REAL",
        "time": "TIME",
    }
    if column.type in simple:
        return simple[column.type]
    if column.type == "varchar":
        return f"VARCHAR({column.length})" if column.length else "VARCHAR"
    if column.type == "bpchar":
        return f"CHAR({column.length or 1})"
    if column.type == "numeric":
        if column.precision is None:
            return "NUMERIC"
        return f"DECIMAL({column.precision},{column.scale or 0})"
    raise ValueError(f"{column.name}: type {column.type} is not handled")


def quote_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def portable_default(column: Column) -> str | None:
    """The default a migration keeps: a literal or the current time; else none."""
    default = column.default
    if default is None or "nextval(" in default:
        return None
    if default in ("now()", "CURRENT_TIMESTAMP"):
        return "CURRENT_TIMESTAMP"
    if default in ("true", "false"):
        return "1" if default == "true" else "0"
    if re.fullmatch(r"-?\d+(\.\d+)?", default):
        return default
    match = re.fullmatch(r"'((?:[^']|'')*)'::[\w ]+", default)
    if match and column.type != "date":
        return quote_string(match.group(1).replace("''", "'"))
    return None


# ------------------------------------------------------------------------------ MariaDB


def bq(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def mysql_ddl(table: Table, tables: dict[str, Table]) -> str:
    """InnoDB wants a foreign key's columns of the parent's type: a smallint child of an
    int key (dvdrental's ``address_id``) takes the parent's type, as sakila has it."""
    lines = []
    widened: dict[str, str] = {}
    for fk in table.foreign_keys:
        parent = {c.name: c for c in tables[fk.parent].columns}
        for child, key in zip(fk.columns, fk.parent_columns, strict=True):
            widened[child] = mysql_type(parent[key])
    blobs = {c.name for c in table.columns if mysql_type(c).endswith(("TEXT", "BLOB"))}
    for column in table.columns:
        parts = [bq(column.name), widened.get(column.name) or mysql_type(column)]
        if column.not_null:
            parts.append("NOT NULL")
        if column.name == table.serial:
            parts.append("AUTO_INCREMENT")
        default = portable_default(column)
        if default is not None and column.name not in blobs:
            if default == "CURRENT_TIMESTAMP" and column.type not in ("timestamp", "timestamptz"):
                default = None
            if default is not None:
                parts.append(f"DEFAULT {default}")
        lines.append(" ".join(parts))
    if table.primary_key:
        lines.append(f"PRIMARY KEY ({', '.join(map(bq, table.primary_key))})")
    for name, cols in table.unique:
        if not blobs & set(cols):
            lines.append(f"UNIQUE KEY {bq(name)} ({', '.join(map(bq, cols))})")
    for name, cols in table.indexes:
        if not blobs & set(cols):
            lines.append(f"KEY {bq(name)} ({', '.join(map(bq, cols))})")
    not_null = {c.name for c in table.columns if c.not_null}
    for fk in table.foreign_keys:
        # PostgreSQL accepts ON DELETE SET NULL on a NOT NULL column (the delete fails
        # then); InnoDB refuses the table: RESTRICT is what it does in effect
        on_delete = (
            "RESTRICT"
            if fk.on_delete == "SET NULL" and not_null & set(fk.columns)
            else fk.on_delete
        )
        lines.append(
            f"CONSTRAINT {bq(fk.name)} FOREIGN KEY ({', '.join(map(bq, fk.columns))})"
            f" REFERENCES {bq(fk.parent)} ({', '.join(map(bq, fk.parent_columns))})"
            f" ON UPDATE {fk.on_update} ON DELETE {on_delete}"
        )
    options = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    if table.serial and table.next_value:
        options += f" AUTO_INCREMENT={table.next_value}"
    body = ",\n  ".join(lines)
    return f"CREATE TABLE {bq(table.name)} (\n  {body}\n){options}"


def to_mysql(source: psycopg.Connection[Any], target: Any, schema: str = "public") -> int:
    """Copy ``schema`` into the PyMySQL connection's current (empty) database; rows copied."""
    tables = read_catalog(source, schema)
    by_name = {t.name: t for t in tables}
    copied = 0
    with target.cursor() as cur:
        cur.execute("SET SESSION FOREIGN_KEY_CHECKS = 0, SESSION sql_mode = 'STRICT_ALL_TABLES'")
        for table in tables:
            cur.execute(mysql_ddl(table, by_name))
        for table in tables:
            insert = "INSERT INTO {} ({}) VALUES ({})".format(
                bq(table.name),
                ", ".join(bq(c.name) for c in table.columns),
                ", ".join(["%s"] * len(table.columns)),
            )
            batch: list[list[Any]] = []
            for row in read_rows(source, table, schema):
                batch.append(row)
                if len(batch) == 2000:
                    cur.executemany(insert, batch)
                    copied, batch = copied + len(batch), []
            if batch:
                cur.executemany(insert, batch)
                copied += len(batch)
        cur.execute("SET SESSION FOREIGN_KEY_CHECKS = 1")
    target.commit()
    return copied


# ------------------------------------------------------------------------------ SQLite


def dq(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sqlite_ddl(table: Table) -> list[str]:
    lines = []
    rowid = (
        table.serial
        if table.primary_key == [table.serial]
        and any(c.name == table.serial and c.type in INTEGERS for c in table.columns)
        else None
    )
    for column in table.columns:
        if column.name == rowid:
            lines.append(f"{dq(column.name)} INTEGER PRIMARY KEY")
            continue
        parts = [dq(column.name), sqlite_type(column)]
        if column.not_null:
            parts.append("NOT NULL")
        default = portable_default(column)
        if default is not None:
            parts.append(f"DEFAULT {default}")
        lines.append(" ".join(parts))
    if table.primary_key and rowid is None:
        lines.append(f"PRIMARY KEY ({', '.join(map(dq, table.primary_key))})")
    for fk in table.foreign_keys:
        lines.append(
            f"FOREIGN KEY ({', '.join(map(dq, fk.columns))})"
            f" REFERENCES {dq(fk.parent)} ({', '.join(map(dq, fk.parent_columns))})"
            f" ON UPDATE {fk.on_update} ON DELETE {fk.on_delete}"
        )
    body = ",\n  ".join(lines)
    statements = [f"CREATE TABLE {dq(table.name)} (\n  {body}\n)"]
    for kind, indexes in (("UNIQUE INDEX", table.unique), ("INDEX", table.indexes)):
        for name, cols in indexes:
            statements.append(
                f"CREATE {kind} {dq(name)} ON {dq(table.name)} ({', '.join(map(dq, cols))})"
            )
    return statements


def to_sqlite(source: psycopg.Connection[Any], path: Path, schema: str = "public") -> int:
    """Copy ``schema`` into a new SQLite file; rows copied."""
    tables = read_catalog(source, schema)
    copied = 0
    target = sqlite3.connect(path)
    try:
        with target:
            for table in tables:
                for statement in sqlite_ddl(table):
                    target.execute(statement)
            for table in tables:
                insert = "INSERT INTO {} ({}) VALUES ({})".format(
                    dq(table.name),
                    ", ".join(dq(c.name) for c in table.columns),
                    ", ".join(["?"] * len(table.columns)),
                )
                rows = list(read_rows(source, table, schema))
                target.executemany(insert, rows)
                copied += len(rows)
    finally:
        target.close()
    return copied
