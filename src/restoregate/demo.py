"""``restoregate demo``: the May 2018 restore, replayed on an embedded PostgreSQL.

Accounts are backed up with pg_dump; more people sign up and write journals; the
server is lost and accounts come back from the backup while journals, kept
elsewhere, stay current. Every constraint the database knows about holds, and the
gate still closes.
"""

from __future__ import annotations

import sys
import tempfile
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from restoregate import api, remediation
from restoregate.engines.postgres.embedded import EphemeralServer, run_tool
from restoregate.engines.postgres.scripts import run_script
from restoregate.report.text import render
from restoregate.rules.loader import example_rules
from restoregate.rules.ruleset import RuleSet

DATABASE = "dayone"


def run_demo(console: Console, *, keep: bool = False) -> int:
    """Build the broken restore, run the gate on it, explain; returns the gate's exit code."""
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
        _remediate(console, dsn, example_rules("dayone"))
        if keep:
            console.print(f"\nThe demo database is still running: [bold]{escape(dsn)}[/]")
        return report.exit_code


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


def _explain(console: Console, code: int) -> None:
    """The two lines a newcomer needs to read the report above."""
    meaning = (
        "[bold]What this means:[/] journals still point at accounts 201-306, which the backup "
        "never had, and the account id sequence is back at 200."
    )
    consequence = (
        "The next 106 sign-ups would be handed those ids and read strangers' diaries, so the "
        f"gate stays closed (exit {code}) and the runbook stops here."
    )
    console.print()
    console.print(meaning, soft_wrap=True)
    console.print(consequence, soft_wrap=True)


def _remediate(console: Console, dsn: str, rules: RuleSet) -> None:
    """The final act: the plan for this restore, applied in the throwaway server."""
    console.print()
    _step(console, "6. After a closed gate, the runbook asks for a plan (nothing is changed):")
    console.print("   [bold]restoregate fix --rules rules/examples/dayone.yaml -o plan.sql[/]\n")
    found = remediation.fix(dsn, rules=rules)
    console.print(escape(_shown(found.script.text)), highlight=False, soft_wrap=True)
    _step(console, "7. A DBA reviews it and applies it, guarded, in one transaction:")
    console.print("   [bold]restoregate fix --rules rules/examples/dayone.yaml --apply --yes[/]\n")
    applied = remediation.apply_fix(dsn, found, notice=lambda text: console.print(escape(text)))
    state = "committed" if applied.committed else "rolled back"
    console.print(f"   The re-check inside the transaction passed; {state}.\n")
    _step(console, "8. The gate, run again:")
    after = api.run_check(dsn, rules=rules)
    render(after, sys.stdout, color=console.is_terminal)
    console.print()
    console.print(
        "[bold]What changed:[/] the account id sequence now starts beyond every user_id a "
        "journal holds, so no new sign-up can inherit a stranger's diary. The orphaned "
        "journals are still listed above: whether to restore their accounts or delete them "
        "is a person's decision (`fix --orphans quarantine` moves them aside).",
        soft_wrap=True,
    )


def _shown(plan: str) -> str:
    """The plan as the demo prints it: the DO block, the same for every sequence, folded."""
    start, end = plan.find("DO $restoregate$"), plan.find("$restoregate$;")
    if start < 0 or end < 0:
        return plan
    folded = "DO $restoregate$ … $restoregate$;  -- moves the sequence (in full in plan.sql)"
    return plan[:start] + folded + plan[end + len("$restoregate$;") :]
