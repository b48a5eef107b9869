"""``restoregate init``: a starter rules file for a database, with its suspected references."""

from __future__ import annotations

import click

from restoregate import output as output_file
from restoregate.cli_options import color_option, role_option
from restoregate.errors import EXIT_INCOMPLETE
from restoregate.report.escape import printable


@click.command()
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
