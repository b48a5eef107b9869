"""The command line: thin over ``restoregate.api``, converting errors to exit codes once.

Exit codes: 0 gate open, 1 a rule failed, 2 usage or rules error, 3 could not check.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from restoregate import __version__
from restoregate import output as output_file
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
from restoregate.cli_remedy import fence, fence_stays_up, fix
from restoregate.entry import EXIT_INTERRUPTED, INTERRUPTED, say_interrupted
from restoregate.errors import EXIT_INCOMPLETE, EXIT_USAGE, RestoregateError
from restoregate.redact import scrub
from restoregate.report.escape import printable
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
    """Turns every failure into one line on stderr and the contract's exit code.

    When a report file was asked for, a failure also replaces it with a report that
    says ``passed: false`` and why, so a run that ends in exit 2 or 3 never leaves an
    older pass there. A reader that stops early (``| head -1``) ends nothing: the exit
    code stays the verdict's.
    """

    def main(self, *args: Any, **kwargs: Any) -> NoReturn:
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.Abort:  # Ctrl-C while click parsed the command line
            say_interrupted()
            code = EXIT_INTERRUPTED
        except click.ClickException as exc:
            exc.show()
            code = exc.exit_code
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except RestoregateError as exc:
            _fail(ctx, exc.exit_code, exc.message, exc.hint)
        except KeyboardInterrupt:
            _fail(ctx, EXIT_INTERRUPTED, INTERRUPTED)
        except BrokenPipeError:
            from restoregate.delivery import quiet_stdout

            quiet_stdout()
            ctx.exit(EXIT_INCOMPLETE)
        except Exception as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            _fail(
                ctx,
                EXIT_INCOMPLETE,
                f"internal error: {exc!r}. Rerun with --debug for the traceback; please report it",
            )


def _fail(ctx: click.Context, code: int, message: str, hint: str | None = None) -> NoReturn:
    """One line on stderr, whatever the message holds; then the failure report, if due."""
    line = printable(scrub(message)) + (f" (hint: {printable(scrub(hint))})" if hint else "")
    click.echo(f"restoregate: {line}", err=True)
    pending = (ctx.obj or {}).pop("report", None)
    if pending is not None:
        from restoregate.delivery import rendered
        from restoregate.report import Report

        target, fmt, dsn, subject = pending
        report = Report.failed(__version__, code, line, dsn=dsn, subject=subject)
        with contextlib.suppress(RestoregateError):  # the line above already says why
            output_file.write(target, rendered(report, fmt))
    ctx.exit(code)


class _Jobs(click.ParamType):  # type: ignore[type-arg]
    """``--jobs N|auto``: workers sharing one snapshot; 0 stands for auto."""

    name = "N|auto"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower()
        if text == "auto":
            return 0
        if text.isdigit() and 1 <= int(text) <= 64:
            return int(text)
        self.fail(f"{value!r} is not a number of jobs from 1 to 64, or auto", param, ctx)


_jobs_option = click.option(
    "--jobs",
    "-j",
    type=_Jobs(),
    default="1",
    show_default=True,
    help="Workers sharing one snapshot, biggest tables first; auto: the server's CPUs "
    "(this machine's for a local server), capped by half its free connections.",
)


def _report_file(
    ctx: click.Context, given: str | None, force: bool, fmt: str, dsn: str, subject: str = ""
) -> output_file.OutputFile | None:
    """Validate ``--output`` before any work; remember it for a failure report."""
    if not given:
        return None
    target = output_file.prepare(given, force=force)
    ctx.ensure_object(dict)["report"] = (target, fmt, dsn, subject)
    return target


def _phase(shown: Any) -> Callable[[str], None]:
    """Status text on a terminal; it names the dump file, so it is text, never markup."""
    if shown is None:
        return lambda _: None
    from rich.text import Text

    return lambda text: shown.update(Text(printable(text)))


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
    help="postgresql:// URI or libpq string, mysql:// or mariadb:// URL, sqlite:///FILE "
    "(env RESTOREGATE_DSN). Omitted: PGHOST, PGDATABASE, PGSERVICE... decide, as for psql.",
)
@rules_option
@format_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write the report to FILE (atomically; checked before the scan); a one-line "
    "verdict still goes to stderr. A run that fails leaves a report saying why.",
)
@click.option("--force", is_flag=True, help="Replace FILE if it exists (a nightly job's report).")
@selection_options
@session_options
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="A manifest from `restoregate snapshot` of the source: adds the baseline rule.",
)
@role_option
@_jobs_option
@click.option(
    "--release",
    "release",
    multiple=True,
    metavar="ROLE",
    help="Lift restoregate's fence on ROLE if, and only if, the gate opens (repeatable).",
)
@color_option
@click.pass_context
def check(
    ctx: click.Context,
    dsn: str | None,
    rules_paths: Sequence[str],
    fmt: str,
    output: str | None,
    force: bool,
    only: Sequence[str],
    skip: Sequence[str],
    statement_timeout: str,
    lock_timeout: str,
    restore_point: datetime | None,
    baseline: Path | None,
    role: str | None,
    jobs: int,
    release: Sequence[str],
) -> None:
    """Run the rules against a restored database and exit with the gate's verdict.

    \b
    Example:
      restoregate check --dsn postgresql://checker@db.internal/prod \\
          --rules rules/app.yaml --format json --output gate.json
    """
    from restoregate import api
    from restoregate.report.progress import TerminalProgress

    described = api.describe_dsn(dsn)  # the name of this gate, pass or fail (JUnit suite)
    target = _report_file(ctx, output, force, fmt, described)
    settings = api.SessionSettings(
        statement_timeout=statement_timeout,
        lock_timeout=lock_timeout,
        role=role,
        jobs=jobs,
    )
    if release:
        from restoregate import fencing

        fencing.prepare_release(dsn, release, settings)
    live = is_live(sys.stderr)
    progress = TerminalProgress(console(sys.stderr, color_mode(ctx))) if live else None
    with progress or nullcontext(), fence_stays_up(release):
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
    report.subject = described
    code = _emit(ctx, report, fmt, target)
    if release:
        from restoregate import fencing

        for line in fencing.release(dsn, release, report, settings):
            click.echo(f"restoregate: {printable(line)}", err=True)
    ctx.exit(code)


def _emit(
    ctx: click.Context, report: api.Report, fmt: str, target: output_file.OutputFile | None
) -> int:
    """Write the report where it was asked for; annotate in GitHub Actions; the exit code."""
    from restoregate.delivery import rendered, to_stdout
    from restoregate.report.formats import render
    from restoregate.report.github import annotate, in_github_actions, summarize
    from restoregate.report.text import verdict

    if target:
        output_file.write(target, rendered(report, fmt))
        ctx.ensure_object(dict).pop("report", None)
        click.echo(f"{verdict(report)} Report: {printable(target.given)}", err=True)
    elif sys.stdout is not None:
        color = not sys.stdout.closed and wants_color(sys.stdout, color_mode(ctx))
        buffer = io.StringIO()
        render(report, fmt, buffer, color=color)
        to_stdout(buffer.getvalue())
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
    help="Write the rules file here instead of stdout (atomically).",
)
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
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
    from restoregate.delivery import to_stdout

    target = output_file.prepare(output, force=force, option="-o") if output else None
    text = api.init_rules(dsn, min_match=min_match, settings=api.SessionSettings(role=role))
    if target:
        output_file.write(target, text)
        click.echo(f"wrote {printable(target.given)}", err=True)
    elif not to_stdout(text):
        ctx.exit(EXIT_INCOMPLETE)  # the rules file did not reach its reader
    ctx.exit(0)


@cli.command("verify-dump")
@click.argument("dump", type=click.Path(path_type=Path), metavar="FILE")
@rules_option
@format_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write the report to FILE (atomically; checked before the scan); a one-line "
    "verdict still goes to stderr. A run that fails leaves a report saying why.",
)
@click.option("--force", is_flag=True, help="Replace FILE if it exists (a nightly job's report).")
@selection_options
@session_options
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Parallel restore jobs (custom and directory archives), and the check's workers.",
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="A manifest taken when the backup was made: adds the baseline rule.",
)
@click.option("--keep", is_flag=True, help="Leave the restored server running; print its DSN.")
@click.option(
    "--scratch-dsn",
    metavar="DSN",
    help="For a MySQL/MariaDB dump: an empty database to replay it into (no embedded MySQL).",
)
@click.option(
    "--trust-dump",
    is_flag=True,
    help="Restore as the superuser, not as an unprivileged owner: only for dumps you trust.",
)
@pg_bin_option
@color_option
@click.pass_context
def verify_dump(
    ctx: click.Context,
    dump: Path,
    rules_paths: Sequence[str],
    fmt: str,
    output: str | None,
    force: bool,
    only: Sequence[str],
    skip: Sequence[str],
    statement_timeout: str,
    lock_timeout: str,
    restore_point: datetime | None,
    jobs: int,
    baseline: Path | None,
    keep: bool,
    scratch_dsn: str | None,
    trust_dump: bool,
) -> None:
    """Restore a pg_dump archive into a throwaway PostgreSQL and run the gate on it.

    Custom, directory, tar and plain-SQL dumps; every restore error is a failure of
    the restore_errors rule. No database server needed: made for nightly CI on backups.
    Same exit codes as check; a file that is not a readable archive is exit 3.
    An SQLite file is judged as it is, an SQLite .dump script is loaded into a
    temporary file, and a mysqldump/mariadb-dump file is replayed into the empty
    database --scratch-dsn names (which keeps it).

    The dump is treated as hostile: it is restored as a role without privileges, a
    plain script never runs psql meta-commands, and the tools see none of your PG*
    settings or password files. --trust-dump restores as superuser (dumps you trust).

    \b
    Examples:
      restoregate verify-dump nightly.dump --rules rules/app.yaml --format junit \\
          --output restore-gate.xml
      restoregate verify-dump app.sqlite.sql
      restoregate verify-dump app.sql --scratch-dsn mysql://scratch:pw@db:3306/scratch
    """
    from restoregate import api

    target = _report_file(ctx, output, force, fmt, "", f"verify-dump {dump.name}")
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
            rules_paths=rules_paths,
            scratch_dsn=scratch_dsn,
            trust_dump=trust_dump,
            phase=_phase(shown),
        )
    if kept:
        click.echo(kept, err=True)
    ctx.exit(_emit(ctx, report, fmt, target))


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
    help="Where to write the manifest (JSON, atomically).",
)
@click.option("--force", is_flag=True, help="Replace FILE if it exists (a nightly job's manifest).")
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
@_jobs_option
@color_option
@click.pass_context
def snapshot(
    ctx: click.Context,
    dsn: str | None,
    output: Path,
    force: bool,
    exact: bool,
    snapshot_id: str | None,
    roles: Sequence[str],
    jobs: int,
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

    target = output_file.prepare(str(output), force=force, option="-o")
    settings = api.SessionSettings(jobs=jobs)
    manifest = api.snapshot(
        dsn, exact=exact, roles=roles, snapshot_id=snapshot_id, settings=settings
    )
    output_file.write(target, api.manifest_text(manifest))
    counted = sum(len(v) for v in manifest["objects"].values())
    tables = plural(len(manifest["tables"]), "table")
    wrote = printable(str(output))
    click.echo(f"wrote {wrote}: {plural(counted, 'object')}, {tables}", err=True)
    ctx.exit(0)


@cli.group(cls=_FullSummaries)
def rules() -> None:
    """Work with rules files: validate yours, print the built-in ones."""


@rules.command("lint")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option(
    "--engine",
    type=click.Choice(["postgresql", "mysql", "sqlite"]),
    default="postgresql",
    show_default=True,
    help="Parse sql rules and unique expressions as this engine's SQL.",
)
@color_option
@click.pass_context
def rules_lint(ctx: click.Context, files: Sequence[str], engine: str) -> None:
    """Validate rules files without a database: exit 0 when all are valid, else 2.

    \b
    Examples:
      restoregate rules lint rules/default.yaml rules/app.yaml
      restoregate rules lint --engine mysql rules/shop.yaml
    """
    from restoregate import api
    from restoregate.delivery import to_stdout

    with api.rules_dialect_for(engine):
        problems = {e.path: e for e in api.lint(files)}
    for path in files:
        if path in problems:
            error = problems[path]
            hint = f" (hint: {printable(error.hint)})" if error.hint else ""
            click.echo(printable(error.message) + hint, err=True)
        else:
            to_stdout(f"{printable(path)}: ok\n")
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
@click.option("--keep", is_flag=True, help="Leave the demo server (or files) and print where.")
@click.option(
    "--engine",
    type=click.Choice(["postgresql", "sqlite"]),
    default="postgresql",
    show_default=True,
    help="postgresql: a throwaway server; sqlite: plain files, no server at all.",
)
@pg_bin_option
@color_option
@click.pass_context
def demo(ctx: click.Context, keep: bool, engine: str) -> None:
    """A restore gone wrong, caught: a throwaway PostgreSQL, a bad restore, then check.

    Exits 1, as the gate should on this restore.

    \b
    Examples:
      restoregate demo
      restoregate demo --engine sqlite
    """
    import shutil

    from restoregate.demo import run_demo

    mode = color_mode(ctx)
    width = min(100, shutil.get_terminal_size((100, 24)).columns)
    out = console(sys.stdout, mode, width=width)
    ctx.exit(run_demo(out, keep=keep, engine=engine, color=wants_color(sys.stdout, mode)))


cli.add_command(fix)
cli.add_command(fence)


def main() -> None:
    """The console script: see ``restoregate.entry`` (Ctrl-C before this module loads)."""
    from restoregate.entry import main as entry

    entry()


def run() -> None:
    cli(prog_name="restoregate")
