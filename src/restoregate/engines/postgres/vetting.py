"""What a rules file's SQL makes the server call, decided by the server itself.

sqlglot reads a ``sql`` rule or a ``unique`` expression first (``sqlcheck.py``), but it
cannot know which function an overloaded name, an operator or a cast resolves to in a
restored database. So before the probe runs, inside the probe's own savepoint, the
exact probe text is sent as a protocol-level Parse (parse analysis and rewriting, no
planning, no execution) with ``debug_print_rewritten`` on: the server sends back its
rewritten parse tree, views expanded. Every function, operator, type and relation OID
in that tree is then judged in ``vet.sql``, in the same session and snapshot:

- a function may run when it is a built-in (OID below 16384, in ``pg_catalog``), not
  volatile, and not one that runs query text of its own (``query_to_xml`` and kin), or
  when the rules file's top-level ``allow_functions`` names it;
- an operator is its implementation and selectivity functions; an aggregate is its
  support functions; a domain is what its CHECK constraints call, found through the
  types the tree names (composite attributes and array elements included);
- a foreign table (or a partition or child that is one) is refused.

Anything that cannot be shown safe is refused: an unknown function-valued field in the
tree, a tree that never arrives, a statement other than a plain SELECT. Functions that
only a superuser can create (type input/output, operator classes, TABLESAMPLE methods)
are trusted as part of the database, as the restore that made them already ran them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq
from psycopg.adapt import Transformer

from restoregate.engines.postgres.queries import load
from restoregate.errors import RefusedSql
from restoregate.names import parse_table

# Built-ins that are not volatile and yet evaluate SQL text or run queries of their own
# (table_to_xml reads a view, which may call anything; pg_input_is_valid coerces to any
# domain). Refused by OID: the built-in (OID < 16384) pg_proc rows of these names.
QUERY_TEXT_FUNCTIONS = (
    "query_to_xml",
    "query_to_xmlschema",
    "query_to_xml_and_xmlschema",
    "cursor_to_xml",
    "cursor_to_xmlschema",
    "table_to_xml",
    "table_to_xmlschema",
    "table_to_xml_and_xmlschema",
    "schema_to_xml",
    "schema_to_xmlschema",
    "schema_to_xml_and_xmlschema",
    "database_to_xml",
    "database_to_xmlschema",
    "database_to_xml_and_xmlschema",
    "ts_stat",
    "ts_rewrite",
    "pg_input_is_valid",
    "pg_input_error_info",
)
_FUNCTIONS = frozenset(  # field names as the server writes them
    [
        "funcid",
        "opfuncid",
        "hashfuncid",
        "negfuncid",
        "aggfnoid",
        "winfnoid",
        "startInRangeFunc",
        "endInRangeFunc",
    ]
)
_OPERATORS = frozenset(("opno", "eqop", "sortop"))
# Fields whose names mention a function but hold no function OID.
_NOT_FUNCTIONS = frozenset(
    [
        "funcresulttype",
        "funcretset",
        "funcvariadic",
        "funcformat",
        "funccollid",
        "funcordinality",
        "funccolcount",
        "funccoltypes",
        "funccoltypmods",
        "funccolcollations",
        "funcparams",
        "funcexpr",
        "funcs",
        "functions",
        "tsmhandler",  # TABLESAMPLE methods are C functions: only a superuser makes them
    ]
)
_FIELD = re.compile(r"(?<![\\\w]):(\w+)\s+(\d+)\b")
_OID_LIST = re.compile(r"(?<![\\\w]):(\w+)\s+\(o((?:\s+\d+)*)\s*\)")
_FUNC_LIKE = re.compile(r"func|fn|proc|handler", re.IGNORECASE)
_TREE_MESSAGE = "rewritten parse tree"


@dataclass(frozen=True)
class Called:
    functions: frozenset[int]
    operators: frozenset[int]
    types: frozenset[int]
    relations: frozenset[int]


VETTED = b"restoregate_vetted"  # the one named statement: vetted, then run as it is


def vet(conn: psycopg.Connection[Any], text: str, allowed: Sequence[str], what: str) -> None:
    """Refuse ``text`` unless everything it makes the server call may run (see module doc).

    Call inside the probe's savepoint: the settings used here are local to it.
    """
    _judge(conn, _parse(conn, text, what, b""), allowed, what)


def run_vetted(
    conn: psycopg.Connection[Any], text: str, allowed: Sequence[str], what: str
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Vet ``text`` and run exactly the statement the server vetted: (columns, rows).

    The statement is parsed once, as ``VETTED``; what runs is that parse, not a second
    reading of the text, so a function created in between cannot change what a name
    means. (The server re-analyses a prepared statement only when a relation it reads is
    invalidated, e.g. by a concurrent VACUUM; the relations stay locked meanwhile.) Call
    ``forget_vetted`` once the probe's savepoint is gone.
    """
    _judge(conn, _parse(conn, text, what, VETTED), allowed, what)
    result = conn.pgconn.exec_prepared(VETTED, None)
    if result.status != pq.ExecStatus.TUPLES_OK:
        raise psycopg.errors.error_from_result(result, encoding=conn.info.encoding)
    loader = Transformer(conn)
    loader.set_pgresult(result)
    rows: list[tuple[Any, ...]] = loader.load_rows(0, result.ntuples, tuple)
    columns = [(result.fname(i) or b"").decode("utf-8", "replace") for i in range(result.nfields)]
    return columns, rows


def forget_vetted(conn: psycopg.Connection[Any]) -> None:
    """Drop the vetted statement, if it was made (prepared statements outlive savepoints)."""
    made = conn.execute(
        "SELECT 1 FROM pg_catalog.pg_prepared_statements WHERE name = %s", (VETTED.decode(),)
    ).fetchone()
    if made:
        conn.execute("DEALLOCATE restoregate_vetted", prepare=False)


def _judge(conn: psycopg.Connection[Any], tree: str, allowed: Sequence[str], what: str) -> None:
    called = read_tree(tree, what)
    listed = [parse_table(a) for a in allowed]  # as the loader wrote them: schema.name
    rows = conn.execute(
        load("vet"),
        {
            "functions": sorted(called.functions),
            "operators": sorted(called.operators),
            "types": sorted(called.types),
            "relations": sorted(called.relations),
            "allowed_schemas": [n.schema for n in listed],
            "allowed_names": [n.name for n in listed],
            "query_text": list(QUERY_TEXT_FUNCTIONS),
        },
    ).fetchall()
    if rows:
        shown = "; ".join(f"{obj}: {reason}" for obj, reason in rows[:5])
        more = f" (and {len(rows) - 5} more)" if len(rows) > 5 else ""
        raise RefusedSql(
            f"{what}: refused {shown}{more}",
            "rules may call only built-in, non-volatile functions; list a function of "
            "your own under allow_functions: [schema.name] at the top of the rules file",
        )


class _Trees:
    def __init__(self) -> None:
        self.trees: list[str] = []

    def collect(self, diag: psycopg.errors.Diagnostic) -> None:
        if (diag.message_primary or "").startswith(_TREE_MESSAGE):
            self.trees.append(diag.message_detail or "")


def _tree_notices(conn: psycopg.Connection[Any], on: bool) -> _Trees:
    """Ask the server to send (or stop sending) its rewritten parse trees to us."""
    if on:
        conn.execute(
            "SELECT pg_catalog.set_config('debug_print_rewritten', 'on', true),"
            " pg_catalog.set_config('debug_pretty_print', 'off', true),"
            " pg_catalog.set_config('client_min_messages', 'log', true)"
        )
    else:
        conn.execute(
            "SELECT pg_catalog.set_config('debug_print_rewritten', 'off', true),"
            " pg_catalog.set_config('client_min_messages', 'notice', true)"
        )
    return _Trees()


def _parse(conn: psycopg.Connection[Any], text: str, what: str, name: bytes) -> str:
    """Parse ``text`` as the prepared statement ``name``: the server's rewritten tree."""
    notices = _tree_notices(conn, True)
    conn.add_notice_handler(notices.collect)
    try:
        result = conn.pgconn.prepare(name, text.encode("utf-8"))
    finally:
        conn.remove_notice_handler(notices.collect)
    if result.status != pq.ExecStatus.COMMAND_OK:
        message = (result.error_field(pq.DiagnosticField.MESSAGE_PRIMARY) or b"").decode(
            "utf-8", "replace"
        )
        raise RefusedSql(f"{what}: the server cannot run it: {message or 'unknown error'}")
    _tree_notices(conn, False)
    if len(notices.trees) != 1:
        raise RefusedSql(
            f"{what}: the server did not show how it reads the query, so it cannot be vetted",
            "the server must send LOG messages to the client when asked (client_min_messages)",
        )
    return notices.trees[0]


def read_tree(tree: str, what: str) -> Called:
    """The OIDs a rewritten parse tree names; refuses what is not a plain SELECT."""
    commands = set(re.findall(r":commandType\s+(\d+)", tree))
    if commands != {"1"} or re.search(r":utilityStmt\s+[^<\s]", tree):
        raise RefusedSql(f"{what}: only a SELECT may run")
    if re.search(r":(hasModifyingCTE|hasForUpdate)\s+true", tree):
        raise RefusedSql(f"{what}: rules neither write nor lock rows")
    functions, operators, types, relations = set(), set(), set(), set()
    for name, value in _FIELD.findall(tree):
        oid = int(value)
        if name in _FUNCTIONS:
            functions.add(oid)
        elif name in _OPERATORS:
            operators.add(oid)
        elif name == "relid":
            relations.add(oid)
        elif "typ" in name.lower():
            types.add(oid)
        elif _FUNC_LIKE.search(name) and name not in _NOT_FUNCTIONS:
            raise RefusedSql(f"{what}: the server's plan names a function in {name!r}")
    for name, values in _OID_LIST.findall(tree):
        oids = {int(v) for v in values.split()}
        if name == "opnos":
            operators |= oids
        elif "typ" in name.lower():
            types |= oids
        elif _FUNC_LIKE.search(name) and name not in _NOT_FUNCTIONS:
            raise RefusedSql(f"{what}: the server's plan names functions in {name!r}")
    return Called(*map(frozenset, (functions, operators, types, relations)))
