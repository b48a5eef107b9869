"""Check ``catalog``: structural damage a restore leaves, each item found and switchable."""

from __future__ import annotations

import psycopg
import pytest

from tests.gate import gate, rule

CLEAN = """
CREATE TABLE accounts (id serial PRIMARY KEY, email text);
CREATE TABLE orders (id serial PRIMARY KEY, account_id int REFERENCES accounts (id),
                     total numeric CHECK (total >= 0));
INSERT INTO accounts (email) VALUES ('a'), ('b');
ANALYZE;
"""


def rules(params: str = "") -> str:
    return f"version: 1\nrules:\n  - {{id: c, check: catalog{', ' + params if params else ''}}}\n"


def problems(report, kind="violations"):
    return {
        (v.to_dict()["object"], v.to_dict()["problem"]) for v in getattr(rule(report, "c"), kind)
    }


def test_a_clean_restore_passes(db):
    db.execute(CLEAN)
    result = rule(gate(db.dsn, rules()), "c")
    assert (result.status, result.message) == ("pass", "the catalog looks whole")


def test_every_item_is_found(db):
    db.execute(
        CLEAN
        + """
        INSERT INTO accounts (email) VALUES ('dup'), ('dup');
        ALTER TABLE orders ADD CONSTRAINT positive CHECK (id > 0) NOT VALID;
        CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
        CREATE TRIGGER audit BEFORE INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION noop();
        ALTER TABLE accounts DISABLE TRIGGER audit;
        ALTER TABLE orders DISABLE TRIGGER ALL;
        CREATE MATERIALIZED VIEW totals AS SELECT sum(total) FROM orders WITH NO DATA;
        CREATE UNLOGGED TABLE scratch (id int);
        ANALYZE scratch;
    """
    )
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("CREATE UNIQUE INDEX CONCURRENTLY accounts_email ON accounts (email)")
    found = problems(gate(db.dsn, rules()))
    objects = {obj for obj, _ in found}
    [index] = [p for o, p in found if o == "public.accounts_email"]
    assert index.startswith("index is invalid")
    assert index.endswith("queries will not use it and uniqueness is not enforced")
    assert (
        "public.orders constraint positive",
        "not validated: existing rows were never checked",
    ) in found
    assert ("public.accounts trigger audit", "disabled") in found
    assert any(o.startswith('public.orders trigger "RI_ConstraintTrigger') for o in objects)
    assert any("enforces a foreign key" in p for _, p in found)
    assert "public.totals" in objects
    assert ("public.scratch", "unlogged table: emptied after a crash, absent on standbys") in found
    report = gate(
        db.dsn,
        rules(
            "invalid_indexes: false, constraints: false, triggers: false, "
            "materialized_views: false, unlogged: false"
        ),
    )
    assert rule(report, "c").status == "pass"


def test_required_extensions(db):
    db.execute(CLEAN)
    report = gate(
        db.dsn, rules("require_extensions: [plpgsql, plpgsql>=1.0, citext, 'plpgsql>=99']")
    )
    found = [v.to_dict() for v in rule(report, "c").violations]
    assert [(f["extension"], f["installed"]) for f in found] == [
        ("citext", None),
        ("plpgsql", "1.0"),
    ]
    assert report.exit_code == 1


def test_never_analyzed_tables_are_an_advisory(db):
    db.execute("CREATE TABLE fresh (id int); INSERT INTO fresh VALUES (1);")
    report = gate(db.dsn, rules())
    result = rule(report, "c")
    assert result.status == "warn"
    assert problems(report, "advisories") == {("public.fresh", "never analyzed, no statistics")}
    assert report.exit_code == 0
    assert rule(gate(db.dsn, rules("statistics: false")), "c").status == "pass"


def test_restored_subscription_is_named(db):
    db.execute(CLEAN)
    db.execute(
        "CREATE SUBSCRIPTION old_feed CONNECTION 'host=192.0.2.1 dbname=app password=secret' "
        "PUBLICATION p WITH (connect = false)"
    )
    try:
        report = gate(db.dsn, rules())
        found = problems(report)
        assert (
            "subscription old_feed",
            "restored disabled, with the old publisher's connection string",
        ) in found
        assert "secret" not in str(report.to_dict())
    finally:
        db.execute("ALTER SUBSCRIPTION old_feed SET (slot_name = NONE)")
        db.execute("DROP SUBSCRIPTION old_feed")


def test_inactive_replication_slot(db):
    db.execute(CLEAN)
    db.execute("SELECT pg_create_physical_replication_slot('rg_test_slot')")
    try:
        found = problems(gate(db.dsn, rules()))
        assert any(o == "replication slot rg_test_slot" for o, _ in found)
    finally:
        db.execute("SELECT pg_drop_replication_slot('rg_test_slot')")


def test_tables_filter(db):
    db.execute(CLEAN + "CREATE UNLOGGED TABLE scratch (id int); ANALYZE scratch;")
    assert rule(gate(db.dsn, rules("tables: {exclude: [public.scratch]}")), "c").status == "pass"


def test_bad_extension_requirement_is_a_rules_error():
    from restoregate.errors import RulesError
    from restoregate.rules.loader import load_rules_text

    with pytest.raises(RulesError, match=r"write name or name>=1\.6"):
        load_rules_text(rules("require_extensions: ['postgis; DROP']"), "r.yaml")
