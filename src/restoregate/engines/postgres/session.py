"""Opening the one gentle, read-only session every check runs in.

Settings follow POSTGRES-NOTES.md: REPEATABLE READ READ ONLY so every probe sees one
snapshot; ``row_security = off`` so row-level security raises instead of hiding rows;
timeouts so a lock queue or a huge table cannot hang a runbook; a ``search_path`` of
``pg_catalog, pg_temp`` so nothing in the restored database can hijack a function or an
operator we call.
"""

from __future__ import annotations

import os

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from restoregate.errors import ConnectionProblem, UsageError
from restoregate.settings import SessionSettings, normalise

__all__ = ["SessionSettings", "connect", "connected_dsn", "describe_dsn", "server_settings"]

APPLICATION_NAME = "restoregate"


def server_settings(settings: SessionSettings) -> dict[str, str]:
    return {
        "statement_timeout": normalise(settings.statement_timeout),
        "lock_timeout": normalise(settings.lock_timeout),
        "idle_in_transaction_session_timeout": "10min",
        "default_transaction_read_only": "on",
        "row_security": "off",
        "search_path": "pg_catalog, pg_temp",
    }


def describe_dsn(dsn: str | None) -> str:
    """The DSN as reports show it: a URI without the password, whatever form was given."""
    try:
        params = conninfo_to_dict(dsn or "")
    except psycopg.ProgrammingError:
        return "(unparsable DSN)"
    return _uri(
        user=str(params.get("user") or os.environ.get("PGUSER") or ""),
        host=str(params.get("host") or os.environ.get("PGHOST") or ""),
        port=str(params.get("port") or os.environ.get("PGPORT") or ""),
        dbname=str(params.get("dbname") or os.environ.get("PGDATABASE") or ""),
    )


def connected_dsn(conn: psycopg.Connection[object]) -> str:
    info = conn.info
    return _uri(user=info.user, host=info.host, port=str(info.port), dbname=info.dbname)


def _uri(*, user: str, host: str, port: str, dbname: str) -> str:
    socket = host.startswith("/")
    netloc = f"{user}@" if user else ""
    if host and not socket:
        netloc += f"[{host}]" if ":" in host else host
        if port:
            netloc += f":{port}"
    query = f"?host={host}" + (f"&port={port}" if port and port != "5432" else "") if socket else ""
    return f"postgresql://{netloc}/{dbname}{query}"


def connect(dsn: str | None, settings: SessionSettings) -> psycopg.Connection[object]:
    """Connect, apply the session settings, and leave the connection ready for a snapshot."""
    try:
        params = conninfo_to_dict(dsn or "")
    except psycopg.ProgrammingError as exc:
        raise UsageError(f"--dsn is not a valid connection string: {_first_line(exc)}") from None
    extra: dict[str, str | int] = {"application_name": APPLICATION_NAME}
    if "connect_timeout" not in params and "PGCONNECT_TIMEOUT" not in os.environ:
        extra["connect_timeout"] = settings.connect_timeout
    try:
        conninfo = make_conninfo(dsn or "", **extra)
        conn: psycopg.Connection[object] = psycopg.connect(conninfo, autocommit=True)
    except psycopg.Error as exc:
        raise ConnectionProblem(
            f"cannot connect to {describe_dsn(dsn)}: {_first_line(exc)}",
            "check --dsn (or PGHOST, PGPORT, PGDATABASE, PGUSER, PGSERVICE) and that the "
            "server accepts connections",
        ) from None
    try:
        for name, value in server_settings(settings).items():
            conn.execute("SELECT pg_catalog.set_config(%s, %s, false)", (name, value))
    except psycopg.Error as exc:
        conn.close()
        raise ConnectionProblem(f"cannot set up the session: {_first_line(exc)}") from None
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    return conn


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
