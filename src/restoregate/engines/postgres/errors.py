"""Turning a database error into one sentence a DBA can act on."""

from __future__ import annotations

import psycopg
from psycopg import errors

from restoregate.engines.postgres.session import SessionSettings
from restoregate.errors import CheckFailedToRun

_RLS_HINT = (
    "row-level security would hide rows from this role, so counts would be wrong; run as "
    "the table owner or a role with BYPASSRLS"
)
_PRIVILEGE_HINT = (
    "grant the checking role pg_read_all_data (PostgreSQL 14+), or USAGE on the schemas and "
    "SELECT on every table and sequence in scope"
)


def translate(exc: psycopg.Error, what: str, settings: SessionSettings) -> CheckFailedToRun:
    """A failed probe, explained; its rule gets status ``error`` and the gate stays closed."""
    text = _primary(exc)
    if isinstance(exc, errors.QueryCanceled) and "statement timeout" in text:
        return CheckFailedToRun(
            f"{what}: stopped by the statement timeout ({settings.statement_timeout})",
            "raise --statement-timeout; a check that did not finish is never a pass",
        )
    if isinstance(exc, errors.LockNotAvailable):
        return CheckFailedToRun(
            f"{what}: waited longer than --lock-timeout ({settings.lock_timeout}) for a lock",
            "another session holds an exclusive lock (is a restore or migration still "
            "running?); wait for it or raise --lock-timeout",
        )
    if isinstance(exc, errors.InsufficientPrivilege):
        hint = _RLS_HINT if "row-level security" in text else _PRIVILEGE_HINT
        return CheckFailedToRun(f"{what}: {text}", hint)
    if isinstance(exc, psycopg.OperationalError):
        return CheckFailedToRun(f"{what}: the connection failed: {text}")
    state = f" (SQLSTATE {exc.sqlstate})" if exc.sqlstate else ""
    return CheckFailedToRun(f"{what}: {text}{state}")


def _primary(exc: psycopg.Error) -> str:
    message = exc.diag.message_primary if exc.diag else None
    text = (message or str(exc)).strip() or type(exc).__name__
    return text.splitlines()[0]
