"""The session ``fix --apply`` writes through on MySQL/MariaDB: its own connection, in order.

MySQL commits DDL implicitly (``ALTER TABLE``, ``LOCK TABLES``, ``CREATE``), so there is
no one transaction to re-check inside: the plan's statements run one after another, each
counter move committed as it happens; the quarantine of orphans is one transaction of
its own. The re-check runs afterwards in a fresh read-only snapshot, and says whether
the plan worked; it cannot undo it. That is why the privileges the plan needs are
checked before its first statement, and why ``--dry-run`` is refused on these servers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from typing import Any

import pymysql

from restoregate.engines.mysql import grants
from restoregate.engines.mysql.catalog_loader import load_catalog
from restoregate.engines.mysql.dsn import parse
from restoregate.engines.mysql.engine import MysqlEngine, open_engine
from restoregate.engines.mysql.errors import translate
from restoregate.engines.mysql.remedy.writer import describe_need, needed_privileges
from restoregate.engines.mysql.roles_of import active_roles
from restoregate.engines.mysql.session import connect, first_line
from restoregate.errors import CheckFailedToRun, UsageError
from restoregate.remedy.plan import Plan
from restoregate.settings import SessionSettings

_DENIED = {1044, 1142, 1143, 1227, 1370}  # access denied: to a database, table, column, ...
_SIGNALLED = 1644  # the plan's own SIGNAL: a counter cannot move, orphans changed
_DENIED_READ = {1142, 1143}  # SELECT denied on a grant table or one of its columns
# the account's own grants: information_schema always shows an account its own
_OWN = """
SELECT 'global', NULL, NULL, PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES
 WHERE GRANTEE = %s
UNION ALL
SELECT 'schema', TABLE_SCHEMA, NULL, PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES
 WHERE GRANTEE = %s
UNION ALL
SELECT 'table', TABLE_SCHEMA, TABLE_NAME, PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES
 WHERE GRANTEE = %s
"""


@contextmanager
def open_write_session(dsn: str | None, settings: SessionSettings) -> Iterator[MysqlWriteSession]:
    """Connect; the check's read-only snapshot is ended, the plan's settings come with it."""
    conn, mariadb = connect(parse(dsn or ""), settings)
    try:
        with ExitStack() as stack:
            try:
                conn.rollback()  # the read-only snapshot connect() opened
            except pymysql.MySQLError as exc:
                raise translate(exc, "opening the write session", settings) from None
            yield MysqlWriteSession(conn, mariadb, dsn, settings, stack)
    finally:
        with suppress(pymysql.MySQLError):  # an open quarantine transaction, LOCK TABLES
            conn.rollback()
        conn.close()


class MysqlWriteSession:
    transactional = False

    def __init__(
        self, conn: Any, mariadb: bool, dsn: str | None, settings: SessionSettings, stack: ExitStack
    ) -> None:
        self._conn = conn
        self._mariadb = mariadb
        self._dsn = dsn
        self._settings = settings
        self._stack = stack
        self._ran = 0
        self._role: str | None = None

    def _query(self, what: str, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._conn.cursor() as cur:
                cur.execute(query, tuple(params) or None)
                return [tuple(r) for r in cur.fetchall()]
        except pymysql.MySQLError as exc:
            raise translate(exc, what, self._settings) from None

    @property
    def role(self) -> str:
        if self._role is None:
            self._role = str(
                self._query("reading the session's account", "SELECT CURRENT_USER()")[0][0]
            )
        return self._role

    def missing_privileges(self, plan: Plan) -> list[str]:
        """What the account lacks: its own grants and those of the roles active at login,
        followed as the ``privileges`` check follows them (``roles_of.py``, ``grants.py``).

        Following roles needs the README's SELECT grants on the grant tables; an account
        without them is judged on its own grants (information_schema shows it those), and
        a privilege it holds only through a role is reported missing, saying why.
        """
        try:
            catalog = load_catalog(self._conn, self._mariadb)
        except pymysql.MySQLError as exc:
            raise translate(exc, "reading the catalog", self._settings) from None
        needs = needed_privileges(plan, catalog)
        user, _, host = self.role.rpartition("@")
        account = (user, host)
        schemas = sorted({db for _, db, _, _ in needs})
        through_roles = ""
        try:
            roles = active_roles(self._grant_rows, account, self._mariadb)
            held = grants.held(self._grant_rows, [account, *roles], schemas)
        except _GrantTablesDenied:
            own = self._query("checking privileges", _OWN, (grants.quoted(account),) * 3)
            held = {(str(r[0]), r[1], r[2], str(r[3]).upper()) for r in own}
            through_roles = (
                " (roles not followed: the account cannot read the grant tables;"
                " see README, MySQL and MariaDB)"
            )
        return [
            describe_need(need) + through_roles
            for need in needs
            if not grants.holds(held, need[0], need[1], need[2])
        ]

    def _grant_rows(self, what: str, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        try:
            with self._conn.cursor() as cur:
                cur.execute(query, tuple(params) or None)
                return [tuple(r) for r in cur.fetchall()]
        except pymysql.MySQLError as exc:
            code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
            if code in _DENIED_READ:
                raise _GrantTablesDenied from None
            raise translate(exc, what, self._settings) from None

    def run(self, statements: Sequence[str], notice: Callable[[str], None]) -> None:
        """Run the statements in order; the first failure stops the plan."""
        for number, statement in enumerate(statements, 1):
            rows = self._execute(number, statement)
            for row in rows:
                if row and str(row[0]).startswith("restoregate:"):
                    notice(str(row[0]))
            self._ran = number

    def _execute(self, number: int, statement: str) -> list[tuple[Any, ...]]:
        try:
            with self._conn.cursor() as cur:
                cur.execute(statement)  # no parameters: the driver leaves the text alone
                return [tuple(r) for r in cur.fetchall()] if cur.description else []
        except pymysql.MySQLError as exc:
            code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
            done = (
                f"; statements 1-{number - 1} ran and stay applied (DDL commits at once)"
                if number > 1
                else ""
            )
            if code in _DENIED:
                raise UsageError(
                    f"cannot apply statement {number} as {self.role}: {first_line(exc)}{done}",
                    "grant what it names (see README, Security model), then run fix again",
                ) from None
            if code == _SIGNALLED:
                raise CheckFailedToRun(f"{first_line(exc)}{done}") from None
            failed = translate(exc, f"applying statement {number} of the plan", self._settings)
            raise CheckFailedToRun(failed.message + done, failed.hint) from None

    def engine(self) -> MysqlEngine:
        """A fresh read-only snapshot, taken after the plan ran: what the next check sees."""
        return self._stack.enter_context(open_engine(self._dsn, self._settings))

    def commit(self) -> None:
        try:
            self._conn.commit()
        except pymysql.MySQLError as exc:
            raise translate(exc, "committing the plan", self._settings) from None

    def rollback(self) -> None:
        """Only an open quarantine transaction: a counter already moved stays moved."""
        with suppress(pymysql.MySQLError):
            self._conn.rollback()


class _GrantTablesDenied(Exception):
    """The account may not read the grant tables (the README's recipe grants that)."""
