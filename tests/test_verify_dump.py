"""verify-dump: backups restored into a throwaway server, restore errors as findings."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from restoregate import api
from restoregate.cli import cli
from restoregate.engines.postgres.embedded import find_tool

APP = """
CREATE TABLE accounts (id serial PRIMARY KEY, email text);
CREATE TABLE orders (id serial PRIMARY KEY, account_id int REFERENCES accounts (id));
INSERT INTO accounts (email) SELECT 'u' || g FROM generate_series(1, 30) g;
INSERT INTO orders (account_id) SELECT 1 + g % 30 FROM generate_series(1, 90) g;
"""


def verify(*args: str):
    return CliRunner().invoke(cli, ["verify-dump", *args], catch_exceptions=False)


@pytest.mark.parametrize(
    ("fmt", "extra"), [("c", []), ("d", ["--jobs", "2"]), ("t", []), ("p", [])]
)
def test_clean_backups_pass_in_every_format(db, dump, tmp_path, fmt, extra):
    db.execute(APP)
    archive = tmp_path / f"app.{fmt}"
    dump(db, archive, f"-F{fmt}")
    result = verify(str(archive), "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rules"][0] == {
        **report["rules"][0],
        "id": "restore_errors",
        "status": "pass",
    }


def test_a_restore_with_errors_closes_the_gate_and_lists_them(db, dump, tmp_path):
    """Orphans in the data: pg_restore cannot re-create the FK, and goes on."""
    db.execute(APP + "SET session_replication_role = replica; INSERT INTO orders VALUES (500, 77);")
    dump(db, tmp_path / "app.dump", "-Fc")
    result = verify(str(tmp_path / "app.dump"), "--format", "json")
    assert result.exit_code == 1
    restore = json.loads(result.stdout)["rules"][0]
    assert restore["status"] == "fail"
    [error] = restore["violations"]
    assert 'violates foreign key constraint "orders_account_id_fkey"' in error["message"]


def test_plain_sql_with_errors(tmp_path):
    script = tmp_path / "broken.sql"
    script.write_text(
        "CREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t VALUES (1);\n"
        "INSERT INTO missing_table VALUES (1);\n"
    )
    result = verify(str(script), "--format", "json")
    assert result.exit_code == 1
    error, stopped = json.loads(result.stdout)["rules"][0]["violations"]
    assert 'relation "missing_table" does not exist' in error["message"]
    assert stopped["message"].startswith("psql stops at the first error of a plain dump")


def test_an_archive_from_an_older_server(tmp_path):
    if not find_tool("pg_dump", 15).as_posix().startswith("/usr/lib/postgresql/15"):
        pytest.skip("no PostgreSQL 15 client tools on this machine")
    import subprocess

    import psycopg

    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    try:
        psycopg.connect(admin, connect_timeout=2).close()
    except psycopg.Error:
        pytest.skip("no PostgreSQL 15 server on this machine")
    name = f"rg_old_{uuid.uuid4().hex[:10]}"  # other runs use this server at the same time
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}", autocommit=True) as c:
            c.execute(APP.encode())
        archive = tmp_path / "old.dump"
        subprocess.run(
            [
                str(find_tool("pg_dump", 15)),
                "-Fc",
                "-f",
                str(archive),
                f"postgresql://postgres@127.0.0.1:5432/{name}",
            ],
            check=True,
        )
        result = verify(str(archive))
        assert result.exit_code == 0, result.output
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_truncated_and_corrupt_files_are_exit_3(db, dump, tmp_path):
    db.execute(APP)
    dump(db, tmp_path / "app.dump", "-Fc")
    data = (tmp_path / "app.dump").read_bytes()
    (tmp_path / "cut.dump").write_bytes(data[: len(data) // 2])
    (tmp_path / "noise.bin").write_bytes(bytes(range(256)) * 4)
    for name in ("cut.dump", "noise.bin"):
        result = verify(str(tmp_path / name))
        assert result.exit_code == 3, (name, result.output)
        assert result.stderr.startswith(f"restoregate: {tmp_path / name}:")
        assert "Traceback" not in result.output


def test_missing_file_and_bad_rules_are_exit_2(tmp_path):
    assert verify(str(tmp_path / "nope.dump")).exit_code == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules: []\n")
    assert verify(str(tmp_path / "nope.dump"), "--rules", str(bad)).exit_code == 2


def test_keep_leaves_the_server_running(db, dump, tmp_path):
    import psycopg

    db.execute(APP)
    dump(db, tmp_path / "app.dump", "-Fc")
    report, kept = api.verify_dump(tmp_path / "app.dump", keep=True)
    assert report.exit_code == 0 and kept
    dsn = kept.splitlines()[0].removeprefix("the restored database is still running: ")
    assert "kill -INT" in kept
    try:
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT count(*) FROM orders").fetchone() == (90,)
            owner = "SELECT rolsuper, current_user FROM pg_roles WHERE rolname = current_user"
            assert conn.execute(owner).fetchone() == (False, "restoregate_restore")
    finally:
        stop_kept(kept)


def stop_kept(kept: str) -> None:
    """What the --keep message tells a user to do: signal the postmaster, remove the files."""
    import subprocess
    import time

    command = kept.splitlines()[1].removeprefix("stop it with: ")
    pid_file = Path(command.split("$(head -1 ")[1].split(")")[0])
    pid = int(pid_file.read_text().split()[0])
    subprocess.run(command, shell=True, check=True, timeout=60)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    assert not pid_file.parent.parent.exists()
