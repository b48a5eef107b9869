"""User-written SQL, parsed as PostgreSQL by sqlglot before anything runs.

A ``sql`` rule must be exactly one read-only query; a ``unique`` rule's expressions must
be plain expressions over the table's columns. What is refused is a rules error (exit
2) naming the offending part. The read-only transaction remains the second fence.
"""

from __future__ import annotations

import re
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

DIALECT = "postgres"

# Functions with side effects a read-only transaction does not stop.
_FORBIDDEN_FUNCTIONS = frozenset(
    """
pg_terminate_backend pg_cancel_backend pg_reload_conf pg_rotate_logfile pg_switch_wal
pg_create_restore_point pg_promote pg_log_backend_memory_contexts set_config setval nextval
pg_advisory_lock pg_advisory_xact_lock pg_advisory_lock_shared pg_try_advisory_lock
pg_read_file pg_read_binary_file pg_ls_dir pg_stat_file lo_import lo_export lo_unlink
dblink dblink_exec dblink_connect pg_notify pg_sleep pg_create_logical_replication_slot
pg_create_physical_replication_slot pg_drop_replication_slot pg_replication_origin_create
query_to_xml
""".split()  # noqa: SIM905 - a word list reads best as text
)
_WRITES = (
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


def check_query(text: str) -> str:
    """Validate a ``sql`` rule's query; returns it without a trailing semicolon."""
    statements = _parse(text)
    if len(statements) != 1:
        raise ValueError(f"sql: write exactly one statement, found {len(statements)}")
    tree = statements[0]
    if not isinstance(tree, (exp.Select, exp.Union, exp.Intersect, exp.Except)):
        raise ValueError(f"sql: only a SELECT may run, found {_name(tree)}")
    _refuse_side_effects(tree, "sql")
    return text.strip().rstrip(";").strip()


def check_expression(text: str) -> tuple[str, set[str]]:
    """Validate a ``unique`` expression such as ``lower(email)``: its SQL and its columns."""
    try:
        tree = sqlglot.parse_one(text, read=DIALECT)
    except SqlglotError as exc:
        raise ValueError(f"columns: {text!r} is not an SQL expression: {_first(exc)}") from None
    if isinstance(tree, (exp.Query, exp.DDL, exp.DML)) or tree.find(exp.Query):
        raise ValueError(f"columns: {text!r} must be an expression over columns, not a query")
    if tree.find(exp.Star):
        raise ValueError(f"columns: {text!r} may not use *")
    _refuse_side_effects(tree, "columns")
    columns = {c.name for c in tree.find_all(exp.Column)}
    if not columns:
        raise ValueError(f"columns: {text!r} names no column")
    if any(c.table for c in tree.find_all(exp.Column)):
        raise ValueError(f"columns: {text!r}: write column names without a table")
    return tree.sql(dialect=DIALECT), columns


def _parse(text: str) -> list[Any]:
    try:
        return [s for s in sqlglot.parse(text, read=DIALECT) if s is not None]
    except SqlglotError as exc:
        raise ValueError(f"sql: cannot parse as PostgreSQL: {_first(exc)}") from None


def _refuse_side_effects(tree: Any, key: str) -> None:
    for node in tree.walk():
        if isinstance(node, _WRITES):
            raise ValueError(f"{key}: {_name(node)} is not allowed: rules only read")
        if isinstance(node, exp.Select) and node.args.get("locks"):
            raise ValueError(f"{key}: FOR UPDATE/SHARE is not allowed: rules take no row locks")
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name in _FORBIDDEN_FUNCTIONS:
                raise ValueError(f"{key}: function {name}() is not allowed: it has side effects")


def _name(node: Any) -> str:
    return str(node.key).upper().replace("_", " ")


def _first(exc: SqlglotError) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # sqlglot underlines with terminal codes
    return " ".join(text.split())[:200]
