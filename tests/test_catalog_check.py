"""Check ``catalog``: structural damage a restore leaves, each item found and switchable."""

from __future__ import annotations

import uuid

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
    report = gate(db.dsn, rules())
    found, warned = problems(report), problems(report, "advisories")
    assert {
        ("public.orders constraint positive", "not validated: existing rows were never checked"),
        ("public.scratch", "unlogged table: emptied after a crash, absent on standbys"),
    } <= warned, "what a source may be like on purpose warns without a baseline"
    assert any(o == "public.totals" for o, _ in warned)
    found |= warned
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


def test_a_physical_replication_slot_is_the_servers_not_the_restores(db):
    db.execute(CLEAN)
    slot = f"rg_slot_{uuid.uuid4().hex[:8]}"
    db.execute(f"SELECT pg_create_physical_replication_slot('{slot}')")
    try:
        report = gate(db.dsn, rules())
        assert not any(o == f"replication slot {slot}" for o, _ in problems(report))
        assert any(o == f"replication slot {slot}" for o, _ in problems(report, "advisories"))
        assert rule(report, "c").status == "warn" and report.exit_code == 0
        assert rule(gate(db.dsn, rules("replication_slots: false")), "c").status == "pass"
    finally:
        db.execute(f"SELECT pg_drop_replication_slot('{slot}')")


ON_PURPOSE = """
CREATE UNLOGGED TABLE scratch (id int);
ALTER TABLE orders ADD CONSTRAINT positive CHECK (id > 0) NOT VALID;
CREATE MATERIALIZED VIEW totals AS SELECT sum(total) FROM orders WITH NO DATA;
ANALYZE;
"""


def test_with_a_baseline_only_what_differs_from_the_source_fails(new_db, dump, restore, tmp_path):
    """Danbooru's unlogged tables, a NOT VALID migration, WITH NO DATA views: on purpose."""
    from restoregate import api

    source, target = new_db(), new_db()
    source.execute(CLEAN + ON_PURPOSE)
    manifest = tmp_path / "source.json"
    api.write_manifest(api.snapshot(source.dsn), manifest)
    dump(source, tmp_path / "db.dump", "-Fc")
    assert restore(tmp_path / "db.dump", target).returncode == 0
    target.execute("ANALYZE")
    report = gate(target.dsn, rules(), baseline=manifest)
    assert rule(report, "c").status == "pass", problems(report) | problems(report, "advisories")
    plain = new_db()
    plain.execute(CLEAN)
    api.write_manifest(api.snapshot(plain.dsn), manifest)
    report = gate(target.dsn, rules(), baseline=manifest)
    assert {o for o, _ in problems(report)} == {
        "public.scratch",
        "public.orders constraint positive",
        "public.totals",
    }, "the source had none of them: the restore made them"
    assert rule(report, "c").status == "fail"


def test_tables_filter(db):
    db.execute(CLEAN + "CREATE UNLOGGED TABLE scratch (id int); ANALYZE scratch;")
    assert rule(gate(db.dsn, rules("tables: {exclude: [public.scratch]}")), "c").status == "pass"


def test_bad_extension_requirement_is_a_rules_error():
    from restoregate.errors import RulesError
    from restoregate.rules.loader import load_rules_text

    with pytest.raises(RulesError, match=r"write name or name>=1\.6"):
        load_rules_text(rules("require_extensions: ['postgis; DROP']"), "r.yaml")
