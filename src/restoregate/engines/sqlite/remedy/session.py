"""The session ``fix --apply`` writes through on SQLite: the file opened read-write, only here.

``file:PATH?mode=rw`` (never created), ``BEGIN IMMEDIATE`` (the write lock, waiting at
most ``--lock-timeout`` for another writer), the plan's statements, then the re-check
inside the same transaction through the check's own engine and read-only authorizer;
``COMMIT`` only when it passes, else ``ROLLBACK``. Nothing else ever opens the file
for writing.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

from restoregate.engines.sqlite.authorizer import Authorizer
from restoregate.engines.sqlite.dsn import parse
from restoregate.engines.sqlite.engine import SqliteEngine
from restoregate.engines.sqlite.session import MAGIC, Deadline, first_line
from restoregate.errors import CheckFailedToRun, ConnectionProblem, UsageError
from restoregate.remedy.plan import Plan
from restoregate.settings import SessionSettings


@contextmanager
def open_write_session(dsn: str | None, settings: SessionSettings) -> Iterator[SqliteWriteSession]:
    path = parse(dsn or "")
    try:
        with path.open("rb") as stream:
            if stream.read(len(MAGIC)) != MAGIC:
                raise ConnectionProblem(f"{path} is not an SQLite database")
    except OSError as exc:
        raise ConnectionProblem(f"cannot open {path}: {exc.strerror}") from None
    uri = f"file:{quote(str(path.resolve()))}?mode=rw"
    try:
        conn = sqlite3.connect(
            uri,
            uri=True,
            timeout=max(0.001, settings.lock_timeout_ms / 1000),
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error as exc:
        raise ConnectionProblem(f"cannot open {path} for writing: {first_line(exc)}") from None
    try:
        deadline = Deadline(settings.statement_timeout_ms / 1000)
        conn.set_progress_handler(deadline, 1000)
        try:
            deadline.start()
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise CheckFailedToRun(
                f"cannot take the write lock on {path}: {first_line(exc)}",
                "another process writes to it; wait, or raise --lock-timeout",
            ) from None
        yield SqliteWriteSession(conn, deadline, path, settings)
    finally:
        with suppress(sqlite3.Error):
            conn.set_authorizer(None)
            if conn.in_transaction:
                conn.rollback()
        conn.close()


class SqliteWriteSession:
    transactional = True

    def __init__(
        self, conn: sqlite3.Connection, deadline: Deadline, path: Path, settings: SessionSettings
    ) -> None:
        self._conn = conn
        self._deadline = deadline
        self._path = path
        self._settings = settings

    @property
    def role(self) -> str:
        return f"this process (uid {os.getuid()})" if hasattr(os, "getuid") else "this process"

    def missing_privileges(self, plan: Plan) -> list[str]:
        """Writing needs the file and, for its journal, the directory it is in."""
        lacking = []
        if not os.access(self._path, os.W_OK):
            lacking.append(f"write permission on {self._path}, needed to change it")
        folder = self._path.resolve().parent
        if not os.access(folder, os.W_OK | os.X_OK):
            lacking.append(f"write permission on {folder}, needed for the rollback journal")
        return lacking

    def run(self, statements: Sequence[str], notice: Callable[[str], None]) -> None:
        for number, statement in enumerate(statements, 1):
            self._deadline.start()
            try:
                rows = self._conn.execute(statement).fetchall()
            except sqlite3.Error as exc:
                if self._deadline.expired:
                    raise CheckFailedToRun(
                        f"statement {number} of the plan: stopped by the statement timeout"
                        f" ({self._settings.statement_timeout})"
                    ) from None
                if isinstance(exc, sqlite3.OperationalError) and "readonly" in str(exc):
                    raise UsageError(
                        f"cannot apply statement {number}: {first_line(exc)}",
                        f"grant this process write permission on {self._path}",
                    ) from None
                raise CheckFailedToRun(
                    f"applying statement {number} of the plan: {first_line(exc)}"
                ) from None
            for row in rows:
                if row and str(row[0]).startswith("restoregate:"):
                    notice(str(row[0]))

    def engine(self) -> SqliteEngine:
        """The check's engine over this transaction, under its read-only authorizer."""
        authorizer = Authorizer()
        self._conn.set_authorizer(authorizer)
        return SqliteEngine(self._conn, self._deadline, str(self._path), self._settings, authorizer)

    def commit(self) -> None:
        self._conn.set_authorizer(None)
        try:
            self._conn.commit()
        except sqlite3.Error as exc:
            raise CheckFailedToRun(f"committing the plan: {first_line(exc)}") from None

    def rollback(self) -> None:
        self._conn.set_authorizer(None)
        self._conn.rollback()
