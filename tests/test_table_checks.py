"""Checks unique, not_null, row_count, freshness and sql against real data."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from restoregate.errors import RulesError
from tests.gate import gate, rule, violations

SHOP = """
CREATE TABLE accounts (id serial PRIMARY KEY, email text, created_at timestamptz);
INSERT INTO accounts (email, created_at) VALUES
  ('a@x.io', '2026-05-01 10:00+00'), ('A@x.io', '2026-05-02 10:00+00'),
  ('b@x.io', '2026-05-07 23:00+00'), ('b@x.io', '2026-05-03 10:00+00'),
  ('b@x.io', '2026-05-03 11:00+00'), (NULL, '2026-05-04 10:00+00'), (NULL, NULL);
"""


def rules(*lines: str) -> str:
    return "version: 1\nrules:\n" + "".join(f"  - {line}\n" for line in lines)


def test_unique_counts_duplicate_groups_and_rows(db):
    db.execute(SHOP)
    report = gate(db.dsn, rules("{id: u, check: unique, table: accounts, columns: [email]}"))
    [found] = violations(report, "u")
    assert (found["groups"], found["rows"]) == (1, 3), "NULLs are distinct, as in SQL"
    assert found["sample"] == [{"key": ["b@x.io"], "rows": 3}]
    report = gate(db.dsn, rules("{id: u, check: unique, table: accounts, columns: [lower(email)]}"))
    [found] = violations(report, "u")
    assert (found["groups"], found["rows"]) == (2, 5)
    assert found["sample"][0] == {"key": ["b@x.io"], "rows": 3}


def test_unique_passes_on_unique_data(db):
    db.execute(SHOP)
    result = rule(
        gate(db.dsn, rules("{id: u, check: unique, table: accounts, columns: [id]}")), "u"
    )
    assert result.status == "pass"


def test_not_null(db):
    db.execute(SHOP)
    report = gate(
        db.dsn, rules("{id: n, check: not_null, table: accounts, columns: [email, created_at, id]}")
    )
    found = {v["column"]: v["rows"] for v in violations(report, "n")}
    assert found == {"email": 2, "created_at": 1}
    assert report.exit_code == 1


@pytest.mark.parametrize(
    ("bounds", "status", "message"),
    [
        ("min: 1", "pass", "holds at least 1 row"),
        ("min: 7, max: 7", "pass", "holds 7 rows"),
        ("min: 8", "fail", "holds 7 rows; it should hold at least 8"),
        ("max: 3", "fail", "holds more than 3 rows; it should hold at most 3"),
    ],
)
def test_row_count(db, bounds, status, message):
    db.execute(SHOP)
    result = rule(
        gate(db.dsn, rules(f"{{id: c, check: row_count, table: accounts, {bounds}}}")), "c"
    )
    assert result.status == status
    assert message in (result.violations[0].describe() if result.violations else result.message)


def test_freshness_against_the_restore_point(db):
    db.execute(SHOP)
    text = rules("{id: f, check: freshness, table: accounts, column: created_at, max_age: 36h}")
    point = datetime(2026, 5, 8, 9, 0, tzinfo=timezone.utc)
    assert rule(gate(db.dsn, text, restore_point=point), "f").status == "pass"
    late = datetime(2026, 5, 15, 9, 0, tzinfo=timezone.utc)
    [found] = violations(gate(db.dsn, text, restore_point=late), "f")
    assert found["reference_kind"] == "restore point"
    assert found["age_s"] == pytest.approx((7 * 24 + 10) * 3600)
    [found] = violations(gate(db.dsn, text), "f")  # measured from now: years old
    assert found["reference_kind"] == "now"


def test_freshness_of_an_empty_table_fails(db):
    db.execute("CREATE TABLE events (at date)")
    [found] = violations(
        gate(db.dsn, rules("{id: f, check: freshness, table: events, column: at, max_age: 7d}")),
        "f",
    )
    assert found["newest"] is None


def test_sql_rule(db):
    db.execute(SHOP)
    query = "SELECT id, email FROM accounts WHERE email IS NULL ORDER BY id"
    report = gate(db.dsn, rules(f"{{id: q, check: sql, sql: '{query}'}}"))
    [found] = violations(report, "q")
    assert found["rows"] == 2
    assert found["sample"][0] == {"id": 6, "email": None}
    report = gate(db.dsn, rules(f"{{id: q, check: sql, sql: '{query}', max_rows: 2}}"))
    assert rule(report, "q").status == "pass"


def test_sql_rule_with_a_huge_result_fetches_only_a_sample(db):
    db.execute("CREATE TABLE t AS SELECT g FROM generate_series(1, 500000) g")
    [found] = violations(gate(db.dsn, rules("{id: q, check: sql, sql: 'SELECT g FROM t'}")), "q")
    assert found["rows"] == 500000
    assert len(found["sample"]) == 20


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("DELETE FROM accounts", "only a SELECT may run"),
        ("SELECT 1; DROP TABLE accounts", "exactly one statement"),
        ("WITH d AS (DELETE FROM accounts RETURNING *) SELECT * FROM d", "DELETE is not allowed"),
        ("SELECT * FROM accounts FOR UPDATE", "FOR UPDATE/SHARE is not allowed"),
        ("SELECT * INTO stolen FROM accounts", "INTO is not allowed"),
        ("SELECT pg_terminate_backend(1)", "pg_terminate_backend() is not allowed"),
        ("SELECT setval('accounts_id_seq', 1)", "setval() is not allowed"),
        ("SELEC 1", "cannot parse as PostgreSQL"),
    ],
)
def test_sql_that_tries_to_write_is_a_rules_error(sql, message):
    from restoregate.rules.loader import load_rules_text

    with pytest.raises(RulesError) as caught:
        load_rules_text(rules(f'{{id: q, check: sql, sql: "{sql}"}}'), "r.yaml")
    assert message in str(caught.value)
    assert caught.value.line == 3


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "{id: u, check: unique, table: acounts, columns: [email]}",
            "table public.acounts does not exist (did you mean public.accounts?)",
        ),
        (
            "{id: u, check: unique, table: accounts, columns: [emial]}",
            "column public.accounts.emial does not exist (did you mean email?)",
        ),
        (
            "{id: u, check: unique, table: accounts, columns: ['email); DROP TABLE accounts; --']}",
            "is not an SQL expression",
        ),
        (
            "{id: u, check: unique, table: accounts, columns: ['pg_terminate_backend(id)']}",
            "is not allowed",
        ),
        ("{id: u, check: unique, table: accounts, columns: ['(SELECT 1)']}", "not a query"),
        (
            "{id: n, check: not_null, table: 'accounts; DROP TABLE x', columns: [id]}",
            "is not a table name",
        ),
        ("{id: n, check: not_null, table: accounts, columns: ['\"email\"; DROP']}", "not a column"),
        ("{id: c, check: row_count, table: accounts}", "needs min, max or both"),
        ("{id: c, check: row_count, table: accounts, min: 5, max: 1}", "larger than max"),
        ("{id: f, check: freshness, table: accounts, column: email, max_age: 1d}", "not a time"),
        (
            "{id: f, check: freshness, table: accounts, column: created_at, max_age: soon}",
            "is not a duration",
        ),
    ],
)
def test_bad_or_hostile_rules_are_exit_2(db, entry, message):
    db.execute(SHOP)
    with pytest.raises(RulesError) as caught:
        gate(db.dsn, rules(entry))
    assert message in str(caught.value)
    assert db.scalar("SELECT count(*) FROM accounts") == 7, "nothing was dropped"


def test_quoted_names_in_single_table_checks(db):
    db.execute('CREATE TABLE "Mixed Case" ("Email" text); INSERT INTO "Mixed Case" VALUES (NULL);')
    text = rules("""{id: n, check: not_null, table: '"Mixed Case"', columns: ['"Email"']}""")
    [found] = violations(gate(db.dsn, text), "n")
    assert found["rows"] == 1
