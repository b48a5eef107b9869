"""``restoregate fence`` and ``check --release``: the database keeps the app out until the
gate opens, and release puts back exactly what the fence changed."""

from __future__ import annotations

import psycopg
import pytest
from click.testing import CliRunner
from psycopg.conninfo import conninfo_to_dict

from restoregate.cli import cli

BROKEN = """
CREATE TABLE t (id serial PRIMARY KEY);
INSERT INTO t VALUES (5);
"""
ROLE = """
SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
       rolreplication, rolconnlimit, rolvaliduntil, rolbypassrls,
       shobj_description(oid, 'pg_authid') AS comment
FROM pg_roles WHERE rolname = '{name}'
"""


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def app(db, make_role):
    """A LOGIN role with a comment and a connection limit: (name, its own DSN)."""
    dsn = make_role(db, "app", "COMMENT ON ROLE {role} IS 'the app''s role'")
    name = conninfo_to_dict(dsn)["user"]
    db.execute(f'ALTER ROLE "{name}" CONNECTION LIMIT 7')
    return name, dsn


def state(db, name: str) -> tuple:
    with db.connect() as conn:
        return conn.execute(ROLE.format(name=name)).fetchone()


def can_log_in(dsn: str) -> bool:
    try:
        psycopg.connect(dsn).close()
    except psycopg.OperationalError as exc:
        assert "not permitted to log in" in str(exc)
        return False
    return True


def test_the_fence_holds_while_the_gate_is_closed_and_release_restores_exactly(db, app):
    name, app_dsn = app
    db.execute(BROKEN)
    before = state(db, name)
    assert can_log_in(app_dsn)

    locked = run("fence", "lock", name, "--dsn", db.dsn)
    assert locked.exit_code == 0, locked.output
    assert f"fenced: {name} cannot log in" in locked.output
    assert not can_log_in(app_dsn)

    closed = run("check", "--dsn", db.dsn, "--release", name)
    assert closed.exit_code == 1
    assert f"fence stays up: {name} cannot log in" in closed.output
    assert not can_log_in(app_dsn)

    fixed = run("fix", "--dsn", db.dsn, "--apply", "--yes")
    assert fixed.exit_code == 0, fixed.output
    opened = run("check", "--dsn", db.dsn, "--release", name)
    assert opened.exit_code == 0, opened.output
    assert f"fence lifted: {name} can log in again" in opened.output
    assert state(db, name) == before, "LOGIN and the comment back, nothing else changed"
    assert can_log_in(app_dsn)


def test_a_role_that_could_not_log_in_stays_so(db, app):
    name, _ = app
    db.execute(f'CREATE TABLE ok (id serial PRIMARY KEY); ALTER ROLE "{name}" NOLOGIN')
    before = state(db, name)
    assert run("fence", "lock", name, "--dsn", db.dsn).exit_code == 0
    assert run("fence", "lock", name, "--dsn", db.dsn).exit_code == 0  # twice: record kept
    opened = run("check", "--dsn", db.dsn, "--release", name)
    assert opened.exit_code == 0, opened.output
    assert "stays NOLOGIN, as it was before" in opened.output
    assert state(db, name) == before


def test_locking_twice_keeps_the_first_record(db, app):
    name, app_dsn = app
    assert run("fence", "lock", name, "--dsn", db.dsn).exit_code == 0
    again = run("fence", "lock", name, "--dsn", db.dsn)
    assert "left as it is" in again.output
    status = run("fence", "status", "--dsn", db.dsn)
    assert f"{name}: fenced since" in status.output and "could log in)" in status.output
    assert run("fence", "unlock", name, "--dsn", db.dsn).exit_code == 2, "needs --force"
    assert not can_log_in(app_dsn)
    unlocked = run("fence", "unlock", name, "--force", "--dsn", db.dsn)
    assert unlocked.exit_code == 0 and can_log_in(app_dsn)
    assert f"{name}: not fenced" in run("fence", "status", name, "--dsn", db.dsn).output


def test_release_of_a_role_nobody_fenced_that_cannot_log_in_is_refused(db, app):
    name, _ = app
    db.execute(f'ALTER ROLE "{name}" NOLOGIN')
    result = run("check", "--dsn", db.dsn, "--release", name)
    assert result.exit_code == 2
    assert "carries no restoregate fence" in result.output


@pytest.mark.parametrize("command", ["lock", "status"])
def test_unknown_roles_are_usage_errors(db, command):
    result = run("fence", command, "nobody_h12_zz9", "--dsn", db.dsn)
    assert result.exit_code == 2
    assert "no such role: nobody_h12_zz9" in result.output


def test_refuses_to_fence_the_role_it_runs_as(db, app):
    name, app_dsn = app
    result = run("fence", "lock", name, "--dsn", app_dsn)
    assert result.exit_code == 2
    assert "it is the role this session runs as" in result.output
    assert can_log_in(app_dsn)


def test_a_role_without_createrole_cannot_fence_exit_2(db, app, make_role):
    name, app_dsn = app
    other = make_role(db, "weak")
    result = run("fence", "lock", name, "--dsn", other)
    assert result.exit_code == 2, result.output
    assert "CREATEROLE" in result.output
    assert can_log_in(app_dsn)


def test_a_check_that_cannot_judge_leaves_the_fence_up_and_says_so(db, app):
    name, app_dsn = app
    assert run("fence", "lock", name, "--dsn", db.dsn).exit_code == 0
    result = run("check", "--dsn", db.dsn, "--release", name)  # no tables: exit 2
    assert result.exit_code == 2
    assert f"the fence stays up: {name} cannot log in" in result.output
    assert not can_log_in(app_dsn)


def test_an_engine_without_a_remedy_fails_closed_with_exit_2():
    """Every engine has one now (SQLite's fence says it has no logins); an unknown does not."""
    from restoregate.errors import UsageError
    from restoregate.remedy.engines import remedy_for

    with pytest.raises(UsageError, match="is not supported for oracle:// databases yet"):
        remedy_for("oracle://db/prod", "fix")
    result = run("fence", "lock", "app", "--dsn", "sqlite:///nowhere_h12.db")
    assert result.exit_code == 2
    assert "fence is not possible on SQLite" in result.output


def test_release_acts_as_the_connecting_user_even_with_check_role(db, app, make_role):
    """check --role narrows what the rules can do; lifting the fence is the runbook's own act."""
    name, app_dsn = app
    reader = conninfo_to_dict(make_role(db, "reader", "GRANT pg_read_all_data TO {role}"))["user"]
    db.execute("CREATE TABLE ok (id serial PRIMARY KEY)")
    assert run("fence", "lock", name, "--dsn", db.dsn).exit_code == 0
    opened = run("check", "--dsn", db.dsn, "--role", reader, "--release", name)
    assert opened.exit_code == 0, opened.output
    assert can_log_in(app_dsn)
