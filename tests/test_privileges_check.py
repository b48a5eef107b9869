"""Check ``privileges``: a restore with --no-privileges leaves the application locked out."""

from __future__ import annotations

import uuid

import pytest

from restoregate.errors import RulesError
from restoregate.rules.loader import load_rules_text
from tests.gate import gate, rule


@pytest.fixture
def app_role(pg_server):
    import psycopg

    name = f"app_rw_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(pg_server.admin_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name}")
    yield name
    with psycopg.connect(pg_server.admin_dsn, autocommit=True) as conn:
        databases = [
            r[0]
            for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'rg\\_%'")
        ]
    for database in databases:  # grants live in each database the test made
        with psycopg.connect(pg_server.dsn_for(database), autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {name}")
    with psycopg.connect(pg_server.admin_dsn, autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {name}")


def rules(role: str) -> str:
    return f"""version: 1
rules:
  - id: app
    check: privileges
    roles:
      {role}:
        tables: [SELECT, INSERT, UPDATE, DELETE]
        sequences: [USAGE]
        schemas: [USAGE]
"""


APP = """
CREATE SCHEMA app;
CREATE TABLE app.accounts (id serial PRIMARY KEY);
CREATE TABLE app.orders (id serial PRIMARY KEY);
GRANT USAGE ON SCHEMA app TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA app TO {role};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA app TO {role};
"""


def test_grants_survive_a_full_restore(new_db, dump, restore, tmp_path, app_role):
    source, target = new_db(), new_db()
    source.execute(APP.format(role=app_role))
    dump(source, tmp_path / "a.dump", "-Fc")
    assert restore(tmp_path / "a.dump", target).returncode == 0
    assert rule(gate(target.dsn, rules(app_role)), "app").status == "pass"


def test_restore_without_privileges_is_caught(new_db, dump, restore, tmp_path, app_role):
    source, target = new_db(), new_db()
    source.execute(APP.format(role=app_role))
    dump(source, tmp_path / "a.dump", "-Fc")
    assert restore(tmp_path / "a.dump", target, "--no-privileges", "--no-owner").returncode == 0
    report = gate(target.dsn, rules(app_role))
    found = {
        (v["object_kind"], v["privilege"]): v
        for v in (x.to_dict() for x in rule(report, "app").violations)
    }
    assert found[("tables", "INSERT")]["objects"] == 2
    assert found[("tables", "INSERT")]["sample"] == ["app.accounts", "app.orders"]
    assert found[("sequences", "USAGE")]["objects"] == 2
    assert ("schemas", "USAGE") in found
    assert report.exit_code == 1


def test_a_role_that_does_not_exist(db):
    db.execute("CREATE TABLE t (id int)")
    [found] = rule(gate(db.dsn, rules("nobody_here_rg")), "app").violations
    assert found.to_dict()["kind"] == "role_missing"
    assert "pg_dumpall --globals-only" in found.describe()


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        ("{app: {tables: [SELEKT]}}", "SELEKT is not a privilege on tables"),
        ("{app: {views: [SELECT]}}", "unknown key 'views'"),
        ("{app: [SELECT]}", "expected a mapping"),
        ("{}", "name at least one role"),
    ],
)
def test_bad_privilege_rules(roles, message):
    with pytest.raises(RulesError) as caught:
        load_rules_text(
            f"version: 1\nrules:\n  - {{id: p, check: privileges, roles: {roles}}}\n", "r"
        )
    assert message in str(caught.value)


def test_hostile_role_name_is_only_ever_a_value(db):
    db.execute("CREATE TABLE t (id int)")
    text = """version: 1
rules:
  - id: app
    check: privileges
    roles:
      "x'); DROP TABLE t; --": {tables: [SELECT]}
"""
    [found] = rule(gate(db.dsn, text), "app").violations
    assert found.to_dict()["kind"] == "role_missing"
    assert db.scalar("SELECT count(*) FROM t") == 0
