"""Opening the one gentle, read-only session every check runs in.

Settings follow docs/postgres-notes.md: REPEATABLE READ READ ONLY so every probe sees one
snapshot; ``row_security = off`` so row-level security raises instead of hiding rows;
timeouts so a lock queue or a huge table cannot hang a runbook; a ``search_path`` of
``pg_catalog, pg_temp`` so nothing in the restored database can hijack a function or an
operator we call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from restoregate.errors import CheckFailedToRun, ConnectionProblem, UsageError
from restoregate.redact import mask_dsn, redact, secrets, uri_problem
from restoregate.settings import SessionSettings

__all__ = ["SessionSettings", "connect", "connected_dsn", "describe_dsn", "server_settings"]

APPLICATION_NAME = "restoregate"
# How the server reads SQL text: pinned, so that sqlglot and PostgreSQL agree on where a
# string ends, and checked again after every probe that ran a rules file's SQL.
PARSING = {
    "standard_conforming_strings": "on",
    "backslash_quote": "safe_encoding",
    "escape_string_warning": "on",
    "transform_null_equals": "off",
    "client_encoding": "UTF8",
}
_ENCODE_HINT = "percent-encode a URI's user and password: / as %2F, @ as %40, % as %25"


def server_settings(settings: SessionSettings) -> dict[str, str]:
    return {
        "statement_timeout": str(settings.statement_timeout_ms),
        "lock_timeout": str(settings.lock_timeout_ms),
        "idle_in_transaction_session_timeout": "10min",
        "default_transaction_read_only": "on",
        "row_security": "off",
        "search_path": "pg_catalog, pg_temp",
        **PARSING,
    }


def describe_dsn(dsn: str | None) -> str:
    """The DSN as reports show it: a URI without the password, whatever form was given.

    A DSN libpq cannot parse, or parses into something else than its author meant (an
    unencoded ``/`` or ``@`` in a URI password), is shown as given with the secret masked.
    """
    try:
        params = conninfo_to_dict(dsn or "")
    except psycopg.ProgrammingError:
        return mask_dsn(dsn or "")
    if dsn and secrets(dsn) and params.get("password") not in secrets(dsn):
        return mask_dsn(dsn)
    shown = _uri(
        user=str(params.get("user") or os.environ.get("PGUSER") or ""),
        host=str(params.get("host") or os.environ.get("PGHOST") or ""),
        port=str(params.get("port") or os.environ.get("PGPORT") or ""),
        dbname=str(params.get("dbname") or os.environ.get("PGDATABASE") or ""),
    )
    return redact(shown, dsn)


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
    problem = uri_problem(dsn)
    if problem:  # libpq would read another host out of it and send it the password
        raise UsageError(f"--dsn {mask_dsn(dsn or '')}: {problem}", _ENCODE_HINT)
    try:
        params = conninfo_to_dict(dsn or "")
    except psycopg.ProgrammingError as exc:
        raise UsageError(
            f"--dsn {mask_dsn(dsn or '')} is not a valid connection string: "
            f"{redact(_first_line(exc), dsn)}",
            _ENCODE_HINT,
        ) from None
    extra: dict[str, str | int] = {"application_name": APPLICATION_NAME}
    if "connect_timeout" not in params and "PGCONNECT_TIMEOUT" not in os.environ:
        extra["connect_timeout"] = settings.connect_timeout
    try:
        conninfo = make_conninfo(dsn or "", **extra)
        conn: psycopg.Connection[object] = psycopg.connect(conninfo, autocommit=True)
    except psycopg.Error as exc:
        raise ConnectionProblem(
            f"cannot connect to {_target(params, dsn)}: {redact(_first_line(exc), dsn)}",
            "check --dsn (or PGHOST, PGPORT, PGDATABASE, PGUSER, PGSERVICE) and that the "
            "server accepts connections",
        ) from None
    conn.prepare_threshold = 0  # every statement through the extended protocol: one at a time
    try:
        if settings.role is not None:
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(settings.role)))
        for name, value in server_settings(settings).items():
            conn.execute("SELECT pg_catalog.set_config(%s, %s, false)", (name, value))
    except psycopg.Error as exc:
        conn.close()
        raise _setup_problem(exc, settings) from None
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    return conn


def _setup_problem(exc: psycopg.Error, settings: SessionSettings) -> ConnectionProblem | UsageError:
    if settings.role is not None and isinstance(exc, psycopg.errors.InvalidParameterValue):
        return UsageError(f"--role {settings.role}: {_first_line(exc)}")
    if settings.role is not None and isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return ConnectionProblem(
            f"--role {settings.role}: {_first_line(exc)}",
            "the connecting user must be a member of the role (GRANT role TO user)",
        )
    return ConnectionProblem(f"cannot set up the session: {_first_line(exc)}")


_WATCHED = (
    *PARSING,
    "search_path",
    "statement_timeout",
    "lock_timeout",
    "row_security",
    "default_transaction_read_only",
    "transaction_read_only",
    "role",
)


def session_state(conn: psycopg.Connection[Any]) -> tuple[str, ...]:
    """What a probe must not change: the pinned settings and who we are."""
    query = "SELECT CURRENT_USER::pg_catalog.text, " + ", ".join(
        "pg_catalog.current_setting(%s)" for _ in _WATCHED
    )
    row = conn.execute(query, _WATCHED).fetchone()
    return tuple(str(v) for v in row or ())


def check_state(conn: psycopg.Connection[Any], expected: tuple[str, ...], what: str) -> None:
    """Fail closed if a probe left a setting or the role changed (it cannot; this proves it)."""
    found = session_state(conn)
    changed = [
        name
        for name, old, new in zip(("current_user", *_WATCHED), expected, found, strict=True)
        if old != new
    ]
    if changed:
        raise CheckFailedToRun(
            f"{what}: the session's {', '.join(changed)} changed during the probe",
            "a rules file tried to change the session; nothing after it can be trusted",
        )


def _target(params: Mapping[str, object], dsn: str | None) -> str:
    """What libpq used: the service (from the DSN or PGSERVICE) when there is one."""
    if params.get("service"):
        return f"service {params['service']}"
    if os.environ.get("PGSERVICE"):
        return f"service {os.environ['PGSERVICE']} (from PGSERVICE)"
    return describe_dsn(dsn)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
