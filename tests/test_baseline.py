"""snapshot + --baseline: what the catalog cannot show is missing, the manifest shows."""

from __future__ import annotations

import json

import psycopg
import pytest
from click.testing import CliRunner

from restoregate import api
from restoregate.cli import cli

APP = """
CREATE TABLE accounts (id serial PRIMARY KEY, email text UNIQUE);
CREATE TABLE orders (id serial PRIMARY KEY, account_id int REFERENCES accounts (id));
CREATE INDEX orders_account ON orders (account_id);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();
CREATE VIEW big_orders AS SELECT * FROM orders WHERE id > 10;
INSERT INTO accounts (email) SELECT 'u' || g FROM generate_series(1, 40) g;
INSERT INTO orders (account_id) SELECT 1 + g % 40 FROM generate_series(1, 120) g;
"""


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def baseline_findings(dsn: str, manifest) -> tuple[int, set[tuple[str, str]]]:
    result = run(
        "check", "--dsn", dsn, "--baseline", str(manifest), "--format", "json", "--only", "baseline"
    )
    report = json.loads(result.stdout)
    rule = next(r for r in report["rules"] if r["id"] == "baseline")
    found = {(v.get("object_kind") or v["what"], v["object"]) for v in rule["violations"]}
    return result.exit_code, found


@pytest.fixture
def backup(new_db, dump, tmp_path):
    """A source database, its dump, and the manifest taken in the same state."""
    source = new_db()
    source.execute(APP)
    archive = tmp_path / "app.dump"
    dump(source, archive, "-Fc")
    manifest = tmp_path / "app.manifest.json"
    assert run("snapshot", "--dsn", source.dsn, "--exact", "-o", str(manifest)).exit_code == 0
    return source, archive, manifest


def test_a_clean_restore_of_the_same_dump_passes(backup, new_db, restore):
    _, archive, manifest = backup
    target = new_db()
    assert restore(archive, target).returncode == 0
    code, found = baseline_findings(target.dsn, manifest)
    assert (code, found) == (0, set())


def test_manifest_contents(backup):
    _, _, manifest = backup
    doc = json.loads(manifest.read_text())
    assert doc["manifest_version"] == 1 and doc["row_counts"] == "exact"
    assert doc["tables"]["public.orders"] == {"rows": 120}
    assert {
        "table": "public.accounts",
        "column": "id",
        "sequence": "public.accounts_id_seq",
        "min": 1,
        "max": 40,
    } in doc["keys"]
    assert doc["sequences"]["public.orders_id_seq"] == {
        "last_value": 120,
        "next_value": 121,
        "is_called": True,
    }
    assert "public.orders constraint orders_account_id_fkey" in doc["objects"]["constraint"]
    assert "public.touch()" in doc["objects"]["function"]
    assert doc["fingerprint"].startswith("sha256:")


def test_a_restore_that_lost_a_foreign_key(backup, new_db, pg_server, tmp_path):
    _, archive, manifest = backup
    listing = pg_server.run_tool("pg_restore", ["-l", str(archive)]).stdout
    edited = tmp_path / "toc.list"
    edited.write_text("\n".join(ln for ln in listing.splitlines() if "FK CONSTRAINT" not in ln))
    target = new_db()
    result = pg_server.run_tool(
        "pg_restore", ["-L", str(edited), "-d", pg_server.dsn_for(target.name), str(archive)]
    )
    assert result.returncode == 0, "nothing in the restore itself says anything is wrong"
    code, found = baseline_findings(target.dsn, manifest)
    assert code == 1
    assert found == {("constraint", "public.orders constraint orders_account_id_fkey")}


def test_a_restore_from_an_older_dump(backup, new_db, restore):
    source, archive, _ = backup
    source.execute("INSERT INTO orders (account_id) SELECT 1 FROM generate_series(1, 30)")
    newer = archive.with_name("newer.manifest.json")
    assert run("snapshot", "--dsn", source.dsn, "--exact", "-o", str(newer)).exit_code == 0
    target = new_db()
    assert restore(archive, target).returncode == 0  # last week's dump
    code, found = baseline_findings(target.dsn, newer)
    assert code == 1
    assert found == {
        ("sequence", "public.orders_id_seq"),
        ("key", "public.orders.id"),
        ("rows", "public.orders"),
    }


def test_a_sequence_set_back(backup, new_db, restore):
    _, archive, manifest = backup
    target = new_db()
    assert restore(archive, target).returncode == 0
    target.execute("SELECT setval('accounts_id_seq', 40, false)")  # next 40: still > max 40? no
    target.execute("SELECT setval('accounts_id_seq', 41, false)")  # next 41, was 41: fine
    assert baseline_findings(target.dsn, manifest)[1] == set()
    target.execute("SELECT setval('accounts_id_seq', 35)")  # behind the baseline's 41
    assert baseline_findings(target.dsn, manifest)[1] == {("sequence", "public.accounts_id_seq")}


def test_a_missing_extension(new_db, dump, restore, pg_server, tmp_path):
    source = new_db()
    available = source.scalar("SELECT count(*) FROM pg_available_extensions WHERE name = 'citext'")
    if not available:
        pytest.skip("citext is not available on this server")
    source.execute(
        "CREATE EXTENSION citext; CREATE TABLE users (name citext PRIMARY KEY);"
        "CREATE TABLE audit (id serial PRIMARY KEY);"
    )
    archive = tmp_path / "ext.dump"
    dump(source, archive, "-Fc")
    manifest = tmp_path / "ext.json"
    assert run("snapshot", "--dsn", source.dsn, "-o", str(manifest)).exit_code == 0
    listing = pg_server.run_tool("pg_restore", ["-l", str(archive)]).stdout
    edited = tmp_path / "toc.list"
    edited.write_text("\n".join(ln for ln in listing.splitlines() if " EXTENSION " not in ln))
    target = new_db()
    pg_server.run_tool(
        "pg_restore", ["-L", str(edited), "-d", pg_server.dsn_for(target.name), str(archive)]
    )
    code, found = baseline_findings(target.dsn, manifest)
    assert code == 1
    assert ("extension", "citext") in found
    assert ("table", "public.users") in found


def test_verify_dump_with_the_backups_own_manifest(backup):
    _, archive, manifest = backup
    result = run("verify-dump", str(archive), "--baseline", str(manifest), "--format", "json")
    assert result.exit_code == 0, result.output
    ids = [r["id"] for r in json.loads(result.stdout)["rules"]]
    assert ids[0] == "restore_errors" and "baseline" in ids


def test_snapshot_reads_an_exported_snapshot(db, tmp_path):
    db.execute(
        "CREATE TABLE t (id serial PRIMARY KEY); INSERT INTO t SELECT FROM generate_series(1, 5);"
    )
    with psycopg.connect(db.dsn) as exporter:
        exporter.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        snapshot_id = exporter.execute("SELECT pg_export_snapshot()").fetchone()[0]
        db.execute("INSERT INTO t SELECT FROM generate_series(1, 7)")  # after the snapshot
        manifest = api.snapshot(db.dsn, exact=True, snapshot_id=snapshot_id)
    assert manifest["tables"]["public.t"] == {"rows": 5}
    assert manifest["snapshot"] == snapshot_id
    live = api.snapshot(db.dsn, exact=True)
    assert live["tables"]["public.t"] == {"rows": 12}


def test_bad_manifests_and_snapshots_are_clear_errors(db, tmp_path):
    db.execute("CREATE TABLE t (id int)")
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    result = run("check", "--dsn", db.dsn, "--baseline", str(junk))
    assert result.exit_code == 2 and "not a restoregate manifest" in result.stderr
    other = tmp_path / "other.json"
    other.write_text('{"manifest_version": 99}')
    assert run("check", "--dsn", db.dsn, "--baseline", str(other)).exit_code == 2
    bad = run("snapshot", "--dsn", db.dsn, "-o", str(tmp_path / "m.json"), "--snapshot", "x'; --")
    assert bad.exit_code == 2
    gone = run(
        "snapshot",
        "--dsn",
        db.dsn,
        "-o",
        str(tmp_path / "m.json"),
        "--snapshot",
        "00000003-0000001B-1",
    )
    assert gone.exit_code == 3 and "cannot use snapshot" in gone.stderr
    missing_role = run(
        "snapshot", "--dsn", db.dsn, "-o", str(tmp_path / "m.json"), "--role", "nobody_rg"
    )
    assert missing_role.exit_code == 2
