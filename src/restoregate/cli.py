"""The command line: thin over ``restoregate.api``, converting errors to exit codes once.

Exit codes: 0 gate open, 1 a rule failed, 2 usage or rules error, 3 could not check.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from restoregate import __version__
from restoregate.atomic import atomic_write
from restoregate.cli_options import (
    color_mode,
    color_option,
    format_option,
    pg_bin_option,
    role_option,
    rules_option,
    selection_options,
    session_options,
)
from restoregate.errors import EXIT_INCOMPLETE, EXIT_USAGE, RestoregateError, UsageError
from restoregate.terminal import console, is_live, wants_color

if TYPE_CHECKING:  # the heavy modules load only when a command runs: --help stays fast
    from restoregate import api


class _FullSummaries(click.Group):
    """A group whose help lists every command with its whole first sentence."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command's whole first sentence, wrapped, never cut off with "..."."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class _Group(_FullSummaries):
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
    _prometheus_failure(ctx, code)
    ctx.exit(code)


def _prometheus_failure(ctx: click.Context, code: int) -> None:
    """--format prometheus --output: a run that ended early still says so in the textfile."""
    fmt, output = ctx.meta.get(_REPORT_TARGET, (None, None))
    if fmt != "prometheus" or not output:
        return
    from restoregate.report.prometheus import render_failure

    try:
        atomic_write(str(output), lambda stream: render_failure(code, stream))
    except UsageError as exc:
        click.echo(f"restoregate: {exc}", err=True)


_REPORT_TARGET = "restoregate.report_target"  # (format, --output) of the running command


def _report_target(ctx: click.Context, fmt: str, output: str | None) -> None:
    ctx.meta[_REPORT_TARGET] = (fmt, output)


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
@rules_option
@format_option
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write the report to FILE; a one-line verdict still goes to stderr.",
)
@selection_options
@session_options
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="A manifest from `restoregate snapshot` of the source: adds the baseline rule.",
)
@role_option
@color_option
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
    lock_timeout: str,
    restore_point: datetime | None,
    baseline: Path | None,
    role: str | None,
) -> None:
    """Run the rules against a restored database and exit with the gate's verdict.

    \b
    Example:
      restoregate check --dsn postgresql://checker@db.internal/prod \\
          --rules rules/app.yaml --format json --output gate.json
    """
    from restoregate import api
    from restoregate.report.progress import TerminalProgress

    _report_target(ctx, fmt, output)
    settings = api.SessionSettings(
        statement_timeout=statement_timeout, lock_timeout=lock_timeout, role=role
    )
    live = is_live(sys.stderr)
    progress = TerminalProgress(console(sys.stderr, color_mode(ctx))) if live else None
    with progress or nullcontext():
        report = api.run_check(
            dsn,
            rules_paths,
            only=only,
            skip=skip,
            settings=settings,
            progress=progress,
            restore_point=restore_point,
            baseline=baseline,
        )
    ctx.exit(_emit(ctx, report, fmt, output))


def _emit(ctx: click.Context, report: api.Report, fmt: str, output: str | None) -> int:
    """Write the report where it was asked for; annotate in GitHub Actions; the exit code."""
    from restoregate.report.formats import render
    from restoregate.report.github import annotate, in_github_actions, summarize
    from restoregate.report.text import verdict

    if output:
        atomic_write(output, lambda stream: render(report, fmt, stream))
        click.echo(f"{verdict(report)} Report: {output}", err=True)
    else:
        render(report, fmt, sys.stdout, color=wants_color(sys.stdout, color_mode(ctx)))
    if in_github_actions():
        annotate(report, sys.stderr)
        summarize(report)
    return report.exit_code


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
@role_option
@color_option
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
    from restoregate import api

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
@rules_option
@format_option
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write the report to FILE; a one-line verdict still goes to stderr.",
)
@selection_options
@session_options
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
@pg_bin_option
@color_option
@click.pass_context
def verify_dump(
    ctx: click.Context,
    dump: Path,
    rules_paths: Sequence[str],
    fmt: str,
    output: str | None,
    only: Sequence[str],
    skip: Sequence[str],
    statement_timeout: str,
    lock_timeout: str,
    restore_point: datetime | None,
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
    from restoregate import api

    _report_target(ctx, fmt, output)
    settings = api.SessionSettings(statement_timeout=statement_timeout, lock_timeout=lock_timeout)
    ruleset = api.load_rules(rules_paths)  # a bad rules file fails before any restore
    judged = api.with_baseline_rule(ruleset) if baseline is not None else ruleset
    api.select_rules(judged, only, skip, extra=(api.RESTORE_RULE,))
    live = is_live(sys.stderr)
    status = console(sys.stderr, color_mode(ctx)).status("starting") if live else nullcontext()
    with status as shown:
        report, kept = api.verify_dump(
            dump,
            rules=ruleset,
            only=only,
            skip=skip,
            jobs=jobs,
            keep=keep,
            settings=settings,
            restore_point=restore_point,
            baseline=baseline,
            phase=shown.update if shown is not None else lambda _: None,
        )
    if kept:
        click.echo(kept, err=True)
    ctx.exit(_emit(ctx, report, fmt, output))


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
@color_option
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
    from restoregate import api
    from restoregate.report import plural

    manifest = api.snapshot(dsn, exact=exact, roles=roles, snapshot_id=snapshot_id)
    api.write_manifest(manifest, output)
    counted = sum(len(v) for v in manifest["objects"].values())
    tables = plural(len(manifest["tables"]), "table")
    click.echo(f"wrote {output}: {plural(counted, 'object')}, {tables}", err=True)
    ctx.exit(0)


@cli.group(cls=_FullSummaries)
def rules() -> None:
    """Work with rules files: validate yours, print the built-in ones."""


@rules.command("lint")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@color_option
@click.pass_context
def rules_lint(ctx: click.Context, files: Sequence[str]) -> None:
    """Validate rules files without a database: exit 0 when all are valid, else 2.

    \b
    Example:
      restoregate rules lint rules/default.yaml rules/app.yaml
    """
    from restoregate import api

    problems = {e.path: e for e in api.lint(files)}
    for path in files:
        if path in problems:
            click.echo(str(problems[path]), err=True)
        else:
            click.echo(f"{path}: ok")
    ctx.exit(EXIT_USAGE if problems else 0)


@rules.command("show")
@click.argument("name", default="default", metavar="[NAME]")
@color_option
@click.pass_context
def rules_show(ctx: click.Context, name: str) -> None:
    """Print a built-in rules file (default: the rules check runs without --rules).

    The names of all built-in files go to stderr, so stdout is the file alone.

    \b
    Example:
      restoregate rules show > rules/app.yaml     # start your own from the defaults
      restoregate rules show dayone               # the demo's rules
    """
    from restoregate.rules import builtin

    click.echo(builtin.text(name), nl=False)
    click.echo(f"# built-in rules: {', '.join(builtin.names())}", err=True)
    ctx.exit(0)


@cli.command()
@click.option("--keep", is_flag=True, help="Leave the demo server running and print its DSN.")
@pg_bin_option
@color_option
@click.pass_context
def demo(ctx: click.Context, keep: bool) -> None:
    """A restore gone wrong, caught: a throwaway PostgreSQL, a bad restore, then check.

    Exits 1, as the gate should on this restore.

    \b
    Example:
      restoregate demo
    """
    import shutil

    from restoregate.demo import run_demo

    mode = color_mode(ctx)
    width = min(100, shutil.get_terminal_size((100, 24)).columns)
    out = console(sys.stdout, mode, width=width)
    ctx.exit(run_demo(out, keep=keep, color=wants_color(sys.stdout, mode)))


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM (a CI job's timeout, a runbook's kill) unwinds like Ctrl-C: servers stop."""
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    cli(prog_name="restoregate")
