"""A rule's own YAML keys become its check's frozen ``Params`` (see ``checks/base.py``).

Each key must be an ``init`` field of ``Params``; its value is converted by the field's
annotation: ``str``, ``int``, ``float`` (a whole number is accepted), ``bool`` (YAML
true/false only), ``tuple[X, ...]`` (a YAML list, never a lone value), ``dict[str, Any]``
and ``Any`` (plain data), ``TableFilter``, and ``X | None`` (null gives None). A field
without a default is required. A ``ValueError`` from ``__post_init__`` is reported at the
key its message starts with (``"min: ..."``), else at the rule.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Sequence
from typing import Any, NamedTuple, Union

from yaml.nodes import MappingNode, Node, ScalarNode

from restoregate.checks.base import Check, params_class
from restoregate.rules.ruleset import TableFilter
from restoregate.rules.yaml_nodes import Doc, describe, show

RULE_KEYS = ("id", "check", "severity", "description")
Entries = dict[str, tuple[Node, Node]]  # key -> (key node, value node)
_FIRST_WORD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(:| (?!and |or ))")
_TYPE_NAMES: dict[Any, str] = {
    str: "a text",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
}


class Field(NamedTuple):
    hint: Any
    required: bool


_FIELDS: dict[type[Any], dict[str, Field]] = {}


def build_params(doc: Doc, item: Node, name: str, check: type[Check], entries: Entries) -> Any:
    """The check's ``Params`` from the rule's keys other than id/check/severity/description."""
    cls = params_class(check)
    fields = params_fields(cls)
    for key, (knode, _) in entries.items():
        if key not in fields:
            doc.fail(knode, f"unknown key {show(key)} for check {name!r}", _key_hint(key, fields))
    missing = [key for key, f in fields.items() if f.required and key not in entries]
    if missing:
        doc.fail(
            item,
            f"check {name!r} needs {' and '.join(map(repr, missing))}",
            f"check {name!r} takes: {', '.join(fields)}",
        )
    values = {
        key: convert(doc, value, fields[key].hint, key) for key, (_, value) in entries.items()
    }
    try:
        return cls(**values)
    except ValueError as exc:
        doc.fail(_culprit(str(exc), entries, item), str(exc))


def params_fields(cls: type[Any]) -> dict[str, Field]:
    """The YAML keys a ``Params`` dataclass accepts, with their annotations."""
    if cls not in _FIELDS:
        hints = typing.get_type_hints(cls)
        fields = (f for f in dataclasses.fields(cls) if f.init)
        _FIELDS[cls] = {f.name: Field(hints[f.name], _required(f)) for f in fields}
    return _FIELDS[cls]


def suggest(name: str, choices: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def _key_hint(key: str, fields: dict[str, Field]) -> str:
    known = [*RULE_KEYS, *fields]
    return suggest(key, known) or f"a rule of this check takes: {', '.join(known)}"


def _required(field: dataclasses.Field[Any]) -> bool:
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def _culprit(message: str, entries: Entries, item: Node) -> Node:
    """The value a ``__post_init__`` message blames by starting with its key, else the rule."""
    match = _FIRST_WORD.match(message)
    if match and match.group(1) in entries:
        return entries[match.group(1)][1]
    return item


def supported(hint: Any) -> bool:
    """Whether the loader can fill a ``Params`` field of this annotation (see the docstring)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return _optional(hint) is not None and supported(_optional(hint))
    if origin is tuple:
        return len(args) == 2 and args[1] is Ellipsis and supported(args[0])
    if origin is dict:
        return args[0] is str
    return hint in (str, int, float, bool, TableFilter, Any)


def _optional(hint: Any) -> Any:
    """``X`` of ``X | None``; None for any other union."""
    args = typing.get_args(hint)
    others = [a for a in args if a is not type(None)]
    return others[0] if len(others) == 1 and len(args) == 2 else None


def convert(doc: Doc, node: Node, hint: Any, key: str) -> Any:
    if not supported(hint):
        raise TypeError(f"rules loader: unsupported Params annotation {hint!r} for {key!r}")
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is TableFilter:
        return _table_filter(doc, node, key)
    if origin in (Union, types.UnionType):
        if isinstance(node, ScalarNode) and doc.scalar(node, key) is None:
            return None
        return convert(doc, node, _optional(hint), key)
    if origin is tuple:
        items = doc.sequence(node, key, "a list", _list_hint(node, key))
        return tuple(convert(doc, item, args[0], key) for item in items)
    if origin is dict:
        return {k: plain(doc, v, key) for k, _, v in doc.mapping(node, key, "a mapping")}
    if hint is Any:
        return plain(doc, node, key)
    if hint is str:
        return doc.text(node, key)
    return _number(doc, node, hint, key)


def _number(doc: Doc, node: Node, hint: type, key: str) -> Any:
    value = doc.scalar(node, key)
    if isinstance(value, bool) == (hint is bool):  # True is an int to Python, not to us
        if hint is float and isinstance(value, int):
            return float(value)
        if isinstance(value, hint):
            return value
    text_hint = None
    if isinstance(value, str) and "${" in node.value:
        text_hint = "environment variables are substituted into text values only"
    doc.fail(node, f"{key}: expected {_TYPE_NAMES[hint]}, found {describe(value)}", text_hint)


def _list_hint(node: Node, key: str) -> str | None:
    if isinstance(node, ScalarNode) and node.value and "\n" not in node.value:
        return f"write {key}: [{node.value}]" if len(node.value) < 60 else None
    return None


def _table_filter(doc: Doc, node: Node, key: str) -> TableFilter:
    """``[glob, ...]`` (include) or ``{include: [...], exclude: [...]}``."""
    if not isinstance(node, MappingNode):
        return TableFilter(include=patterns(doc, node, key))
    parts = {k: (kn, v) for k, kn, v in doc.mapping(node, key, "a mapping")}
    for name, (knode, _) in parts.items():
        if name not in ("include", "exclude"):
            known = ("include", "exclude")
            doc.fail(knode, f"unknown key {show(name)} in {key}", suggest(name, known))
    return TableFilter(
        include=patterns(doc, parts["include"][1], "include") if "include" in parts else (),
        exclude=patterns(doc, parts["exclude"][1], "exclude") if "exclude" in parts else (),
    )


def patterns(doc: Doc, node: Node, key: str) -> tuple[str, ...]:
    """Glob patterns over ``schema.table``; one that can never match is an error."""
    items = doc.sequence(node, key, "a list of schema.table patterns", _list_hint(node, key))
    found = []
    for item in items:
        text = doc.text(item, key, "a schema.table pattern")
        if not any(c in text for c in ".*?["):
            doc.fail(
                item,
                f"{key}: pattern {show(text)} can never match: patterns apply to schema.table",
                f"write 'public.{text}' or '*.{text}'" if len(text) < 60 else None,
            )
        found.append(text)
    return tuple(found)


def plain(doc: Doc, node: Node, key: str) -> Any:
    """Free-form data (e.g. per-role privileges): mappings, lists and scalars."""
    if isinstance(node, ScalarNode):
        return doc.scalar(node, key)
    if isinstance(node, MappingNode):
        return {k: plain(doc, v, key) for k, _, v in doc.mapping(node, key, "a mapping")}
    return [plain(doc, item, key) for item in doc.sequence(node, key, "a list")]
