"""The fence on MySQL/MariaDB: ``ALTER USER … ACCOUNT LOCK``, recorded in ``restoregate.fence``.

An account is ``user@host``; a ROLE argument ``app`` means ``app@%`` (as in the
``privileges`` check), ``app@10.0.%`` names that account. The record (could the account
log in before, when, by whom) is a row of a small table in a ``restoregate`` database:
MariaDB 10.11 has no comment on accounts, and the database is not the application's,
so a restore that drops and re-creates the application's database keeps it. Accounts
live in the ``mysql`` database and survive that restore too.

Nothing here is one transaction (``ALTER USER`` commits at once), so the order is what
keeps it safe: the record is written before an account is locked (no lock without a
record that can lift it), and an account is unlocked before its record is deleted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import pymysql

from restoregate.engines.mysql.dsn import parse
from restoregate.engines.mysql.errors import translate
from restoregate.engines.mysql.session import connect, first_line
from restoregate.errors import UsageError
from restoregate.fence import FenceRecord, RoleState
from restoregate.settings import SessionSettings

_DENIED = {1044, 1045, 1142, 1143, 1227, 1370}
_NO_TABLE = {1049, 1146}  # no restoregate database or no fence table yet: nothing fenced
_PRIVILEGE_HINT = (
    "connect as an account with CREATE USER (ALTER USER … ACCOUNT LOCK), SELECT on the mysql "
    "database and CREATE, INSERT, DELETE on restoregate.*"
)
_TABLE = """
CREATE TABLE IF NOT EXISTS restoregate.fence (
    user_name varchar(128) NOT NULL,
    host_name varchar(255) NOT NULL,
    could_log_in boolean NOT NULL,
    fenced_at varchar(32) NOT NULL,
    fenced_by varchar(400) NOT NULL,
    PRIMARY KEY (user_name, host_name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
"""
_MARIADB_ACCOUNTS = (
    "SELECT User, Host, COALESCE(JSON_VALUE(Priv, '$.account_locked'), 'false')"
    " NOT IN ('true', '1') FROM mysql.global_priv"
)
_MYSQL_ACCOUNTS = "SELECT User, Host, account_locked <> 'Y' FROM mysql.user"


def account(name: str) -> tuple[str, str]:
    """``app`` → (app, %); ``app@localhost`` → (app, localhost): the host after the last @."""
    user, at, host = name.rpartition("@")
    return (user, host) if at else (name, "%")


def shown(user: str, host: str) -> str:
    return f"{user}@{host}"


@contextmanager
def open_fence(dsn: str | None, settings: SessionSettings) -> Iterator[MysqlFence]:
    conn, mariadb = connect(parse(dsn or ""), settings)
    try:
        try:
            conn.rollback()  # the read-only snapshot connect() opened
        except pymysql.MySQLError as exc:
            raise translate(exc, "opening the fence session", settings) from None
        yield MysqlFence(conn, mariadb, settings)
    finally:
        with suppress(pymysql.MySQLError):
            conn.close()


class MysqlFence:
    locked_word = "ACCOUNT LOCK"
    sessions_hint = "KILL CONNECTION ends these"

    def __init__(self, conn: Any, mariadb: bool, settings: SessionSettings) -> None:
        self._conn = conn
        self._mariadb = mariadb
        self._settings = settings
        self.user = str(self._rows("reading the session's account", "SELECT CURRENT_USER()")[0][0])

    def _rows(self, what: str, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._conn.cursor() as cur:
                cur.execute(query, tuple(params) or None)
                return [tuple(r) for r in cur.fetchall()] if cur.description else []
        except pymysql.MySQLError as exc:
            code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
            if code in _DENIED:
                raise UsageError(
                    f"{what} as {self.user_or_unknown}: {first_line(exc)}", _PRIVILEGE_HINT
                ) from None
            raise translate(exc, what, self._settings) from None

    @property
    def user_or_unknown(self) -> str:
        return getattr(self, "user", "this account")

    def connected_as(self) -> set[str]:
        user, host = account(self.user)
        return {self.user, user} if host == "%" else {self.user}

    def states(self, roles: Sequence[str] = ()) -> dict[str, RoleState]:
        """The accounts asked for that exist (keyed as asked); none asked: every fenced one."""
        records = self._records()
        if roles:
            wanted = {name: account(name) for name in roles}
        else:
            wanted = {shown(*key): key for key in records}
        if not wanted:
            return {}
        pairs = list(dict.fromkeys(wanted.values()))
        marks = " OR ".join(["(User = %s AND Host = %s)"] * len(pairs))
        query = f"{_MARIADB_ACCOUNTS if self._mariadb else _MYSQL_ACCOUNTS} WHERE {marks}"
        rows = self._rows("reading accounts", query, [v for pair in pairs for v in pair])
        found = {(str(u), str(h)): bool(login) for u, h, login in rows}
        sessions = self._sessions({u for u, _ in found})
        states = {}
        for name, key in wanted.items():
            if key in found:
                states[name] = RoleState(
                    name, found[key], None, sessions.get(key[0], 0), records.get(key)
                )
        return states

    def namesakes(self, roles: Sequence[str]) -> list[str]:
        """Other accounts with the user name of one asked for: the fence leaves them open."""
        asked = {account(name) for name in roles}
        users = sorted({user for user, _ in asked})
        if not users:
            return []
        marks = ", ".join(["%s"] * len(users))
        query = f"{_MARIADB_ACCOUNTS if self._mariadb else _MYSQL_ACCOUNTS} WHERE User IN ({marks})"
        rows = self._rows("reading accounts", query, users)
        return sorted(shown(str(u), str(h)) for u, h, _ in rows if (str(u), str(h)) not in asked)

    def _records(self) -> dict[tuple[str, str], FenceRecord]:
        query = (
            "SELECT user_name, host_name, could_log_in, fenced_at, fenced_by FROM restoregate.fence"
        )
        try:
            with self._conn.cursor() as cur:
                cur.execute(query)
                rows = list(cur.fetchall())
        except pymysql.MySQLError as exc:
            code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
            if code in _NO_TABLE:
                return {}
            if code in _DENIED:
                raise UsageError(
                    f"reading restoregate.fence as {self.user}: {first_line(exc)}", _PRIVILEGE_HINT
                ) from None
            raise translate(exc, "reading restoregate.fence", self._settings) from None
        return {
            (str(u), str(h)): FenceRecord(bool(login), None, str(at), str(by))
            for u, h, login, at, by in rows
        }

    def _sessions(self, users: set[str]) -> dict[str, int]:
        """Connections of these users this account can see (all of them with PROCESS)."""
        if not users:
            return {}
        marks = ", ".join(["%s"] * len(users))
        rows = self._rows(
            "counting sessions",
            f"SELECT USER, COUNT(*) FROM information_schema.PROCESSLIST WHERE USER IN ({marks})"
            " AND ID <> CONNECTION_ID() GROUP BY USER",
            sorted(users),
        )
        return {str(u): int(n) for u, n in rows}

    def lock(self, state: RoleState, record: FenceRecord) -> None:
        user, host = account(state.name)
        self._rows("creating the restoregate database", "CREATE DATABASE IF NOT EXISTS restoregate")
        self._rows("creating restoregate.fence", _TABLE)
        self._rows(
            f"recording the fence on {state.name}",
            "INSERT INTO restoregate.fence VALUES (%s, %s, %s, %s, %s)",
            (user, host, record.login, record.at, record.by),
        )
        if state.can_login:
            self._alter(state.name, "LOCK")

    def lift(self, state: RoleState) -> None:
        """Put back exactly what the record says: unlocked if it was, locked if it was."""
        assert state.fence is not None
        user, host = account(state.name)
        if state.fence.login:
            self._alter(state.name, "UNLOCK")
        self._rows(
            f"removing the fence record of {state.name}",
            "DELETE FROM restoregate.fence WHERE user_name = %s AND host_name = %s",
            (user, host),
        )

    def probe(self, state: RoleState) -> None:
        """Prove the privileges to lift the fence now, changing nothing."""
        self._alter(state.name, "UNLOCK" if state.can_login else "LOCK")  # what it is already
        self._rows(
            "checking DELETE on restoregate.fence", "DELETE FROM restoregate.fence WHERE 1 = 0"
        )

    def commit(self) -> None:
        with suppress(pymysql.MySQLError):
            self._conn.commit()

    def _alter(self, name: str, what: str) -> None:
        user, host = account(name)
        try:
            with self._conn.cursor() as cur:
                cur.execute(f"ALTER USER %s@%s ACCOUNT {what}", (user, host))
        except pymysql.MySQLError as exc:
            code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
            if code in _DENIED:
                raise UsageError(
                    f"cannot change account {name} as {self.user}: {first_line(exc)}",
                    _PRIVILEGE_HINT,
                ) from None
            raise translate(exc, f"changing account {name}", self._settings) from None
