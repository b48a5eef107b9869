"""The SQLite engine on real files, built the way restores happen: ``.dump`` scripts,
``.backup`` copies, and tables copied back from backups of different days."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from restoregate import api
from restoregate.cli import cli
from restoregate.settings import SessionSettings

SQLITE = shutil.which("sqlite3")
needs_cli = pytest.mark.skipif(SQLITE is None, reason="the sqlite3 shell is not installed")

SCHEMA = """
CREATE TABLE accounts (id INTEGER PRIMARY KEY{auto}, email TEXT NOT NULL UNIQUE);
CREATE TABLE journals (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title TEXT NOT NULL);
"""
DAY_ONE = """
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 200)
INSERT INTO accounts (email) SELECT 'user' || n || '@example.com' FROM g;
INSERT INTO journals (user_id, title) SELECT id, 'Day 1' FROM accounts;
"""
SIGNUPS = """
WITH RECURSIVE g(n) AS (SELECT 201 UNION ALL SELECT n + 1 FROM g WHERE n < 306)
INSERT INTO accounts (email) SELECT 'user' || n || '@example.com' FROM g;
INSERT INTO journals (user_id, title) SELECT id, 'My first entry' FROM accounts WHERE id > 200;
"""
LOGICAL = """
version: 1
references:
  - from: journals(user_id)
    to: accounts(id)
rules:
  - {id: sequences, check: sequences}
  - {id: references, check: references}
"""


def shell(path: Path, script: str) -> str:
    """The sqlite3 shell, as an operator restores with it."""
    assert SQLITE is not None
    result = subprocess.run([SQLITE, str(path)], input=script, capture_output=True, text=True)
    assert result.returncode == 0 and not result.stderr, result.stderr
    return result.stdout


def execute(path: Path, script: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.executescript(script)
    conn.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check(dsn: str, rules: str | None = None, tmp: Path | None = None, *args: str) -> Any:
    options = ["check", "--dsn", dsn, "--format", "json", *args]
    if rules is not None:
        assert tmp is not None
        (tmp / "rules.yaml").write_text(rules)
        options += ["--rules", str(tmp / "rules.yaml")]
    return CliRunner().invoke(cli, options, catch_exceptions=False)


def doc(result: Any) -> dict[str, Any]:
    assert result.stdout, result.output
    return dict(json.loads(result.stdout))


def rule(found: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(r for r in found["rules"] if r["id"] == rule_id)


def dsn(path: Path) -> str:
    return f"sqlite:///{path}"  # an absolute path: sqlite:////tmp/...


def seed_restore(tmp: Path, auto: str = "") -> Path:
    """Accounts from Monday's backup, journals current: the May 2018 restore, on SQLite."""
    live = tmp / "live.db"
    execute(live, SCHEMA.format(auto=auto) + DAY_ONE)
    monday = tmp / "monday.db"
    shell(live, f".backup {monday}")  # the nightly backup
    execute(live, SIGNUPS)
    accounts = shell(monday, ".dump accounts")
    journals = shell(live, ".dump journals")
    restored = tmp / "restored.db"
    shell(restored, accounts + journals)
    return restored


@needs_cli
def test_a_clean_restore_passes(tmp_path):
    live = tmp_path / "live.db"
    execute(live, SCHEMA.format(auto="") + DAY_ONE + SIGNUPS)
    restored = tmp_path / "restored.db"
    shell(restored, shell(live, ".dump"))
    result = check(dsn(restored), LOGICAL, tmp_path)
    assert result.exit_code == 0, result.stdout
    found = doc(result)
    assert found["database"]["engine"] == "sqlite"
    assert found["database"]["dsn"] == dsn(restored)


@needs_cli
def test_the_seed_fails_with_106_reassignable_orphans(tmp_path):
    restored = seed_restore(tmp_path)
    before = sha256(restored)
    result = check(dsn(restored), LOGICAL, tmp_path)
    assert result.exit_code == 1
    found = doc(result)
    orphans = rule(found, "references")["violations"][0]
    assert (orphans["orphans"], orphans["reassignable"]) == (106, 106)
    assert orphans["sample"][:3] == [[201], [202], [203]]
    assert orphans["parent_sequence"] == "the rowid counter of main.accounts (max(rowid) + 1)"
    behind = rule(found, "sequences")["violations"][0]
    assert (behind["next_value"], behind["max_value"]) == (201, 306)
    assert sha256(restored) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("restored")) == [
        "restored.db"
    ], "no journal or WAL file left behind"


@needs_cli
def test_autoincrement_counter_restored_from_an_older_copy(tmp_path):
    restored = seed_restore(tmp_path, auto=" AUTOINCREMENT")
    assert sqlite3.connect(restored).execute("SELECT seq FROM sqlite_sequence").fetchall() == [
        (200,)
    ]
    found = doc(check(dsn(restored), LOGICAL, tmp_path))
    behind = rule(found, "sequences")["violations"][0]
    assert behind["sequence"] == "the AUTOINCREMENT counter of main.accounts (sqlite_sequence)"
    assert behind["next_value"] == 201
    assert rule(found, "references")["violations"][0]["reassignable"] == 106


def test_autoincrement_remembers_deleted_keys(tmp_path):
    """sqlite_sequence keeps 306 after the top accounts are deleted: nothing is reissued."""
    path = tmp_path / "app.db"
    execute(path, SCHEMA.format(auto=" AUTOINCREMENT") + DAY_ONE + SIGNUPS)
    execute(path, "DELETE FROM accounts WHERE id > 200")
    found = doc(result := check(dsn(path), LOGICAL, tmp_path))
    assert result.exit_code == 1
    orphans = rule(found, "references")["violations"][0]
    assert (orphans["orphans"], orphans["reassignable"]) == (106, 0)
    assert rule(found, "sequences")["status"] == "pass"


@needs_cli
def test_orphans_loaded_with_foreign_keys_off(tmp_path):
    live = tmp_path / "live.db"
    execute(
        live,
        "CREATE TABLE p (id INTEGER PRIMARY KEY);"
        "CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id));"
        "INSERT INTO p VALUES (1), (2); INSERT INTO c (p_id) VALUES (1), (2), (7);",
    )
    script = shell(live, ".dump")
    assert "PRAGMA foreign_keys=OFF;" in script
    restored = tmp_path / "restored.db"
    shell(restored, script)
    found = doc(result := check(dsn(restored)))
    assert result.exit_code == 1
    orphans = rule(found, "references")["violations"][0]
    assert orphans["declared"] is True and orphans["sample"] == [[7]]
    assert orphans["reassignable"] == 1, "7 is above max(rowid) of p: the next insert takes 3..7"


def test_composite_foreign_keys_with_nulls(tmp_path):
    path = tmp_path / "app.db"
    execute(
        path,
        "CREATE TABLE lines (order_id INTEGER, line INTEGER, PRIMARY KEY (order_id, line));"
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, order_id INTEGER, line INTEGER,"
        " FOREIGN KEY (order_id, line) REFERENCES lines (order_id, line));"
        "INSERT INTO lines VALUES (1, 1), (1, 2);"
        "INSERT INTO notes (order_id, line) VALUES (1, 1), (1, NULL), (NULL, 7), (1, 9), (2, 1);",
    )
    found = doc(result := check(dsn(path)))
    assert result.exit_code == 1
    orphans = rule(found, "references")["violations"][0]
    assert orphans["orphans"] == 2
    assert orphans["sample"] == [[1, 9], [2, 1]]


def test_a_missing_file_is_exit_3_and_never_created(tmp_path):
    missing = tmp_path / "nope.db"
    result = check(dsn(missing))
    assert result.exit_code == 3
    assert result.output.strip().count("\n") <= 1 and "no such file" in result.output
    assert not missing.exists()


def test_an_empty_file_is_exit_3_saying_it_is_empty(tmp_path):
    """A restore that wrote nothing leaves 0 bytes, which SQLite would open as an empty
    database: the gate stays shut and says why (the MusicBrainz sample did this)."""
    empty = tmp_path / "restored.db"
    empty.touch()
    result = check(dsn(empty))
    assert result.exit_code == 3
    assert "is empty (0 bytes), not an SQLite database" in result.output
    assert empty.stat().st_size == 0


def test_a_file_that_is_not_sqlite_is_exit_3_in_one_line(tmp_path):
    bogus = tmp_path / "notes.db"
    bogus.write_text("this is a text file\n" * 20)
    before = sha256(bogus)
    result = check(dsn(bogus))
    assert result.exit_code == 3
    assert "is not an SQLite database" in result.output
    assert len(result.output.strip().splitlines()) <= 2  # the line, and maybe a hint
    assert sha256(bogus) == before


def test_an_empty_database_is_exit_2(tmp_path):
    path = tmp_path / "empty.db"
    execute(path, "CREATE TABLE t (i INTEGER); DROP TABLE t;")
    result = check(dsn(path))
    assert result.exit_code == 2
    assert "no tables to judge" in result.output


def test_relative_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    execute(tmp_path / "rel.db", SCHEMA.format(auto="") + DAY_ONE)
    result = check("sqlite:///rel.db")
    assert result.exit_code == 0, result.output


def test_privileges_cannot_run_on_sqlite(tmp_path):
    path = tmp_path / "app.db"
    execute(path, SCHEMA.format(auto="") + DAY_ONE)
    rules = (
        "version: 1\nrules:\n"
        "  - {id: grants, check: privileges, roles: {app: {tables: [SELECT]}}}\n"
    )
    result = check(dsn(path), rules, tmp_path)
    assert result.exit_code == 2
    assert "cannot run on sqlite" in result.output


def test_sql_rules_and_the_authorizer(tmp_path):
    path = tmp_path / "app.db"
    execute(path, SCHEMA.format(auto="") + DAY_ONE)
    good = (
        "version: 1\nrules:\n  - id: titles\n    check: sql\n"
        "    sql: SELECT id FROM journals WHERE length(title) = 0\n"
    )
    assert check(dsn(path), good, tmp_path).exit_code == 0
    bad = good.replace("length(title) = 0", "load_extension('x') IS NULL")
    result = check(dsn(path), bad, tmp_path)
    assert result.exit_code == 2 and "load_extension() is not allowed on SQLite" in result.output
    from restoregate.engines.sqlite.engine import open_engine

    with open_engine(dsn(path), SessionSettings()) as engine:
        for statement in (f"ATTACH '{tmp_path / 'x.db'}' AS x", "SELECT unknown_udf(1)"):
            with pytest.raises(sqlite3.Error):
                engine._conn.execute(statement)
    assert not (tmp_path / "x.db").exists()


def test_unique_not_null_and_freshness(tmp_path):
    path = tmp_path / "app.db"
    execute(
        path,
        "CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT, seen TIMESTAMP);"
        "INSERT INTO people (email, seen) VALUES ('A@x', '2020-01-01 10:00:00'),"
        " ('a@x', '2020-01-02T10:00:00Z'), (NULL, NULL);",
    )
    rules = """
version: 1
rules:
  - {id: emails, check: unique, table: people, columns: [lower(email)]}
  - {id: present, check: not_null, table: people, columns: [email]}
  - {id: fresh, check: freshness, table: people, column: seen, max_age: 7d}
"""
    found = doc(result := check(dsn(path), rules, tmp_path))
    assert result.exit_code == 1
    assert rule(found, "emails")["violations"][0]["groups"] == 1
    assert rule(found, "present")["violations"][0]["rows"] == 1
    assert rule(found, "fresh")["status"] == "fail"


def test_the_statement_timeout_stops_a_query(tmp_path):
    path = tmp_path / "app.db"
    execute(path, SCHEMA.format(auto="") + DAY_ONE)
    slow = (
        "version: 1\nrules:\n  - id: slow\n    check: sql\n    sql: >-\n"
        "      WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g)"
        " SELECT n FROM g WHERE n < 0\n"
    )
    (tmp_path / "slow.yaml").write_text(slow)
    report = api.run_check(
        dsn(path),
        [tmp_path / "slow.yaml"],
        settings=SessionSettings(statement_timeout="300ms"),
    )
    assert report.exit_code == 3
    assert "statement timeout (300ms)" in report.rules[0].message


def test_quick_check_is_a_catalog_item(tmp_path):
    path = tmp_path / "app.db"
    execute(path, SCHEMA.format(auto="") + DAY_ONE)
    rules = "version: 1\nrules:\n  - {id: catalog, check: catalog}\n"
    result = check(dsn(path), rules, tmp_path)
    assert result.exit_code == 0, result.output


def test_the_sqlite_demo_needs_no_server():
    result = CliRunner().invoke(cli, ["demo", "--engine", "sqlite"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "GATE CLOSED" in result.output
    assert "106 orphaned rows, 106 of them reassignable" in result.output


def verify(*args: str) -> Any:
    return CliRunner().invoke(cli, ["verify-dump", *args], catch_exceptions=False)


@needs_cli
def test_verify_dump_judges_an_sqlite_file_as_it_is(tmp_path):
    restored = seed_restore(tmp_path)
    before = sha256(restored)
    (tmp_path / "rules.yaml").write_text(LOGICAL)
    result = verify(str(restored), "--rules", str(tmp_path / "rules.yaml"), "--format", "json")
    assert result.exit_code == 1
    found = doc(result)
    assert rule(found, "restore_errors")["status"] == "pass"
    assert rule(found, "references")["violations"][0]["orphans"] == 106
    assert sha256(restored) == before


@needs_cli
def test_verify_dump_loads_a_dot_dump_script(tmp_path):
    live = tmp_path / "live.db"
    execute(live, SCHEMA.format(auto="") + DAY_ONE)
    script = tmp_path / "app.sql"
    attached = tmp_path / "elsewhere.db"
    script.write_text(
        shell(live, ".dump") + f"ATTACH '{attached}' AS x;\nINSERT INTO nowhere VALUES (1);\n"
    )
    result = verify(str(script), "--format", "json")
    found = doc(result)
    errors = rule(found, "restore_errors")["violations"]
    assert result.exit_code == 1
    assert [e["statement"].split()[0] for e in errors] == ["ATTACH", "INSERT"]
    assert not attached.exists(), "a dump cannot create files"
    assert rule(found, "sequences")["status"] == "pass"
    assert found["database"]["engine"] == "sqlite"


def test_required_extensions_are_a_rules_error_on_sqlite(tmp_path):
    path = tmp_path / "app.db"
    execute(path, SCHEMA.format(auto="") + DAY_ONE)
    rules = "version: 1\nrules:\n  - {id: c, check: catalog, require_extensions: [citext]}\n"
    result = check(dsn(path), rules, tmp_path)
    assert result.exit_code == 2 and "cannot run on sqlite" in result.output


def test_snapshot_and_baseline_on_sqlite(tmp_path):
    source = tmp_path / "source.db"
    execute(source, SCHEMA.format(auto="") + DAY_ONE + SIGNUPS)
    manifest = tmp_path / "m.json"
    runner = CliRunner()
    result = runner.invoke(cli, ["snapshot", "--dsn", dsn(source), "--exact", "-o", str(manifest)])
    assert result.exit_code == 0, result.output
    taken = json.loads(manifest.read_text())
    assert taken["engine"] == "sqlite"
    assert taken["sequences"]["main.accounts"] == {
        "last_value": 306,
        "next_value": 307,
        "kind": "rowid",
    }
    same = check(dsn(source), None, None, "--baseline", str(manifest), "--only", "baseline")
    assert same.exit_code == 0, same.output
    older = tmp_path / "older.db"
    execute(older, SCHEMA.format(auto="") + DAY_ONE)
    result = check(dsn(older), None, None, "--baseline", str(manifest), "--only", "baseline")
    assert result.exit_code == 1
    what = {v.get("what") for v in rule(doc(result), "baseline")["violations"]}
    assert {"sequence", "rows", "key"} <= what
