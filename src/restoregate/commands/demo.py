"""``restoregate demo``: a restore gone wrong, caught, on a throwaway server or SQLite."""

from __future__ import annotations

import sys

import click

from restoregate.cli_options import color_mode, color_option, pg_bin_option
from restoregate.terminal import console, wants_color


@click.command()
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
