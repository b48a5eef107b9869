"""User-written SQL, parsed as PostgreSQL by sqlglot before anything runs.

A ``sql`` rule must be exactly one read-only query; a ``unique`` rule's expressions must
be plain expressions over the table's columns. What is refused here is a rules error
(exit 2, also from ``rules lint``) naming the offending part:

- text that sqlglot and the server could read differently: ``U&'...'``/``U&"..."``
  (Unicode escapes spell any name) and ``E'...'`` escape strings;
- anything but one SELECT, writes, row locks, ``INTO``;
- a function the shipped list of PostgreSQL built-ins (``data/pg_functions.txt``, from
  the catalogs of 15 and 18) marks volatile or query-running, and a function that is no
  built-in at all unless the file's ``allow_functions`` names it (``unlisted_calls``).

None of this is the fence: the server decides what a name resolves to, and the backend
vets the exact probe text against the server's own parse tree before it runs.
"""

from __future__ import annotations

from typing import Any

import sqlglot
from sqlglot import Token, TokenType, exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import SqlglotError, TokenError

from restoregate.sqlcalls import Call, builtins, unlisted_calls

__all__ = ["Call", "builtins", "check_expression", "check_query", "unlisted_calls"]

DIALECT = "postgres"

# Built-ins that are not volatile yet run SQL of their own (mirrors the server-side set).
QUERY_TEXT = frozenset(
    """
query_to_xml query_to_xmlschema query_to_xml_and_xmlschema cursor_to_xml cursor_to_xmlschema
table_to_xml table_to_xmlschema table_to_xml_and_xmlschema schema_to_xml schema_to_xmlschema
schema_to_xml_and_xmlschema database_to_xml database_to_xmlschema
database_to_xml_and_xmlschema ts_stat ts_rewrite pg_input_is_valid pg_input_error_info
""".split()  # noqa: SIM905 - a word list reads best as text
)
WRITES = (  # statements and clauses that change something: never in a rule
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.Command,
    exp.TruncateTable,
    exp.Into,
    exp.Lock,
    exp.Copy,
    exp.Set,
)


def check_query(text: str) -> tuple[str, tuple[Call, ...]]:
    """A ``sql`` rule's query without trailing semicolons or comments, and its calls."""
    body = _statement(text, "sql")
    statements = _parse(body)
    if len(statements) != 1:
        raise ValueError(f"sql: write exactly one statement, found {len(statements)}")
    tree = statements[0]
    if not isinstance(tree, (exp.Select, exp.Union, exp.Intersect, exp.Except)):
        raise ValueError(f"sql: only a SELECT may run, found {_name(tree)}")
    return body, _refuse_side_effects(tree, "sql")


def check_expression(text: str) -> tuple[str, set[str], tuple[Call, ...]]:
    """A ``unique`` expression such as ``lower(email)``: its SQL, its columns, its calls."""
    _tokens(text, "columns")
    try:
        tree = sqlglot.parse_one(text, read=DIALECT)
    except SqlglotError as exc:
        raise ValueError(f"columns: {text!r} is not an SQL expression: {_first(exc)}") from None
    if isinstance(tree, (exp.Query, exp.DDL, exp.DML)) or tree.find(exp.Query):
        raise ValueError(f"columns: {text!r} must be an expression over columns, not a query")
    if tree.find(exp.Star):
        raise ValueError(f"columns: {text!r} may not use *")
    calls = _refuse_side_effects(tree, "columns")
    columns = {c.name for c in tree.find_all(exp.Column)}
    if not columns:
        raise ValueError(f"columns: {text!r} names no column")
    if any(c.table for c in tree.find_all(exp.Column)):
        raise ValueError(f"columns: {text!r}: write column names without a table")
    return tree.sql(dialect=DIALECT), columns, calls


def _statement(text: str, key: str) -> str:
    """The text up to its last token: trailing comments and semicolons dropped."""
    tokens = [t for t in _tokens(text, key) if t.token_type != TokenType.SEMICOLON]
    if not tokens:
        raise ValueError(f"{key}: the query is empty")
    return text[: tokens[-1].end + 1].strip()


def _tokens(text: str, key: str) -> list[Token]:
    try:
        tokens: list[Token] = Postgres().tokenizer_class().tokenize(text)
    except SqlglotError as exc:
        raise ValueError(f"{key}: cannot parse as PostgreSQL: {_first(exc)}") from None
    for index, token in enumerate(tokens):
        after = tokens[index + 1] if index + 1 < len(tokens) else None
        raw = text[token.start : token.end + 1]
        if token.token_type == TokenType.UNICODE_STRING or _unicode_name(token, after, text):
            raise ValueError(
                f"{key}: U& Unicode escapes are not allowed: write the name or text plainly"
            )
        if token.token_type == TokenType.BYTE_STRING and raw[:1] in "eE":
            raise ValueError(
                f"{key}: E'...' escape strings are not allowed: write a standard '...' string"
            )
    return tokens


def _unicode_name(token: Token, after: Token | None, text: str) -> bool:
    """``U&"..."`` reaches sqlglot as the column U, ``&`` and an identifier."""
    if token.text.upper() != "U" or after is None or after.token_type != TokenType.AMP:
        return False
    return text[after.end + 1 : after.end + 2] in ("'", '"') and after.start == token.end + 1


def _parse(text: str) -> list[Any]:
    try:
        return [s for s in sqlglot.parse(text, read=DIALECT) if s is not None]
    except SqlglotError as exc:
        raise ValueError(f"sql: cannot parse as PostgreSQL: {_first(exc)}") from None


def _refuse_side_effects(tree: Any, key: str) -> tuple[Call, ...]:
    calls: list[Call] = []
    for node in tree.walk():
        if isinstance(node, WRITES):
            raise ValueError(f"{key}: {_name(node)} is not allowed: rules only read")
        if isinstance(node, exp.Select) and node.args.get("locks"):
            raise ValueError(f"{key}: FOR UPDATE/SHARE is not allowed: rules take no row locks")
        if isinstance(node, exp.Anonymous):
            call = _call(node)
            _refuse_builtin(call, key)
            calls.append(call)
    return tuple(dict.fromkeys(calls))


def _refuse_builtin(call: Call, key: str) -> None:
    if call.schema not in (None, "pg_catalog"):
        return
    if call.name in QUERY_TEXT:
        raise ValueError(f"{key}: function {call}() is not allowed: it runs query text")
    if builtins().get(call.name):
        raise ValueError(
            f"{key}: function {call}() is not allowed: it is volatile and can act outside "
            "the read-only transaction"
        )


def _call(node: exp.Anonymous) -> Call:
    name = _folded(node.this)
    parent = node.parent
    schema = None
    if isinstance(parent, exp.Dot) and parent.expression is node:
        schema = _folded(parent.this.this if isinstance(parent.this, exp.Column) else parent.this)
    elif isinstance(parent, exp.Table) and parent.this is node and parent.args.get("db"):
        schema = _folded(parent.args["db"])
    return Call(schema, name)


def _folded(part: Any) -> str:
    """A name as PostgreSQL reads it: unquoted names fold to lower case."""
    if isinstance(part, exp.Identifier):
        return str(part.this) if part.quoted else str(part.this).lower()
    if isinstance(part, exp.Expression):
        return _folded(part.this) if part.this is not None else part.sql(DIALECT)
    return str(part).lower()


def _name(node: Any) -> str:
    return str(node.key).upper().replace("_", " ")


def _first(exc: SqlglotError) -> str:
    """sqlglot's reason and position, never its excerpt of the text (it may hold a secret)."""
    errors = getattr(exc, "errors", None)
    if errors:
        first = errors[0]
        reason = " ".join(str(first.get("description") or "syntax error").split())[:120]
        return f"{reason} (line {first.get('line')}, column {first.get('col')} of the query)"
    if isinstance(exc, TokenError):
        return "a string, quoted name or comment is not closed"
    return "syntax error"
