"""``restoregate snapshot``: a manifest of the source, for checking a restore against it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from restoregate import output as output_file
from restoregate.cli_options import color_option
from restoregate.commands.shared import jobs_option
from restoregate.report.escape import printable


@click.command()
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
@jobs_option
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
