"""Read-only, gentle, fail-closed: the session rules, proven against a real server."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import psycopg
import pytest

from restoregate.engines.base import KeyRange
from restoregate.engines.postgres.probes import open_engine
from restoregate.engines.postgres.session import SessionSettings, connect, describe_dsn
from restoregate.errors import ConnectionProblem
from tests.gate import gate, logical, rule

APP = """
CREATE TABLE accounts (id serial PRIMARY KEY);
CREATE TABLE journals (id serial PRIMARY KEY, user_id int REFERENCES accounts (id));
INSERT INTO accounts SELECT FROM generate_series(1, 10);
INSERT INTO journals (user_id) SELECT g FROM generate_series(1, 10) g;
"""


def test_session_settings(db):
    conn = connect(db.dsn, SessionSettings(statement_timeout="2min", lock_timeout="3s"))
    try:
        shown = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in (
                "statement_timeout",
                "lock_timeout",
                "row_security",
                "search_path",
                "default_transaction_read_only",
                "application_name",
            )
        }
    finally:
        conn.close()
    assert shown == {
        "statement_timeout": "2min",
        "lock_timeout": "3s",
        "row_security": "off",
        "search_path": "pg_catalog, pg_temp",
        "default_transaction_read_only": "on",
        "application_name": "restoregate",
    }


def test_the_snapshot_is_read_only_repeatable_read(db):
    db.execute(APP)
    with open_engine(db.dsn, SessionSettings()) as backend:
        conn = backend.connection
        assert conn.execute("SHOW transaction_isolation").fetchone()[0] == "repeatable read"
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction), conn.transaction():
            conn.execute("CREATE TABLE intruder ()")


def test_checks_see_one_snapshot(db):
    """Rows inserted while the check runs are invisible to it."""
    db.execute(APP)
    with open_engine(db.dsn, SessionSettings()) as backend:
        backend.catalog()
        db.execute("INSERT INTO accounts (id) VALUES (1000)")
        table = backend.catalog().tables
        accounts = next(n for n in table if n.name == "accounts")
        assert backend.answer([KeyRange(accounts, "id")]) == [(1, 10)]


def test_least_privilege_role_with_pg_read_all_data(db, make_role, pg_server):
    if pg_server.major_version < 14:
        pytest.skip("pg_read_all_data arrived in PostgreSQL 14")
    db.execute(
        APP + "SET session_replication_role = replica; INSERT INTO journals (user_id) VALUES (99);"
    )
    dsn = make_role(db, "rg_reader", "GRANT pg_read_all_data TO {role}")
    report = gate(dsn)
    assert rule(report, "references").status == "fail"
    assert rule(report, "sequences").status == "fail"
    assert report.exit_code == 1


def test_missing_privilege_is_an_error_not_a_pass(db, make_role):
    db.execute(APP)
    dsn = make_role(db, "rg_partial", "GRANT SELECT ON accounts TO {role}")
    report = gate(dsn)
    assert report.exit_code == 3
    refs = rule(report, "references")
    assert refs.status == "error"
    assert "permission denied" in refs.message
    assert "pg_read_all_data" in (refs.hint or "")


def test_row_level_security_raises_instead_of_hiding_rows(db, make_role, pg_server):
    if pg_server.major_version < 14:
        pytest.skip("pg_read_all_data arrived in PostgreSQL 14")
    db.execute(
        APP
        + """
        ALTER TABLE journals ENABLE ROW LEVEL SECURITY;
        CREATE POLICY own ON journals USING (false);
        SET session_replication_role = replica;
        INSERT INTO journals (user_id) VALUES (99);
    """
    )
    dsn = make_role(db, "rg_rls", "GRANT pg_read_all_data TO {role}")
    report = gate(dsn)
    result = rule(report, "references")
    assert result.status == "error", "an orphan count under RLS would be a false pass"
    assert "row-level security" in result.message
    assert report.exit_code == 3


@contextmanager
def lock_held(dsn: str, table: str):
    """Another session holds ACCESS EXCLUSIVE on ``table``, as a running restore would."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with psycopg.connect(dsn) as conn:
            conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            held.set()
            release.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        yield
    finally:
        release.set()
        holder.join()


SLOW = """
CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE child (parent_id int);
CREATE TABLE other (id serial PRIMARY KEY);
"""


def test_lock_on_a_probed_table_errors_that_rule_and_others_still_run(db):
    db.execute(SLOW)
    with lock_held(db.dsn, "child"):
        report = gate(
            db.dsn,
            logical("child(parent_id)", "parent(id)"),
            settings=SessionSettings(lock_timeout="200ms"),
        )
    refs = rule(report, "references")
    assert refs.status == "error"
    assert "waited longer than --lock-timeout (200ms)" in refs.message
    assert "restore or migration still running" in (refs.hint or "")
    assert rule(report, "sequences").status == "pass", "the other rule still ran"
    assert report.exit_code == 3


def test_lock_on_a_table_with_a_sequence_fails_the_run_closed(db):
    """The catalog deparses defaults without opening their tables, so a running restore's
    lock does not stop it; the locked table's own probes wait for the lock, and time out."""
    db.execute(SLOW)
    with lock_held(db.dsn, "other"):
        report = gate(db.dsn, settings=SessionSettings(lock_timeout="200ms"))
    seqs = rule(report, "sequences")
    assert seqs.status == "error"
    assert "public.other.id" in seqs.message and "--lock-timeout (200ms)" in seqs.message
    assert report.exit_code == 3


def test_statement_timeout_fails_closed(db):
    db.execute(SLOW)
    with lock_held(db.dsn, "child"):
        report = gate(
            db.dsn,
            logical("child(parent_id)", "parent(id)"),
            settings=SessionSettings(statement_timeout="300ms", lock_timeout="1min"),
        )
    refs = rule(report, "references")
    assert refs.status == "error"
    assert "stopped by the statement timeout (300ms)" in refs.message
    assert report.exit_code == 3


def test_unreachable_server():
    with pytest.raises(ConnectionProblem) as caught:
        gate("postgresql://u:secret@127.0.0.1:1/db?connect_timeout=2")
    assert "secret" not in str(caught.value)
    assert str(caught.value).startswith("cannot connect to postgresql://u@127.0.0.1:1/db")


def test_describe_dsn_removes_passwords():
    assert (
        describe_dsn("postgresql://app:pw@db.internal:5432/prod")
        == "postgresql://app@db.internal:5432/prod"
    )
    assert describe_dsn("host=db user=app password=pw dbname=prod") == "postgresql://app@db/prod"
    assert "pw" not in describe_dsn("postgresql:///prod?host=/tmp&password=pw")
