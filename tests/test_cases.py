"""Shared scenarios (``tests/cases/*.yaml``), run on every engine present.

Each case file holds one scenario: per-engine setup SQL (``postgresql``, ``mariadb``,
``sqlite``), an optional rules file, and the expected verdicts (exit code; per rule id
the status and, in order, a subset of each violation's fields). One parametrised test
expands every case on every engine, so the same seed, clean restore and orphans loaded
with foreign key checks off are judged alike on PostgreSQL, MariaDB and SQLite. A new
scenario is a new file; an engine a case has no setup for is skipped for that case.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from restoregate.cli import cli
from tests.mysqltest import admin, databases, server_answers

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))
ENGINES = ("postgresql", "mariadb", "sqlite")


def _load(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(path.read_text()))


@pytest.fixture
def new_mydb():
    yield from databases(admin())


def _database(engine: str, setup: str, request: pytest.FixtureRequest, tmp: Path) -> str:
    """A fresh database of the engine with the case's setup run in it: its DSN."""
    if engine == "postgresql":
        db = request.getfixturevalue("db")
        db.execute(setup)
        return str(db.dsn)
    if engine == "mariadb":
        if not server_answers():
            pytest.skip("no MySQL/MariaDB server answers")
        mydb = request.getfixturevalue("new_mydb")()
        mydb.execute(setup)
        return str(mydb.dsn)
    path = tmp / "case.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(setup)
    conn.close()
    return f"sqlite:///{path}"


def _matches(expected: dict[str, Any], found: dict[str, Any]) -> bool:
    return all(found.get(k) == v for k, v in expected.items())


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_case(case: Path, engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    spec = _load(case)
    setup = spec["setup"].get(engine)
    if setup is None:
        pytest.skip(f"{case.stem} has no setup for {engine}")
    dsn = _database(engine, setup, request, tmp_path)
    options = ["check", "--dsn", dsn, "--format", "json"]
    if spec.get("rules"):
        (tmp_path / "rules.yaml").write_text(spec["rules"])
        options += ["--rules", str(tmp_path / "rules.yaml")]
    result = CliRunner().invoke(cli, options)
    assert result.stdout, result.output
    found = json.loads(result.stdout)
    expect = spec["expect"]
    rules = {r["id"]: r for r in found["rules"]}
    for rule_id, wanted in expect.get("rules", {}).items():
        assert rule_id in rules, f"{case.stem} on {engine}: no rule {rule_id}"
        got = rules[rule_id]
        assert got["status"] == wanted["status"], (rule_id, got)
        if "violations" in wanted:
            violations = got["violations"]
            assert len(violations) == len(wanted["violations"]), (rule_id, violations)
            for want, have in zip(wanted["violations"], violations, strict=True):
                assert _matches(want, have), (rule_id, want, have)
    assert result.exit_code == expect["exit"], found["rules"]


def test_every_case_names_its_engines_and_verdicts() -> None:
    """A case file with a typo (an unknown engine, no expected exit) fails here, not silently."""
    assert CASES, "no case files"
    for case in CASES:
        spec = _load(case)
        assert set(spec["setup"]) <= set(ENGINES), case.name
        assert isinstance(spec["expect"]["exit"], int), case.name
        assert set(spec) <= {"description", "setup", "rules", "expect"}, case.name
