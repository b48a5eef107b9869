"""``restoregate rules lint`` and ``rules show``: validate rules files, print the built-in ones."""

from __future__ import annotations

from collections.abc import Sequence

import click

from restoregate.cli_options import color_option
from restoregate.commands.shared import FullSummaries
from restoregate.errors import EXIT_USAGE
from restoregate.report.escape import printable


@click.group(cls=FullSummaries)
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
