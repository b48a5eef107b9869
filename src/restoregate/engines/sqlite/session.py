"""Opening an SQLite file read-only, never creating or changing it.

``file:PATH?mode=ro`` (a missing file is an error, never a new empty database), one
read transaction held for the whole run (one snapshot), ``PRAGMA query_only``, a busy
timeout of ``--lock-timeout``, a progress handler that stops a statement at
``--statement-timeout``, ``trusted_schema = OFF`` (the file's views and generated columns
may not call functions that are not marked innocuous), no attached database possible
(``SQLITE_LIMIT_ATTACHED`` 0), no statement cache (every statement is compiled, so
authorized, when it runs), and the authorizer of ``authorizer.py``: statements do nothing
but read, and a rule's probe only what reading needs, by construction.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from restoregate.engines.sqlite.authorizer import (
    ENGINE_FUNCTIONS,
    LIMIT_ATTACHED,
    Authorizer,
    set_limit,
)
from restoregate.errors import ConnectionProblem
from restoregate.settings import SessionSettings

MAGIC = b"SQLite format 3\x00"
# what a restored ``.dump`` script may call too (restore.py), besides its own few
FUNCTIONS = ENGINE_FUNCTIONS


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


def open_file(
    path: Path, settings: SessionSettings
) -> tuple[sqlite3.Connection, Deadline, Authorizer]:
    if not path.is_file():
        why = "no such file" if not path.exists() else "not a file"
        raise ConnectionProblem(f"cannot open {path}: {why}", "check the path in --dsn")
    try:
        with path.open("rb") as stream:
            head = stream.read(len(MAGIC))
    except OSError as exc:
        raise ConnectionProblem(f"cannot open {path}: {exc.strerror}") from None
    if head == b"":  # SQLite would take it for an empty database: a restore that wrote nothing
        raise ConnectionProblem(
            f"{path} is empty (0 bytes), not an SQLite database", "the restore wrote nothing"
        )
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
            cached_statements=0,
        )
        set_limit(conn, LIMIT_ATTACHED, 0)
        conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA trusted_schema = OFF")
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM main.sqlite_master").fetchone()  # the snapshot
    except sqlite3.Error as exc:
        raise ConnectionProblem(f"cannot read {path}: {first_line(exc)}") from None
    deadline = Deadline(settings.statement_timeout_ms / 1000)
    conn.set_progress_handler(deadline, 1000)
    authorizer = Authorizer()
    conn.set_authorizer(authorizer)
    return conn, deadline, authorizer


def first_line(exc: BaseException) -> str:
    return (str(exc).strip() or type(exc).__name__).splitlines()[0]
