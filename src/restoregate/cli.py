"""The command line: the ``restoregate`` group, with one module per command.

Each command lives in :mod:`restoregate.commands` (``fix`` and ``fence`` in
:mod:`restoregate.cli_remedy`), thin over ``restoregate.api``; the group
(:class:`restoregate.commands.shared.Group`) converts every error to an exit code once.
Exit codes: 0 gate open, 1 a rule failed, 2 usage or rules error, 3 could not check.
"""

from __future__ import annotations

import click

from restoregate import __version__
from restoregate.cli_remedy import fence, fix
from restoregate.commands.check import check
from restoregate.commands.demo import demo
from restoregate.commands.init import init
from restoregate.commands.rules import rules
from restoregate.commands.shared import Group
from restoregate.commands.snapshot import snapshot
from restoregate.commands.verify_dump import verify_dump


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
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


for command in (check, init, verify_dump, snapshot, rules, demo, fix, fence):
    cli.add_command(command)


def run() -> None:
    """What the console script runs, once :mod:`restoregate.entry` set up interrupts."""
    cli(prog_name="restoregate")
