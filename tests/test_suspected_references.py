"""References nobody declared: inferred, checked for orphans, and written out by init."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from restoregate.cli import cli
from restoregate.rules.loader import lint
from tests.gate import gate, rule

SUSPECTED = "version: 1\nrules:\n  - {id: s, check: suspected_references}\n"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_the_2018_restore_is_named_with_no_rules_file(new_db, dump, restore, tmp_path):
    """Accounts restored from the nightly backup; journals kept; nothing declares the link."""
    db = new_db()
    db.execute("""
        CREATE TABLE accounts (id serial PRIMARY KEY, email text);
        CREATE TABLE journals (id bigserial PRIMARY KEY, user_id int NOT NULL, body text);
        INSERT INTO accounts (email) SELECT 'u' || g FROM generate_series(1, 200) g;
        INSERT INTO journals (user_id) SELECT a.id FROM accounts a, generate_series(1, 3);
    """)
    dump(db, tmp_path / "accounts.dump", "-Fc", "-t", "accounts")
    db.execute("""
        INSERT INTO accounts (email) SELECT 'u' || g FROM generate_series(201, 306) g;
        INSERT INTO journals (user_id) SELECT id FROM accounts WHERE id > 200;
        DROP TABLE accounts;
    """)
    assert restore(tmp_path / "accounts.dump", db).returncode == 0
    result = CliRunner().invoke(cli, ["check", "--dsn", db.dsn, "--format", "json"])
    print(result.stdout)
    assert result.exit_code == 1, "strong evidence: the gate closes with no rules file"
    report = json.loads(result.stdout)
    suspected = next(r for r in report["rules"] if r["check"] == "suspected_references")
    assert suspected["status"] == "fail"
    [found] = suspected["violations"]
    assert found["reference"] == "public.journals(user_id) -> public.accounts(id)"
    assert (found["orphans"], found["reassignable"]) == (106, 106)
    assert found["parent_sequence"] == "public.accounts_id_seq"
    assert found["strength"] == "strong"
    assert "the orphans begin at 201" in found["strong_because"]
    assert "sampled values match public.accounts.id" in found["evidence"]
    assert "no table is named after user_id" in found["evidence"]
    [behind] = next(r for r in report["rules"] if r["id"] == "sequences")["violations"]
    assert (behind["sequence"], behind["max_source"]) == (
        "public.accounts_id_seq",
        "public.journals.user_id",
    )


def test_names_propose_the_parent(db):
    db.execute("""
        CREATE TABLE customers (id serial PRIMARY KEY);
        CREATE TABLE orders (id serial PRIMARY KEY);
        CREATE TABLE invoices (id serial PRIMARY KEY, customer_ref int, "orderId" bigint);
        INSERT INTO customers SELECT FROM generate_series(1, 50);
        INSERT INTO orders SELECT FROM generate_series(1, 50);
        INSERT INTO invoices (customer_ref, "orderId") SELECT g % 60 + 1, g % 50 + 1
            FROM generate_series(1, 300) g;
    """)
    report = gate(db.dsn, SUSPECTED)
    found = {v.to_dict()["reference"]: v.to_dict() for v in rule(report, "s").violations}
    assert list(found) == ["public.invoices(customer_ref) -> public.customers(id)"]
    [customers] = found.values()
    assert customers["evidence"].endswith("it is named after public.customers")
    assert customers["strength"] == "strong", "orphans 51-60 start where customers_id_seq stops"
    assert rule(report, "s").message.startswith(
        "1 suspected reference with orphans on strong evidence; 1 undeclared reference looks"
    ), "orderId -> orders is intact"
    assert rule(report, "s").lists["intact_references"] == [
        'public.invoices("orderId") -> public.orders(id)'
    ]


def test_small_code_columns_are_not_suspects(db):
    db.execute("""
        CREATE TABLE accounts (id serial PRIMARY KEY, status_id int);
        INSERT INTO accounts (status_id) SELECT g % 3 + 1 FROM generate_series(1, 100) g;
        CREATE TABLE tickets (id serial PRIMARY KEY, priority_id int);
        INSERT INTO tickets (priority_id) SELECT g % 4 + 1 FROM generate_series(1, 100) g;
    """)
    result = rule(gate(db.dsn, SUSPECTED), "s")
    assert (result.status, result.message) == ("pass", "no undeclared references found")


def test_declared_and_intact_references(db):
    db.execute("""
        CREATE TABLE users (id serial PRIMARY KEY);
        CREATE TABLE posts (id serial PRIMARY KEY, user_id int REFERENCES users (id),
                            author_id int);
        INSERT INTO users SELECT FROM generate_series(1, 20);
        INSERT INTO posts (user_id, author_id) SELECT g % 20 + 1, g % 20 + 1
            FROM generate_series(1, 100) g;
    """)
    result = rule(gate(db.dsn, SUSPECTED), "s")
    assert result.status == "pass"
    assert result.message == "1 undeclared reference looks intact", "author_id; user_id has an FK"


def test_big_tables_are_sampled(db):
    db.execute("""
        CREATE TABLE users (id serial PRIMARY KEY);
        CREATE TABLE events (id bigserial PRIMARY KEY, user_id int);
        INSERT INTO users SELECT FROM generate_series(1, 1000);
        INSERT INTO events (user_id) SELECT g % 1200 + 1 FROM generate_series(1, 200000) g;
        ANALYZE;
    """)
    assert db.scalar("SELECT relpages FROM pg_class WHERE relname = 'events'") > 64
    [found] = rule(gate(db.dsn, SUSPECTED), "s").violations
    # user_id % 1200 lands past 1000 for 166 full cycles of 200 values: exact, not sampled
    assert found.to_dict()["orphans"] == 33_200


def test_init_writes_rules_that_catch_the_orphans(db, tmp_path):
    db.execute("""
        CREATE TABLE users (id serial PRIMARY KEY);
        CREATE TABLE "O'Brien" (id serial PRIMARY KEY);
        CREATE TABLE comments (id serial PRIMARY KEY, user_id int, "O'Brien_id" int);
        INSERT INTO users SELECT FROM generate_series(1, 40);
        INSERT INTO "O'Brien" SELECT FROM generate_series(1, 40);
        INSERT INTO comments (user_id, "O'Brien_id") SELECT g % 45 + 1, g % 40 + 1
            FROM generate_series(1, 400) g;
    """)
    out = tmp_path / "rules.yaml"
    result = run("init", "--dsn", db.dsn, "-o", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "# " in text and "sampled values match public.users.id; it is named after" in text
    assert lint([str(out)]) == []
    assert run("init", "--dsn", db.dsn, "-o", str(out)).exit_code == 2, "no silent overwrite"
    assert run("init", "--dsn", db.dsn, "-o", str(out), "--force").exit_code == 0
    check = run("check", "--dsn", db.dsn, "--rules", str(out), "--format", "json")
    assert check.exit_code == 1
    refs = next(r for r in json.loads(check.stdout)["rules"] if r["id"] == "references")
    [orphans] = refs["violations"]
    assert orphans["reference"] == "public.comments(user_id) -> public.users(id)"
    assert orphans["orphans"] == 41  # g % 45 in 40..44 for g in 1..400


def test_init_to_stdout_on_a_database_without_suspects(db):
    db.execute("CREATE TABLE t (id serial PRIMARY KEY)")
    result = run("init", "--dsn", db.dsn)
    assert result.exit_code == 0
    assert "references: []" in result.stdout


@pytest.mark.parametrize("value", ["0", "1.5"])
def test_min_match_bounds(value):
    from restoregate.errors import RulesError
    from restoregate.rules.loader import load_rules_text

    with pytest.raises(RulesError, match="min_match"):
        load_rules_text(SUSPECTED.replace("}", f", min_match: {value}}}"), "r.yaml")


def test_a_counter_inside_the_orphans_range_is_strong_evidence(db):
    """A bulk load reserved a block of keys: the counter moved past some orphans, not all.

    The journals of accounts 201-306 survive, the accounts do not, and the sequence
    stands at 256 (as after MySQL's INSERT ... SELECT): accounts 256-306 are still to be
    handed out, so 153 of the 318 orphaned rows will be adopted. The orphans do not begin at the
    counter, yet the counter is inside them: the next sign-up gets a key journals hold.
    """
    db.execute("""
        CREATE TABLE accounts (id serial PRIMARY KEY, email text NOT NULL);
        CREATE TABLE journals (id serial PRIMARY KEY, user_id int NOT NULL, body text);
        INSERT INTO accounts (email) SELECT 'u' || g FROM generate_series(1, 200) g;
        INSERT INTO journals (user_id) SELECT g % 306 + 1 FROM generate_series(0, 999) g;
        SELECT setval('accounts_id_seq', 255);
    """)
    report = gate(db.dsn, SUSPECTED)
    [found] = [v.to_dict() for v in rule(report, "s").violations]
    assert (found["orphans"], found["reassignable"]) == (318, 153)
    assert found["strength"] == "strong"
    assert "256, what public.accounts_id_seq hands out next" in found["strong_because"]
    assert "inside the orphans' range 201..306" in found["strong_because"]
    assert not report.passed


def test_a_counter_beyond_every_orphan_is_weak_evidence(db):
    """Orphans that no future key can reach stay weak: a warning, not a closed gate."""
    db.execute("""
        CREATE TABLE accounts (id serial PRIMARY KEY, email text NOT NULL);
        CREATE TABLE journals (id serial PRIMARY KEY, user_id int NOT NULL, body text);
        INSERT INTO accounts (email) SELECT 'u' || g FROM generate_series(1, 200) g;
        INSERT INTO journals (user_id) SELECT g % 306 + 1 FROM generate_series(0, 999) g;
        SELECT setval('accounts_id_seq', 400);
    """)
    report = gate(db.dsn, SUSPECTED)
    assert rule(report, "s").status == "warn" and not rule(report, "s").violations
    [found] = [v.to_dict() for v in rule(report, "s").advisories]
    assert (found["orphans"], found["reassignable"]) == (318, 0)
    assert found["strength"] == "weak"
