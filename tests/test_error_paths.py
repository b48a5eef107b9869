"""Every ``RestoregateError`` path through the CLI: one line on stderr, the right code.

Each scenario is a real way a user meets an error class (a typo in a rules file, a
server that does not answer, a role without privileges). A meta-test fails when a new
subclass of ``RestoregateError`` appears without a scenario here, so a new error
cannot reach users untested.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

import restoregate
from restoregate.cli import cli
from restoregate.errors import RestoregateError

UNREACHABLE = "postgresql://nobody@127.0.0.1:9/nowhere?connect_timeout=2"
TABLE = "CREATE TABLE t (id serial PRIMARY KEY); INSERT INTO t DEFAULT VALUES;"


@dataclass(frozen=True)
class Scenario:
    error: str  # the RestoregateError subclass this path raises
    code: int
    says: str
    args: Callable[[Path, str], list[str]]  # (tmp_path, dsn of a fresh database) -> argv
    setup: str = ""  # SQL run in the fresh database first


def _file(tmp: Path, name: str, text: str) -> str:
    path = tmp / name
    path.write_text(text)
    return str(path)


SCENARIOS = {
    "only-unknown-rule": Scenario(
        "UsageError", 2, "no rule has that id", lambda t, d: ["check", "--only", "sequnces"]
    ),
    "bad-duration": Scenario(
        "UsageError",
        2,
        "--statement-timeout",
        lambda t, d: ["check", "--dsn", d, "--statement-timeout", "forever"],
    ),
    "unparsable-dsn": Scenario(
        "UsageError", 2, "not a valid connection string", lambda t, d: ["check", "--dsn", "x y"]
    ),
    "output-exists": Scenario(
        "UsageError",
        2,
        "exists",
        lambda t, d: ["check", "--dsn", d, "-o", _file(t, "old.json", "{}")],
    ),
    "missing-baseline": Scenario(
        "UsageError",
        2,
        "--baseline",
        lambda t, d: ["check", "--dsn", d, "--baseline", str(t / "nope.json")],
    ),
    "missing-dump": Scenario(
        "UsageError", 2, "no such file", lambda t, d: ["verify-dump", str(t / "nope.dump")]
    ),
    "rules-unknown-check": Scenario(
        "RulesError",
        2,
        "did you mean 'sequences'",
        lambda t, d: [
            "check",
            "--dsn",
            d,
            "--rules",
            _file(t, "r.yaml", "version: 1\nrules:\n  - {id: a, check: sequnces}\n"),
        ],
    ),
    "rules-bad-yaml": Scenario(
        "RulesError",
        2,
        "invalid YAML",
        lambda t, d: ["check", "--rules", _file(t, "r.yaml", "version: 1\nrules: [\n")],
    ),
    "rules-lint": Scenario(
        "RulesError",
        2,
        "unknown check",
        lambda t, d: [
            "rules",
            "lint",
            _file(t, "r.yaml", "version: 1\nrules:\n  - {id: a, check: sequnces}\n"),
        ],
    ),
    "rules-missing-table": Scenario(
        "RulesError",
        2,
        "nosuch",
        lambda t, d: [
            "check",
            "--dsn",
            d,
            "--rules",
            _file(
                t,
                "r.yaml",
                "version: 1\nrules:\n  - {id: u, check: unique, table: nosuch, columns: [id]}\n",
            ),
        ],
        TABLE,
    ),
    "nothing-to-judge": Scenario(
        "NothingToJudge", 2, "no tables to judge", lambda t, d: ["check", "--dsn", d]
    ),
    "cannot-connect": Scenario(
        "ConnectionProblem", 3, "cannot connect", lambda t, d: ["check", "--dsn", UNREACHABLE]
    ),
    "init-cannot-connect": Scenario(
        "ConnectionProblem", 3, "cannot connect", lambda t, d: ["init", "--dsn", UNREACHABLE]
    ),
    "snapshot-bad-id": Scenario(
        "UsageError",
        2,
        "--snapshot",
        lambda t, d: ["snapshot", "--dsn", d, "--snapshot", "x'; --", "-o", str(t / "m.json")],
        TABLE,
    ),
    "server-refuses-sql": Scenario(
        "RefusedSql",
        2,
        "public.lower",
        lambda t, d: [
            "check",
            "--dsn",
            d,
            "--rules",
            _file(
                t,
                "r.yaml",
                "version: 1\nrules:\n  - id: q\n    check: sql\n"
                "    sql: SELECT id FROM u WHERE lower(name) = 'x'\n",
            ),
        ],
        "CREATE TABLE u (id int PRIMARY KEY, name varchar);"
        "CREATE FUNCTION public.lower(varchar) RETURNS text LANGUAGE sql AS 'SELECT $1';",
    ),
    "empty-dump": Scenario(
        "RestoregateError",
        3,
        "the file is empty",
        lambda t, d: ["verify-dump", _file(t, "empty.dump", "")],
    ),
    "directory-not-a-dump": Scenario(
        "RestoregateError", 3, "not a pg_dump archive", lambda t, d: ["verify-dump", str(t)]
    ),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_each_error_is_one_line_and_its_exit_code(name, db, tmp_path):
    scenario = SCENARIOS[name]
    if scenario.setup:
        db.execute(scenario.setup)
    args = scenario.args(tmp_path, db.dsn)
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == scenario.code, (args, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert scenario.says in lines[0]
    assert "Traceback" not in result.output and "internal error" not in result.stderr


def test_a_rule_that_cannot_run_is_exit_3_and_one_line(db, make_role, tmp_path):
    """CheckFailedToRun inside a rule: status error, exit 3, the verdict as the one line."""
    db.execute(TABLE)
    dsn = make_role(db, "blind", "GRANT USAGE ON SCHEMA public TO {role}")
    out = tmp_path / "gate.json"
    result = CliRunner().invoke(
        cli, ["check", "--dsn", dsn, "--format", "json", "-o", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 3, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("GATE CLOSED:") and "could not be checked" in line


def _error_classes() -> set[str]:
    for module in pkgutil.walk_packages(restoregate.__path__, "restoregate."):
        if module.name.endswith("__main__"):
            continue
        importlib.import_module(module.name)
    found, todo = set(), [RestoregateError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo += cls.__subclasses__()
    return found


def test_every_error_class_has_a_scenario():
    covered = {s.error for s in SCENARIOS.values()} | {"CheckFailedToRun"}
    missing = _error_classes() - covered
    assert not missing, f"add a scenario for {sorted(missing)} to tests/test_error_paths.py"
