"""``restoregate check``: run the rules against a restored database, exit with the verdict."""

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
    role_option,
    rules_option,
    selection_options,
    session_options,
)
from restoregate.cli_remedy import fence_stays_up
from restoregate.commands.shared import emit, jobs_option, report_file, report_output_options
from restoregate.report.escape import printable
from restoregate.terminal import console, is_live


@click.command()
@click.option(
    "--dsn",
    envvar="RESTOREGATE_DSN",
    metavar="DSN",
    help="postgresql:// URI or libpq string, mysql:// or mariadb:// URL, sqlite:///FILE "
    "(env RESTOREGATE_DSN). Omitted: PGHOST, PGDATABASE, PGSERVICE... decide, as for psql.",
)
@rules_option
@format_option
@report_output_options
@selection_options
@session_options
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="A manifest from `restoregate snapshot` of the source: adds the baseline rule.",
)
@role_option
@jobs_option
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

    described = api.describe_dsn(dsn)  # the name of this gate, pass or fail (JUnit suite)
    target = report_file(ctx, output, force, fmt, described)
    settings = api.SessionSettings(
        statement_timeout=statement_timeout,
        lock_timeout=lock_timeout,
        role=role,
        jobs=jobs,
    )
    if release:
        from restoregate import fencing

        fencing.prepare_release(dsn, release, settings)
    progress = None
    if is_live(sys.stderr):  # rich's live display only for a terminal (0.02 s to import)
        from restoregate.report.progress import TerminalProgress

        progress = TerminalProgress(console(sys.stderr, color_mode(ctx)))
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
    code = emit(ctx, report, fmt, target)
    if release:
        from restoregate import fencing

        for line in fencing.release(dsn, release, report, settings):
            click.echo(f"restoregate: {printable(line)}", err=True)
    ctx.exit(code)
