"""Running a trusted SQL script (one shipped with the package) on a scratch database."""

from __future__ import annotations

import psycopg

from restoregate.errors import ConnectionProblem


def run_script(dsn: str, script: str, what: str) -> None:
    """Run every statement of ``script``; only for text restoregate itself ships."""
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(script.encode())  # bytes: a trusted multi-statement script
    except psycopg.Error as exc:
        first = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise ConnectionProblem(f"{what}: {first}") from None
