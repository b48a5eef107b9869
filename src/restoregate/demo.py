"""``restoregate demo``: the May 2018 restore, replayed on an embedded PostgreSQL.

``--engine sqlite`` replays it on SQLite files instead, with no server at all.

Accounts are backed up with pg_dump; more people sign up and write journals; the
server is lost and accounts come back from the backup while journals, kept
elsewhere, stay current. Every constraint the database knows about holds, and the
gate still closes.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from restoregate import api
from restoregate.engines.postgres.embedded import EphemeralServer, run_tool
from restoregate.engines.postgres.scripts import run_script
from restoregate.engines.sqlite import scenario
from restoregate.names import default_schema
from restoregate.report.text import render
from restoregate.rules.loader import example_rules

DATABASE = "dayone"


def run_demo(console: Console, *, keep: bool = False, engine: str = "postgresql") -> int:
    """Build the broken restore, run the gate on it, explain; returns the gate's exit code."""
    if engine == "sqlite":
        return _sqlite_demo(console, keep=keep)
    with EphemeralServer(keep=keep) as server, tempfile.TemporaryDirectory() as tmp:
        dsn = server.create_database(DATABASE)
        _build_broken_restore(console, dsn, Path(tmp) / "accounts.dump")
        _step(console, "4. Before go-live, the runbook runs the gate:")
        console.print("   [bold]restoregate check --rules rules/examples/dayone.yaml[/]\n")
        report = api.run_check(dsn, rules=example_rules("dayone"))
        render(report, sys.stdout, color=console.is_terminal)
        _step(console, "\n5. And with no rules file at all, nothing declared anywhere:")
        console.print("   [bold]restoregate check[/]\n")
        unconfigured = api.run_check(dsn)
        render(unconfigured, sys.stdout, color=console.is_terminal)
        _explain(console, max(report.exit_code, unconfigured.exit_code))
        if keep:
            console.print(f"\nThe demo database is still running: [bold]{escape(dsn)}[/]")
        return report.exit_code


def _sqlite_demo(console: Console, *, keep: bool) -> int:
    directory = Path(tempfile.mkdtemp(prefix="restoregate-demo-"))
    try:
        _step(console, "1. A journaling app on SQLite: 200 accounts, 600 private journal entries.")
        _step(console, "2. The nightly backup: .backup of the file. Then 106 more people sign up.")
        _step(console, "3. The disk is lost. Accounts come back from the backup; journals, kept")
        console.print("   elsewhere, are current. Nothing reports an error.")
        restored = scenario.build(directory)
        dsn = f"sqlite:///{restored}"
        _step(console, "4. Before go-live, the runbook runs the gate:")
        console.print(
            f"   [bold]restoregate check --dsn {escape(dsn)}"
            " --rules rules/examples/dayone-sqlite.yaml[/]\n"
        )
        with default_schema("main"):
            rules = example_rules("dayone-sqlite")
        report = api.run_check(dsn, rules=rules)
        render(report, sys.stdout, color=console.is_terminal)
        _explain(console, report.exit_code, "the accounts table's rowid counter is back at 201")
        if keep:
            console.print(f"\nThe demo files are kept in [bold]{escape(str(directory))}[/]")
        return report.exit_code
    finally:
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)


def _step(console: Console, text: str) -> None:
    console.print(f"[bold cyan]{text}[/]", soft_wrap=True)


def _sql(dsn: str, name: str) -> None:
    script = resources.files(__package__).joinpath(f"{name}.sql").read_text(encoding="utf-8")
    run_script(dsn, script, "demo: could not build the scenario")


def _build_broken_restore(console: Console, dsn: str, dump: Path) -> None:
    _step(console, "1. A journaling app: 200 accounts, 600 private journal entries.")
    _sql(dsn, "demo_scenario")
    _step(console, "2. The nightly backup: pg_dump of accounts. Then 106 more people sign up.")
    run_tool("pg_dump", ["-Fc", "-t", "accounts", "-f", str(dump), dsn], check=True)
    _sql(dsn, "demo_after_backup")
    _step(console, "3. The server is lost. Accounts come back from the backup; journals, kept")
    console.print("   elsewhere, are current. pg_restore reports no error.")
    run_script(dsn, "DROP TABLE accounts", "demo: could not drop accounts")
    run_tool("pg_restore", ["-d", dsn, str(dump)], check=True)


def _explain(
    console: Console, code: int, counter: str = "the account id sequence is back at 200"
) -> None:
    """The two lines a newcomer needs to read the report above."""
    meaning = (
        "[bold]What this means:[/] journals still point at accounts 201-306, which the backup "
        f"never had, and {counter}."
    )
    consequence = (
        "The next 106 sign-ups would be handed those ids and read strangers' diaries, so the "
        f"gate stays closed (exit {code}) and the runbook stops here."
    )
    console.print()
    console.print(meaning, soft_wrap=True)
    console.print(consequence, soft_wrap=True)
