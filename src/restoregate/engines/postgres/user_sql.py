"""Probes that carry a rules file's SQL: vetted by the server, run, rolled back, checked.

Every other probe runs only text restoregate composed itself. These run text from a
rules file (a ``sql`` rule's query, a ``unique`` rule's expressions), so each one:

1. goes through the extended query protocol (a protocol-level Parse takes exactly one
   statement: ``SELECT 1; COMMIT; DELETE ...`` is a server error, never three statements);
2. is vetted by the server before it runs (``vetting.py``): every function it would call
   is a safe built-in or allowlisted, and the statement that runs is the one vetted;
3. runs inside a savepoint that is rolled back, never released, so a setting or a lock
   taken inside cannot survive it;
4. is followed by a comparison of the pinned session state (``session.check_state``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import psycopg
from psycopg import sql

from restoregate.engines.postgres.errors import translate
from restoregate.engines.postgres.session import SessionSettings, check_state
from restoregate.engines.postgres.vetting import forget_vetted, run_vetted, vet


class UserProbe:
    def __init__(
        self, conn: psycopg.Connection[Any], settings: SessionSettings, state: tuple[str, ...]
    ) -> None:
        self._conn = conn
        self._settings = settings
        self._state = state

    def run(
        self,
        what: str,
        query: sql.Composed,
        schemas: Sequence[str],
        allowed: Sequence[str],
        *,
        execute: bool = True,
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Vet ``query`` and, with ``execute``, run it: (column names, rows)."""
        conn = self._conn
        text = query.as_string(conn)
        columns: list[str] = []
        rows: list[tuple[Any, ...]] = []
        try:
            try:
                with conn.transaction(force_rollback=True):
                    if schemas:
                        path = ", ".join(
                            sql.Identifier(s).as_string(conn) for s in ["pg_catalog", *schemas]
                        )
                        conn.execute(
                            "SELECT pg_catalog.set_config('search_path', %s, true)", (path,)
                        )
                    if execute:
                        columns, rows = run_vetted(conn, text, allowed, what)
                    else:
                        vet(conn, text, allowed, what)
            finally:
                if execute:
                    forget_vetted(conn)
            check_state(conn, self._state, what)
        except psycopg.Error as exc:
            raise translate(exc, what, self._settings) from None
        return columns, rows


def wrapped(query: str, sample: int) -> sql.Composed:
    """A ``sql`` rule's query counted and cut to a sample; newlines end any comment in it."""
    return sql.SQL("SELECT count(*) OVER () AS rg_count, q.* FROM (\n{}\n) AS q LIMIT {}").format(
        sql.SQL(cast("Any", query)), sql.Literal(sample)
    )


def duplicates_query(
    relation: sql.Composable, expressions: Sequence[str], sample: int
) -> sql.Composed:
    """Key values held by several rows, most repeated first (NULL key parts are distinct)."""
    keys = [sql.SQL(cast("Any", e)) for e in expressions]  # vetted before it runs
    names = [sql.Identifier(f"k{i}") for i in range(len(keys))]
    return sql.SQL(
        "SELECT {names}, n, count(*) OVER (), sum(n) OVER () FROM ("
        "SELECT {aliased}, count(*) AS n FROM {t} WHERE {present} GROUP BY {positions}"
        " HAVING count(*) > 1) AS d ORDER BY n DESC, {names} LIMIT {limit}"
    ).format(
        names=sql.SQL(", ").join(names),
        aliased=sql.SQL(", ").join(
            sql.SQL("({}) AS {}").format(k, n) for k, n in zip(keys, names, strict=True)
        ),
        t=relation,
        present=sql.SQL(" AND ").join(sql.SQL("({}) IS NOT NULL").format(k) for k in keys),
        positions=sql.SQL(", ").join(sql.Literal(i + 1) for i in range(len(keys))),
        limit=sql.Literal(sample),
    )
