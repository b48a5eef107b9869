"""The fence on PostgreSQL: ``ALTER ROLE … NOLOGIN``, recorded with ``COMMENT ON ROLE``.

Roles and their comments are cluster-wide, so the record survives a restore that drops
and re-creates the database. Every change runs in one transaction on its own
connection; nothing else about a role is touched.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors, sql

from restoregate.engines.postgres.errors import translate
from restoregate.engines.postgres.remedy.queries import load
from restoregate.engines.postgres.remedy.session import open_write_session
from restoregate.engines.postgres.session import SessionSettings
from restoregate.errors import UsageError
from restoregate.fence import MARK, FenceRecord, RoleState

_PRIVILEGE_HINT = (
    "connect as a role with CREATEROLE (on PostgreSQL 16+ also ADMIN OPTION on these "
    "roles) or as a superuser"
)


@contextmanager
def open_fence(dsn: str | None, settings: SessionSettings) -> Iterator[PostgresFence]:
    with open_write_session(dsn, settings) as session:
        yield PostgresFence(session.connection, settings)


class PostgresFence:
    locked_word = "NOLOGIN"
    sessions_hint = "pg_terminate_backend ends these"

    def __init__(self, conn: psycopg.Connection[Any], settings: SessionSettings) -> None:
        self._conn = conn
        self._settings = settings
        try:
            row = conn.execute("SELECT session_user::text, current_user::text").fetchone()
        except psycopg.Error as exc:
            raise translate(exc, "reading the session's role", settings) from None
        assert row is not None
        self._session_user, self.user = str(row[0]), str(row[1])

    def namesakes(self, roles: Sequence[str]) -> list[str]:
        """A PostgreSQL role is one name cluster-wide: there are none."""
        return []

    def connected_as(self) -> set[str]:
        return {self._session_user, self.user}

    def states(self, roles: Sequence[str] = ()) -> dict[str, RoleState]:
        """The roles asked for that exist; none asked for: every fenced role."""
        params = {"fenced_only": not roles, "mark": MARK, "roles": list(roles)}
        try:
            rows = self._conn.execute(load("role_states"), params).fetchall()
        except psycopg.Error as exc:
            raise translate(exc, "reading roles", self._settings) from None
        return {
            name: RoleState(name, login, comment, sessions, FenceRecord.decode(name, comment))
            for name, login, comment, sessions in rows
        }

    def lock(self, state: RoleState, record: FenceRecord) -> None:
        role = sql.Identifier(state.name)
        if state.can_login:
            self._alter(state.name, sql.SQL("ALTER ROLE {} NOLOGIN").format(role))
        self._comment(state.name, record.encode())

    def lift(self, state: RoleState) -> None:
        """Put back exactly what the record says: LOGIN if it had it, and its old comment."""
        assert state.fence is not None
        if state.fence.login:
            self._alter(
                state.name, sql.SQL("ALTER ROLE {} LOGIN").format(sql.Identifier(state.name))
            )
        self._comment(state.name, state.fence.comment)

    def probe(self, state: RoleState) -> None:
        """Prove the privilege to alter the role now, changing nothing (rolled back)."""
        login = sql.SQL("LOGIN" if state.can_login else "NOLOGIN")
        with self._conn.transaction(force_rollback=True):
            self._alter(
                state.name, sql.SQL("ALTER ROLE {} {}").format(sql.Identifier(state.name), login)
            )

    def commit(self) -> None:
        self._conn.commit()

    def _comment(self, name: str, text: str | None) -> None:
        value = sql.Literal(text) if text is not None else sql.SQL("NULL")
        self._alter(name, sql.SQL("COMMENT ON ROLE {} IS {}").format(sql.Identifier(name), value))

    def _alter(self, name: str, statement: sql.Composed) -> None:
        try:
            self._conn.execute(statement)
        except errors.InsufficientPrivilege as exc:
            raise UsageError(
                f"cannot change role {name} as {self.user}: {exc.diag.message_primary}",
                _PRIVILEGE_HINT,
            ) from None
        except psycopg.Error as exc:
            raise translate(exc, f"changing role {name}", self._settings) from None
