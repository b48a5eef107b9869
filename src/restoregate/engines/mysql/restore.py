"""Replaying a mysqldump / mariadb-dump file into a scratch database, statement by statement.

Through PyMySQL, not the mysql client: a client command in the file (``\\!``, ``system``,
``source``) reaches the server as SQL and fails there, so nothing runs on this host, and
LOAD DATA LOCAL is off in the driver. The fence against writes outside the scratch
database is its account's privileges (grant it ALL on that one database only); a
statement that switches database is not sent. Every error becomes a restore error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pymysql

from restoregate.engines.mysql.dsn import parse
from restoregate.engines.mysql.session import first_line
from restoregate.errors import ConnectionProblem, UsageError

_DELIMITER = re.compile(r"^\s*DELIMITER\s+(\S+)\s*$", re.IGNORECASE)
_ELSEWHERE = re.compile(
    r"^\s*(USE\b|CREATE\s+(DATABASE|SCHEMA)\b|DROP\s+(DATABASE|SCHEMA)\b)", re.I
)
_EMPTY = re.compile(r"^\s*(/\*.*?\*/\s*)*$", re.S)  # comments only (not /*! executable ones)


def statements(text: str) -> Iterator[str]:
    """The dump's statements, split at the delimiter outside quotes and comments."""
    delimiter, quote = ";", ""
    buffer: list[str] = []
    for line in text.splitlines(keepends=True):
        if not buffer and not quote:
            match = _DELIMITER.match(line)
            if match:
                delimiter = match.group(1)
                continue
            if line.lstrip().startswith("--") or not line.strip():
                continue
        buffer.append(line)
        quote = _scan(line, quote)
        if not quote and line.rstrip().endswith(delimiter):
            statement = "".join(buffer).rstrip()[: -len(delimiter)].strip()
            buffer = []
            if statement and not (_EMPTY.match(statement) and "/*!" not in statement):
                yield statement
    rest = "".join(buffer).strip()
    if rest and not _EMPTY.match(rest):
        yield rest


def _scan(line: str, quote: str) -> str:
    """The quote still open at the end of ``line`` ('' when none), backslashes escaping."""
    i = 0
    while i < len(line):
        char = line[i]
        if quote:
            if char == "\\" and quote != "`":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "'\"`":
            quote = char
        elif line.startswith("-- ", i) or char == "#":
            break
        i += 1
    return quote


def load(path: Path, dsn: str) -> list[tuple[str, str]]:
    """Replay ``path`` into the DSN's database; returns (error, statement) pairs."""
    target = parse(dsn)
    try:
        conn = pymysql.connect(
            host=target.host,
            port=target.port,
            user=target.user or None,
            password=target.password or "",
            database=target.database,
            autocommit=True,
            charset="utf8mb4",
            connect_timeout=10,
        )
    except pymysql.MySQLError as exc:
        raise ConnectionProblem(f"--scratch-dsn {target.shown()}: {first_line(exc)}") from None
    try:
        _require_empty(conn, target.shown())
        return list(_replay(conn, path.read_text(encoding="utf-8", errors="replace")))
    finally:
        conn.close()


def _require_empty(conn: pymysql.connections.Connection, shown: str) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
        )
        row = cur.fetchone()
    if row and int(row[0]):
        raise UsageError(
            f"--scratch-dsn {shown}: the database holds {int(row[0])} tables",
            "give an empty database: verify-dump restores into it and never drops anything",
        )


def _replay(conn: pymysql.connections.Connection, text: str) -> Iterator[tuple[str, str]]:
    for statement in statements(text):
        if _ELSEWHERE.match(statement):
            yield "refused: the dump switches or creates databases", statement[:300]
            continue
        try:
            with conn.cursor() as cur:
                cur.execute(statement)  # no parameters: sent as the dump wrote it
        except pymysql.MySQLError as exc:
            yield first_line(exc), statement[:300]
