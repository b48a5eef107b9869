"""Opening the one gentle, read-only MySQL/MariaDB session every probe runs in.

REPEATABLE READ and ``START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT``: every probe
sees one InnoDB snapshot and no statement can write. ``--statement-timeout`` becomes
``max_execution_time`` (MySQL, milliseconds) or ``max_statement_time`` (MariaDB,
seconds); ``--lock-timeout`` becomes ``lock_wait_timeout`` and
``innodb_lock_wait_timeout`` (whole seconds, at least 1). MySQL 8 caches
``information_schema.TABLES.AUTO_INCREMENT``; ``information_schema_stats_expiry = 0``
makes it read the counter fresh. Nothing here locks tables: no FLUSH, LOCK TABLES,
ANALYZE or CHECK TABLE, ever.
"""

from __future__ import annotations

import math
from typing import Any

import pymysql

from restoregate.engines.mysql import vetting
from restoregate.engines.mysql.dsn import MysqlDsn
from restoregate.errors import ConnectionProblem
from restoregate.settings import SessionSettings


def connect(dsn: MysqlDsn, settings: SessionSettings) -> tuple[Any, bool]:
    """Connect and open the snapshot; returns the connection and whether it is MariaDB."""
    options = dict(dsn.options)
    timeout = int(options.get("connect_timeout") or settings.connect_timeout)
    try:
        conn = pymysql.connect(
            host=dsn.host,
            port=dsn.port,
            user=dsn.user or None,
            password=dsn.password or "",
            database=dsn.database,
            unix_socket=options.get("unix_socket") or None,
            ssl_ca=options.get("ssl_ca") or None,
            ssl_disabled=options.get("ssl_disabled", "").lower() in ("1", "true", "yes"),
            connect_timeout=timeout,
            charset=vetting.CHARSET,
            autocommit=True,
            program_name="restoregate",
        )
    except pymysql.MySQLError as exc:
        raise ConnectionProblem(
            f"cannot connect to {dsn.shown()}: {first_line(exc)}",
            "check --dsn (user, password, host, port, database) and that the server "
            "accepts connections",
        ) from None
    try:
        mariadb = _setup(conn, settings)
    except pymysql.MySQLError as exc:
        conn.close()
        raise ConnectionProblem(f"cannot set up the session: {first_line(exc)}") from None
    return conn, mariadb


def _setup(conn: Any, settings: SessionSettings) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        mariadb = "mariadb" in str(cur.fetchone()[0]).lower()
        lock_s = max(1, math.ceil(settings.lock_timeout_ms / 1000))
        statements: list[tuple[str, str | int | float | None]] = [
            ("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", None),
            ("SET SESSION lock_wait_timeout = %s", lock_s),
            ("SET SESSION innodb_lock_wait_timeout = %s", lock_s),
            ("SET SESSION sql_mode = %s", vetting.SQL_MODE),  # how vetting.py writes SQL
            ("SET SESSION time_zone = %s", "+00:00"),  # pinned: strings parse as sqlglot reads them
        ]
        if mariadb:
            statements.append(
                ("SET SESSION max_statement_time = %s", settings.statement_timeout_ms / 1000)
            )
        else:
            statements.append(
                ("SET SESSION max_execution_time = %s", settings.statement_timeout_ms)
            )
            statements.append(("SET SESSION information_schema_stats_expiry = %s", 0))
        for query, value in statements:
            cur.execute(query, None if value is None else (value,))
        cur.execute("START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT")
    return mariadb


def first_line(exc: BaseException) -> str:
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    text = args[1] if len(args) >= 2 and isinstance(args[1], str) else str(exc)
    return (text.strip() or type(exc).__name__).splitlines()[0]
