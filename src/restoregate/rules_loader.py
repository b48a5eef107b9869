"""Rules files (CONTRACT.md, "Rules files"): strict loading with FILE:LINE:COL errors.

Everything a file can get wrong is a ``RulesError`` (exit 2) pointing at the offending
node, with a "did you mean" when a close name exists. Only ``RulesError`` ever escapes
the ``load_*`` functions.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Union

from yaml.nodes import MappingNode, Node, ScalarNode

from restoregate.checks import CHECKS
from restoregate.checks.base import params_class
from restoregate.errors import RulesError
from restoregate.names import ColumnSet, NameError_, parse_column_set, parse_identifier
from restoregate.ruleset import LogicalReference, Position, Rule, RuleSet, TableFilter
from restoregate.yaml_nodes import Doc, describe, position

TOP_KEYS = ("version", "schemas", "exclude", "references", "rules")
RULE_KEYS = ("id", "check", "severity", "description")
SEVERITIES = ("error", "warn")
DEFAULT_LABEL = "rules/default.yaml (built-in)"


def load_rules_files(paths: Sequence[str | Path]) -> RuleSet:
    """Several files merge: rules and references concatenate, ``schemas`` unite."""
    return merge([load_rules_text(_read(str(p)), str(p)) for p in paths])


def load_rules_text(text: str, path: str) -> RuleSet:
    doc = Doc(path, text)
    top = {key: (knode, value) for key, knode, value in doc.mapping(doc.root, "a rules file")}
    for key, (knode, _) in top.items():
        if key not in TOP_KEYS:
            doc.fail(knode, f"unknown key {key!r}", _suggest(key, TOP_KEYS))
    _version(doc, top.get("version"))
    if "rules" not in top:
        doc.fail(doc.root, "missing key 'rules'", "list at least one rule")
    schemas = _schemas(doc, top["schemas"][1]) if "schemas" in top else None
    exclude = _strings(doc, top["exclude"][1], "exclude") if "exclude" in top else ()
    references = _references(doc, top["references"][1]) if "references" in top else ()
    rules = _rules(doc, top["rules"][1])
    return RuleSet(rules, schemas, exclude, references, sources=(path,))


def default_rules() -> RuleSet:
    return load_rules_text(_packaged("default.yaml"), DEFAULT_LABEL)


def example_rules(name: str) -> RuleSet:
    return load_rules_text(_packaged(f"examples/{name}.yaml"), f"rules/examples/{name}.yaml")


def lint(paths: Sequence[str]) -> list[RulesError]:
    """The first error of every invalid file; an empty list when all are valid."""
    problems = []
    for path in paths:
        try:
            load_rules_files([path])
        except RulesError as exc:
            problems.append(exc)
    return problems


def merge(sets: list[RuleSet]) -> RuleSet:
    seen: dict[str, Rule] = {}
    for rule in (r for s in sets for r in s.rules):
        if rule.id in seen:
            first = seen[rule.id].position
            raise RulesError(
                rule.position.path,
                rule.position.line,
                rule.position.col,
                f"duplicate rule id {rule.id!r} (first at {first})",
            )
        seen[rule.id] = rule
    schema_sets = [s.schemas for s in sets if s.schemas is not None]
    return RuleSet(
        rules=tuple(seen.values()),
        schemas=tuple(dict.fromkeys(n for s in schema_sets for n in s)) if schema_sets else None,
        exclude=tuple(p for s in sets for p in s.exclude),
        references=tuple(r for s in sets for r in s.references),
        sources=tuple(p for s in sets for p in s.sources),
    )


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read()
    except UnicodeDecodeError as exc:
        raise RulesError(path, 1, 1, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise RulesError(path, 1, 1, f"cannot read the rules file: {exc.strerror}") from None


def _packaged(name: str) -> str:
    return resources.files("restoregate.data").joinpath(f"rules/{name}").read_text(encoding="utf-8")


def _suggest(name: str, choices: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def _version(doc: Doc, entry: tuple[Node, Node] | None) -> None:
    if entry is None:
        doc.fail(doc.root, "missing key 'version'", "add `version: 1` at the top")
    value = doc.scalar(entry[1])
    if value != 1 or isinstance(value, bool):
        doc.fail(entry[1], f"unsupported version {value!r}: this restoregate reads version 1")


def _strings(doc: Doc, node: Node, what: str) -> tuple[str, ...]:
    return tuple(doc.string(item, f"each entry of {what}") for item in doc.sequence(node, what))


def _schemas(doc: Doc, node: Node) -> tuple[str, ...]:
    names = []
    for item in doc.sequence(node, "schemas"):
        text = doc.string(item, "each schema")
        try:
            names.append(parse_identifier(text))
        except NameError_ as exc:
            doc.fail(item, f"{text!r} is not a schema name: {exc}")
    return tuple(names)


def _references(doc: Doc, node: Node) -> tuple[LogicalReference, ...]:
    refs = []
    for item in doc.sequence(node, "references"):
        entries = {k: (kn, v) for k, kn, v in doc.mapping(item, "each reference")}
        for key, (knode, _) in entries.items():
            if key not in ("from", "to"):
                doc.fail(
                    knode, f"unknown key {key!r} in a reference", _suggest(key, ("from", "to"))
                )
        for key in ("from", "to"):
            if key not in entries:
                doc.fail(item, f"a reference needs {key!r}", "from: child(column), to: parent(key)")
        child, parent = (_column_set(doc, entries[k][1]) for k in ("from", "to"))
        if len(child.columns) != len(parent.columns):
            doc.fail(
                item,
                f"'from' names {len(child.columns)} columns but 'to' names {len(parent.columns)}",
            )
        refs.append(
            LogicalReference(
                child,
                parent,
                _pos(doc, item),
                _pos(doc, entries["from"][1]),
                _pos(doc, entries["to"][1]),
            )
        )
    return tuple(refs)


def _column_set(doc: Doc, node: Node) -> ColumnSet:
    text = doc.string(node, "a reference end")
    try:
        return parse_column_set(text)
    except NameError_ as exc:
        line, col = position(node)
        if isinstance(node, ScalarNode) and node.style is None and "\n" not in text:
            col += exc.offset
        raise RulesError(
            doc.path,
            line,
            col,
            f"malformed reference {text!r}: {exc}",
            "write schema.table(column), e.g. public.journals(user_id)",
        ) from None


def _pos(doc: Doc, node: Node) -> Position:
    line, col = position(node)
    return Position(doc.path, line, col)


def _rules(doc: Doc, node: Node) -> tuple[Rule, ...]:
    items = doc.sequence(node, "rules")
    if not items:
        doc.fail(node, "no rules: a gate that judges nothing is not open")
    rules: list[Rule] = []
    for item in items:
        rule = _rule(doc, item)
        previous = next((r for r in rules if r.id == rule.id), None)
        if previous:
            doc.fail(
                item, f"duplicate rule id {rule.id!r} (first on line {previous.position.line})"
            )
        rules.append(rule)
    return tuple(rules)


def _rule(doc: Doc, item: Node) -> Rule:
    entries = {k: (kn, v) for k, kn, v in doc.mapping(item, "each rule")}
    for key in ("id", "check"):
        if key not in entries:
            typo = next((kn for k, (kn, _) in entries.items() if _suggest(k, [key])), None)
            if typo is not None:
                doc.fail(typo, f"unknown key {typo.value!r}", f"did you mean {key!r}?")
            doc.fail(item, f"a rule needs {key!r}")
    rule_id = doc.string(entries["id"][1], "id")
    check_node = entries["check"][1]
    check = doc.string(check_node, "check")
    if check not in CHECKS:
        doc.fail(
            check_node,
            f"unknown check {check!r}",
            _suggest(check, sorted(CHECKS)) or f"checks: {', '.join(sorted(CHECKS))}",
        )
    severity = "error"
    if "severity" in entries:
        severity = doc.string(entries["severity"][1], "severity")
        if severity not in SEVERITIES:
            doc.fail(entries["severity"][1], f"severity must be error or warn, not {severity!r}")
    description = (
        doc.string(entries["description"][1], "description") if "description" in entries else None
    )
    params = _params(doc, item, check, {k: v for k, v in entries.items() if k not in RULE_KEYS})
    return Rule(rule_id, check, severity, description, params, _pos(doc, item))  # type: ignore[arg-type]


def _params(doc: Doc, item: Node, check: str, entries: dict[str, tuple[Node, Node]]) -> Any:
    cls = params_class(CHECKS[check])
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    for key, (knode, _) in entries.items():
        if key not in fields:
            known = [*RULE_KEYS, *fields]
            doc.fail(knode, f"unknown key {key!r} for check {check!r}", _suggest(key, known))
    missing = [n for n, f in fields.items() if _required(f) and n not in entries]
    if missing:
        doc.fail(item, f"check {check!r} needs {', '.join(map(repr, missing))}")
    values = {key: _convert(doc, vnode, hints[key], key) for key, (_, vnode) in entries.items()}
    try:
        return cls(**values)
    except ValueError as exc:
        doc.fail(item, str(exc))


def _required(field: dataclasses.Field[Any]) -> bool:
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def _convert(doc: Doc, node: Node, hint: Any, key: str) -> Any:
    if hint is TableFilter:
        return _table_filter(doc, node, key)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType) and type(None) in args:
        if isinstance(node, ScalarNode) and doc.scalar(node) is None:
            return None
        return _convert(doc, node, next(a for a in args if a is not type(None)), key)
    if origin is tuple:
        return tuple(_convert(doc, item, args[0], key) for item in doc.sequence(node, key))
    if origin is dict:
        return {k: _plain(doc, v) for k, _, v in doc.mapping(node, key)}
    value = doc.scalar(node)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if hint is Any or (isinstance(value, hint) and not (hint is int and isinstance(value, bool))):
        return value
    doc.fail(node, f"{key} must be {_type_name(hint)}, found {describe(value)}")


def _table_filter(doc: Doc, node: Node, key: str) -> TableFilter:
    """``[glob, ...]`` (include) or ``{include: [...], exclude: [...]}``."""
    if not isinstance(node, MappingNode):
        return TableFilter(include=_strings(doc, node, key))
    parts = {k: (kn, v) for k, kn, v in doc.mapping(node, key)}
    for name, (knode, _) in parts.items():
        if name not in ("include", "exclude"):
            doc.fail(
                knode, f"unknown key {name!r} in {key}", _suggest(name, ("include", "exclude"))
            )
    return TableFilter(
        include=_strings(doc, parts["include"][1], "include") if "include" in parts else (),
        exclude=_strings(doc, parts["exclude"][1], "exclude") if "exclude" in parts else (),
    )


def _plain(doc: Doc, node: Node) -> Any:
    """A free-form value (e.g. per-role privileges): mappings, lists and scalars."""
    if isinstance(node, ScalarNode):
        return doc.scalar(node)
    if isinstance(node, MappingNode):
        return {k: _plain(doc, v) for k, _, v in doc.mapping(node, "a value")}
    return [_plain(doc, item) for item in doc.sequence(node, "a value")]


def _type_name(hint: Any) -> str:
    return {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}.get(
        hint, str(hint)
    )
