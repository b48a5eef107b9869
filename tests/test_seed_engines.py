"""The seed incident, caught with no configuration on SQLite and MariaDB as on PostgreSQL.

No rules file: the built-in defaults must find the logical reference ``user_id`` ->
``accounts`` by themselves, count its 106 orphans exactly (journals hold user ids up to
306, accounts only 1..200), see that every one is reassignable, and call the evidence
strong because the orphans begin right where the parent's counter (the rowid, the
AUTO_INCREMENT counter) hands out next. Restores are built the way they happen: SQLite
tables copied from two days' ``.backup`` copies as ``.dump`` text; MariaDB tables dumped
with mariadb-dump from two days and loaded back with the client.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from restoregate.cli import cli
from restoregate.engines import portable_sql
from restoregate.engines.base import ReferenceSample, SampleProbe
from restoregate.engines.sqlite.engine import open_engine as open_sqlite
from restoregate.names import ColumnSet, QualifiedName
from restoregate.settings import SessionSettings
from tests.mysqltest import admin, databases, server_answers

# (accounts columns, journals columns): the brief's minimal schema and the demo's names
SCHEMAS = {
    "minimal": ("name {text}", "body {text}"),
    "demo": (
        "email {varchar} NOT NULL UNIQUE, created_at {timestamp} NOT NULL",
        "title {varchar} NOT NULL, body {text} NOT NULL",
    ),
}
SQLITE_TYPES = {"text": "TEXT", "varchar": "TEXT", "timestamp": "TEXT"}
MYSQL_TYPES = {"text": "text", "varchar": "varchar(100)", "timestamp": "datetime"}


def _values(schema: str, which: str, n: str) -> str:
    """SQL expressions for the non-key columns, in terms of the integer ``n``."""
    if which == "accounts":
        if schema == "minimal":
            return f"'user' || {n}"
        return f"'user' || {n} || '@example.com', '2026-11-30 06:00:00'"
    return "'private thoughts'" if schema == "minimal" else "'Day 1', 'private thoughts'"


def _columns(schema: str, which: str) -> str:
    spec = SCHEMAS[schema][0 if which == "accounts" else 1]
    return ", ".join(part.split()[0] for part in spec.split(", "))


def check(dsn: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["check", "--dsn", dsn, "--format", "json"])
    assert result.stdout, result.output
    return result.exit_code, dict(json.loads(result.stdout))


def rule(found: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(r for r in found["rules"] if r["id"] == rule_id)


def assert_seed_caught(code: int, found: dict[str, Any], counter: str, schema: str) -> None:
    assert code == 1, found
    suspected = rule(found, "suspected-references")
    assert suspected["status"] == "fail"
    [orphans] = suspected["violations"]
    assert orphans["reference"] == f"{schema}.journals(user_id) -> {schema}.accounts(id)"
    assert (orphans["orphans"], orphans["reassignable"]) == (106, 106)
    assert orphans["strength"] == "strong"
    assert orphans["parent_sequence"] == counter
    assert orphans["strong_because"].startswith(f"the orphans begin at 201, right where {counter}")
    assert orphans["sample"][:2] == [[201], [202]]
    [behind] = rule(found, "sequences")["violations"]
    assert (behind["next_value"], behind["max_value"]) == (201, 306)
    assert behind["sequence"] == counter
    assert behind["max_source"] == f"{schema}.journals.user_id"


def assert_clean(code: int, found: dict[str, Any]) -> None:
    assert code == 0, found
    assert rule(found, "suspected-references")["violations"] == []
    assert all(r["status"] == "pass" for r in found["rules"]), found["rules"]


# ----- SQLite ----------------------------------------------------------------------------


def _sqlite_schema(schema: str, extra: str = "") -> str:
    accounts, journals = (s.format(**SQLITE_TYPES) for s in SCHEMAS[schema])
    return (
        f"CREATE TABLE accounts (id INTEGER PRIMARY KEY, {accounts});\n"
        f"CREATE TABLE journals (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL{extra},"
        f" {journals});\n"
    )


def _sqlite_rows(schema: str, low: int, high: int, codes: bool = False) -> str:
    mood_col, mood = (", mood_id", ", 1 + id % 5") if codes else ("", "")
    return (
        f"WITH RECURSIVE g(n) AS (SELECT {low} UNION ALL SELECT n + 1 FROM g WHERE n < {high})"
        f" INSERT INTO accounts (id, {_columns(schema, 'accounts')})"
        f" SELECT n, {_values(schema, 'accounts', 'n')} FROM g;\n"
        f"INSERT INTO journals (user_id{mood_col}, {_columns(schema, 'journals')})"
        f" SELECT id{mood}, {_values(schema, 'journals', 'id')}"
        f" FROM accounts WHERE id BETWEEN {low} AND {high};\n"
    )


def _execute(path: Path, script: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.executescript(script)
    conn.close()


def _backup(source: Path, target: Path) -> None:
    """The nightly ``.backup``."""
    with sqlite3.connect(source) as conn, sqlite3.connect(target) as copy:
        conn.backup(copy)
    conn.close()
    copy.close()


def _dump(path: Path, table: str) -> str:
    """One table of a file as ``.dump`` writes it."""
    with sqlite3.connect(path) as conn:
        lines = [
            s + "\n"
            for s in conn.iterdump()
            if s.startswith((f"CREATE TABLE {table} ", f'INSERT INTO "{table}"'))
        ]
    conn.close()
    return "".join(lines)


def sqlite_restore(tmp: Path, schema: str, seed: bool, codes: bool = False) -> Path:
    """Monday's backup and Tuesday's; the seed takes accounts from Monday, journals from
    Tuesday (a restore from two places); a clean restore takes both from Tuesday."""
    live = tmp / "live.db"
    extra = ", mood_id INTEGER NOT NULL" if codes else ""
    _execute(live, _sqlite_schema(schema, extra) + _sqlite_rows(schema, 1, 200, codes))
    monday, tuesday = tmp / "monday.db", tmp / "tuesday.db"
    _backup(live, monday)
    _execute(live, _sqlite_rows(schema, 201, 306, codes))
    _backup(live, tuesday)
    restored = tmp / "restored.db"
    _execute(restored, _dump(monday if seed else tuesday, "accounts") + _dump(tuesday, "journals"))
    return restored


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("schema", sorted(SCHEMAS))
def test_sqlite_seed_is_caught_with_no_rules_file(tmp_path, schema):
    restored = sqlite_restore(tmp_path, schema, seed=True)
    before = sha256(restored)
    code, found = check(f"sqlite:///{restored}")
    counter = "the rowid counter of main.accounts (max(rowid) + 1)"
    assert_seed_caught(code, found, counter, "main")
    assert found["database"]["engine"] == "sqlite"
    assert sha256(restored) == before


def test_sqlite_autoincrement_seed_names_sqlite_sequence(tmp_path):
    """AUTOINCREMENT: the counter is max(sqlite_sequence, max(rowid)) + 1, restored with
    the older accounts."""
    restored = sqlite_restore(tmp_path, "minimal", seed=True)
    text = _dump(restored, "accounts").replace(
        "id INTEGER PRIMARY KEY", "id INTEGER PRIMARY KEY AUTOINCREMENT"
    )
    journals = _dump(restored, "journals")
    auto = tmp_path / "auto.db"
    _execute(auto, text + journals)
    counter = "the AUTOINCREMENT counter of main.accounts (sqlite_sequence)"
    code, found = check(f"sqlite:///{auto}")
    assert_seed_caught(code, found, counter, "main")


@pytest.mark.parametrize("schema", sorted(SCHEMAS))
def test_sqlite_clean_restore_passes_with_no_rules_file(tmp_path, schema):
    restored = sqlite_restore(tmp_path, schema, seed=False)
    assert_clean(*check(f"sqlite:///{restored}"))


def test_sqlite_small_codes_are_no_suspect(tmp_path):
    """mood_id holds 1..5 and no table is named after it: a handful of small codes
    matches any dense key range, so the data alone must not propose accounts."""
    restored = sqlite_restore(tmp_path, "minimal", seed=False, codes=True)
    assert_clean(*check(f"sqlite:///{restored}"))


def test_sqlite_samples_once_per_table_spread_over_its_keys(tmp_path):
    """One statement per table, bounded, the same rows for the same seed, reaching new keys."""
    path = tmp_path / "big.db"
    _execute(
        path,
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY);"
        "CREATE TABLE journals (id INTEGER PRIMARY KEY, user_id INTEGER, other_id INTEGER);"
        "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 100)"
        " INSERT INTO accounts SELECT n FROM g;"
        "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 50000)"
        " INSERT INTO journals SELECT n, CASE WHEN n <= 25000 THEN 1 + n % 100 END, n FROM g;",
    )
    accounts = ColumnSet(QualifiedName("main", "accounts"), ("id",))
    probes = (SampleProbe("user_id", (accounts,)), SampleProbe("other_id", (accounts,)))
    table = QualifiedName("main", "journals")
    sent: list[str] = []
    with open_sqlite(f"sqlite:///{path}", SessionSettings()) as engine:
        engine.catalog()
        engine._conn.set_trace_callback(sent.append)  # counts statements; the file is real
        first = engine.answer_one(ReferenceSample(table, probes, 2000, 1))
        again = engine.answer_one(ReferenceSample(table, probes, 2000, 1))
        engine._conn.set_trace_callback(None)
    assert len(sent) == 2
    assert first == again
    assert portable_sql.SLICES * (2000 // portable_sql.SLICES) <= first.rows <= 2000
    # the second half of the keys has no user_id: a sample of the first 2000 rows would
    # see only user_ids; the slices see both halves
    assert 0 < first.columns["user_id"].values < first.rows
    assert first.columns["other_id"].matched[0] < first.columns["other_id"].values
    assert first.columns["user_id"].matched == (first.columns["user_id"].values,)


# ----- MariaDB / MySQL -------------------------------------------------------------------

needs_mysql = pytest.mark.skipif(not server_answers(), reason="no MySQL/MariaDB server answers")


def _mysql_schema(schema: str, extra: str = "") -> str:
    accounts, journals = (s.format(**MYSQL_TYPES) for s in SCHEMAS[schema])
    return (
        f"CREATE TABLE accounts (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, {accounts});\n"
        "CREATE TABLE journals (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,"
        f" user_id int NOT NULL{extra}, {journals});\n"
    )


def _mysql_rows(schema: str, low: int, high: int, codes: bool = False) -> str:
    """Explicit account ids: the counter is then max(id) + 1, as after row-by-row signups."""
    if schema == "minimal":
        accounts = "CONCAT('user', n)"
    else:
        accounts = "CONCAT('user', n, '@example.com'), '2026-11-30 06:00:00'"
    mood_col, mood = (", mood_id", ", 1 + a.id % 5") if codes else ("", "")
    journals = _values(schema, "journals", "a.id")
    return (
        f"INSERT INTO accounts (id, {_columns(schema, 'accounts')})"
        f" WITH RECURSIVE g(n) AS (SELECT {low} UNION ALL SELECT n + 1 FROM g WHERE n < {high})"
        f" SELECT n, {accounts} FROM g;\n"
        f"INSERT INTO journals (user_id{mood_col}, {_columns(schema, 'journals')})"
        f" SELECT a.id{mood}, {journals} FROM accounts AS a WHERE a.id BETWEEN {low} AND {high};\n"
    )


@pytest.fixture
def new_mydb():
    yield from databases(admin())


def mysql_restore(new_mydb: Any, tmp: Path, schema: str, seed: bool, codes: bool = False) -> Any:
    """mariadb-dump on Monday and on Tuesday; the seed loads Monday's accounts and
    Tuesday's journals into a fresh database, a clean restore Tuesday's whole dump."""
    live = new_mydb()
    extra = ", mood_id int NOT NULL" if codes else ""
    live.execute(_mysql_schema(schema, extra) + _mysql_rows(schema, 1, 200, codes))
    monday, tuesday = tmp / "monday.sql", tmp / "tuesday.sql"
    live.dump(monday, tables=["accounts"])
    live.execute(_mysql_rows(schema, 201, 306, codes))
    if seed:
        live.dump(tuesday, tables=["journals"])
    else:
        live.dump(tuesday)
    restored = new_mydb()
    if seed:
        restored.load(monday)
    restored.load(tuesday)
    return restored


@needs_mysql
@pytest.mark.parametrize("schema", sorted(SCHEMAS))
def test_mariadb_seed_is_caught_with_no_rules_file(new_mydb, tmp_path, schema):
    db = mysql_restore(new_mydb, tmp_path, schema, seed=True)
    before = db.fingerprint()
    code, found = check(db.dsn)
    counter = f"the AUTO_INCREMENT counter of {db.name}.accounts"
    assert_seed_caught(code, found, counter, db.name)
    assert found["database"]["engine"] in ("mariadb", "mysql")
    assert db.fingerprint() == before


@needs_mysql
@pytest.mark.parametrize("schema", sorted(SCHEMAS))
def test_mariadb_clean_restore_passes_with_no_rules_file(new_mydb, tmp_path, schema):
    db = mysql_restore(new_mydb, tmp_path, schema, seed=False)
    assert_clean(*check(db.dsn))


@needs_mysql
def test_mariadb_small_codes_are_no_suspect(new_mydb, tmp_path):
    db = mysql_restore(new_mydb, tmp_path, "minimal", seed=False, codes=True)
    assert_clean(*check(db.dsn))


@needs_mysql
def test_mariadb_samples_once_per_table_spread_over_its_keys(new_mydb, monkeypatch):
    """One statement per table, bounded, the same rows for the same seed, reaching new keys."""
    import pymysql.cursors

    from restoregate.engines.mysql.engine import open_engine as open_mysql

    db = new_mydb()
    db.execute(
        "CREATE TABLE digits (d int NOT NULL PRIMARY KEY);"
        "INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9);"
        "CREATE TABLE accounts (id int NOT NULL PRIMARY KEY);"
        "INSERT INTO accounts SELECT 1 + a.d + 10 * b.d FROM digits AS a, digits AS b;"
        "CREATE TABLE journals (id int NOT NULL PRIMARY KEY, user_id int, other_id int);"
        "INSERT INTO journals SELECT n, CASE WHEN n <= 5000 THEN 1 + n % 100 END, n FROM"
        " (SELECT 1 + a.d + 10 * b.d + 100 * c.d + 1000 * e.d AS n"
        "  FROM digits AS a, digits AS b, digits AS c, digits AS e) AS g;"
    )
    accounts = ColumnSet(QualifiedName(db.name, "accounts"), ("id",))
    probes = (SampleProbe("user_id", (accounts,)), SampleProbe("other_id", (accounts,)))
    request = ReferenceSample(QualifiedName(db.name, "journals"), probes, 400, 1)
    sent: list[str] = []
    original = pymysql.cursors.Cursor.execute

    def counted(self, query, args=None):  # the server is real; this only counts
        sent.append(query)
        return original(self, query, args)

    with open_mysql(db.dsn, SessionSettings()) as engine:
        engine.catalog()
        monkeypatch.setattr(pymysql.cursors.Cursor, "execute", counted)
        first = engine.answer_one(request)
        again = engine.answer_one(request)
        monkeypatch.setattr(pymysql.cursors.Cursor, "execute", original)
    assert len(sent) == 2
    assert first == again
    assert portable_sql.SLICES * (400 // portable_sql.SLICES) <= first.rows <= 400
    assert 0 < first.columns["user_id"].values < first.rows
    assert first.columns["user_id"].matched == (first.columns["user_id"].values,)
    assert first.columns["other_id"].matched[0] < first.columns["other_id"].values


def test_sqlite_a_small_table_is_sampled_whole_whatever_its_keys(tmp_path):
    """500 rows with one far-away key: slices of the key range would see a quarter of
    them; a table within the sample size is read whole."""
    path = tmp_path / "sparse.db"
    _execute(
        path,
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY);"
        "CREATE TABLE journals (id INTEGER PRIMARY KEY, user_id INTEGER);"
        "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 499)"
        " INSERT INTO journals SELECT n, n FROM g;"
        "INSERT INTO journals VALUES (4611686018427387904, 1);",
    )
    accounts = ColumnSet(QualifiedName("main", "accounts"), ("id",))
    request = ReferenceSample(
        QualifiedName("main", "journals"), (SampleProbe("user_id", (accounts,)),), 2000, 1
    )
    with open_sqlite(f"sqlite:///{path}", SessionSettings()) as engine:
        engine.catalog()
        small = engine.answer_one(request)
        sliced = engine.answer_one(ReferenceSample(request.table, request.probes, 400, 1))
    assert small.rows == 500
    assert small.columns["user_id"].distinct == 499
    assert sliced.rows < 400  # bigger than the sample: slices, bounded


@needs_mysql
def test_mariadb_bulk_loaded_counter_inside_the_orphans_still_closes_the_gate(new_mydb, tmp_path):
    """InnoDB reserves AUTO_INCREMENT keys in blocks for INSERT ... SELECT: Monday's 200
    accounts leave the counter at 256, not 201. Orphans 201-255 can no longer be
    adopted, 256-306 can: the evidence is the counter standing inside the orphans."""
    live = new_mydb()
    live.execute(
        _mysql_schema("minimal")
        + "INSERT INTO accounts (name) WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL"
        " SELECT n + 1 FROM g WHERE n < 200) SELECT CONCAT('user', n) FROM g;\n"
    )
    monday = tmp_path / "monday.sql"
    live.dump(monday, tables=["accounts"])
    tuesday_signups = _mysql_rows("minimal", 201, 306).split(";\n", 1)[0]
    live.execute(
        f"{tuesday_signups};\nINSERT INTO journals (user_id, body) SELECT id, 'x' FROM accounts;"
    )
    tuesday = tmp_path / "tuesday.sql"
    live.dump(tuesday, tables=["journals"])
    db = new_mydb()
    db.load(monday)
    db.load(tuesday)
    code, found = check(db.dsn)
    [orphans] = rule(found, "suspected-references")["violations"]
    counter = orphans["parent_sequence"]
    assert orphans["orphans"] == 106 and 0 < orphans["reassignable"] < 106, orphans
    assert orphans["strength"] == "strong"
    assert "inside the orphans' range 201..306" in orphans["strong_because"]
    assert counter == f"the AUTO_INCREMENT counter of {db.name}.accounts"
    assert code == 1
