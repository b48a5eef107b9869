"""The text a MySQL/MariaDB server runs for a rule is exactly the text restoregate vetted.

A rule's original text is never sent. MySQL executes what is inside ``/*! ... */``
comments and MariaDB also ``/*M! ... */``; ``--x`` is not a comment there and ``#`` is;
a bare name followed by ``(`` calls a stored function unless it names a built-in. So
the server could read the original differently from sqlglot. Instead:

1. sqlglot parses the rule in the MySQL dialect and ``restoregate.dialects`` vets the
   tree (one SELECT, allowlisted functions, no variables, INTO, locks or hints);
2. the text sent is generated from that tree: MySQL dialect, every identifier in
   backticks, no comment at all, ``REGEXP`` as the operator both servers know;
3. that text is parsed again, vetted again, and must generate to itself (a fixpoint), so
   what runs is a text that passed the allowlist *as text*;
4. every word followed by ``(`` in it is a call the server resolves, so each must be a
   built-in function of this server (``CALLS``, present in MySQL 8 and MariaDB 10.6+;
   ``MYSQL_ONLY`` on MySQL) or a piece of syntax (``SYNTAX``). A built-in always wins over
   a stored function of the same name, so no stored routine can run; a quoted identifier
   may precede ``(`` only as a CTE or alias column list;
5. every view the query reads is vetted the same way, from the server's own definition
   (``information_schema.VIEWS``, nested views too): a view runs with its definer's
   rights, so a view calling a stored function would run it.

The server reads that text the way sqlglot wrote it because the session's parsing
settings are pinned at connect (``PINNED``: ``sql_mode`` empty, so no ANSI_QUOTES,
NO_BACKSLASH_ESCAPES, PIPES_AS_CONCAT, HIGH_NOT_PRECEDENCE, IGNORE_SPACE or ORACLE;
``utf8mb4`` for the client and connection) and read back after every rule's probe
(``check_state``): a change fails the rule, as on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlglot import TokenType, exp
from sqlglot.dialects.mysql import MySQL
from sqlglot.errors import SqlglotError

from restoregate import dialects
from restoregate.errors import CheckFailedToRun

# What the session is pinned to (session.py sets it; check_state compares with it).
SQL_MODE = ""
CHARSET = "utf8mb4"
# Built-in functions of both MySQL 8 and MariaDB 10.6+ that read their arguments only.
CALLS = frozenset(
    """
COUNT SUM MIN MAX AVG STD STDDEV STDDEV_POP STDDEV_SAMP VARIANCE VAR_POP VAR_SAMP
GROUP_CONCAT BIT_AND BIT_OR BIT_XOR JSON_ARRAYAGG JSON_OBJECTAGG
COALESCE IFNULL NULLIF IF GREATEST LEAST ISNULL CAST CONVERT
ABS CEIL CEILING FLOOR ROUND TRUNCATE MOD SIGN SQRT POWER POW EXP LN LOG LOG10 LOG2 PI
DEGREES RADIANS SIN COS TAN ASIN ACOS ATAN ATAN2 COT CRC32 CONV BIN OCT HEX UNHEX
LOWER UPPER LCASE UCASE LENGTH CHAR_LENGTH CHARACTER_LENGTH OCTET_LENGTH BIT_LENGTH
CONCAT CONCAT_WS SUBSTRING SUBSTR SUBSTRING_INDEX MID LEFT RIGHT TRIM LTRIM RTRIM LPAD RPAD
REPLACE REVERSE REPEAT LOCATE INSTR POSITION ASCII ORD CHAR FIELD FIND_IN_SET SPACE STRCMP
ELT QUOTE SOUNDEX FORMAT TO_BASE64 FROM_BASE64 REGEXP_REPLACE REGEXP_SUBSTR REGEXP_INSTR
MD5 SHA1 SHA SHA2
DATE TIME YEAR MONTH DAY DAYOFMONTH DAYOFWEEK DAYOFYEAR DAYNAME MONTHNAME WEEK WEEKDAY
WEEKOFYEAR YEARWEEK HOUR MINUTE SECOND MICROSECOND QUARTER LAST_DAY DATE_ADD DATE_SUB
ADDDATE SUBDATE ADDTIME SUBTIME DATEDIFF TIMEDIFF TIMESTAMPDIFF TIMESTAMPADD TIME_TO_SEC
SEC_TO_TIME TO_DAYS TO_SECONDS FROM_DAYS UNIX_TIMESTAMP FROM_UNIXTIME DATE_FORMAT
TIME_FORMAT STR_TO_DATE MAKEDATE MAKETIME PERIOD_ADD PERIOD_DIFF NOW CURDATE CURTIME
CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP UTC_TIMESTAMP UTC_DATE UTC_TIME LOCALTIME
LOCALTIMESTAMP SYSDATE EXTRACT TIMESTAMP DATABASE SCHEMA
JSON_EXTRACT JSON_UNQUOTE JSON_LENGTH JSON_TYPE JSON_VALID JSON_CONTAINS JSON_CONTAINS_PATH
JSON_KEYS JSON_ARRAY JSON_OBJECT JSON_QUOTE JSON_SEARCH JSON_DEPTH
ROW_NUMBER RANK DENSE_RANK PERCENT_RANK CUME_DIST NTILE LAG LEAD FIRST_VALUE LAST_VALUE
NTH_VALUE
""".split()  # noqa: SIM905 - a word list reads best as text
)
MYSQL_ONLY = frozenset({"REGEXP_LIKE", "ANY_VALUE", "BIN_TO_UUID", "UUID_TO_BIN"})
# Words sqlglot writes before "(" that are syntax, not calls: subqueries, lists, index hints.
SYNTAX = frozenset(
    """
AS FROM JOIN IN EXISTS ANY ALL SOME OVER WHERE AND OR NOT XOR ON SELECT THEN ELSE WHEN CASE
BETWEEN LIKE IS BY HAVING DISTINCT UNION INTERSECT EXCEPT USING INTERVAL DIV REGEXP
RECURSIVE WITH INDEX KEY PARTITION
""".split()  # noqa: SIM905 - a word list reads best as text
)
# Type names, before "(" only as CAST's target (``AS DECIMAL(10, 2)``): elsewhere a
# non-reserved word such as DATETIME followed by "(" would call a stored function.
TYPES = frozenset(
    """
DECIMAL DEC NUMERIC CHAR VARCHAR NCHAR BINARY VARBINARY DATETIME TIME TIMESTAMP DOUBLE FLOAT
SIGNED UNSIGNED INTEGER INT DATE
""".split()  # noqa: SIM905 - a word list reads best as text
)


_MYSQL_GENERATOR: Any = MySQL.Generator


class _Server(MySQL):
    """sqlglot's MySQL dialect, writing ``x REGEXP y`` (MariaDB has no REGEXP_LIKE)."""

    class Generator(_MYSQL_GENERATOR):  # type: ignore[misc]
        TRANSFORMS = {
            **_MYSQL_GENERATOR.TRANSFORMS,
            exp.RegexpLike: lambda self, e: (
                self.binary(e, "REGEXP")
                if not e.args.get("flag")
                else self.func("REGEXP_LIKE", e.this, e.expression, e.args.get("flag"))
            ),
        }


_SERVER = _Server()


def render(tree: Any) -> str:
    """The text for the server: MySQL dialect, identifiers quoted, no comments."""
    return str(_SERVER.generate(tree, identify=True, comments=False))


def query_text(text: str, mariadb: bool) -> str:
    """A ``sql`` rule's query as the server will run it (ValueError when it may not)."""
    return _fixpoint(text, dialects.vetted_query, mariadb, "sql")


def expression_text(text: str, mariadb: bool) -> str:
    """A ``unique`` expression as the server will run it."""
    return _fixpoint(text, dialects.vetted_expression, mariadb, "columns")


def offline(key: str, text: str) -> None:
    """What ``rules lint`` and the rules loader can decide without a server: the text that
    would be sent exists and calls only built-ins (of MySQL or MariaDB; the server's own
    flavour is checked again when the rule runs)."""
    vet = dialects.vetted_query if key == "sql" else dialects.vetted_expression
    _fixpoint(text, vet, None, key)


def _fixpoint(text: str, vet: Any, mariadb: bool | None, key: str) -> str:
    """Render, re-read and re-vet until the text renders to itself (sqlglot sometimes needs
    a second round, ``INTERVAL 5`` -> ``INTERVAL '5'``); that text, vetted as text, is sent."""
    rendered = render(vet(text, "mysql"))
    for _ in range(3):
        tree = vet(rendered, "mysql")
        again = render(tree)
        if again == rendered:
            _calls_are_builtins(rendered, tree, mariadb, key)
            return rendered
        rendered = again
    raise ValueError(
        f"{key}: restoregate cannot write this query back exactly for MySQL; write it more plainly"
    )


def _calls_are_builtins(text: str, tree: Any, mariadb: bool | None, key: str) -> None:
    names = {str(a.name) for a in tree.find_all(exp.TableAlias)} | {
        str(c.alias) for c in tree.find_all(exp.CTE)
    }
    allowed = CALLS | SYNTAX | (frozenset() if mariadb else MYSQL_ONLY)
    server = {True: "MariaDB", False: "MySQL", None: "MySQL or MariaDB"}[mariadb]
    try:
        tokens = _SERVER.tokenize(text)
    except SqlglotError:
        raise ValueError(f"{key}: restoregate cannot read its own MySQL text back") from None
    for before, token, following in zip(tokens, tokens[1:], tokens[2:], strict=False):
        if following.token_type != TokenType.L_PAREN:
            continue
        if before.text.upper() == "AS" and token.text.upper() in TYPES:
            continue
        if token.token_type == TokenType.IDENTIFIER:  # quoted: only a CTE's or alias's columns
            if token.text in names:
                continue
            raise ValueError(f"{key}: `{token.text}`(...) would call a stored function")
        word = token.text.upper()
        if (word[:1].isalpha() or word[:1] == "_") and word not in allowed:
            raise ValueError(
                f"{key}: function {word.lower()}() is not a built-in on {server} that "
                "only reads; a stored or loadable function of that name would run"
            )


def tables_read(text: str) -> set[tuple[str | None, str]]:
    """The tables and views a vetted query names, (schema or None, name); CTEs left out."""
    tree = dialects.vetted_query(text, "mysql")
    ctes = {str(c.alias).lower() for c in tree.find_all(exp.CTE)}
    found: set[tuple[str | None, str]] = set()
    for table in tree.find_all(exp.Table):
        schema = str(table.db) or None
        if schema is None and table.name.lower() in ctes:
            continue
        found.add((schema, str(table.name)))
    return found


# What a rule's probe must leave as it found it.
_WATCHED = (
    "CURRENT_USER()",
    "@@SESSION.sql_mode",
    "@@SESSION.character_set_client",
    "@@SESSION.character_set_connection",
    "@@SESSION.time_zone",
    "@@SESSION.lock_wait_timeout",
)


def session_state(cur: Any, timeout_variable: str) -> tuple[str, ...]:
    cur.execute("SELECT " + ", ".join((*_WATCHED, f"@@SESSION.{timeout_variable}")))
    return tuple(str(v) for v in cur.fetchone())


def check_state(cur: Any, timeout_variable: str, expected: tuple[str, ...], what: str) -> None:
    """Fail closed if a rule's probe left the session changed (it cannot; this proves it)."""
    found = session_state(cur, timeout_variable)
    names = (*_WATCHED, timeout_variable)
    changed = [n for n, old, new in zip(names, expected, found, strict=True) if old != new]
    if changed:
        raise CheckFailedToRun(
            f"{what}: the session's {', '.join(changed)} changed during the probe",
            "a rules file tried to change the session; nothing after it can be trusted",
        )
    if found[1] != SQL_MODE or found[2] != CHARSET or found[3] != CHARSET:
        raise CheckFailedToRun(
            f"{what}: the session's parsing settings are not the pinned ones "
            f"(sql_mode {found[1]!r}, character set {found[2]}/{found[3]})"
        )
