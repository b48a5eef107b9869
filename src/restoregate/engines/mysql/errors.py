"""Turning a MySQL/MariaDB error into one sentence a DBA can act on."""

from __future__ import annotations

import pymysql

from restoregate.engines.mysql.session import first_line
from restoregate.errors import CheckFailedToRun
from restoregate.settings import SessionSettings

_TIMEOUT = {3024, 1969, 1317}  # MySQL max_execution_time, MariaDB max_statement_time, killed
_LOCK = {1205}
_PRIVILEGE = {1142, 1143, 1044, 1045, 1227, 1370}
_PRIVILEGE_HINT = (
    "grant the checking account SELECT on the database (GRANT SELECT ON db.* TO ...), "
    "and for the privileges check SELECT on mysql.db, mysql.tables_priv, the role tables and "
    "mysql.user's privilege columns (README, MySQL and MariaDB); never on mysql.*"
)


def translate(exc: pymysql.MySQLError, what: str, settings: SessionSettings) -> CheckFailedToRun:
    """A failed probe, explained; its rule gets status ``error`` and the gate stays closed."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    text = first_line(exc)
    if code in _TIMEOUT:
        return CheckFailedToRun(
            f"{what}: stopped by the statement timeout ({settings.statement_timeout})",
            "raise --statement-timeout; a check that did not finish is never a pass",
        )
    if code in _LOCK:
        return CheckFailedToRun(
            f"{what}: waited longer than --lock-timeout ({settings.lock_timeout}) for a lock",
            "another session holds a metadata or row lock (is a restore still running?)",
        )
    if code in _PRIVILEGE:
        return CheckFailedToRun(f"{what}: {text}", _PRIVILEGE_HINT)
    if isinstance(exc, (pymysql.err.OperationalError, pymysql.err.InterfaceError)) and (
        code is None or code >= 2000
    ):
        return CheckFailedToRun(f"{what}: the connection failed: {text}")
    return CheckFailedToRun(f"{what}: {text}" + (f" (error {code})" if code else ""))
