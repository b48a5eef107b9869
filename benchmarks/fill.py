"""Fill a schema-only PostgreSQL database with modest data its references agree with.

An evaluation helper for schema-only samples (danbooru's ``structure.sql``): every table
gets ``rows`` rows (ids 1..rows from its own sequence), and every column that refers to
another table — a declared foreign key, or by the naming conventions the schema uses
(``user_id`` → ``users``, ``creator_id`` → ``users``, ``parent_id`` → its own table) —
holds keys that exist there, spread by a permutation so that pairs under a unique index
never collide. Other columns get plain values of their type. The data is loaded with
``session_replication_role = replica`` (FK triggers off), as ``pg_restore
--disable-triggers`` would, because table order does not matter then; the references
hold by construction. Tables whose constraints refuse the generated rows stay empty and
are reported.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

# who acted -> the table of people (Rails apps)
PEOPLE = ("creator", "updater", "approver", "uploader", "banner", "reporter", "moderator",
          "reviewer", "owner", "voter", "inviter", "invitee", "sender", "receiver", "from",
          "to", "promoter", "blocker", "forwarder", "editor", "deleter")  # fmt: skip

COLUMNS = """
SELECT c.oid, c.relname, a.attname, a.atttypid::regtype::text, t.typtype, t.typcategory,
       a.attnotnull, a.atthasdef, a.attidentity <> '' OR a.attgenerated <> '',
       (SELECT min(e.enumlabel) FROM pg_enum e WHERE e.enumtypid = a.atttypid),
       information_schema._pg_char_max_length(a.atttypid, a.atttypmod)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname, a.attnum
"""

FKS = """
SELECT c.relname, a.attname, p.relname, pa.attname
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = k.confkey[1]
WHERE n.nspname = %s AND k.contype = 'f' AND cardinality(k.conkey) = 1
"""


@dataclass
class Filled:
    rows: dict[str, int]  # table -> rows loaded
    refused: dict[str, str]  # table -> the error that kept it empty
    references: dict[tuple[str, str], str]  # (table, column) -> the parent it was filled from

    def references_of(self, table: str) -> list[str]:
        return [p for (t, _), p in self.references.items() if t == table]


def plural(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def parent_of(table: str, column: str, tables: set[str]) -> str | None:
    """The table a column is named after, by Rails' conventions; None when none is."""
    if not column.endswith("_id") or column == "id":
        return None
    stem = column[:-3]
    if stem in ("parent", "root") or stem.startswith("parent_"):
        return table
    for candidate in (plural(stem), stem):
        if candidate in tables:
            return candidate
    words = stem.split("_")
    for i in range(1, len(words)):  # a role before the table: forum_topic_id, new_post_id
        for candidate in (plural("_".join(words[i:])), "_".join(words[i:])):
            if candidate in tables:
                return candidate
    if words[-1] in PEOPLE and "users" in tables:
        return "users"
    return None


def size(table: str, rows: int) -> int:
    """Rows of a table: from ``rows`` to 4 x ``rows``, by its name (the same every run), so
    that the data alone can tell parents apart."""
    return rows + zlib.crc32(table.encode()) % (3 * rows + 1)


def value(
    where: str, typ: str, typtype: str, category: str, label: str | None, length: int | None
) -> sql.Composable:
    """A plain value of the type for row ``g``, distinct per row where that is cheap; text
    and uuids carry their column's name, so two unrelated columns never share values."""
    g_ = sql.SQL("g")
    name = where
    if typtype == "e":
        return sql.SQL("{}::{}").format(sql.Literal(label), sql.SQL(typ))
    if category == "A":
        return sql.SQL("'{{}}'::{}").format(sql.SQL(typ))
    if typ in ("smallint", "integer", "bigint", "numeric", "real", "double precision"):
        return sql.SQL("({} % 97)").format(g_)
    if typ == "boolean":
        return sql.SQL("({} % 2 = 0)").format(g_)
    if typ.startswith("timestamp") or typ == "date":
        return sql.SQL("(timestamp '2026-11-30 06:00' - {} * interval '1 hour')::{}").format(
            g_, sql.SQL(typ)
        )
    if typ in ("json", "jsonb"):
        return sql.SQL("'{{}}'::{}").format(sql.SQL(typ))
    if typ == "inet":
        return sql.SQL("('10.0.0.0'::inet + {})").format(g_)
    if typ == "uuid":
        return sql.SQL("md5({} || {})::uuid").format(sql.Literal(name), g_)
    if typ == "tsvector":
        return sql.SQL("to_tsvector('simple', 'word' || {})").format(g_)
    if typ == "interval":
        return sql.SQL("({} * interval '1 minute')").format(g_)
    if typ == "bytea":
        return sql.SQL("decode(md5({}::text), 'hex')").format(g_)
    text = sql.SQL("({} || '_' || {})").format(sql.Literal(name), g_)
    if length is not None and length < 24:
        text = sql.SQL("right({}::text, {})").format(g_, sql.Literal(length))
    return sql.SQL("{}::{}").format(text, sql.SQL(typ))


def fill(dsn: str, rows: int = 300, schema: str = "public") -> Filled:
    with psycopg.connect(dsn, autocommit=True) as conn:
        columns: dict[str, list[tuple[Any, ...]]] = {}
        for row in conn.execute(COLUMNS, (schema,)):
            columns.setdefault(row[1], []).append(row)
        declared = {(t, c): (p, pc) for t, c, p, pc in conn.execute(FKS, (schema,))}
        tables = set(columns)
        result = Filled({}, {}, {})
        conn.execute(b"SET session_replication_role = replica")
        for table in sorted(columns):
            count = size(table, rows)
            try:
                _insert(conn, schema, table, columns[table], declared, tables, count, rows, result)
            except psycopg.errors.UniqueViolation:
                # a unique key over references: as many rows as its smallest parent has,
                # so that each reference column is a permutation of the parent's keys
                parents = [size(p, rows) for p in result.references_of(table)]
                smaller = min([count, *parents])
                try:
                    _insert(
                        conn, schema, table, columns[table], declared, tables, smaller, rows, result
                    )
                except psycopg.Error as error:
                    result.refused[table] = str(error).splitlines()[0]
            except psycopg.Error as error:
                result.refused[table] = str(error).splitlines()[0]
        conn.execute(b"RESET session_replication_role")
        conn.execute(b"ANALYZE")
    return result


def _insert(
    conn: psycopg.Connection[Any],
    schema: str,
    table: str,
    columns: list[tuple[Any, ...]],
    declared: dict[tuple[str, str], tuple[str, str]],
    tables: set[str],
    count: int,
    rows: int,
    result: Filled,
) -> None:
    targets, values = [], []
    for n, column in enumerate(columns):
        _, _, name, typ, typtype, category, not_null, has_default, generated, label, length = column
        if generated or (has_default and name == "id"):
            continue
        parent, key = declared.get((table, name)) or (parent_of(table, name, tables), "id")
        if parent and typ in ("smallint", "integer", "bigint", "uuid"):
            keys = size(parent, rows)
            k = next(j for j in range(7 + n, 10**6) if math.gcd(j, keys) == 1)
            result.references[(table, name)] = parent
            expr: sql.Composable = sql.SQL("1 + (g * {} % {})").format(
                sql.Literal(k), sql.Literal(keys)
            )
            if typ == "uuid":  # the parent's uuid of that row: see value()
                expr = sql.SQL("md5({} || {})::uuid").format(sql.Literal(f"{parent}.{key}"), expr)
        elif name == "id" and typ in ("smallint", "integer", "bigint"):
            expr = sql.SQL("g")
        elif has_default and not not_null:
            continue
        else:
            expr = value(f"{table}.{name}", typ, typtype, category, label, length)
        targets.append(sql.Identifier(name))
        values.append(expr)
    insert = sql.SQL("INSERT INTO {}.{} ({}) SELECT {} FROM generate_series(1, {}) AS g")
    statement = insert.format(
        sql.Identifier(schema),
        sql.Identifier(table),
        sql.SQL(", ").join(targets),
        sql.SQL(", ").join(values),
        sql.Literal(count),
    )
    with conn.transaction():
        conn.execute(statement)
    result.rows[table] = count
