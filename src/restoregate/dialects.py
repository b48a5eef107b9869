"""User SQL for MySQL/MariaDB and SQLite: parsed by sqlglot in the engine's dialect.

PostgreSQL rules go through ``sqlcheck`` (a read-only transaction plus a list of
functions with side effects). Here the guarantee is an *allowlist*: a query or
expression may call only the functions below, which read their arguments and nothing
else. ``SLEEP``, ``GET_LOCK``, ``LOAD_FILE``, ``BENCHMARK``, user-defined functions and
anything else not listed are refused, as are variables (``@x``, ``@@global.x``),
``INTO``/``OUTFILE``, locking clauses and every statement but one SELECT. What is refused
is a rules error (exit 2) naming the function.
"""

from __future__ import annotations

import re
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from restoregate import sqlcheck
from restoregate.rules_dialect import RULES_DIALECT as _DIALECT
from restoregate.rules_dialect import RULES_VET as _VET

# Side-effect-free functions, by the name sqlglot gives them (its typed nodes' sql_name()
# or the called name of an unknown function), upper case.
ALLOWED_FUNCTIONS = frozenset(
    """
COUNT SUM MIN MAX AVG STDDEV STDDEV_POP STDDEV_SAMP VARIANCE VAR_POP VAR_SAMP GROUP_CONCAT
BIT_AND BIT_OR BIT_XOR ANY_VALUE COALESCE IFNULL NULLIF IF IIF CASE CAST TRY_CAST
CONVERT GREATEST LEAST ABS CEIL CEILING FLOOR ROUND TRUNCATE TRUNC MOD SIGN SQRT POWER POW EXP
LN LOG LOG10 LOG2 PI LOWER UPPER LCASE UCASE LENGTH CHAR_LENGTH CHARACTER_LENGTH OCTET_LENGTH
BIT_LENGTH CONCAT CONCAT_WS SUBSTRING SUBSTR SUBSTRING_INDEX LEFT RIGHT TRIM LTRIM RTRIM LPAD
RPAD REPLACE REVERSE REPEAT LOCATE INSTR POSITION STRPOS HEX UNHEX ASCII ORD CHAR
STR_POSITION FIELD FIND_IN_SET SPACE STRCMP REGEXP_LIKE REGEXP_REPLACE REGEXP_SUBSTR
REGEXP_INSTR LIKE GLOB DATE TIME YEAR MONTH DAY DAYOFMONTH DAYOFWEEK DAYOFYEAR WEEK HOUR MINUTE
SECOND QUARTER WEEKDAY LAST_DAY DATE_ADD DATE_SUB DATEDIFF TIMESTAMPDIFF TIMESTAMPADD
TIME_TO_SEC SEC_TO_TIME TO_DAYS FROM_DAYS UNIX_TIMESTAMP FROM_UNIXTIME DATE_FORMAT TIME_FORMAT
STR_TO_DATE STRFTIME STRFTIME DATETIME JULIANDAY NOW CURRENT_DATE CURRENT_TIME
CURRENT_TIMESTAMP UTC_TIMESTAMP UTC_DATE EXTRACT TS_OR_DS_TO_DATE TIME_STR_TO_TIME
TIME_STR_TO_UNIX STR_TO_TIME DATE_STR_TO_DATE JSON_EXTRACT JSON_EXTRACT_SCALAR JSON_UNQUOTE
JSON_LENGTH JSON_TYPE JSON_VALID JSON_CONTAINS JSON_KEYS JSON_ARRAY JSON_OBJECT TYPEOF
ROW_NUMBER RANK DENSE_RANK LAG LEAD FIRST_VALUE LAST_VALUE NTILE
ISNULL UNICODE TIME_TO_STR UNIX_TO_TIME TIME_TO_UNIX STR_TO_UNIX DATE_DIFF DATE_TRUNC
TIMESTAMP_TRUNC TS_OR_DS_ADD DAY_OF_WEEK DAY_OF_MONTH DAY_OF_YEAR WEEK_OF_YEAR IN BETWEEN
EXISTS ARRAY_AGG TS_OR_DS_TO_TIMESTAMP MD5 SHA1 SHA2 CRC32 UUID_TO_BIN BIN_TO_UUID PRINTF FORMAT
PAD TIMESTAMP_ADD TIMESTAMP_SUB CURRENT_SCHEMA LOCALTIMESTAMP LOCALTIME CURDATE CURTIME UTC_TIME
SYSDATE DAYNAME MONTHNAME MICROSECOND WEEKDAY YEARWEEK TO_SECONDS ADDDATE SUBDATE ADDTIME
SUBTIME TIMEDIFF MAKEDATE MAKETIME PERIOD_ADD PERIOD_DIFF SHA JSON_CONTAINS_PATH JSON_SEARCH
JSON_DEPTH JSON_QUOTE JSON_ARRAYAGG JSON_OBJECTAGG ELT QUOTE SOUNDEX TO_BASE64 FROM_BASE64 BIN
OCT CONV MID STD COT DEGREES RADIANS SIN COS TAN ASIN ACOS ATAN ATAN2 PERCENT_RANK CUME_DIST
NTH_VALUE VARIANCE_POP CHR NUMBER_TO_STR
""".split()  # noqa: SIM905 - a word list reads best as text
)
_READS = (exp.Select, exp.Union, exp.Intersect, exp.Except)
_REFUSED_NODES = (
    *sqlcheck.WRITES,
    exp.Parameter,
    exp.SessionParameter,
    exp.Placeholder,
    exp.UserDefinedFunction,
    exp.Hint,  # /*+ SET_VAR(...) MAX_EXECUTION_TIME(...) */ would change the statement's limits
)
_NAMES = {"mysql": "MySQL", "sqlite": "SQLite"}


def query_for_rules(text: str) -> tuple[str, tuple[sqlcheck.Call, ...]]:
    """A ``sql`` rule's query and its calls (``sqlcheck``'s shape), validated in the dialect
    the rules are read in. Other dialects allow only the allowlist, so no call is left to
    vet by name: ``allow_functions`` is PostgreSQL's."""
    dialect = _DIALECT.get()
    if dialect == "postgres":
        return sqlcheck.check_query(text)
    query = check_query(text, dialect)
    vet = _VET.get()
    if vet is not None:
        vet("sql", text)
    return query, ()


def expression_for_rules(text: str) -> tuple[str, set[str], tuple[sqlcheck.Call, ...]]:
    """A ``unique`` expression, its columns and calls, in the dialect the rules are read in."""
    dialect = _DIALECT.get()
    if dialect == "postgres":
        return sqlcheck.check_expression(text)
    rendered = expression_sql(text, dialect)
    tree = sqlglot.parse_one(text, read=dialect)
    if tree.find(exp.Star):
        raise ValueError(f"columns: {text!r} may not use *")
    columns = {c.name for c in tree.find_all(exp.Column)}
    if not columns:
        raise ValueError(f"columns: {text!r} names no column")
    if any(c.table for c in tree.find_all(exp.Column)):
        raise ValueError(f"columns: {text!r}: write column names without a table")
    vet = _VET.get()
    if vet is not None:
        vet("columns", text)
    return rendered, columns, ()


def check_query(text: str, dialect: str) -> str:
    """One SELECT calling only allowed functions; returns it without a trailing semicolon."""
    vetted_query(text, dialect)
    return text.strip().rstrip(";").strip()


def vetted_query(text: str, dialect: str) -> Any:
    """The tree of one SELECT calling only allowed functions (ValueError otherwise)."""
    statements = _parse(text, dialect)
    if len(statements) != 1:
        raise ValueError(f"sql: write exactly one statement, found {len(statements)}")
    tree = statements[0]
    if not isinstance(tree, _READS):
        raise ValueError(f"sql: only a SELECT may run, found {_name(tree)}")
    _allowed(tree, "sql", dialect)
    return tree


def expression_sql(text: str, dialect: str) -> str:
    """A ``unique`` expression such as ``lower(email)``, validated and rendered for ``dialect``
    (from the tree, without comments)."""
    return str(vetted_expression(text, dialect).sql(dialect=dialect, comments=False))


def vetted_expression(text: str, dialect: str) -> Any:
    """The tree of a ``unique`` expression, validated for ``dialect``."""
    try:
        tree = sqlglot.parse_one(text, read=dialect)
    except SqlglotError as exc:
        raise ValueError(f"columns: {text!r} is not an SQL expression: {_first(exc)}") from None
    if isinstance(tree, (exp.Query, exp.DDL, exp.DML)) or tree.find(exp.Query):
        raise ValueError(f"columns: {text!r} must be an expression over columns, not a query")
    _allowed(tree, "columns", dialect)
    return tree


def _allowed(tree: Any, key: str, dialect: str) -> None:
    for node in tree.walk():
        if isinstance(node, _REFUSED_NODES):
            raise ValueError(f"{key}: {_name(node)} is not allowed: rules only read")
        if isinstance(node, exp.Select) and node.args.get("locks"):
            raise ValueError(f"{key}: FOR UPDATE/SHARE is not allowed: rules take no row locks")
        if isinstance(node, exp.Func) and not isinstance(node, (exp.Binary, exp.Unary)):
            name = _function_name(node)
            if isinstance(node.parent, exp.Dot):  # schema.f(): a stored function, never
                name = f"{node.parent.this.name}.{name}".upper()
            if name not in ALLOWED_FUNCTIONS:
                raise ValueError(
                    f"{key}: function {name.lower()}() is not allowed on "
                    f"{_NAMES.get(dialect, dialect)}: only functions known to have no side "
                    "effects may run"
                )


def _function_name(node: Any) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).upper()
    return str(node.sql_name()).upper()


def _parse(text: str, dialect: str) -> list[Any]:
    try:
        return [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except SqlglotError as exc:
        name = _NAMES.get(dialect, dialect)
        raise ValueError(f"sql: cannot parse as {name}: {_first(exc)}") from None


def _name(node: Any) -> str:
    return str(node.key).upper().replace("_", " ")


def _first(exc: SqlglotError) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    return " ".join(text.split())[:200]
