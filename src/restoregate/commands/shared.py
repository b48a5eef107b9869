"""What several commands share: the group's error handling, report files, ``--jobs``.

Exit codes: 0 gate open, 1 a rule failed, 2 usage or rules error, 3 could not check.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from restoregate import __version__
from restoregate import output as output_file
from restoregate.cli_options import color_mode
from restoregate.errors import EXIT_INCOMPLETE, RestoregateError
from restoregate.interrupted import EXIT_INTERRUPTED, INTERRUPTED, say_interrupted
from restoregate.redact import scrub
from restoregate.report.escape import printable
from restoregate.terminal import wants_color

if TYPE_CHECKING:  # the heavy modules load only when a command runs: --help stays fast
    from restoregate import api

F = TypeVar("F", bound=Callable[..., Any])


class FullSummaries(click.Group):
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


class _Interrupted(Exception):
    """Ctrl-C while the command line was parsed, carried past click's own handler
    (which would write a blank line first: two lines where the contract has one)."""


class Group(FullSummaries):
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
        except (_Interrupted, click.exceptions.Abort):  # Ctrl-C inside click itself
            say_interrupted()
            code = EXIT_INTERRUPTED
        except click.ClickException as exc:
            exc.show()
            code = exc.exit_code
        sys.exit(code if isinstance(code, int) else 0)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt:
            raise _Interrupted from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except RestoregateError as exc:
            fail(ctx, exc.exit_code, exc.message, exc.hint)
        except KeyboardInterrupt:
            fail(ctx, EXIT_INTERRUPTED, INTERRUPTED)
        except BrokenPipeError:
            from restoregate.delivery import quiet_stdout

            quiet_stdout()
            ctx.exit(EXIT_INCOMPLETE)
        except Exception as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            fail(
                ctx,
                EXIT_INCOMPLETE,
                f"internal error: {exc!r}. Rerun with --debug for the traceback; please report it",
            )


def fail(ctx: click.Context, code: int, message: str, hint: str | None = None) -> NoReturn:
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


class Jobs(click.ParamType):  # type: ignore[type-arg]
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


jobs_option = click.option(
    "--jobs",
    "-j",
    type=Jobs(),
    default="1",
    show_default=True,
    help="Workers sharing one snapshot, biggest tables first; auto: the server's CPUs "
    "(this machine's for a local server), capped by half its free connections.",
)


def report_output_options(function: F) -> F:
    """``-o/--output FILE`` and ``--force`` of the commands that write a report."""
    function = click.option(
        "--force", is_flag=True, help="Replace FILE if it exists (a nightly job's report)."
    )(function)
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False),
        metavar="FILE",
        help="Write the report to FILE (atomically; checked before the scan); a one-line "
        "verdict still goes to stderr. A run that fails leaves a report saying why.",
    )(function)


def report_file(
    ctx: click.Context, given: str | None, force: bool, fmt: str, dsn: str, subject: str = ""
) -> output_file.OutputFile | None:
    """Validate ``--output`` before any work; remember it for a failure report."""
    if not given:
        return None
    target = output_file.prepare(given, force=force)
    ctx.ensure_object(dict)["report"] = (target, fmt, dsn, subject)
    return target


def phase(shown: Any) -> Callable[[str], None]:
    """Status text on a terminal; it names the dump file, so it is text, never markup."""
    if shown is None:
        return lambda _: None
    from rich.text import Text

    return lambda text: shown.update(Text(printable(text)))


def emit(
    ctx: click.Context, report: api.Report, fmt: str, target: output_file.OutputFile | None
) -> int:
    """Write the report where it was asked for; annotate in GitHub Actions; the exit code."""
    from restoregate.delivery import rendered, to_stdout
    from restoregate.report.formats import render
    from restoregate.report.github import annotate, in_github_actions, summarize

    if target:
        from restoregate.report.text import verdict  # loads rich: only for this line

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
