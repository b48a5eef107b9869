"""Writes docs/commands.md from the CLI itself, so the reference cannot drift.

Run ``python docs/generate_commands.py`` after changing a command or an option;
``tests/test_docs_reference.py`` fails until the file matches.
"""

from __future__ import annotations

import inspect
import sys
import textwrap
from pathlib import Path

import click

from restoregate.cli import cli

TARGET = Path(__file__).with_name("commands.md")
HEADER = """# Commands

Every command and option, generated from the command line itself by
`docs/generate_commands.py` (so `--help` and this page say the same). Exit codes are
the same for every command: see [the contract](contract.md#exit-codes).
"""


def render() -> str:
    ctx = click.Context(cli, info_name="restoregate")
    sections = [HEADER]
    _walk(ctx, cli, [], sections)
    return "\n".join(sections).rstrip("\n") + "\n"


def _walk(ctx: click.Context, command: click.Command, path: list[str], out: list[str]) -> None:
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                _walk(ctx, sub, [*path, name], out)
        return
    usage = " ".join(command.collect_usage_pieces(ctx))
    out.append(f"## `restoregate {' '.join(path)}`\n")
    out.append(f"`restoregate {' '.join(path)} {usage}`\n")
    out.append(_help(command.help or "") + "\n")
    rows = [_row(p) for p in command.params if isinstance(p, click.Option) and p.help]
    if rows:
        out.append("| option | meaning |\n|---|---|")
        out.extend(rows)
        out.append("")


def _help(text: str) -> str:
    parts = []
    for para in inspect.cleandoc(text).split("\n\n"):
        if para.startswith("\b\n"):
            title, _, code = para[2:].partition("\n")
            parts.append(f"{title}\n\n```sh\n{textwrap.dedent(code)}\n```")
        else:
            parts.append(" ".join(para.split()))
    return "\n\n".join(parts)


def _row(option: click.Option) -> str:
    names = ", ".join(f"`{o}`" for o in option.opts + option.secondary_opts)
    if option.metavar:
        names += f" {option.metavar}"
    elif isinstance(option.type, click.Choice):
        names += " `" + "\\|".join(map(str, option.type.choices)) + "`"
    extra = []
    if option.envvar:
        extra.append(f"env `{option.envvar}`")
    if option.show_default and option.default not in (None, False, ()):
        extra.append(f"default `{option.default}`")
    meaning = (option.help or "").replace("|", "\\|")
    if extra:
        meaning += " (" + "; ".join(extra) + ")"
    return f"| {names} | {meaning} |"


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {TARGET}\n")
