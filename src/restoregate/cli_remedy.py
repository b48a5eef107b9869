"""The commands that write, when told to: ``fix`` (and ``fix --apply``) and ``fence``.

Thin, like the rest of the CLI: each calls ``restoregate.remediation`` or
``restoregate.fencing`` and prints; ``cli.py`` registers them on the group, whose
``invoke`` turns every error into one line and the contract's exit code.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from restoregate.cli_options import dsn_option, rules_option, timeout_options
from restoregate.errors import EXIT_USAGE, RestoregateError, UsageError

if TYPE_CHECKING:  # loaded when a command runs, so that --help stays fast
    from restoregate import remediation

DEFAULT_HEADROOM = "1000"  # remedy.plan.DEFAULT_HEADROOM, kept equal by a test
WRITE_LOCK_HELP = (
    "Longest to wait for a lock, 1ms to 1h: the plan's SHARE ROW EXCLUSIVE (PostgreSQL) "
    "or LOCK TABLES … WRITE (MySQL) that keeps inserts out while a sequence moves."
)
FENCE_DSN_HELP = (
    "Any database of the server (env RESTOREGATE_DSN), as a role with CREATEROLE "
    "(PostgreSQL) or an account with CREATE USER (MySQL/MariaDB)."
)


@click.command()
@dsn_option()
@rules_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write the plan (a psql or mariadb/mysql script) here instead of stdout.",
)
@click.option(
    "--headroom",
    default=DEFAULT_HEADROOM,
    show_default=True,
    metavar="N|P%",
    help="Unused values to leave between the largest key and a moved sequence.",
)
@click.option(
    "--orphans",
    type=click.Choice(["report", "quarantine"]),
    default="report",
    show_default=True,
    help="quarantine: move orphaned rows to restoregate_quarantine.<schema>__<table>.",
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="A manifest from `restoregate snapshot`: what is missing becomes advice.",
)
@click.option(
    "--apply",
    "apply_",
    is_flag=True,
    help="Run the plan (one transaction on PostgreSQL; MySQL commits DDL at once).",
)
@click.option("--yes", is_flag=True, help="Apply without asking (needed without a terminal).")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Run the plan and the re-check, then roll back (PostgreSQL only).",
)
@timeout_options(WRITE_LOCK_HELP)
@click.pass_context
def fix(
    ctx: click.Context,
    dsn: str | None,
    rules_paths: Sequence[str],
    output: str | None,
    headroom: str,
    orphans: str,
    baseline: Path | None,
    apply_: bool,
    yes: bool,
    dry_run: bool,
    statement_timeout: str,
    lock_timeout: str,
) -> None:
    """Write a plan that answers what check found; with --apply, run it, guarded.

    The plan is a psql script (a mariadb/mysql one for MySQL and MariaDB): the
    findings first, then one commented step each.
    Sequences behind move beyond the largest key of their column and of every column
    referencing it, computed when the plan runs; orphans are listed (or quarantined);
    what needs a person is said in comments. Nothing is written without --apply,
    which runs the plan in one transaction, re-runs the checks it answers inside it,
    and commits only if they pass (exit 1 and roll back if not). MySQL and MariaDB
    commit DDL at once: there --apply runs the plan, then re-checks, and a moved
    counter stays moved (--dry-run is refused).

    \b
    Example:
      restoregate fix --dsn postgresql://owner@db/prod --rules rules/app.yaml -o plan.sql
      psql postgresql://owner@db/prod -f plan.sql        # or:
      restoregate fix --dsn postgresql://owner@db/prod --rules rules/app.yaml --apply
    """
    from restoregate import api, remediation

    settings = api.SessionSettings(statement_timeout=statement_timeout, lock_timeout=lock_timeout)
    plan = remediation.fix(
        dsn,
        rules_paths,
        headroom=remediation.parse_headroom(headroom),
        orphans="quarantine" if orphans == "quarantine" else "report",
        settings=settings,
        baseline=baseline,
    )
    if output:
        _write_text(output, plan.script.text)
    if not (apply_ or dry_run):
        if not output:
            click.echo(plan.script.text, nl=False)
        click.echo(_plan_summary(plan, output), err=True)
        ctx.exit(plan.report.exit_code)
    ctx.exit(_apply(dsn, plan, yes=yes, dry_run=dry_run))


def _plan_summary(plan: remediation.Fix, output: str | None) -> str:
    from restoregate.report import plural
    from restoregate.report.escape import printable
    from restoregate.report.text import verdict

    steps = plan.plan
    where = f"wrote {printable(output)}: " if output else "plan: "
    return (
        f"{verdict(plan.report)}\n{where}{plural(len(steps.moves), 'sequence')} to move, "
        f"{plural(len(steps.orphans), 'orphan step')}, "
        f"{plural(len(steps.manual), 'finding')} for a person"
    )


def _apply(dsn: str | None, plan: remediation.Fix, *, yes: bool, dry_run: bool) -> int:
    from restoregate import remediation

    click.echo(plan.script.text, nl=False)
    remediation.require_complete(plan)
    remediation.require_dry_run_possible(plan, dry_run)
    if not plan.plan.fixes:
        click.echo("restoregate: nothing in this plan changes the database", err=True)
        return plan.report.exit_code
    if not (yes or dry_run):
        if not _interactive():
            raise UsageError("fix --apply without a terminal needs --yes", "or use --dry-run")
        final = "" if plan.transactional else " It cannot be rolled back."
        if not click.confirm(f"Apply this plan to {plan.report.dsn}?{final}", err=True):
            click.echo("restoregate: not applied", err=True)
            return EXIT_USAGE
    applied = remediation.apply_fix(
        dsn, plan, dry_run=dry_run, notice=lambda text: click.echo(text, err=True)
    )
    where = "inside its transaction" if applied.transactional else "after it, in a new snapshot"
    click.echo(f"\nThe rules the plan answers, re-run {where}:")
    for result in applied.recheck.rules:
        if result.status != "skip":
            click.echo(f"  {result.status.upper():5} {result.id}: {result.message}")
            for found in result.violations:
                click.echo(f"        - {found.describe()}")
    if applied.committed and not applied.passed:
        click.echo(
            "restoregate: APPLIED, and the re-check still fails: DDL commits at once on this "
            "server, so what ran stays; see the findings above",
            err=True,
        )
    elif applied.committed:
        click.echo("restoregate: COMMITTED. Run the check again before going live.", err=True)
    elif applied.passed:
        click.echo("restoregate: dry run: everything worked, and was rolled back", err=True)
    else:
        click.echo("restoregate: ROLLED BACK: the re-check still fails; nothing changed", err=True)
    return applied.exit_code


def _interactive() -> bool:
    return sys.stdin.isatty()


def _write_text(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--output {path}: cannot write: {exc.strerror}") from None


_FENCE_DSN = dsn_option(FENCE_DSN_HELP)


@click.group()
def fence() -> None:
    """Keep application roles from logging in until the gate opens.

    \b
    On MySQL/MariaDB a ROLE is an account: `app` means app@%, `app@10.0.%` that one.

    \b
    Example (the runbook):
      restoregate fence lock app_rw app_ro --dsn postgresql://admin@db/prod
      pg_restore ... ; restoregate check --dsn ... --release app_rw --release app_ro
    """


@fence.command("lock")
@click.argument("roles", nargs=-1, required=True, metavar="ROLE...")
@_FENCE_DSN
@click.pass_context
def fence_lock(ctx: click.Context, roles: Sequence[str], dsn: str | None) -> None:
    """Make ROLE... unable to log in (NOLOGIN; ACCOUNT LOCK on MySQL), recording what changed.

    \b
    Example:
      restoregate fence lock app_rw --dsn postgresql://admin@db/prod
    """
    from restoregate import fencing

    for line in fencing.fence_lock(dsn, roles):
        click.echo(line)
    ctx.exit(0)


@fence.command("status")
@click.argument("roles", nargs=-1, metavar="[ROLE...]")
@_FENCE_DSN
@click.pass_context
def fence_status(ctx: click.Context, roles: Sequence[str], dsn: str | None) -> None:
    """Show the fence on ROLE... (every fenced role when none is named).

    \b
    Example:
      restoregate fence status --dsn postgresql://admin@db/prod
    """
    from restoregate import fencing

    states = fencing.fence_status(dsn, roles)
    for state in states:
        click.echo(state.describe())
    if not states:
        click.echo("no role is fenced")
    ctx.exit(0)


@fence.command("unlock")
@click.argument("roles", nargs=-1, required=True, metavar="ROLE...")
@click.option("--force", is_flag=True, help="Required: this lifts the fence without the gate.")
@_FENCE_DSN
@click.pass_context
def fence_unlock(ctx: click.Context, roles: Sequence[str], force: bool, dsn: str | None) -> None:
    """Lift the fence on ROLE... without a check (for humans; runbooks use check --release).

    \b
    Example:
      restoregate fence unlock app_rw --force --dsn postgresql://admin@db/prod
    """
    from restoregate import fencing

    if not force:
        raise UsageError(
            "fence unlock lifts the fence without asking the gate: pass --force to mean it",
            "a runbook lifts it with `restoregate check --release ROLE`",
        )
    for line in fencing.fence_unlock(dsn, roles):
        click.echo(line)
    ctx.exit(0)


@contextmanager
def fence_stays_up(roles: Sequence[str]) -> Iterator[None]:
    """A check that ends in an error leaves the fence up, and says so."""

    try:
        yield
    except RestoregateError as exc:
        if roles:
            exc.message += f" (the fence stays up: {', '.join(roles)} cannot log in)"
        raise
