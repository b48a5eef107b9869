"""Opening an SQLite file read-only, never creating or changing it.

``file:PATH?mode=ro`` (a missing file is an error, never a new empty database), one
read transaction held for the whole run (one snapshot), ``PRAGMA query_only``, a busy
timeout of ``--lock-timeout``, a progress handler that stops a statement at
``--statement-timeout``, and an authorizer that lets statements do nothing but read:
reading tables, the few pragmas the engine asks, and the allowlisted functions. So a
rule's query cannot ATTACH another file, write, or call anything else, by construction.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from restoregate.dialects import ALLOWED_FUNCTIONS
from restoregate.errors import ConnectionProblem
from restoregate.settings import SessionSettings

MAGIC = b"SQLite format 3\x00"
PRAGMAS = frozenset({"table_xinfo", "index_list", "index_info", "foreign_key_list", "quick_check"})
# the allowlist rules get, and what the engine's own probes call
FUNCTIONS = frozenset(name.lower() for name in ALLOWED_FUNCTIONS) | {"sqlite_version"}
_READING = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE}
_TRANSACTION = {"BEGIN", "ROLLBACK"}


class Deadline:
    """The progress handler's clock: a statement running past it is interrupted."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.until = float("inf")
        self.expired = False

    def start(self) -> None:
        self.until = time.monotonic() + self.seconds
        self.expired = False

    def __call__(self) -> int:
        if time.monotonic() > self.until:
            self.expired = True
            return 1
        return 0


def open_file(path: Path, settings: SessionSettings) -> tuple[sqlite3.Connection, Deadline]:
    if not path.is_file():
        why = "no such file" if not path.exists() else "not a file"
        raise ConnectionProblem(f"cannot open {path}: {why}", "check the path in --dsn")
    try:
        with path.open("rb") as stream:
            head = stream.read(len(MAGIC))
    except OSError as exc:
        raise ConnectionProblem(f"cannot open {path}: {exc.strerror}") from None
    if head != MAGIC:
        raise ConnectionProblem(f"{path} is not an SQLite database")
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    try:
        conn = sqlite3.connect(
            uri,
            uri=True,
            timeout=max(0.001, settings.lock_timeout_ms / 1000),
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute("PRAGMA query_only = ON")
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM main.sqlite_master").fetchone()  # the snapshot
    except sqlite3.Error as exc:
        raise ConnectionProblem(f"cannot read {path}: {first_line(exc)}") from None
    deadline = Deadline(settings.statement_timeout_ms / 1000)
    conn.set_progress_handler(deadline, 1000)
    conn.set_authorizer(_authorize)
    return conn, deadline


def _authorize(action: int, arg1: str | None, arg2: str | None, db: str | None, _: object) -> int:
    if action in _READING:
        return sqlite3.SQLITE_OK if db in (None, "main") else sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_OK if (arg2 or "").lower() in FUNCTIONS else sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA:
        return sqlite3.SQLITE_OK if (arg1 or "").lower() in PRAGMAS else sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_UPDATE and arg1 == "sqlite_master" and db == "main":
        return sqlite3.SQLITE_OK  # asked while SQLite (re)reads its schema; mode=ro writes nothing
    if action == sqlite3.SQLITE_TRANSACTION:
        return sqlite3.SQLITE_OK if (arg1 or "").upper() in _TRANSACTION else sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_DENY


def first_line(exc: BaseException) -> str:
    return (str(exc).strip() or type(exc).__name__).splitlines()[0]
