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
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from restoregate import api, remediation
from restoregate.engines.postgres.embedded import EphemeralServer, run_tool
from restoregate.engines.postgres.scripts import run_script
from restoregate.engines.sqlite import scenario
from restoregate.names import default_schema
from restoregate.report import Report, number, plural
from restoregate.report.text import render
from restoregate.rules.loader import example_rules
from restoregate.rules.ruleset import RuleSet

DATABASE = "dayone"


def run_demo(
    console: Console, *, keep: bool = False, engine: str = "postgresql", color: bool = False
) -> int:
    """Build the broken restore, run the gate on it, explain; returns the gate's exit code."""
    if engine == "sqlite":
        return _sqlite_demo(console, keep=keep, color=color)
    with EphemeralServer(keep=keep) as server, tempfile.TemporaryDirectory() as tmp:
        dsn = server.create_database(DATABASE)
        _build_broken_restore(console, dsn, Path(tmp) / "accounts.dump")
        _step(console, "4. Before go-live, the runbook runs the gate with the incident's rules:")
        console.print("   [bold]restoregate rules show dayone > dayone.yaml[/]")
        console.print("   [bold]restoregate check --rules dayone.yaml[/]\n")
        report = api.run_check(dsn, rules=example_rules("dayone"))
        render(report, sys.stdout, color=color, width=console.width)
        _step(console, "\n5. And with no rules file at all, nothing declared anywhere:")
        console.print("   [bold]restoregate check[/]\n")
        unconfigured = api.run_check(dsn)
        render(unconfigured, sys.stdout, color=color, width=console.width)
        code = max(report.exit_code, unconfigured.exit_code)
        _explain(console, report, code)
        _remediate(console, dsn, example_rules("dayone"))
        console.print()
        console.print(_closing(code))
        if keep:
            console.print(
                f"\nThe demo database is still running: [bold]{escape(dsn)}[/]", soft_wrap=True
            )
            console.print(escape(server.stop_instructions()), soft_wrap=True)  # one line to paste
        return max(report.exit_code, unconfigured.exit_code)


def _sqlite_demo(console: Console, *, keep: bool, color: bool) -> int:
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
            " --rules dayone-sqlite.yaml[/]  (restoregate rules show dayone-sqlite)\n"
        )
        with default_schema("main"):
            rules = example_rules("dayone-sqlite")
        report = api.run_check(dsn, rules=rules)
        render(report, sys.stdout, color=color, width=console.width)
        _explain(console, report, report.exit_code)
        console.print()
        console.print(_closing(report.exit_code))
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


def _explain(console: Console, report: Report, code: int) -> None:
    """What the report above means, said from the report itself, then the exit code."""
    console.print()
    failed = [r for r in report.rules if r.status in ("fail", "error")]
    if failed:
        names = ", ".join(r.id for r in failed)
        judged = sum(1 for r in report.rules if r.status != "skip")
        console.print(
            f"[bold]What this means:[/] {len(failed)} of {plural(judged, 'rule')} failed "
            f"({escape(names)})."
        )
    findings = [v.to_dict() for r in failed for v in r.violations]
    bullets = Table.grid(padding=(0, 1))
    bullets.add_column(no_wrap=True)
    bullets.add_column()
    for line in filter(None, map(_meaning, findings)):
        bullets.add_row("  •", Text(line))
    console.print(bullets)


def _meaning(finding: dict[str, Any]) -> str | None:
    if finding["kind"] == "sequence_behind":
        return (
            f"{finding['sequence']} would hand out {number(finding['next_value'])} next, "
            f"but {finding['max_source']} already holds {number(finding['max_value'])}."
        )
    if finding["kind"] == "orphans" and finding["reassignable"]:
        child, _, parent = str(finding["reference"]).partition(" -> ")
        return (
            f"{plural(finding['orphans'], 'row')} of {child} point at {parent} rows the backup "
            f"never had; the next {number(finding['reassignable'])} new rows of "
            f"{parent.split('(')[0]} would inherit them: strangers reading private journals."
        )
    return None


def _closing(code: int) -> str:
    if code == 1:
        return "[bold]exit 1: the gate did its job.[/] The runbook stops here; nothing goes live."
    if code == 0:
        return "[bold red]exit 0: the gate opened on a broken restore; please report this.[/]"
    return f"[bold red]exit {code}: the gate could not judge the restore (see above).[/]"


def _remediate(console: Console, dsn: str, rules: RuleSet) -> None:
    """The final act: the plan for this restore, applied in the throwaway server."""
    console.print()
    _step(console, "6. After a closed gate, the runbook asks for a plan (nothing is changed):")
    console.print("   [bold]restoregate fix --rules dayone.yaml -o plan.sql[/]\n")
    found = remediation.fix(dsn, rules=rules)
    console.print(escape(_shown(found.script.text)), highlight=False)
    _step(console, "7. A DBA reviews it and applies it, guarded, in one transaction:")
    console.print("   [bold]restoregate fix --rules dayone.yaml --apply --yes[/]\n")
    applied = remediation.apply_fix(dsn, found, notice=lambda text: console.print(escape(text)))
    if applied.committed:
        console.print("   The re-check inside the transaction passed; committed.\n")
    else:
        console.print("   The re-check inside the transaction failed; rolled back.\n")
    _step(console, "8. The gate, run again:")
    after = api.run_check(dsn, rules=rules)
    render(after, sys.stdout, color=console.is_terminal, width=console.width)
    console.print()
    console.print(
        "[bold]What changed:[/] the account id sequence now starts beyond every user_id a "
        "journal holds, so no new sign-up can inherit a stranger's diary. The orphaned "
        "journals are still listed above: whether to restore their accounts or delete them "
        "is a person's decision (`fix --orphans quarantine` moves them aside)."
    )


def _shown(plan: str) -> str:
    """The plan as the demo prints it: the DO block, the same for every sequence, folded."""
    start, end = plan.find("DO $restoregate$"), plan.find("$restoregate$;")
    if start < 0 or end < 0:
        return plan
    folded = "DO $restoregate$ … $restoregate$;  -- moves the sequence (in full in plan.sql)"
    return plan[:start] + folded + plan[end + len("$restoregate$;") :]
