"""dvdrental, a real schema restoregate was not written for, on PostgreSQL, MariaDB and SQLite.

With no rules file: a clean restore opens the gate on every engine (no false suspected
reference, no false sequence finding), and each restore fault closes it with the right
counts. The two days and the restores are built as ``benchmarks/dvdrental.py`` says
(dumps of two days, tables taken from the wrong one, data loaded with foreign key checks
off); the MariaDB and SQLite databases come from PostgreSQL through the migration helper
``benchmarks/migrate.py``. Skipped when the shared samples are absent.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from benchmarks import dvdrental
from restoregate.cli import cli
from tests.mysqltest import admin, server_answers
from tests.pgtest import PgServer

pytestmark = pytest.mark.skipif(
    dvdrental.tarball() is None, reason="the shared sample databases are absent"
)
ENGINES = ("postgresql", "mariadb", "sqlite")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dvdrental")


@pytest.fixture(scope="module")
def pg_days(pg_server: PgServer, workdir: Path) -> Iterator[dvdrental.PgDays]:
    tools = dvdrental.Tools(pg_server.tool("pg_dump"), pg_server.tool("pg_restore"))
    days = dvdrental.PgDays(pg_server.admin_dsn, tools, workdir)
    try:
        yield days
    finally:
        days.drop_all()


@pytest.fixture(scope="module")
def my_days(pg_days: dvdrental.PgDays) -> Iterator[dvdrental.MyDays]:
    if not server_answers():
        pytest.skip("no MySQL/MariaDB server answers")
    server = admin()
    if server.container is not None:
        pytest.skip("the dvdrental restores use this host's client tools")
    dump = shutil.which("mariadb-dump") or shutil.which("mysqldump")
    client = shutil.which("mariadb") or shutil.which("mysql")
    if dump is None or client is None:
        pytest.skip("no mariadb-dump/mysqldump and client on PATH")
    my = dvdrental.MyServer(server.host, server.port, server.user, server.password)
    days = dvdrental.MyDays(pg_days, my, dump, client)
    try:
        yield days
    finally:
        days.drop_all()


@pytest.fixture(scope="module")
def sqlite_days(pg_days: dvdrental.PgDays, workdir: Path) -> dvdrental.SqliteDays:
    return dvdrental.SqliteDays(pg_days, workdir)


def restored(request: pytest.FixtureRequest, engine: str, fault: str) -> tuple[str, str]:
    """(DSN, the schema names are qualified with) of a restore of that kind."""
    fixture = {"postgresql": "pg_days", "mariadb": "my_days", "sqlite": "sqlite_days"}[engine]
    days = request.getfixturevalue(fixture)
    dsn = days.restore(fault)
    schema = {"postgresql": "public", "sqlite": "main"}.get(engine) or dsn.rsplit("/", 1)[1]
    return dsn, schema


def check(dsn: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["check", "--dsn", dsn, "--format", "json"])
    assert result.stdout, result.output
    return result.exit_code, dict(json.loads(result.stdout))


def violations(report: dict[str, Any], rule_id: str) -> list[dict[str, Any]]:
    [rule] = [r for r in report["rules"] if r["id"] == rule_id]
    return list(rule["violations"])


def orphans(report: dict[str, Any], rule_id: str) -> dict[str, tuple[int, int]]:
    return {v["reference"]: (v["orphans"], v["reassignable"]) for v in violations(report, rule_id)}


STORE_REFERENCES = ("customer", "inventory", "staff")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_clean_restore_opens_the_gate(request: pytest.FixtureRequest, engine: str) -> None:
    dsn, s = restored(request, engine, "clean")
    code, report = check(dsn)
    assert code == 0, report
    assert all(r["status"] == "pass" for r in report["rules"]), report["rules"]
    [suspected] = [r for r in report["rules"] if r["id"] == "suspected-references"]
    assert suspected["violations"] == [] and suspected.get("advisories", []) == []
    # the undeclared store_id columns are found, and found intact
    assert sorted(suspected["intact_references"]) == [
        f"{s}.{t}(store_id) -> {s}.store(store_id)" for t in STORE_REFERENCES
    ]
    [references] = [r for r in report["rules"] if r["id"] == "references"]
    assert "18 declared" in references["message"]


@pytest.mark.parametrize("engine", ENGINES)
def test_the_seed_older_stores_newer_children(request: pytest.FixtureRequest, engine: str) -> None:
    dsn, s = restored(request, engine, "seed")
    code, report = check(dsn)
    assert code == 1, report
    found = violations(report, "suspected-references")
    assert {v["reference"]: (v["orphans"], v["reassignable"], v["strength"]) for v in found} == {
        f"{s}.customer(store_id) -> {s}.store(store_id)": (10, 10, "strong"),
        f"{s}.inventory(store_id) -> {s}.store(store_id)": (40, 40, "strong"),
        f"{s}.staff(store_id) -> {s}.store(store_id)": (1, 1, "strong"),
    }
    [behind] = violations(report, "sequences")
    assert (behind["kind"], behind["next_value"], behind["max_value"]) == ("sequence_behind", 3, 3)
    assert f"{s}.store" in behind["sequence"]
    assert violations(report, "references") == []


@pytest.mark.parametrize("engine", ENGINES)
def test_a_counter_restored_below_referenced_keys(
    request: pytest.FixtureRequest, engine: str
) -> None:
    dsn, s = restored(request, engine, "counter-reset")
    code, report = check(dsn)
    assert code == 1, report
    [behind] = violations(report, "sequences")
    assert (behind["kind"], behind["next_value"], behind["max_value"]) == (
        "sequence_behind",
        600,
        609,
    )
    assert f"{s}.customer" in behind["sequence"]
    assert orphans(report, "references") == {
        f"{s}.payment(customer_id) -> {s}.customer(customer_id)": (20, 20),
        f"{s}.rental(customer_id) -> {s}.customer(customer_id)": (20, 20),
    }
    assert violations(report, "suspected-references") == []


@pytest.mark.parametrize("engine", ENGINES)
def test_orphans_loaded_with_fk_checks_off(request: pytest.FixtureRequest, engine: str) -> None:
    dsn, s = restored(request, engine, "fk-checks-off")
    code, report = check(dsn)
    assert code == 1, report
    assert orphans(report, "references") == {
        f"{s}.payment(customer_id) -> {s}.customer(customer_id)": (56, 0),
        f"{s}.rental(customer_id) -> {s}.customer(customer_id)": (59, 0),
    }
    assert violations(report, "sequences") == []
    assert violations(report, "suspected-references") == []
