"""Loading an SQLite ``.dump`` script into a new temporary file, statement by statement.

Under an authorizer: no ATTACH (which would create files anywhere), no pragma but the
ones ``.dump`` writes, only allowlisted functions; extension loading stays off. Every
failing statement becomes a restore error, and loading goes on, as the shell does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from restoregate.engines.sqlite.session import FUNCTIONS, first_line

MAGIC = b"SQLite format 3\x00"
_PRAGMAS = {"foreign_keys"}
_DATA_FUNCTIONS = {"char", "replace", "unistr", "zeroblob", "printf", "format"}
_DENIED = {sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH}


def is_database(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(len(MAGIC)) == MAGIC


def is_script(head: bytes) -> bool:
    """What the sqlite3 shell's .dump writes first."""
    text = head.decode("utf-8", errors="replace").lstrip()
    return text.startswith(("PRAGMA foreign_keys=OFF;", "BEGIN TRANSACTION;"))


def statements(text: str) -> Iterator[str]:
    buffer = ""
    for line in text.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    if buffer.strip():
        yield buffer.strip()


def _authorize(action: int, arg1: str | None, arg2: str | None, db: str | None, _: object) -> int:
    if action in _DENIED:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA:
        return sqlite3.SQLITE_OK if (arg1 or "").lower() in _PRAGMAS else sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION:
        name = (arg2 or "").lower()
        return sqlite3.SQLITE_OK if name in FUNCTIONS | _DATA_FUNCTIONS else sqlite3.SQLITE_DENY
    if db not in (None, "main") and action != sqlite3.SQLITE_TRANSACTION:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def load(script: Path, target: Path) -> list[tuple[str, str]]:
    """Replay ``script`` into the new file ``target``; returns (error, statement) pairs."""
    conn = sqlite3.connect(target, isolation_level=None)
    errors = []
    try:
        conn.set_authorizer(_authorize)
        for statement in statements(script.read_text(encoding="utf-8", errors="replace")):
            try:
                conn.execute(statement)
            except sqlite3.Error as exc:
                errors.append((first_line(exc), statement[:300]))
        if conn.in_transaction:
            conn.execute("COMMIT")
    finally:
        conn.close()
    return errors
