"""The command line: thin over ``restoregate.api``, converting errors to exit codes once.

Exit codes: 0 gate open, 1 a rule failed, 2 usage or rules error, 3 could not check.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console

from restoregate import __version__, api, fencing
from restoregate.cli_remedy import fence, fence_stays_up, fix
from restoregate.errors import EXIT_INCOMPLETE, EXIT_USAGE, RestoregateError, UsageError
from restoregate.report.formats import render
from restoregate.report.github import annotate, in_github_actions, summarize
from restoregate.report.progress import TerminalProgress
from restoregate.report.text import verdict


class _Group(click.Group):
    """Turns every failure into one line on stderr and the contract's exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except RestoregateError as exc:
            _fail(ctx, exc.exit_code, str(exc))
        except KeyboardInterrupt:
            _fail(ctx, EXIT_INCOMPLETE, "interrupted: nothing was proven safe")
        except Exception as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            _fail(
                ctx,
                EXIT_INCOMPLETE,
                f"internal error: {exc!r}. Rerun with --debug for the traceback; please report it",
            )


def _fail(ctx: click.Context, code: int, message: str) -> NoReturn:
    click.echo(f"restoregate: {message}", err=True)
    ctx.exit(code)


_ROLE_HELP = (
    "SET ROLE to ROLE before anything runs (as pg_dump --role), so a superuser "
    "login keeps only ROLE's privileges."
)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="restoregate")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Decide whether a freshly restored database may go live.

    \b
    Exit codes: 0 gate open · 1 a rule failed · 2 usage or rules error · 3 could not check.

    \b
    Start here:
      restoregate demo
      restoregate check --dsn postgresql://checker@db/prod
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


@cli.command()
@click.option(
    "--dsn",
    envvar="RESTOREGATE_DSN",
    metavar="DSN",
    help="libpq connection string or postgresql:// URI (env RESTOREGATE_DSN). "
    "Omitted: PGHOST, PGDATABASE, PGSERVICE... decide, as for psql.",
)
@click.option(
    "--rules",
    "rules_paths",
    multiple=True,
    metavar="FILE",
    help="Rules file (repeatable). Omitted: the built-in defaults.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "junit", "markdown"]),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write the report to FILE; a one-line verdict still goes to stderr.",
)
@click.option("--only", multiple=True, metavar="ID", help="Run only this rule (repeatable).")
@click.option("--skip", multiple=True, metavar="ID", help="Skip this rule (repeatable).")
@click.option(
    "--statement-timeout",
    default="30min",
    show_default=True,
    metavar="DURATION",
    help="Longest any one query may run, 1ms to 24h (500ms, 30s, 15min, 1h30m).",
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="A manifest from `restoregate snapshot` of the source: adds the baseline rule.",
)
@click.option(
    "--restore-point",
    type=click.DateTime(
        [
            "%Y-%m-%dT%H:%M:%S%z",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M:%S%z",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M%z",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d",
        ]
    ),
    metavar="TIMESTAMP",
    help="When the backup was taken (ISO 8601; UTC unless an offset is given). "
    "freshness rules measure age from it instead of from now.",
)
@click.option(
    "--lock-timeout",
    default="10s",
    show_default=True,
    metavar="DURATION",
    help="Longest to wait for a table lock (only ACCESS SHARE is ever taken), 1ms to 1h.",
)
@click.option("--role", metavar="ROLE", help=_ROLE_HELP)
@click.option(
    "--release",
    "release",
    multiple=True,
    metavar="ROLE",
    help="Lift restoregate's fence on ROLE if, and only if, the gate opens (repeatable).",
)
@click.pass_context
def check(
    ctx: click.Context,
    dsn: str | None,
    rules_paths: Sequence[str],
    fmt: str,
    output: str | None,
    only: Sequence[str],
    skip: Sequence[str],
    statement_timeout: str,
    baseline: Path | None,
    restore_point: datetime | None,
    lock_timeout: str,
    role: str | None,
    release: Sequence[str],
) -> None:
    """Run the rules against a restored database and exit with the gate's verdict.

    \b
    Example:
      restoregate check --dsn postgresql://checker@db.internal/prod \\
          --rules rules/app.yaml --format json --output gate.json
    """
    settings = api.SessionSettings(
        statement_timeout=statement_timeout, lock_timeout=lock_timeout, role=role
    )
    if release:
        fencing.prepare_release(dsn, release, settings)
    stderr = Console(stderr=True)
    progress = TerminalProgress(stderr) if stderr.is_terminal else None
    with progress or nullcontext(), fence_stays_up(release):
        report = api.run_check(
            dsn,
            rules_paths,
            only=only,
            skip=skip,
            settings=settings,
            progress=progress,
            restore_point=_aware(restore_point),
            baseline=baseline,
        )
    code = _emit(report, fmt, output)
    for line in fencing.release(dsn, release, report, settings) if release else ():
        click.echo(f"restoregate: {line}", err=True)
    ctx.exit(code)


def _emit(report: api.Report, fmt: str, output: str | None) -> int:
    """Write the report where it was asked for; annotate in GitHub Actions; the exit code."""
    if output:
        _write_file(report, fmt, output)
        click.echo(f"{verdict(report)} Report: {output}", err=True)
    else:
        render(report, fmt, sys.stdout, color=sys.stdout.isatty())
    if in_github_actions():
        annotate(report, sys.stderr)
        summarize(report)
    return report.exit_code


def _aware(moment: datetime | None) -> datetime | None:
    """A restore point without an offset is UTC, as backup tools log it."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def _write_file(report: api.Report, fmt: str, path: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as stream:
            render(report, fmt, stream)
    except OSError as exc:
        raise UsageError(f"--output {path}: cannot write the report: {exc.strerror}") from None


@cli.command()
@click.option(
    "--dsn",
    envvar="RESTOREGATE_DSN",
    metavar="DSN",
    help="Connection string or URI (env RESTOREGATE_DSN); default: libpq's environment.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write the rules file here instead of stdout.",
)
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@click.option(
    "--min-match",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.5,
    show_default=True,
    help="Share of sampled values a suspected reference must match.",
)
@click.option("--role", metavar="ROLE", help=_ROLE_HELP)
@click.pass_context
def init(
    ctx: click.Context,
    dsn: str | None,
    output: str | None,
    force: bool,
    min_match: float,
    role: str | None,
) -> None:
    """Write a starter rules file for a database, with every suspected reference.

    Columns no foreign key covers are matched against every table's unique keys: names
    rank the parents (user_id -> users, auth_user; customer_id -> customer.customer_id;
    artist -> artist.id; parent_id), one bounded sample per table decides. Each
    suggestion carries its evidence as a comment; data-only ones are commented out.

    \b
    Example:
      restoregate init --dsn postgresql://checker@db/prod -o rules/prod.yaml
      restoregate check --dsn postgresql://checker@db/prod --rules rules/prod.yaml
    """
    if output and not force and Path(output).exists():
        raise UsageError(f"{output} exists; pass --force to overwrite it")
    text = api.init_rules(dsn, min_match=min_match, settings=api.SessionSettings(role=role))
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror}") from None
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)
    ctx.exit(0)


@cli.command("verify-dump")
@click.argument("dump", type=click.Path(path_type=Path), metavar="FILE")
@click.option(
    "--rules",
    "rules_paths",
    multiple=True,
    metavar="FILE",
    help="Rules file (repeatable). Omitted: the built-in defaults.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "junit", "markdown"]),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write the report to FILE; a one-line verdict still goes to stderr.",
)
@click.option("--only", multiple=True, metavar="ID", help="Run only this rule (repeatable).")
@click.option("--skip", multiple=True, metavar="ID", help="Skip this rule (repeatable).")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Parallel restore jobs (custom and directory archives).",
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="A manifest taken when the backup was made: adds the baseline rule.",
)
@click.option("--keep", is_flag=True, help="Leave the restored server running; print its DSN.")
@click.pass_context
def verify_dump(
    ctx: click.Context,
    dump: Path,
    rules_paths: Sequence[str],
    fmt: str,
    output: str | None,
    only: Sequence[str],
    skip: Sequence[str],
    jobs: int,
    baseline: Path | None,
    keep: bool,
) -> None:
    """Restore a pg_dump archive into a throwaway PostgreSQL and run the gate on it.

    Custom, directory, tar and plain-SQL dumps; every restore error is a failure of
    the restore_errors rule. No database server needed: made for nightly CI on backups.
    Same exit codes as check; a file that is not a readable archive is exit 3.

    \b
    Example:
      restoregate verify-dump nightly.dump --rules rules/app.yaml --format junit \\
          --output restore-gate.xml
    """
    ruleset = api.load_rules(rules_paths)  # a bad rules file fails before any restore
    api.select_rules(ruleset, only, skip)
    stderr = Console(stderr=True)
    status = stderr.status("starting") if stderr.is_terminal else nullcontext()
    with status as shown:
        report, kept = api.verify_dump(
            dump,
            rules=ruleset,
            only=only,
            skip=skip,
            jobs=jobs,
            keep=keep,
            baseline=baseline,
            phase=shown.update if shown is not None else lambda _: None,
        )
    if kept:
        click.echo(kept, err=True)
    ctx.exit(_emit(report, fmt, output))


@cli.command()
@click.option(
    "--dsn",
    envvar="RESTOREGATE_DSN",
    metavar="DSN",
    help="The source database (env RESTOREGATE_DSN); default: libpq's environment.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    metavar="FILE",
    help="Where to write the manifest (JSON).",
)
@click.option("--exact", is_flag=True, help="Count rows with count(*) instead of estimates.")
@click.option(
    "--snapshot",
    "snapshot_id",
    metavar="ID",
    help="Read in this exported snapshot (pg_export_snapshot(), as pg_dump --snapshot).",
)
@click.option(
    "--role",
    "roles",
    multiple=True,
    metavar="ROLE",
    help="Record this role's table privileges (repeatable).",
)
@click.pass_context
def snapshot(
    ctx: click.Context,
    dsn: str | None,
    output: Path,
    exact: bool,
    snapshot_id: str | None,
    roles: Sequence[str],
) -> None:
    """Record what the source holds, so a restore can be checked against it.

    Objects (tables, indexes, constraints, triggers, views, functions, policies,
    extensions), row counts, the largest key of every sequence-fed column, every
    sequence's position, chosen roles' privileges and a schema fingerprint; no row data.

    \b
    Example (in the backup job, in the dump's own snapshot):
      restoregate snapshot --dsn "$SOURCE" --snapshot "$SNAP" --exact -o nightly.manifest.json
      restoregate verify-dump nightly.dump --baseline nightly.manifest.json
    """
    manifest = api.snapshot(dsn, exact=exact, roles=roles, snapshot_id=snapshot_id)
    api.write_manifest(manifest, output)
    counted = sum(len(v) for v in manifest["objects"].values())
    click.echo(f"wrote {output}: {counted} objects, {len(manifest['tables'])} tables", err=True)
    ctx.exit(0)


@cli.group()
def rules() -> None:
    """Work with rules files."""


@rules.command("lint")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.pass_context
def rules_lint(ctx: click.Context, files: Sequence[str]) -> None:
    """Validate rules files without a database: exit 0 when all are valid, else 2.

    \b
    Example:
      restoregate rules lint rules/default.yaml rules/app.yaml
    """
    problems = {e.path: e for e in api.lint(files)}
    for path in files:
        if path in problems:
            click.echo(str(problems[path]), err=True)
        else:
            click.echo(f"{path}: ok")
    ctx.exit(EXIT_USAGE if problems else 0)


@cli.command()
@click.option("--keep", is_flag=True, help="Leave the demo server running and print its DSN.")
@click.pass_context
def demo(ctx: click.Context, keep: bool) -> None:
    """A restore gone wrong, caught: an embedded PostgreSQL, a bad restore, then check.

    \b
    Example:
      restoregate demo
    """
    from restoregate.demo import run_demo

    ctx.exit(run_demo(Console(), keep=keep))


cli.add_command(fix)
cli.add_command(fence)


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM (a CI job's timeout, a runbook's kill) unwinds like Ctrl-C: servers stop."""
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    cli(prog_name="restoregate")
