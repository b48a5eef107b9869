"""``restoregate verify-dump``: restore a dump into a throwaway server and run the gate."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path

import click

from restoregate.cli_options import (
    color_mode,
    color_option,
    format_option,
    pg_bin_option,
    rules_option,
    selection_options,
    session_options,
)
from restoregate.commands.shared import emit, phase, report_file, report_output_options
from restoregate.terminal import console, is_live


@click.command("verify-dump")
@click.argument("dump", type=click.Path(path_type=Path), metavar="FILE")
@rules_option
@format_option
@report_output_options
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

    target = report_file(ctx, output, force, fmt, "", f"verify-dump {dump.name}")
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
            phase=phase(shown),
        )
    if kept:
        click.echo(kept, err=True)
    ctx.exit(emit(ctx, report, fmt, target))
