"""Bad input is exit 2 and one line: durations, timeouts, ${VAR} expansion, --role."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.conninfo import conninfo_to_dict

from restoregate.cli import cli
from restoregate.durations import bounded, format_duration, parse_duration
from restoregate.engines.postgres.probes import open_engine as open_backend
from restoregate.engines.postgres.session import SessionSettings, check_state, session_state
from restoregate.errors import CheckFailedToRun, ConnectionProblem, RulesError, UsageError
from restoregate.rules.loader import load_rules_text
from restoregate.sqlcheck import check_query
from tests.gate import gate, rule

SHOP = """
CREATE TABLE accounts (id serial PRIMARY KEY, email text, created_at timestamptz);
INSERT INTO accounts (email, created_at) VALUES ('a@x', now()), ('b@x', now());
"""


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def rules(entry: str, top: str = "") -> str:
    return f"version: 1\n{top}rules:\n  - {entry}\n"


# --- durations ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500ms", timedelta(milliseconds=500)),
        ("30s", timedelta(seconds=30)),
        ("90m", timedelta(minutes=90)),
        ("15min", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(minutes=90)),
        ("1h 30min", timedelta(minutes=90)),
        ("1.5h", timedelta(minutes=90)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("1d12h", timedelta(hours=36)),
    ],
)
def test_one_duration_grammar(text, expected):
    assert parse_duration(text, "x") == expected


@pytest.mark.parametrize("text", ["", "soon", "10", "10x", "1h1h", "30m1h", "1e3s", "--1s", "h"])
def test_not_a_duration_shows_two_examples(text):
    with pytest.raises(ValueError) as caught:
        parse_duration(text, "max_age")
    assert str(caught.value).startswith("max_age: ")
    assert "30s or 1h30m" in str(caught.value)


def test_bounds_refuse_zero_negative_and_too_long():
    low, high = timedelta(milliseconds=1), timedelta(hours=24)
    assert bounded("24h", "t", low, high) == high
    for text, problem in (
        ("0s", "is zero"),
        ("0.1ms", "is zero"),
        ("-5s", "negative"),
        ("25h", "out of range"),
        ("99999999999999w", "too long"),
    ):
        with pytest.raises(ValueError, match=problem):
            bounded(text, "t", low, high)


def test_format_duration():
    assert format_duration(timedelta(minutes=90)) == "1h30m"
    assert format_duration(timedelta(milliseconds=1)) == "1ms"
    assert format_duration(timedelta(hours=24)) == "24h"
    assert format_duration(timedelta(days=14)) == "2w"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--lock-timeout", "0s", "is zero"),
        ("--lock-timeout", "2h", "out of range"),
        ("--statement-timeout", "0", "not a duration"),
        ("--statement-timeout", "-1s", "negative"),
        ("--statement-timeout", "25h", "from 1ms to 24h"),
        ("--statement-timeout", "9" * 400 + "w", "not a duration"),
    ],
)
def test_timeouts_without_a_limit_are_exit_2(option, value, message):
    result = run("check", "--dsn", "postgresql://nobody@127.0.0.1:1/x", option, value)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "internal error" not in result.stderr


def test_settings_reach_the_server_in_milliseconds(db):
    settings = SessionSettings(statement_timeout="1h30m", lock_timeout="1.5s")
    with open_backend(db.dsn, settings) as backend:
        conn = backend.connection
        assert conn.execute("SHOW statement_timeout").fetchone() == ("90min",)
        assert conn.execute("SHOW lock_timeout").fetchone() == ("1500ms",)
        assert conn.execute("SHOW standard_conforming_strings").fetchone() == ("on",)
        assert conn.execute("SHOW backslash_quote").fetchone() == ("safe_encoding",)


@pytest.mark.parametrize(
    ("max_age", "message"),
    [("0s", "is zero"), ("10000000000w", "too long"), ("200000d", "out of range"), ("x", "e.g.")],
)
def test_max_age_overflow_is_a_rules_error(max_age, message):
    entry = (
        f"{{id: f, check: freshness, table: accounts, column: created_at, max_age: '{max_age}'}}"
    )
    with pytest.raises(RulesError, match=message) as caught:
        load_rules_text(rules(entry), "r.yaml")
    assert caught.value.line == 3


def test_max_age_in_the_new_grammar_runs(db):
    db.execute(SHOP)
    entry = "{id: f, check: freshness, table: accounts, column: created_at, max_age: 1h30m}"
    assert rule(gate(db.dsn, rules(entry)), "f").status == "pass"


# --- ${VAR} expansion --------------------------------------------------------------


def test_expansion_is_bounded(monkeypatch):
    monkeypatch.setenv("RG_BIG", "x" * 70_000)
    text = rules("{id: q, check: sql, sql: 'SELECT ${RG_BIG}'}")
    with pytest.raises(RulesError, match="expand the rules file") as caught:
        load_rules_text(text, "r.yaml")
    assert "xxxx" not in str(caught.value)


def test_many_small_variables_cannot_amplify(monkeypatch):
    monkeypatch.setenv("RG_K", "k" * 1000)
    items = ", ".join(["'${RG_K}'"] * 70)
    with pytest.raises(RulesError, match="expand the rules file"):
        load_rules_text(
            f"version: 1\nschemas: [{items}]\nrules:\n  - {{id: s, check: sequences}}\n", "r.yaml"
        )


def test_a_value_within_the_bound_is_substituted(monkeypatch):
    monkeypatch.setenv("RG_TABLE", "accounts")
    ruleset = load_rules_text(rules("{id: q, check: sql, sql: 'SELECT 1 FROM ${RG_TABLE}'}"), "r")
    assert ruleset.rules[0].params.query == "SELECT 1 FROM accounts"


@pytest.mark.parametrize(
    "entry",
    [
        "{id: q, check: sql, sql: 'SELECT (1 FROM ${RG_SECRET}'}",  # sqlglot's parse error
        '{id: q, check: sql, sql: "SELECT \'${RG_SECRET}"}',  # an unclosed string
        "{id: u, check: unique, table: t, columns: ['${RG_SECRET} FROM']}",  # echoed text
        "{id: q, check: sql, sql: 'SELECT ${RG_SECRET}(1)'}",  # a function's name
    ],
)
def test_variable_values_never_appear_in_errors(monkeypatch, entry):
    monkeypatch.setenv("RG_SECRET", "hunter2hunter2")
    with pytest.raises(RulesError) as caught:
        load_rules_text(rules(entry), "r.yaml")
    shown = str(caught.value)
    assert "hunter2" not in shown
    assert "\x1b" not in shown


def test_variable_values_never_appear_in_server_errors(db, monkeypatch):
    db.execute(SHOP)
    monkeypatch.setenv("RG_SECRET", "hunter2hunter2")
    with pytest.raises(RulesError) as caught:
        gate(db.dsn, rules("{id: q, check: sql, sql: 'SELECT * FROM ${RG_SECRET}'}"))
    assert "hunter2" not in str(caught.value)
    assert "${RG_SECRET}" in str(caught.value)


# --- trailing comments -------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "SELECT id FROM accounts WHERE email IS NULL -- none expected",
        "SELECT id FROM accounts WHERE email IS NULL; -- none expected",
        "SELECT id FROM accounts WHERE email IS NULL;;",
        "SELECT id FROM accounts WHERE email IS NULL /* done */",
        "SELECT id -- the key\nFROM accounts WHERE email IS NULL",
    ],
)
def test_sql_rules_with_trailing_comments_run(db, query):
    db.execute(SHOP)
    yaml_query = query.replace("\n", "\\n")
    report = gate(db.dsn, rules(f'{{id: q, check: sql, sql: "{yaml_query}"}}'))
    assert rule(report, "q").status == "pass", rule(report, "q").message


def test_only_comments_is_not_a_query():
    with pytest.raises(RulesError, match="the query is empty"):
        load_rules_text(rules("{id: q, check: sql, sql: '-- nothing'}"), "r.yaml")


# --- allow_functions ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[evil]", "write the schema too"),
        ("[pg_catalog.pg_sleep]", "built-in functions cannot be allowed"),
        ("public.f", "expected a list"),
        ("['public.']", "is not a name"),
    ],
)
def test_allow_functions_must_name_your_own_functions(value, message):
    with pytest.raises(RulesError, match=message):
        load_rules_text(
            rules("{id: s, check: sequences}", top=f"allow_functions: {value}\n"), "r.yaml"
        )


def test_allow_functions_is_checked_by_lint(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(rules("{id: q, check: sql, sql: 'SELECT app.score(1)'}"))
    result = run("rules", "lint", str(path))
    assert result.exit_code == 2
    assert f"{path}:3:5: rule 'q' calls app.score()" in result.stderr
    assert "allow_functions: [app.score]" in result.stderr
    path.write_text(
        rules(
            "{id: q, check: sql, sql: 'SELECT app.score(1)'}", top="allow_functions: [app.score]\n"
        )
    )
    assert run("rules", "lint", str(path)).exit_code == 0


# --- --role and the pinned session ---------------------------------------------------


def _role(dsn: str) -> str:
    return str(conninfo_to_dict(dsn)["user"])


def test_role_is_set_before_anything_runs(db, make_role):
    db.execute(SHOP)
    reader = _role(make_role(db, "rg_reader", "GRANT SELECT ON accounts TO {role}"))
    with open_backend(db.dsn, SessionSettings(role=reader)) as backend:
        assert backend.connection.execute("SELECT current_user").fetchone() == (reader,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            backend.connection.execute("SELECT pg_catalog.pg_ls_dir('.')")


def test_role_without_privileges_closes_the_gate(db, make_role):
    db.execute(SHOP)
    nobody = _role(make_role(db, "rg_nobody"))
    report = gate(db.dsn, settings=SessionSettings(role=nobody))
    assert report.exit_code == 3
    assert "permission denied" in rule(report, "sequences").message


def test_a_role_the_login_cannot_use_is_exit_3(db, make_role):
    other = _role(make_role(db, "rg_other"))
    plain = make_role(db, "rg_plain")
    with pytest.raises(ConnectionProblem, match=f"--role {other}"):
        gate(plain, settings=SessionSettings(role=other))


def test_role_on_the_command_line(db, make_role):
    db.execute(SHOP)
    nobody = _role(make_role(db, "rg_cli"))
    result = run("check", "--dsn", db.dsn, "--role", nobody, "--format", "json")
    assert result.exit_code == 3
    assert run("check", "--dsn", db.dsn, "--role", "").exit_code == 2
    missing = run("check", "--dsn", db.dsn, "--role", "rg_no_such_role_x9")
    assert missing.exit_code == 2
    assert "rg_no_such_role_x9" in missing.stderr and "does not exist" in missing.stderr


def test_a_changed_setting_is_caught(db):
    with open_backend(db.dsn, SessionSettings()) as backend:
        conn = backend.connection
        state = session_state(conn)
        check_state(conn, state, "probe")
        conn.execute("SET LOCAL standard_conforming_strings = off")
        with pytest.raises(CheckFailedToRun, match="standard_conforming_strings changed"):
            check_state(conn, state, "probe")


def test_usage_errors_for_bad_roles():
    with pytest.raises(UsageError):
        SessionSettings(role=" ")


def test_rules_lint_is_one_line_per_refusal(tmp_path: Path):
    path = tmp_path / "r.yaml"
    path.write_text(rules("{id: q, check: sql, sql: \"SELECT pg_read_file('/etc/passwd')\"}"))
    result = run("rules", "lint", str(path))
    assert result.exit_code == 2
    assert "pg_read_file" in result.stderr and "root:" not in result.stderr


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("SELECT abc*();,'\"-/\\$&Ue\n0123.")), max_size=60))
def test_any_sql_text_is_accepted_or_one_rules_error(text):
    """Whatever a rules file holds, sqlcheck answers with a value or a ValueError."""
    try:
        check_query(text)
    except ValueError as exc:
        assert str(exc).startswith("sql: ")
        assert "\n" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_any_duration_text_is_a_duration_or_a_value_error(text):
    try:
        value = parse_duration(text, "t")
    except ValueError as exc:
        assert str(exc).startswith("t: ")
    else:
        assert value >= timedelta(0)


def test_init_takes_role_too(db, make_role):
    db.execute(SHOP)
    reader = _role(make_role(db, "rg_init", "GRANT SELECT ON accounts TO {role}"))
    result = run("init", "--dsn", db.dsn, "--role", reader)
    assert result.exit_code == 0, result.stderr
    assert "check: sequences" in result.stdout
    assert run("init", "--dsn", db.dsn, "--role", "rg_no_such_role_y7").exit_code == 2
