"""Writes what docs/ can derive from the code, so the reference cannot drift.

``docs/commands.md`` from the CLI itself, and ``$defs/kinds`` of
``docs/report.schema.json`` (every violation kind and its fields) from the Violation
classes. Run ``python docs/generate.py`` after changing a command, an option or a
violation; ``tests/test_docs_reference.py`` fails until the files match.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import pkgutil
import sys
import textwrap
from pathlib import Path

import click

import restoregate
from restoregate.cli import cli
from restoregate.report import Violation

TARGET = Path(__file__).with_name("commands.md")
SCHEMA = Path(__file__).with_name("report.schema.json")
JSON_TYPES: dict[str, dict[str, object]] = {
    "str": {"type": "string"},
    "str | None": {"type": ["string", "null"]},
    "int": {"type": "integer"},
    "int | None": {"type": ["integer", "null"]},
    "float": {"type": "number"},
    "float | None": {"type": ["number", "null"]},
    "bool": {"type": "boolean"},
    "list[str]": {"type": "array", "items": {"type": "string"}},
    "list[list[Any]]": {"$ref": "#/$defs/key_sample"},
    "list[dict[str, Any]]": {"type": "array", "items": {"type": "object"}},
}
HEADER = """# Commands

Every command and option, generated from the command line itself by
`docs/generate.py` (so `--help` and this page say the same). Exit codes are
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


def violation_classes() -> list[type[Violation]]:
    """Every Violation subclass in the package, by kind."""
    for module in pkgutil.walk_packages(restoregate.__path__, "restoregate."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found, todo = [], list(Violation.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("restoregate."):  # not a test's own fake kinds
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: cls.kind)


def schema() -> str:
    """The report schema with ``$defs/kinds`` and the violation's if/then list rebuilt."""
    document = json.loads(SCHEMA.read_text(encoding="utf-8"))
    kinds = {}
    for cls in violation_classes():
        properties: dict[str, object] = {"kind": {"const": cls.kind}}
        required = ["kind"]
        for f in dataclasses.fields(cls):
            properties[f.name] = dict(JSON_TYPES.get(str(f.type), {}))  # unknown: any value
            if f.default is not None:  # a field that defaults to None is left out when None
                required.append(f.name)
        kinds[cls.kind] = {"type": "object", "required": required, "properties": properties}
    document["$defs"]["kinds"] = kinds
    document["$defs"]["violation"]["allOf"] = [
        {"if": {"properties": {"kind": {"const": k}}}, "then": {"$ref": f"#/$defs/kinds/{k}"}}
        for k in kinds
    ]
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    SCHEMA.write_text(schema(), encoding="utf-8")
    sys.stdout.write(f"wrote {TARGET} and {SCHEMA}\n")
