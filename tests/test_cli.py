"""The command line as users and runbooks meet it: exit codes, one-line errors, outputs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from psycopg.conninfo import make_conninfo

from restoregate.cli import cli
from tests.report_schema import parse_report

INCIDENT = """
CREATE TABLE accounts (id serial PRIMARY KEY);
CREATE TABLE journals (id serial PRIMARY KEY, user_id int);
INSERT INTO accounts SELECT FROM generate_series(1, 200);
INSERT INTO journals (user_id) SELECT g FROM generate_series(1, 306) g;
"""
RULES = """version: 1
references:
  - from: public.journals(user_id)
    to: public.accounts(id)
rules:
  - {id: sequences, check: sequences}
  - {id: references, check: references}
"""


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def incident(db, tmp_path):
    db.execute(INCIDENT)
    rules = tmp_path / "dayone.yaml"
    rules.write_text(RULES)
    return db.dsn, str(rules)


def test_closed_gate_exits_1_with_the_contracts_json(incident):
    dsn, rules = incident
    result = run("check", "--dsn", dsn, "--rules", rules, "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["passed"] is False
    assert report["summary"] == {"rules": 2, "pass": 0, "fail": 2, "warn": 0, "error": 0, "skip": 0}
    [seq] = report["rules"][0]["violations"]
    assert (seq["next_value"], seq["max_value"]) == (201, 306)
    [orphans] = report["rules"][1]["violations"]
    assert (orphans["orphans"], orphans["reassignable"]) == (106, 106)
    assert orphans["sample"][:3] == [[201], [202], [203]]
    assert report["rules"][1]["message"] == "106 orphaned rows, 106 of them reassignable"


def test_text_report_speaks_to_a_dba(incident):
    dsn, rules = incident
    result = run("check", "--dsn", dsn, "--rules", rules)
    assert result.exit_code == 1
    text = " ".join(result.stdout.split())  # the report wraps at the terminal's width
    assert "106 rows of public.journals(user_id) point at public.accounts(id) rows" in text
    assert "the next inserts into public.accounts will inherit them" in text
    assert "GATE CLOSED" in text


def test_open_gate_exits_0(db):
    db.execute("CREATE TABLE t (id serial PRIMARY KEY); INSERT INTO t DEFAULT VALUES;")
    result = run("check", "--dsn", db.dsn)
    assert result.exit_code == 0, result.output
    assert "GATE OPEN: all 3 rules passed." in result.stdout


def test_dsn_from_the_environment(db):
    db.execute("CREATE TABLE t (id serial PRIMARY KEY)")
    assert run("check", env={"RESTOREGATE_DSN": db.dsn}).exit_code == 0


def test_output_file_and_verdict_on_stderr(incident, tmp_path):
    dsn, rules = incident
    out = tmp_path / "gate.json"
    result = run("check", "--dsn", dsn, "--rules", rules, "--format", "json", "--output", str(out))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "GATE CLOSED" in result.stderr and str(out) in result.stderr
    assert json.loads(out.read_text())["passed"] is False


def test_only_and_skip(incident):
    dsn, rules = incident
    result = run("check", "--dsn", dsn, "--rules", rules, "--format", "json", "--skip", "sequences")
    statuses = [r["status"] for r in json.loads(result.stdout)["rules"]]
    assert statuses == ["skip", "fail"]
    result = run("check", "--dsn", dsn, "--rules", rules, "--only", "sequence")
    assert result.exit_code == 2
    assert "did you mean 'sequences'?" in result.stderr


def test_warn_severity_keeps_the_gate_open(incident, tmp_path):
    dsn, _ = incident
    rules = tmp_path / "warn.yaml"
    rules.write_text(RULES.replace("check: references}", "check: references, severity: warn}"))
    result = run("check", "--dsn", dsn, "--rules", str(rules), "--only", "references")
    assert result.exit_code == 0
    assert "WARN" in result.stdout


def test_password_never_printed(db):
    db.execute("CREATE TABLE t (id serial PRIMARY KEY)")
    dsn = make_conninfo(db.dsn, password="hunter2")
    result = run("check", "--dsn", dsn, "--format", "json")
    assert "hunter2" not in result.output
    unreachable = run("check", "--dsn", "postgresql://u:hunter2@127.0.0.1:1/x")
    assert unreachable.exit_code == 3
    assert "hunter2" not in unreachable.output


def test_unreachable_server_is_one_line_exit_3():
    result = run("check", "--dsn", "postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=2")
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(
        "restoregate: cannot connect to postgresql://nobody@127.0.0.1:1/nothing"
    )
    assert "Traceback" not in result.output


def test_malformed_dsn_is_a_usage_error():
    result = run("check", "--dsn", "host=")
    assert result.exit_code in (2, 3)
    result = run("check", "--dsn", "this is not = a dsn '")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_database_without_tables_is_not_an_open_gate(db):
    result = run("check", "--dsn", db.dsn)
    assert result.exit_code == 2
    assert "no tables to judge" in result.stderr


def test_misspelt_schema_is_not_an_open_gate(db, tmp_path):
    db.execute("CREATE TABLE t (id int)")
    rules = tmp_path / "r.yaml"
    rules.write_text("version: 1\nschemas: [pubic]\nrules:\n  - {id: s, check: sequences}\n")
    result = run("check", "--dsn", db.dsn, "--rules", str(rules))
    assert result.exit_code == 2
    assert "schemas with tables: public" in result.stderr.lower()


def test_bad_rules_file_is_exit_2_with_position(db, tmp_path):
    rules = tmp_path / "bad.yaml"
    rules.write_text("version: 1\nrules:\n  - id: x\n    chek: sequences\n")
    result = run("check", "--dsn", db.dsn, "--rules", str(rules))
    assert result.exit_code == 2
    assert f"{rules}:4:5:" in result.stderr
    assert "Traceback" not in result.output


def test_bad_options_are_exit_2(db):
    assert run("check", "--format", "xml").exit_code == 2
    assert run("check", "--dsn", db.dsn, "--statement-timeout", "soon").exit_code == 2
    assert run("frobnicate").exit_code == 2


def test_rules_lint(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(RULES)
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 2\nrules: []\n")
    assert run("rules", "lint", str(good)).exit_code == 0
    result = run("rules", "lint", str(good), str(bad))
    assert result.exit_code == 2
    assert f"{good}: ok" in result.stdout
    assert f"{bad}:1:" in result.stderr


def test_every_command_has_help_with_an_example():
    for args in (["check"], ["rules", "lint"], ["demo"]):
        result = run(*args, "--help")
        assert result.exit_code == 0
        assert "Example" in result.stdout, args


def test_version():
    result = run("--version")
    assert result.exit_code == 0 and "restoregate" in result.stdout


def test_real_subprocess_json_on_stdout_only(incident):
    dsn, rules = incident
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "restoregate",
            "check",
            "--dsn",
            dsn,
            "--rules",
            rules,
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert proc.returncode == 1, proc.stderr
    assert parse_report(proc.stdout)["summary"]["fail"] == 2


def test_demo_tells_the_story():
    result = run("demo")
    assert result.exit_code == 1, "the demo's gate closes, as it must"
    text = " ".join(result.stdout.split())
    assert "public.accounts_id_seq will hand out 201 next" in text
    assert "106 orphaned rows, 106 of them reassignable" in text
    zero_config = text.split("with no rules file at all", 1)[1]
    assert "restoregate check" in zero_config
    assert "public.journals(user_id) looks like a reference to public.accounts(id)" in zero_config
    assert "106 rows point at no public.accounts(id) row, 106 of them reassignable" in zero_config
    assert "public.accounts_id_seq will hand out 201 next" in zero_config
    assert "What this means:" in text
    # the final act: the plan, applied, and the gate open for the sequences
    assert "restoregate fix --rules dayone.yaml --apply --yes" in text
    assert "public.accounts_id_seq moved from 201 to 1307 (largest key 306)" in text
    assert "106 orphaned rows, 0 of them reassignable" in text


def test_sigterm_stops_a_verify_dump_and_its_server(db, dump, tmp_path):
    """A CI timeout sends SIGTERM: exit non-zero, and no embedded server is left behind."""
    import signal
    import time

    db.execute("CREATE TABLE t AS SELECT g FROM generate_series(1, 2000000) g")
    dump(db, tmp_path / "big.dump", "-Fc")
    before = _embedded_servers()
    proc = subprocess.Popen(
        [sys.executable, "-m", "restoregate", "verify-dump", str(tmp_path / "big.dump")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not (_embedded_servers() - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    started = _embedded_servers() - before  # other test runs' servers are not its business
    assert started, "the throwaway server never started"
    assert proc.poll() is None, "the restore was still running"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, (out, err)
    assert "interrupted" in err
    time.sleep(1)
    assert not started & _embedded_servers()


def _embedded_servers() -> set[str]:
    out = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True).stdout
    ours = sys.prefix  # this virtualenv's embedded binaries, not another checkout's
    return {
        line
        for line in out.splitlines()
        if "restoregate-pg-" in line and "postgres -D" in line and ours in line
    }


def test_server_version_is_the_bare_version(incident):
    dsn, rules = incident
    report = json.loads(run("check", "--dsn", dsn, "--rules", rules, "--format", "json").stdout)
    assert re.fullmatch(r"\d+(\.\d+)+", report["database"]["server_version"])
