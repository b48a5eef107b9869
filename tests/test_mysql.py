"""The MySQL/MariaDB engine on a real server (skipped when none answers at 127.0.0.1:3306).

Restores are built the way they happen: mariadb-dump, then the mysql client replays the
dump (which turns FOREIGN_KEY_CHECKS off while it loads).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from restoregate import api
from restoregate.cli import cli
from tests.mysqltest import admin, databases, server_answers

pytestmark = pytest.mark.skipif(not server_answers(), reason="no MySQL/MariaDB server answers")

ACCOUNTS = """
CREATE TABLE accounts (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email varchar(100) NOT NULL UNIQUE
);
CREATE TABLE journals (
    id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id int NOT NULL,
    title varchar(100) NOT NULL
);
INSERT INTO accounts (id, email)
  WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 200)
  SELECT n, CONCAT('user', n, '@example.com') FROM g;
INSERT INTO journals (user_id, title)
  SELECT a.id, 'Day 1' FROM accounts AS a;
"""
SIGNUPS = """
INSERT INTO accounts (id, email)
  WITH RECURSIVE g(n) AS (SELECT 201 UNION ALL SELECT n + 1 FROM g WHERE n < 306)
  SELECT n, CONCAT('user', n, '@example.com') FROM g;
INSERT INTO journals (user_id, title) SELECT a.id, 'My first entry' FROM accounts AS a
  WHERE a.id > 200;
"""


@pytest.fixture
def new_mydb():
    yield from databases(admin())


@pytest.fixture
def mydb(new_mydb):
    return new_mydb()


def check(dsn: str, rules: str | None = None, tmp: Path | None = None, *args: str) -> Any:
    options = ["check", "--dsn", dsn, "--format", "json", *args]
    if rules is not None:
        assert tmp is not None
        path = tmp / "rules.yaml"
        path.write_text(rules)
        options += ["--rules", str(path)]
    return CliRunner().invoke(cli, options, catch_exceptions=False)


def report(result: Any) -> dict[str, Any]:
    assert result.stdout, result.output
    return dict(json.loads(result.stdout))


def rule(doc: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(r for r in doc["rules"] if r["id"] == rule_id)


def logical(db: str) -> str:
    return f"""
version: 1
references:
  - from: {db}.journals(user_id)
    to: accounts(id)
rules:
  - {{id: sequences, check: sequences}}
  - {{id: references, check: references}}
"""


def test_a_clean_restore_passes(new_mydb, tmp_path):
    source, target = new_mydb(), new_mydb()
    source.execute(ACCOUNTS + SIGNUPS)
    dump = tmp_path / "all.sql"
    source.dump(dump)
    target.load(dump)
    result = check(target.dsn, logical(target.name), tmp_path)
    doc = report(result)
    assert result.exit_code == 0, result.stdout
    assert doc["database"]["engine"] in ("mysql", "mariadb")
    assert "password" not in doc["database"]["dsn"] and target.password not in result.stdout
    assert rule(doc, "sequences")["message"] == "2 sequences ahead of every key"


def test_the_seed_fails_with_106_reassignable_orphans(new_mydb, tmp_path):
    source, target = new_mydb(), new_mydb()
    source.execute(ACCOUNTS)
    backup = tmp_path / "accounts.sql"
    source.dump(backup, tables=["accounts"])  # the nightly backup: 200 accounts
    source.execute(SIGNUPS)  # 106 more sign up and write journals
    journals = tmp_path / "journals.sql"
    source.dump(journals, tables=["journals"])  # kept elsewhere, current
    target.load(journals)
    target.load(backup)  # the server is lost; accounts come back from the backup
    before = target.fingerprint()
    result = check(target.dsn, logical(target.name), tmp_path)
    doc = report(result)
    assert result.exit_code == 1
    orphans = rule(doc, "references")["violations"][0]
    assert (orphans["orphans"], orphans["reassignable"]) == (106, 106)
    assert orphans["sample"][:2] == [[201], [202]], orphans["sample"]
    assert "AUTO_INCREMENT counter" in orphans["parent_sequence"]
    behind = rule(doc, "sequences")["violations"][0]
    assert (behind["next_value"], behind["max_value"]) == (201, 306)
    assert behind["sequence"] == f"the AUTO_INCREMENT counter of {target.name}.accounts"
    assert target.fingerprint() == before


def test_orphans_loaded_with_foreign_key_checks_off(new_mydb, tmp_path):
    source, target = new_mydb(), new_mydb()
    source.execute(
        ACCOUNTS + "ALTER TABLE journals ADD CONSTRAINT journals_user FOREIGN KEY (user_id)"
        " REFERENCES accounts (id);"
        + "SET FOREIGN_KEY_CHECKS = 0; INSERT INTO journals (user_id, title) VALUES (999, 'x');"
    )
    dump = tmp_path / "all.sql"
    source.dump(dump)
    target.load(dump)
    doc = report(result := check(target.dsn))
    assert result.exit_code == 1
    orphans = rule(doc, "references")["violations"][0]
    assert orphans["declared"] is True
    assert orphans["constraint"] == "journals_user"
    assert (orphans["orphans"], orphans["sample"]) == (1, [[999]])


def test_the_pre_8_counter_reset(mydb, tmp_path):
    """Before MySQL 8 a restart rebuilt AUTO_INCREMENT as max(id) + 1: deleted ids return."""
    mydb.execute(
        ACCOUNTS
        + SIGNUPS
        + "ALTER TABLE journals ADD CONSTRAINT journals_user FOREIGN KEY (user_id)"
        " REFERENCES accounts (id);"
        + "SET FOREIGN_KEY_CHECKS = 0; DELETE FROM accounts WHERE id > 290;"
        + "ALTER TABLE accounts AUTO_INCREMENT = 1;"
    )
    assert (
        mydb.scalar(
            "SELECT AUTO_INCREMENT FROM information_schema.TABLES"
            f" WHERE TABLE_SCHEMA = '{mydb.name}' AND TABLE_NAME = 'accounts'"
        )
        == 291
    )
    doc = report(result := check(mydb.dsn))
    assert result.exit_code == 1
    orphans = rule(doc, "references")["violations"][0]
    assert (orphans["orphans"], orphans["reassignable"]) == (16, 16)
    behind = rule(doc, "sequences")["violations"][0]
    assert (behind["next_value"], behind["max_value"]) == (291, 306)
    assert behind["max_source"].endswith("journals.user_id")


def test_mariadb_sequence_default_behind(mydb, tmp_path):
    if "mariadb" not in str(mydb.scalar("SELECT VERSION()")).lower():
        pytest.skip("SEQUENCE objects are MariaDB's")
    mydb.execute(
        "CREATE SEQUENCE invoice_seq START WITH 1 CACHE 10;"
        "CREATE TABLE invoices (id bigint NOT NULL DEFAULT NEXT VALUE FOR invoice_seq"
        " PRIMARY KEY, total int);"
        "INSERT INTO invoices (total) VALUES (1), (2), (3);"
        "INSERT INTO invoices (id, total) VALUES (500, 4);"  # an explicit id: the sequence stays
        "SELECT SETVAL(invoice_seq, 40, 0);"
    )
    doc = report(result := check(mydb.dsn))
    assert result.exit_code == 1, result.stdout
    behind = rule(doc, "sequences")["violations"][0]
    assert behind["sequence"] == f"{mydb.name}.invoice_seq"
    # SETVAL(40) empties the cache, but a live cache of 10 may hand out values from 31
    assert (behind["next_value"], behind["max_value"]) == (31, 500)
    assert "next_not_cached_value is 40" in behind["basis"]


def test_mariadb_sequence_ahead_passes(mydb):
    if "mariadb" not in str(mydb.scalar("SELECT VERSION()")).lower():
        pytest.skip("SEQUENCE objects are MariaDB's")
    mydb.execute(
        "CREATE SEQUENCE invoice_seq;"
        "CREATE TABLE invoices (id bigint NOT NULL DEFAULT NEXT VALUE FOR invoice_seq"
        " PRIMARY KEY, total int);"
        "INSERT INTO invoices (total) VALUES (1), (2), (3);"
    )
    result = check(mydb.dsn)
    assert result.exit_code == 0, result.stdout


def test_composite_foreign_keys_with_nulls(mydb, tmp_path):
    mydb.execute(
        "CREATE TABLE order_lines (order_id int, line int, PRIMARY KEY (order_id, line));"
        "CREATE TABLE notes (id int AUTO_INCREMENT PRIMARY KEY, order_id int, line int,"
        " CONSTRAINT notes_line FOREIGN KEY (order_id, line)"
        " REFERENCES order_lines (order_id, line));"
        "INSERT INTO order_lines VALUES (1, 1), (1, 2);"
        "SET FOREIGN_KEY_CHECKS = 0;"
        "INSERT INTO notes (order_id, line) VALUES (1, 1), (1, NULL), (NULL, 7), (1, 9), (2, 1);"
    )
    doc = report(result := check(mydb.dsn))
    assert result.exit_code == 1
    orphans = rule(doc, "references")["violations"][0]
    assert orphans["orphans"] == 2, "rows with a NULL key part are not checked, as in MySQL"
    assert orphans["sample"] == [[1, 9], [2, 1]]


def test_unreachable_server_is_exit_3():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = check(f"mysql://app:hunter2@127.0.0.1:{port}/app")
    assert result.exit_code == 3
    assert "hunter2" not in result.output
    assert "cannot connect to mysql://app@127.0.0.1" in result.output


def test_bad_password_is_exit_3_and_never_printed(mydb):
    result = check(f"mysql://{mydb.user}:wrong-Secret-42@127.0.0.1:3306/{mydb.name}")
    assert result.exit_code == 3
    assert "wrong-Secret-42" not in result.output
    assert "Access denied" in result.output


def test_empty_database_is_exit_2(mydb):
    result = check(mydb.dsn)
    assert result.exit_code == 2
    assert "no tables to judge" in result.output


def test_the_session_is_read_only_with_timeouts(mydb):
    from restoregate.engines.mysql.engine import open_engine
    from restoregate.settings import SessionSettings

    mydb.execute(ACCOUNTS)
    settings = SessionSettings(statement_timeout="2s", lock_timeout="3s")
    with open_engine(mydb.dsn, settings) as engine:
        cur = engine._conn.cursor()
        isolation = "tx_isolation" if engine.name == "mariadb" else "transaction_isolation"
        cur.execute(f"SELECT @@{isolation}, @@lock_wait_timeout, @@innodb_lock_wait_timeout")
        assert cur.fetchone() == ("REPEATABLE-READ", 3, 3)
        if engine.name == "mysql":
            cur.execute("SELECT @@max_execution_time, @@information_schema_stats_expiry")
            assert cur.fetchone() == (2000, 0)
        if engine.name == "mariadb":
            cur.execute("SELECT @@max_statement_time")
            assert float(cur.fetchone()[0]) == 2.0
        import pymysql

        with pytest.raises(pymysql.MySQLError, match="READ ONLY"):
            cur.execute("CREATE TEMPORARY TABLE t (i int)")
            cur.execute("INSERT INTO accounts (email) VALUES ('intruder')")


def test_sql_rules_are_parsed_as_mysql_with_an_allowlist(mydb, tmp_path):
    mydb.execute(ACCOUNTS)
    good = """
version: 1
rules:
  - id: no-empty-emails
    check: sql
    sql: SELECT `id` FROM `accounts` WHERE CHAR_LENGTH(email) < 3 OR email NOT LIKE '%@%'
"""
    result = check(mydb.dsn, good, tmp_path)
    assert result.exit_code == 0, result.output
    for bad in ("SLEEP(5)", "GET_LOCK('x', 1)", "LOAD_FILE('/etc/passwd')", "BENCHMARK(9, 1)"):
        rules = f"version: 1\nrules:\n  - id: evil\n    check: sql\n    sql: |\n      SELECT {bad}"
        result = check(mydb.dsn, rules, tmp_path)
        assert result.exit_code == 2, (bad, result.output)
        assert "is not allowed on MySQL" in result.output


def test_unique_and_not_null_on_mysql(mydb, tmp_path):
    mydb.execute(
        "CREATE TABLE people (id int AUTO_INCREMENT PRIMARY KEY, email varchar(50), nick text);"
        "INSERT INTO people (email) VALUES ('A@x'), ('a@x'), ('b@x'), (NULL);"
    )
    rules = """
version: 1
rules:
  - {id: emails, check: unique, table: people, columns: [lower(email)]}
  - {id: nicks, check: not_null, table: people, columns: [email]}
  - {id: enough, check: row_count, table: people, min: 5}
"""
    doc = report(result := check(mydb.dsn, rules, tmp_path))
    assert result.exit_code == 1
    assert rule(doc, "emails")["violations"][0]["groups"] == 1
    assert rule(doc, "nicks")["violations"][0]["rows"] == 1
    assert rule(doc, "enough")["status"] == "fail"


def test_privileges_from_mysql_grants(mydb, tmp_path):
    mydb.execute(ACCOUNTS)
    rules = f"""
version: 1
rules:
  - id: app-can-work
    check: privileges
    roles:
      {mydb.user}: {{tables: [SELECT, INSERT]}}
      nobody_{mydb.name}: {{tables: [SELECT]}}
"""
    report_ = api.run_check(
        "mysql://root@127.0.0.1:3306/" + mydb.name, rules=api.load_rules([_write(tmp_path, rules)])
    )
    found = {
        (v.to_dict()["kind"], v.to_dict().get("privilege")) for v in report_.rules[0].violations
    }
    assert found == {("missing_privilege", "INSERT"), ("role_missing", None)}


def _write(tmp: Path, text: str) -> Path:
    path = tmp / "r.yaml"
    path.write_text(text)
    return path


def test_verify_dump_replays_a_mysql_dump_into_a_scratch_database(new_mydb, tmp_path):
    source, scratch = new_mydb(), new_mydb()
    source.execute(ACCOUNTS + SIGNUPS + "DELETE FROM accounts WHERE id > 200;")
    dump = tmp_path / "app.sql"
    source.dump(dump)
    with dump.open("a") as out:
        out.write("INSERT INTO missing_table VALUES (1);\nUSE mysql;\n")
    scratch.execute(f"GRANT ALL ON `{scratch.name}`.* TO '{scratch.user}'@'%'")
    (tmp_path / "r.yaml").write_text(logical(scratch.name).replace(f"{scratch.name}.", ""))
    args = ["verify-dump", str(dump), "--scratch-dsn", scratch.dsn, "--format", "json"]
    result = CliRunner().invoke(
        cli, [*args, "--rules", str(tmp_path / "r.yaml")], catch_exceptions=False
    )
    doc = report(result)
    assert result.exit_code == 1, result.output
    errors = rule(doc, "restore_errors")["violations"]
    assert len(errors) == 2 and "refused" in errors[1]["message"]
    assert rule(doc, "references")["violations"][0]["orphans"] == 106
    assert scratch.password not in result.output


def test_verify_dump_of_a_mysql_dump_needs_a_scratch_server(mydb, tmp_path):
    mydb.execute(ACCOUNTS)
    dump = tmp_path / "app.sql"
    mydb.dump(dump)
    result = CliRunner().invoke(cli, ["verify-dump", str(dump)], catch_exceptions=False)
    assert result.exit_code == 2
    assert "--scratch-dsn" in result.output


def test_catalog_queries_do_not_grow_with_tables(new_mydb, monkeypatch):
    """A constant number of catalog statements, however many tables (counted at the driver)."""
    import pymysql.cursors

    from restoregate.engines.mysql.engine import open_engine
    from restoregate.settings import SessionSettings

    sent: list[str] = []
    original = pymysql.cursors.Cursor.execute

    def counted(self, query, args=None):  # the server is real; this only counts
        sent.append(query)
        return original(self, query, args)

    small, large = new_mydb(), new_mydb()
    table = "CREATE TABLE p{i} (id int AUTO_INCREMENT PRIMARY KEY);" + (
        "CREATE TABLE c{i} (id int AUTO_INCREMENT PRIMARY KEY, p_id int,"
        " FOREIGN KEY (p_id) REFERENCES p{i} (id));"
    )
    small.execute(table.format(i=0))
    large.execute("".join(table.format(i=i) for i in range(30)))
    counts = []
    for db in (small, large):
        with open_engine(db.dsn, SessionSettings()) as engine:
            monkeypatch.setattr(pymysql.cursors.Cursor, "execute", counted)
            sent.clear()
            catalog = engine.catalog()
            counts.append(len(sent))
            monkeypatch.setattr(pymysql.cursors.Cursor, "execute", original)
        assert len(catalog.foreign_keys) == len(catalog.tables) // 2
    assert counts[0] == counts[1] <= 6


def test_snapshot_and_baseline_on_mysql(new_mydb, tmp_path):
    source, target = new_mydb(), new_mydb()
    source.execute(ACCOUNTS + SIGNUPS)
    manifest = tmp_path / "m.json"
    runner = CliRunner()
    result = runner.invoke(cli, ["snapshot", "--dsn", source.dsn, "--exact", "-o", str(manifest)])
    assert result.exit_code == 0, result.output
    taken = json.loads(manifest.read_text())
    assert taken["engine"] in ("mysql", "mariadb")
    assert taken["sequences"][f"{source.name}.accounts"]["next_value"] == 307
    assert taken["sequences"][f"{source.name}.accounts"]["kind"] == "auto_increment"
    backup = tmp_path / "accounts.sql"
    source.execute("DELETE FROM journals WHERE user_id > 200")
    source.dump(backup)
    target.load(backup)
    target.execute("DELETE FROM accounts WHERE id > 250; ALTER TABLE accounts AUTO_INCREMENT = 1;")
    result = check(target.dsn, None, None, "--baseline", str(manifest), "--only", "baseline")
    found = rule(report(result), "baseline")
    assert result.exit_code == 1, result.output
    what = {v["what"] for v in found["violations"] if "what" in v}
    assert what, found["violations"]
    assert {"sequence", "rows"} <= what
