"""Database object names as users write them in rules files, and as reports show them.

Names follow SQL: unquoted identifiers fold to lower case, double-quoted ones keep
their case and may hold any character (a doubled quote stands for one). A name
without a schema means ``public``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple, TypeVar

_C = TypeVar("_C", bound=type)

DEFAULT_SCHEMA = "public"
# where a name without a schema lives: public on PostgreSQL, the DSN's database on
# MySQL/MariaDB, main on SQLite (set by the API while it reads rules for a DSN)
_DEFAULT: ContextVar[str] = ContextVar("default_schema", default=DEFAULT_SCHEMA)


@contextmanager
def default_schema(schema: str) -> Iterator[None]:
    """Names without a schema read inside the block mean ``schema``."""
    token = _DEFAULT.set(schema)
    try:
        yield
    finally:
        _DEFAULT.reset(token)


_PLAIN = re.compile(r"[a-z_][a-z0-9_$]*\Z")
# Keywords PostgreSQL's quote_ident() quotes (reserved, type/function-name, column-name).
_KEYWORDS = frozenset(
    """
all analyse analyze and any array as asc asymmetric authorization between bigint binary bit
boolean both case cast char character check coalesce collate collation column concurrently
constraint create cross current_catalog current_date current_role current_schema current_time
current_timestamp current_user dec decimal default deferrable desc distinct do else end except
exists extract false fetch float for foreign freeze from full grant greatest group grouping
having ilike in initially inner inout int integer intersect interval into is isnull join json
json_array json_arrayagg json_exists json_object json_objectagg json_query json_scalar
json_serialize json_table json_value lateral leading least left like limit localtime
localtimestamp merge_action national natural nchar none normalize not notnull null nullif
numeric offset on only or order out outer overlaps overlay placing position precision primary
real references returning right row select session_user setof similar smallint some substring
symmetric system_user table tablesample then time timestamp to trailing treat trim true union
unique user using values varchar variadic verbose when where window with xmlattributes
xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi xmlroot xmlserialize
xmltable
""".split()  # noqa: SIM905 - a word list reads best as text
)
_UNQUOTED = r"[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*"


@functools.cache
def _unquoted() -> re.Pattern[str]:
    """Compiled when a name is first parsed: its character class takes 5 ms to compile,
    which every command would pay at start-up."""
    return re.compile(_UNQUOTED)


class NameError_(ValueError):
    """A name could not be parsed; ``offset`` is the 0-based position in the text."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def quote_ident(name: str) -> str:
    """Render an identifier as SQL would need it (for display, never for building SQL)."""
    if _PLAIN.match(name) and name not in _KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def hash_once(cls: _C) -> _C:
    """A frozen dataclass whose hash is computed once per object, not on every lookup.

    Names, references and the requests holding them are dict keys everywhere; at 10,000
    tables their nested field-by-field hashes were the checks' largest Python cost
    (2 M calls). Equality still compares the fields."""
    computed: Callable[[Any], int] = cls.__hash__  # type: ignore[assignment]

    def __hash__(self: Any) -> int:
        found: int | None = self.__dict__.get("_hash")
        if found is None:
            found = computed(self)
            object.__setattr__(self, "_hash", found)
        return found

    cls.__hash__ = __hash__  # type: ignore[assignment]
    return cls


class QualifiedName(NamedTuple):
    """A schema-qualified table or sequence name: ``public.accounts``.

    The most looked-up key of all (600,000 lookups at 10,000 tables): a named tuple, so
    making, hashing and comparing one run in C, not in Python (a frozen dataclass with a
    cached hash still paid a Python call per lookup). Ordered by schema, then name."""

    schema: str
    name: str

    def __str__(self) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(self.name)}"

    def column(self, column: str) -> str:
        return f"{self}.{quote_ident(column)}"


class ColumnSet(NamedTuple):
    """A table and an ordered list of its columns: ``public.journals(user_id)``
    (a named tuple, as QualifiedName: the key of every reference)."""

    table: QualifiedName
    columns: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.table}({', '.join(quote_ident(c) for c in self.columns)})"


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            found = repr(self.text[self.pos]) if self.pos < len(self.text) else "end of text"
            raise NameError_(f"expected {char!r}, found {found}", self.pos)
        self.pos += 1

    def identifier(self) -> str:
        self.skip_space()
        if self.pos < len(self.text) and self.text[self.pos] == '"':
            return self._quoted()
        match = _unquoted().match(self.text, self.pos)
        if not match:
            raise NameError_("expected a name", self.pos)
        self.pos = match.end()
        return match.group().lower()

    def _quoted(self) -> str:
        start = self.pos
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            self.pos += 1
            if char != '"':
                out.append(char)
            elif self.pos < len(self.text) and self.text[self.pos] == '"':
                out.append('"')
                self.pos += 1
            elif not out:
                raise NameError_("a quoted name may not be empty", start)
            else:
                return "".join(out)
        raise NameError_("unterminated quoted name", start)

    def at_end(self) -> bool:
        return self.peek() == ""


def _table(scanner: _Scanner) -> QualifiedName:
    first = scanner.identifier()
    if scanner.peek() == ".":
        scanner.expect(".")
        return QualifiedName(first, scanner.identifier())
    return QualifiedName(_DEFAULT.get(), first)


def _finish(scanner: _Scanner) -> None:
    if not scanner.at_end():
        raise NameError_(f"unexpected {scanner.text[scanner.pos]!r}", scanner.pos)


def parse_table(text: str) -> QualifiedName:
    """``accounts`` -> public.accounts; ``"Sales Data"."Order"`` keeps case and spaces."""
    scanner = _Scanner(text)
    name = _table(scanner)
    _finish(scanner)
    return name


def parse_column_set(text: str) -> ColumnSet:
    """``public.journals(user_id)`` or ``"Sales"."Order"("Id", "Line")``."""
    scanner = _Scanner(text)
    table = _table(scanner)
    scanner.expect("(")
    columns = [scanner.identifier()]
    repeat: tuple[str, int] | None = None  # the first column named twice, and where
    while scanner.peek() == ",":
        scanner.expect(",")
        scanner.skip_space()
        start = scanner.pos
        name = scanner.identifier()
        if repeat is None and name in columns:
            repeat = (name, start)
        columns.append(name)
    scanner.expect(")")
    _finish(scanner)
    if repeat:
        raise NameError_(f"column {quote_ident(repeat[0])} is listed twice", repeat[1])
    return ColumnSet(table, tuple(columns))


def parse_identifier(text: str) -> str:
    """One SQL identifier: ``billing`` folds to lower case, ``"Sales Data"`` keeps its case."""
    scanner = _Scanner(text)
    name = scanner.identifier()
    _finish(scanner)
    return name


def parse_sequence_literal(text: str, default_schema: str) -> QualifiedName:
    """The name inside a late-bound ``nextval('name'::text)``, resolved like regclass input."""
    scanner = _Scanner(text)
    first = scanner.identifier()
    if scanner.peek() == ".":
        scanner.expect(".")
        name = QualifiedName(first, scanner.identifier())
    else:
        name = QualifiedName(default_schema, first)
    _finish(scanner)
    return name
