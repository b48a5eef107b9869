"""Rules files (docs/rules.md): strict loading with FILE:LINE:COL errors.

Everything a file can get wrong is a ``RulesError`` (exit 2) pointing at the offending
node, with a "did you mean" when a close name exists. Only ``RulesError`` ever escapes
the ``load_*`` functions, whatever the file holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from yaml.nodes import Node

from restoregate.checks import CHECKS
from restoregate.errors import RulesError
from restoregate.names import ColumnSet, NameError_, parse_column_set, parse_identifier, parse_table
from restoregate.rules.params import RULE_KEYS, Entries, build_params, patterns, suggest
from restoregate.rules.ruleset import LogicalReference, Position, Rule, RuleSet, Severity
from restoregate.rules.yaml_nodes import Doc, position, show
from restoregate.sqlcalls import Call, unlisted_calls

__all__ = ["default_rules", "example_rules", "lint", "load_rules_files", "load_rules_text"]

TOP_KEYS = (
    "version",
    "schemas",
    "exclude",
    "references",
    "not_references",
    "allow_functions",
    "rules",
)
SEVERITIES: tuple[Severity, ...] = ("error", "warn")
DEFAULT_LABEL = "rules/default.yaml (built-in)"
MAX_BYTES = 10_000_000  # a rules file is a page of YAML; this is anything but
_EXAMPLE = re.compile(r"[a-z0-9_-]+\Z")


def load_rules_files(paths: Sequence[str | Path]) -> RuleSet:
    """Several files merge: rules, references and excludes concatenate, schemas unite."""
    return merge([load_rules_text(_read(str(p)), str(p)) for p in paths])


def load_rules_text(text: str, path: str) -> RuleSet:
    """One rules file's text; ``path`` is what errors and positions show."""
    try:
        return _load(Doc(path, text), path)
    except (MemoryError, RecursionError, OverflowError):
        raise RulesError(path, 1, 1, "the rules file is too large or too deep to read") from None


def _load(doc: Doc, path: str) -> RuleSet:
    top = _entries(doc, doc.root, "the rules file", "a mapping with version: 1 and rules")
    for key, (knode, _) in top.items():
        if key not in TOP_KEYS:
            doc.fail(knode, f"unknown key {show(key)}", suggest(key, TOP_KEYS))
    _version(doc, top.get("version"))
    if "rules" not in top:
        doc.fail(doc.root, "missing key 'rules'", "list at least one rule under rules:")
    parts = {key: _PARTS[key](doc, value) for key, (_, value) in top.items() if key in _PARTS}
    allowed = parts.get("allow_functions", ())
    for rule in parts["rules"]:
        _check_calls(doc, rule, allowed)
    return RuleSet(
        rules=parts["rules"],
        schemas=parts.get("schemas"),
        exclude=parts.get("exclude", ()),
        references=parts.get("references", ()),
        not_references=parts.get("not_references", ()),
        sources=(path,),
        allow_functions=allowed,
        redactions=doc.redactions,
    )


def _check_calls(doc: Doc, rule: Rule, allowed: tuple[str, ...]) -> None:
    """A rule's SQL may call a function of the database's own only if the file lists it."""
    calls: tuple[Call, ...] = getattr(rule.params, "calls", ())
    unlisted = unlisted_calls(calls, allowed)
    if unlisted:
        pos = rule.position
        call = unlisted[0]
        raise RulesError(
            pos.path,
            pos.line,
            pos.col,
            doc.redact(f"rule {show(rule.id)} calls {call}(), which is not a built-in function"),
            doc.redact(
                "if you trust it, list it at the top of the file: allow_functions: "
                f"[{call.schema or 'public'}.{call.name}]"
            ),
        )


def default_rules() -> RuleSet:
    """The built-in rules ``check`` runs without ``--rules`` (``rules/default.yaml``)."""
    return load_rules_text(_packaged("default.yaml"), DEFAULT_LABEL)


def example_rules(name: str) -> RuleSet:
    """A packaged example, e.g. ``dayone`` (``rules/examples/dayone.yaml``)."""
    label = f"rules/examples/{name}.yaml"
    examples = resources.files("restoregate.data").joinpath("rules/examples")
    known = sorted(p.name.removesuffix(".yaml") for p in examples.iterdir())
    if not _EXAMPLE.match(name) or name not in known:
        raise RulesError(label, 1, 1, f"no example rules named {show(name)}", f"known: {known}")
    return load_rules_text(_packaged(f"examples/{name}.yaml"), label)


def lint(paths: Sequence[str]) -> list[RulesError]:
    """The first error of every invalid file, each file judged alone; [] when all are valid."""
    problems = []
    for path in paths:
        try:
            load_rules_files([path])
        except RulesError as exc:
            problems.append(exc)
    return problems


def merge(sets: Iterable[RuleSet]) -> RuleSet:
    """Rule sets in order; a rule id used twice is an error at the second use."""
    sets = list(sets)
    seen: dict[str, Rule] = {}
    for rule in (r for s in sets for r in s.rules):
        if rule.id in seen:
            first = seen[rule.id].position
            raise RulesError(
                rule.position.path,
                rule.position.line,
                rule.position.col,
                f"duplicate rule id {show(rule.id)}: already used at {first}",
                "give every rule its own id across all --rules files",
            )
        seen[rule.id] = rule
    schema_lists = [s.schemas for s in sets if s.schemas is not None]
    return RuleSet(
        rules=tuple(seen.values()),
        schemas=tuple(dict.fromkeys(n for s in schema_lists for n in s)) if schema_lists else None,
        exclude=tuple(p for s in sets for p in s.exclude),
        references=tuple(r for s in sets for r in s.references),
        not_references=tuple(r for s in sets for r in s.not_references),
        sources=tuple(p for s in sets for p in s.sources),
        allow_functions=tuple(dict.fromkeys(a for s in sets for a in s.allow_functions)),
        redactions=tuple(r for s in sets for r in s.redactions),
    )


# --- reading ------------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise RulesError(path, 1, 1, f"cannot read the rules file: {reason}") from None
    except ValueError as exc:  # a NUL or an unencodable character in the path
        raise RulesError(path, 1, 1, f"cannot read the rules file: {exc}") from None
    if len(data) > MAX_BYTES:
        message = f"the rules file is larger than {MAX_BYTES // 1_000_000} MB"
        raise RulesError(path, 1, 1, message, "is this really a rules file?")
    return _decode(path, data)


def _decode(path: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        col = len(data[line_start : exc.start].decode("utf-8", "replace")) + 1
        byte = data[exc.start]
        message = f"the rules file is not UTF-8 text: byte 0x{byte:02x} cannot be decoded"
        raise RulesError(path, line, col, message, "save the file as UTF-8") from None


def _packaged(name: str) -> str:
    return resources.files("restoregate.data").joinpath(f"rules/{name}").read_text("utf-8")


# --- the file's parts ---------------------------------------------------------------


def _entries(doc: Doc, node: Node, where: str, wanted: str) -> Entries:
    return {key: (knode, value) for key, knode, value in doc.mapping(node, where, wanted)}


def _version(doc: Doc, entry: tuple[Node, Node] | None) -> None:
    if entry is None:
        doc.fail(doc.root, "missing key 'version'", "add `version: 1` at the top")
    value = doc.scalar(entry[1], "version")
    if type(value) is not int or value != 1:
        doc.fail(
            entry[1],
            f"unsupported version: expected 1, found {doc.found(entry[1])}",
            "this restoregate reads rules files of version 1: write `version: 1`",
        )


def _schemas(doc: Doc, node: Node) -> tuple[str, ...]:
    items = doc.sequence(node, "schemas", "a list of schema names", "write schemas: [public]")
    if not items:
        doc.fail(node, "schemas: the list is empty", "leave schemas out to judge every schema")
    names = []
    for item in items:
        text = doc.text(item, "schemas", "a schema name")
        try:
            names.append(parse_identifier(text))
        except NameError_ as exc:
            doc.fail_at(
                item,
                exc.offset,
                f"schemas: {show(text)} is not a schema name: {exc}",
                "quote a name with capitals or spaces as in SQL: '\"Sales Data\"'",
            )
    return tuple(dict.fromkeys(names))


def _references(doc: Doc, node: Node) -> tuple[LogicalReference, ...]:
    items = doc.sequence(node, "references", "a list of references (from: ..., to: ...)")
    return tuple(_reference(doc, item) for item in items)


def _not_references(doc: Doc, node: Node) -> tuple[LogicalReference, ...]:
    """Suspected references a reviewer dismissed: same form as ``references:``."""
    items = doc.sequence(
        node, "not_references", "a list of dismissed references (from: ..., to: ...)"
    )
    return tuple(_reference(doc, item, "not_references") for item in items)


def _reference(doc: Doc, item: Node, section: str = "references") -> LogicalReference:
    entries = _entries(doc, item, section, "a mapping with from and to")
    for key, (knode, _) in entries.items():
        if key not in ("from", "to"):
            hint = suggest(key, ("from", "to")) or _reference_hint(key)
            doc.fail(knode, f"unknown key {show(key)} in a reference", hint)
    for key in ("from", "to"):
        if key not in entries:
            doc.fail(item, f"a reference needs {key!r}", "from: child(column), to: parent(key)")
    child_node, parent_node = entries["from"][1], entries["to"][1]
    child, parent = _column_set(doc, child_node, "from"), _column_set(doc, parent_node, "to")
    if len(child.columns) != len(parent.columns):
        doc.fail(
            item,
            f"'from' names {len(child.columns)} columns but 'to' names {len(parent.columns)}",
            "a reference pairs each child column with one parent key column",
        )
    return LogicalReference(
        child, parent, _pos(doc, item), _pos(doc, child_node), _pos(doc, parent_node)
    )


def _reference_hint(key: str) -> str:
    if key.endswith(")"):  # {from: a(b, c)}: YAML's flow mapping split the value at the comma
        return "inside { } a comma ends the value: quote it, e.g. {from: 'a(b, c)', to: ...}"
    return "a reference has only from and to"


def _column_set(doc: Doc, node: Node, key: str) -> ColumnSet:
    text = doc.text(node, key, "schema.table(column, ...)")
    try:
        return parse_column_set(text)
    except NameError_ as exc:
        doc.fail_at(
            node,
            exc.offset,
            f"{key}: malformed reference {show(text)}: {exc}",
            "write schema.table(column), e.g. public.journals(user_id)",
        )


def _pos(doc: Doc, node: Node) -> Position:
    return Position(doc.path, *position(node))


def _exclude(doc: Doc, node: Node) -> tuple[str, ...]:
    return patterns(doc, node, "exclude")


def _unqualified(text: str) -> bool:
    try:
        parse_identifier(text)
    except NameError_:
        return False
    return True


def _allow_functions(doc: Doc, node: Node) -> tuple[str, ...]:
    """``[schema.name, ...]``: functions of the database's own that rules may call."""
    items = doc.sequence(node, "allow_functions", "a list of schema.function names")
    names = []
    for item in items:
        text = doc.text(item, "allow_functions", "a schema.function name")
        try:
            name = parse_table(text)
        except NameError_ as exc:
            doc.fail_at(item, exc.offset, f"allow_functions: {show(text)} is not a name: {exc}")
        if _unqualified(text):
            doc.fail(item, f"allow_functions: write the schema too, e.g. public.{name.name}")
        if name.schema == "pg_catalog":
            doc.fail(item, "allow_functions: built-in functions cannot be allowed, only your own")
        names.append(str(name))  # schema.name as SQL writes it: parse_table reads it back
    return tuple(dict.fromkeys(names))


# --- rules --------------------------------------------------------------------------


def _rules(doc: Doc, node: Node) -> tuple[Rule, ...]:
    items = doc.sequence(node, "rules", "a list of rules")
    if not items:
        doc.fail(
            node,
            "rules: the list is empty, and a gate that judges nothing is not open",
            "add a rule, e.g. - {id: sequences, check: sequences}",
        )
    rules: dict[str, Rule] = {}
    for item in items:
        rule = _rule(doc, item)
        if rule.id in rules:
            first = rules[rule.id].position.line
            doc.fail(
                item,
                f"duplicate rule id {show(rule.id)} (first on line {first})",
                "give every rule its own id",
            )
        rules[rule.id] = rule
    return tuple(rules.values())


def _rule(doc: Doc, item: Node) -> Rule:
    entries = _entries(doc, item, "rules", "a rule (a mapping with id and check)")
    for key in ("id", "check"):
        if key not in entries:
            _missing(doc, item, entries, key)
    rule_id = doc.text(entries["id"][1], "id", "a rule id")
    check = _check_name(doc, entries["check"][1])
    severity = _severity(doc, entries["severity"][1]) if "severity" in entries else "error"
    described = entries.get("description")
    description = doc.text(described[1], "description") if described else None
    own = {key: entry for key, entry in entries.items() if key not in RULE_KEYS}
    params = build_params(doc, item, check, CHECKS[check], own)
    return Rule(rule_id, check, severity, description, params, _pos(doc, item))


def _missing(doc: Doc, item: Node, entries: Entries, key: str) -> NoReturn:
    """A missing ``id``/``check``: blame a misspelt key when there is one."""
    for name, (knode, _) in entries.items():
        if name not in RULE_KEYS and suggest(name, [key]):
            doc.fail(knode, f"unknown key {show(name)}", f"did you mean {key!r}?")
    doc.fail(item, f"a rule needs {key!r}", "every rule has an id and a check")


def _check_name(doc: Doc, node: Node) -> str:
    name = doc.text(node, "check", "a check name")
    if name not in CHECKS:
        known = sorted(CHECKS)
        hint = suggest(name, known) or f"the checks are: {', '.join(known)}"
        doc.fail(node, f"unknown check {show(name)}", hint)
    return name


def _severity(doc: Doc, node: Node) -> Severity:
    value = doc.text(node, "severity", "error or warn")
    for severity in SEVERITIES:
        if value == severity:
            return severity
    hint = suggest(value, SEVERITIES) or "error closes the gate; warn only reports"
    doc.fail(node, f"severity must be error or warn, not {show(value)}", hint)


# Read in the order the file lists them, so the first error reported is the first in the file.
_PARTS: dict[str, Callable[[Doc, Node], Any]] = {
    "schemas": _schemas,
    "exclude": _exclude,
    "references": _references,
    "allow_functions": _allow_functions,
    "not_references": _not_references,
    "rules": _rules,
}
