"""Keys fed through something other than a plain ``nextval()`` default.

A column default that calls a user function (``DEFAULT next_id()``) or a ``BEFORE
INSERT`` row trigger can hand out sequence values the catalog never links to the
column. Where the function's body calls exactly one ``nextval('…')`` and returns or
assigns it unchanged, the sequence is followed and judged like any other; a sequence
it names that exists nowhere makes every insert fail, which the ``sequences`` check
reports; anything else on a key column is *unchecked*, said out loud, never passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from restoregate.catalog import Feed, SequenceDef, Table
from restoregate.names import NameError_, QualifiedName, parse_identifier, parse_sequence_literal

Row = Any  # a named tuple of the catalog query (catalog_loader)

_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_ANY_NEXTVAL = re.compile(r"\bnextval\s*\(", re.I)
_NEXTVAL = re.compile(
    r"\bnextval\s*\(\s*\(?\s*'(?P<name>(?:[^']|'')+)'(?:\s*::\s*(?:regclass|text))?\s*\)?"
    r"(?:\s*::\s*regclass)?\s*\)",
    re.I,
)
_PLAIN_BEFORE = re.compile(r"(?:\breturn|\bselect|:=|=)\s*$", re.I)
_PLAIN_AFTER = re.compile(r"^\s*(?:::\s*[a-z_][a-z0-9_ ]*)?\s*(?:;|$|\binto\b|\bend\b)", re.I)
_NEW_COLUMN = r'\bnew\s*\.\s*(?P<col>"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)'
_TARGET_BEFORE = re.compile(_NEW_COLUMN + r"\s*:?=\s*$", re.I)
_TARGET_AFTER = re.compile(r"^\s*(?:::\s*[a-z_][a-z0-9_ ]*)?\s*\binto\s+" + _NEW_COLUMN, re.I)
_UNQUALIFIED = "\0"  # no schema can be named this
_PLAIN_CALL = re.compile(r'^(?:(?:"[^"]+"|[\w$]+)\.)?(?:"[^"]+"|[\w$]+)\(\)(?:::[\w ]+)?$')


@dataclass(frozen=True)
class _Call:
    """The one ``nextval('…')`` a function body makes, and how it is used."""

    literal: str
    plain: bool  # returned or assigned unchanged
    target: str | None  # for triggers: the NEW column it is assigned to


def indirect_feeds(
    rows: Iterable[Row],
    tables: dict[int, Table],
    sequences: dict[QualifiedName, SequenceDef],
    traced: set[tuple[QualifiedName, str]],
) -> list[Feed]:
    """Feeds for function defaults and triggers; ``traced`` holds columns already fed."""
    feeds: list[Feed] = []
    for row in rows:
        table = tables.get(row.table_oid)
        if table is None or table.partition:
            continue
        if row.kind == "function":
            feed = _function_default(row, table, sequences, traced)
            feeds.extend([feed] if feed else [])
        else:
            feeds.extend(_trigger(row, table, sequences, traced))
    return feeds


def _function_default(
    row: Row,
    table: Table,
    sequences: dict[QualifiedName, SequenceDef],
    traced: set[tuple[QualifiedName, str]],
) -> Feed | None:
    column, default = row.column_name, row.detail
    if (table.name, column) in traced:
        return None  # nextval() appears in the default itself: feeds.sql judged it
    via = f"{_function(row)}"
    call = _the_call(row.body)
    col = table.column(column)
    if call is None:
        feeds_a_key = col is not None and col.key and col.numeric
        if col is None or not (feeds_a_key or _ANY_NEXTVAL.search(row.body or "")):
            return None  # not a key a sequence could feed: nothing to judge
        why = f"its default {default} calls {via}, which restoregate cannot follow"
        return Feed(table.name, column, None, ("function",), default, why, via=via)
    return _followed(table, column, call, row, sequences, default, via, ("function",), default)


def _trigger(
    row: Row,
    table: Table,
    sequences: dict[QualifiedName, SequenceDef],
    traced: set[tuple[QualifiedName, str]],
) -> list[Feed]:
    via = f"trigger {row.detail} ({_function(row)})"
    call = _the_call(row.body)
    if call is not None and call.target is not None and table.column(call.target) is not None:
        return [_followed(table, call.target, call, row, sequences, None, via, ("trigger",), None)]
    keys = [
        c
        for c in table.columns
        if c.key and c.numeric and (table.name, c.name) not in traced and _may_set(row, c.name)
    ]
    why = f"BEFORE INSERT {via} may set it; restoregate cannot follow it"
    return [Feed(table.name, c.name, None, ("trigger",), None, why, via=via) for c in keys]


_STRINGS = re.compile(r"'(?:[^']|'')*'")
# NEW written as a whole (NEW :=, INTO NEW, FOR NEW IN, an alias of it) or maybe through
# a procedure's INOUT argument (CALL p(NEW.x))
_WHOLE_NEW = re.compile(
    r"\bnew\s*:?=(?!=)|\binto\s+(?:strict\s+)?new\b(?!\s*\.)|\bfor(?:each)?\s+new\b"
    r"|\balias\s+for\b|\bcall\b",
    re.I,
)
_RETURNS = re.compile(r"\breturn\b([^;]*)", re.I)
_OWN_ROW = frozenset({"new", "null", "old"})
_ASSIGNED = re.compile(r"\s*:?=(?!=)")
_INTO = re.compile(r"\binto\b", re.I)


def _may_set(row: Row, column: str) -> bool:
    """Whether a trigger that calls no ``nextval()`` the way it can be followed may still
    set ``column``: True unless its PL/pgSQL body provably cannot. PL/pgSQL changes the
    row it returns only through ``NEW.column`` as a target (``NEW.column :=``, ``INTO
    NEW.column``), through ``NEW`` as a whole (``NEW :=``, ``INTO NEW``, an ``ALIAS
    FOR``) or by returning another row; a body that only reads ``NEW.column``, does none
    of the others and returns only NEW, OLD or NULL leaves the column as the insert gave
    it (MusicBrainz's ``end_date_implies_ended`` on every ``*_alias`` table). Anything
    unusual (another language, dollar quotes or E'' strings inside the body, a column
    name that needs quotes) keeps the column unchecked."""
    body = row.body or ""
    if row.language != "plpgsql" or "$" in body or re.search(r"\b[eE]'", body):
        return True
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", column):
        return True
    text = _STRINGS.sub("''", _COMMENTS.sub(" ", body))
    if _WHOLE_NEW.search(text):
        return True
    if any(r.strip().lower() not in _OWN_ROW for r in _RETURNS.findall(text)):
        return True
    field = re.compile(r'\bnew\s*\.\s*(?:"' + column + '"|' + column + r")(?![\w$])", re.I)
    for statement in text.split(";"):
        for use in field.finditer(statement):
            if _ASSIGNED.match(statement, use.end()) or _INTO.search(statement, 0, use.start()):
                return True  # a target, or maybe one: NEW.x = 1 in an IF is taken as one
    return False


def _followed(
    table: Table,
    column: str,
    call: _Call,
    row: Row,
    sequences: dict[QualifiedName, SequenceDef],
    default: str | None,
    via: str,
    kinds: tuple[Any, ...],
    expression: str | None,
) -> Feed:
    schemas = search_path(row.config, table.name.schema)
    found, missing = resolve_sequence(call.literal, schemas, sequences)
    reason = None
    col = table.column(column)
    if missing is None and found is None:
        reason = f"{via} calls nextval('{call.literal}'), which names no sequence on its path"
    elif not call.plain or (default is not None and not _PLAIN_CALL.match(default)):
        reason = f"{via} transforms the value of nextval('{call.literal}')"
    elif col is not None and not col.numeric:
        reason = f"it is of type {col.type_name}, not a number the sequence hands out"
    return Feed(table.name, column, found, kinds, expression, reason, missing=missing, via=via)


def _function(row: Row) -> str:
    return f"{row.function_schema}.{row.function_name}()"


def _the_call(body: str | None) -> _Call | None:
    """The body's one ``nextval('literal')`` call, or None for none, several or dynamic ones."""
    text = _COMMENTS.sub(" ", body or "")
    if len(_ANY_NEXTVAL.findall(text)) != 1:
        return None
    match = _NEXTVAL.search(text)
    if match is None:
        return None
    before, after = text[: match.start()], text[match.end() :]
    target = _TARGET_BEFORE.search(before) or _TARGET_AFTER.match(after)
    column = _column_name(target.group("col")) if target else None
    plain = bool(_PLAIN_BEFORE.search(before) or target) and bool(_PLAIN_AFTER.match(after))
    return _Call(match.group("name").replace("''", "'"), plain, column)


def _column_name(text: str) -> str | None:
    try:
        return parse_identifier(text)
    except NameError_:
        return None


def search_path(config: Sequence[str] | None, own_schema: str) -> list[str]:
    """Where an unqualified name in the function resolves: its SET search_path, else the
    table's schema then ``public`` (what an application session usually has)."""
    for setting in config or ():
        name, _, value = setting.partition("=")
        if name.strip().lower() == "search_path":
            schemas = [s.strip().strip('"') for s in value.split(",")]
            return [s for s in schemas if s and s not in ("$user", "pg_temp")]
    return [own_schema, "public"]


def resolve_sequence(
    literal: str, schemas: Sequence[str], sequences: dict[QualifiedName, SequenceDef]
) -> tuple[QualifiedName | None, str | None]:
    """``(found, None)``; ``(None, name)`` when no schema holds such a sequence at all (every
    insert fails); ``(None, None)`` when one exists, but not where this path finds it."""
    try:
        name = parse_sequence_literal(literal, _UNQUALIFIED)
    except NameError_:
        return None, None
    if name.schema != _UNQUALIFIED:
        return (name, None) if name in sequences else (None, str(name))
    for schema in schemas:
        if QualifiedName(schema, name.name) in sequences:
            return QualifiedName(schema, name.name), None
    if any(s.name == name.name for s in sequences):
        return None, None
    return None, str(QualifiedName(schemas[0] if schemas else "public", name.name))
