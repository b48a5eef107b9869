"""The one read-write session ``fix --apply`` uses: its own connection, one transaction.

READ COMMITTED on purpose: each statement of the plan reads what is committed *after*
the locks before it were granted, so a key inserted while the plan waited for its lock
is seen. The re-check runs in the same transaction, through the same backend code the
check uses, before anything commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg import errors, sql

from restoregate.engines.postgres.errors import translate
from restoregate.engines.postgres.probes import PostgresEngine
from restoregate.engines.postgres.remedy.queries import load
from restoregate.engines.postgres.remedy.writer import needed_privileges
from restoregate.engines.postgres.session import SessionSettings, connect
from restoregate.engines.postgres.snapshots import Sessions, Transactions
from restoregate.errors import CheckFailedToRun, UsageError
from restoregate.names import QualifiedName
from restoregate.remedy.plan import Plan


@contextmanager
def open_write_session(dsn: str | None, settings: SessionSettings) -> Iterator[WriteSession]:
    """Connect for writing; whatever was not committed when the block ends is rolled back."""
    conn = connect(dsn, settings)
    try:
        try:
            conn.execute(
                "SELECT pg_catalog.set_config('default_transaction_read_only', 'off', false)"
            )
            conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
            conn.read_only = False
            conn.autocommit = False
        except psycopg.Error as exc:
            raise translate(exc, "opening the write session", settings) from None
        yield WriteSession(conn, settings)
    finally:
        with suppress(psycopg.Error):  # the connection is gone: the server rolled back
            conn.rollback()
        conn.close()


class WriteSession:
    transactional = True

    def __init__(self, conn: psycopg.Connection[Any], settings: SessionSettings) -> None:
        self._conn = conn
        self._settings = settings
        self._rechecks: list[Transactions] = []

    @property
    def connection(self) -> psycopg.Connection[Any]:
        return self._conn

    @property
    def role(self) -> str:
        return str(self._conn.info.parameter_status("session_authorization") or "")

    def missing_privileges(self, plan: Plan) -> list[str]:
        """What the connected role lacks for the plan, one sentence each."""
        needs = needed_privileges(plan)
        params = {
            "kinds": [kind for kind, _, _ in needs],
            "schemas": [name.schema for _, name, _ in needs],
            "names": [name.name for _, name, _ in needs],
        }
        try:
            rows = self._conn.execute(load("missing_privileges"), params).fetchall()
        except psycopg.Error as exc:
            raise translate(exc, "checking privileges", self._settings) from None
        return [_lacks(*needs[int(row[0]) - 1]) for row in rows]

    def run(self, statements: Sequence[str], notice: Callable[[str], None]) -> None:
        """Run the plan's statements in order; the first failure stops it (and rolls back)."""

        def forward(diag: psycopg.errors.Diagnostic) -> None:
            notice(diag.message_primary or "")

        self._conn.add_notice_handler(forward)
        try:
            for number, statement in enumerate(statements, 1):
                self._execute(number, statement)
        finally:
            self._conn.remove_notice_handler(forward)

    def _execute(self, number: int, statement: str) -> None:
        try:
            self._conn.execute(sql.SQL(statement))  # type: ignore[arg-type,unused-ignore]
        except errors.InsufficientPrivilege as exc:
            raise UsageError(
                f"cannot apply statement {number} as {self.role}: {exc.diag.message_primary}",
                "connect as the owner of the tables and sequences (see README, Security model)",
            ) from None
        except psycopg.Error as exc:
            failed = translate(exc, f"applying statement {number} of the plan", self._settings)
            detail = exc.diag.message_hint if exc.diag else None
            raise CheckFailedToRun(failed.message, detail or failed.hint) from None

    def engine(self) -> PostgresEngine:
        """The check's engine over this transaction, to re-check before committing."""
        # every probe in a savepoint of the plan's own transaction: it sees the plan applied
        probes = Transactions(self._conn, budget=2**31)
        self._rechecks.append(probes)
        sessions = Sessions(self._conn, probes, "snapshot")
        return PostgresEngine(sessions, self._settings)

    def _end_rechecks(self) -> None:
        """The re-check's savepoints are rolled back before the plan's transaction ends."""
        while self._rechecks:
            self._rechecks.pop().end()

    def commit(self) -> None:
        self._end_rechecks()
        try:
            self._conn.commit()
        except psycopg.Error as exc:
            raise translate(exc, "committing the plan", self._settings) from None

    def rollback(self) -> None:
        self._end_rechecks()
        self._conn.rollback()


_WHAT = {"owner": "ownership of", "lock": "UPDATE, DELETE or TRUNCATE on"}


def _lacks(kind: str, name: QualifiedName, why: str) -> str:
    what = _WHAT.get(kind, f"{kind.split('_')[0].upper()} on")
    return f"{what} {name}, needed {why}"
