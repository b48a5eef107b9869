"""A rule's SQL on SQLite can only read, by construction: SQLite's own authorizer judges
what the text compiled to, after sqlglot's allowlist and independently of it.

The raw-text tests go past sqlglot on purpose (``_run_user_query``), so each refusal
shown here is the authorizer's alone; the CLI tests show what a rules author sees.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from restoregate.cli import cli
from restoregate.engines.base import UserQuery
from restoregate.engines.sqlite.engine import open_engine
from restoregate.errors import CheckFailedToRun
from restoregate.settings import SessionSettings

limits = pytest.mark.skipif(
    not hasattr(sqlite3.Connection, "setlimit"), reason="Connection.setlimit is Python 3.11+"
)
SCHEMA = """
CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
CREATE TABLE journals (id INTEGER PRIMARY KEY, user_id INTEGER, title TEXT);
INSERT INTO accounts (email) VALUES ('a@x'), ('b@x');
INSERT INTO journals (user_id, title) VALUES (1, 't'), (2, 'u'), (9, 'orphan');
"""


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA)
    conn.close()
    return path


def dsn(path: Path) -> str:
    return f"sqlite:///{path}"


def raw(path: Path, query: str, **settings: Any) -> Any:
    """The rule's text as SQLite gets it, with no sqlglot in front."""
    with open_engine(dsn(path), SessionSettings(**settings)) as engine:
        return engine._run_user_query(query, UserQuery(query, 10, ("main",)))


def refused(path: Path, query: str, **settings: Any) -> str:
    with pytest.raises(CheckFailedToRun) as caught:
        raw(path, query, **settings)
    return caught.value.args[0]


def test_reading_needs_nothing_more(db):
    found = raw(
        db,
        "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 3)"
        " SELECT j.id, lower(a.email), coalesce(j.title, '-'), strftime('%Y', 'now'),"
        " (SELECT count(*) FROM g), json_extract('{\"a\": 1}', '$.a')"
        " FROM journals AS j LEFT JOIN accounts AS a ON a.id = j.user_id WHERE a.id IS NULL",
    )
    assert found.count == 1 and found.sample[0][0] == 3
    # the schema pragmas as table-valued functions are reads
    columns = raw(db, "SELECT name FROM pragma_table_info('journals') ORDER BY cid")
    assert [r[0] for r in columns.sample] == ["id", "user_id", "title"]
    assert raw(db, "SELECT count(*) FROM json_each('[1, 2]')").sample == [(2,)]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("SELECT load_extension('/tmp/evil.so')", "function load_extension()"),
        ("SELECT fts3_tokenizer('simple')", "function fts3_tokenizer()"),
        ("SELECT sqlite_compileoption_get(0)", "function sqlite_compileoption_get()"),
        ("SELECT \"load_extension\"('x')", "function load_extension()"),
        ("SELECT LOAD_EXTENSION('x')", "function load_extension()"),
        ("SELECT [load_extension]('x')", "function load_extension()"),
        ("SELECT `load_extension`('x')", "function load_extension()"),
        ("SELECT changes()", "function changes()"),
        ("SELECT * FROM pragma_query_only", "pragma query_only"),
        ("SELECT * FROM pragma_writable_schema", "pragma writable_schema"),
        ("SELECT * FROM pragma_function_list", "pragma function_list"),
        ("SELECT * FROM temp.sqlite_master", "database 'temp'"),
        ("DELETE FROM journals", "delete journals"),
        ("INSERT INTO journals (title) VALUES ('x')", "insert journals"),
        ("CREATE TEMP TABLE t (i)", "sqlite_temp_master"),
        ("CREATE TEMP VIEW v AS SELECT 1", "sqlite_temp_master"),
        ("PRAGMA writable_schema = 1", "pragma writable_schema"),
        ("PRAGMA query_only = 0", "pragma query_only"),
        ("SAVEPOINT s", "savepoint"),
        ("COMMIT", "transaction COMMIT"),
    ],
)
def test_the_authorizer_refuses_anything_but_reading(db, query, named):
    message = _refused_statement(db, query)
    assert "refused by SQLite's authorizer" in message and named in message, message
    assert "\n" not in message


def _refused_statement(path: Path, query: str) -> str:
    """A statement that is not a SELECT cannot be wrapped; run it under the rule policy."""
    with open_engine(dsn(path), SessionSettings()) as engine:
        wrapped = query.upper().startswith("SELECT")
        try:
            if wrapped:
                engine._run_user_query(query, UserQuery(query, 10, ("main",)))
            else:
                engine._user_rows("running the rule's query", query)
        except CheckFailedToRun as exc:
            return str(exc.args[0])
    raise AssertionError(f"{query!r} ran")


@limits
def test_attach_is_impossible(db, tmp_path):
    target = tmp_path / "elsewhere.db"
    message = _refused_statement(db, f"ATTACH '{target}' AS x")
    assert "attach" in message
    with open_engine(dsn(db), SessionSettings()) as engine:
        # even for the engine's own statements, and beneath the authorizer: no slot left
        with pytest.raises(sqlite3.Error):
            engine._conn.execute(f"ATTACH '{target}' AS x")
        engine._conn.set_authorizer(None)
        with pytest.raises(sqlite3.Error, match="too many attached"):
            engine._conn.execute(f"ATTACH '{target}' AS x")
    assert not target.exists()


def test_extension_loading_is_off_in_the_library(db):
    with open_engine(dsn(db), SessionSettings()) as engine:
        engine._conn.set_authorizer(None)  # the library itself, without the authorizer
        with pytest.raises(sqlite3.Error, match="not authorized"):
            engine._conn.execute("SELECT load_extension('/tmp/evil.so')")


@pytest.mark.parametrize("name", ["readfile", "writefile", "edit"])
def test_the_shell_functions_do_not_exist_here(db, name):
    message = refused(db, f"SELECT {name}('/etc/passwd')")
    assert name in message


def test_the_session_settings(db):
    with open_engine(dsn(db), SessionSettings()) as engine:
        conn = engine._conn
        conn.set_authorizer(None)  # the engine itself reads no such pragma
        assert conn.execute("PRAGMA query_only").fetchone() == (1,)
        assert conn.execute("PRAGMA trusted_schema").fetchone() == (0,)


@limits
@pytest.mark.parametrize(
    "query",
    [
        "SELECT length(randomblob(1000000000))",
        "SELECT length(zeroblob(200000000))",
        "SELECT length(hex(zeroblob(40000000)))",
        "WITH RECURSIVE g(n, s) AS (SELECT 1, 'x' UNION ALL SELECT n + 1, s || s FROM g"
        " WHERE n < 64) SELECT max(length(s)) FROM g",
    ],
)
def test_huge_values_are_bounded(db, query):
    message = refused(db, query)
    assert "too big" in message, message


@limits
def test_printf_past_the_bound_gives_null(db):
    assert raw(db, "SELECT length(printf('%.*c', 100000000, 'x'))").sample == [(None,)]


def test_a_runaway_recursive_query_is_stopped(db):
    message = refused(
        db,
        "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g) SELECT max(n) FROM g",
        statement_timeout="200ms",
    )
    assert "statement timeout (200ms)" in message


@limits
def test_the_value_bound_is_lifted_after_the_rule(db):
    with open_engine(dsn(db), SessionSettings()) as engine:
        engine._run_user_query("SELECT 1", UserQuery("SELECT 1", 1, ("main",)))
        assert engine._conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH) > 64 * 1024 * 1024
        assert engine._authorizer.user is False


def check(path: Path, tmp: Path, rules: str) -> Any:
    (tmp / "rules.yaml").write_text(rules)
    options = ["check", "--dsn", dsn(path), "--rules", str(tmp / "rules.yaml")]
    return CliRunner().invoke(cli, options, catch_exceptions=False)


def test_a_view_that_calls_a_refused_function_is_refused(db, tmp_path):
    """sqlglot sees only ``SELECT * FROM v``; SQLite compiles the view and refuses it."""
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE VIEW v AS SELECT id, sqlite_compileoption_get(0) AS x FROM accounts")
    conn.close()
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    result = check(
        db,
        tmp_path,
        "version: 1\nrules:\n  - id: via-view\n    check: sql\n    sql: SELECT * FROM v\n",
    )
    assert result.exit_code == 3, result.output
    shown = " ".join(result.output.split())
    assert "function sqlite_compileoption_get() is not one of SQLite's" in shown
    assert "Traceback" not in result.output
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_rules_that_read_pass_and_sqlglot_still_refuses_first(db, tmp_path):
    good = (
        "version: 1\nrules:\n  - id: orphans\n    check: sql\n    sql: >-\n"
        "      SELECT j.id FROM journals AS j WHERE NOT EXISTS"
        " (SELECT 1 FROM accounts AS a WHERE a.id = j.user_id) AND j.title <> 'orphan'\n"
    )
    assert check(db, tmp_path, good).exit_code == 0
    bad = good.replace("j.title <> 'orphan'", "load_extension('x') IS NULL")
    result = check(db, tmp_path, bad)
    assert result.exit_code == 2 and "load_extension() is not allowed on SQLite" in result.output
