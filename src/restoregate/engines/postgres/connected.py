"""The connection every PostgreSQL probe runs on, and the catalog it has read."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from restoregate.catalog import Catalog
from restoregate.engines.postgres.catalog_loader import Handles, load_catalog
from restoregate.engines.postgres.errors import translate
from restoregate.engines.postgres.session import SessionSettings, connected_dsn, session_state


class Connected:
    """One connection in one read-only snapshot; every probe in its own savepoint."""

    def __init__(self, conn: psycopg.Connection[Any], settings: SessionSettings) -> None:
        self._conn = conn
        self._settings = settings
        self._catalog: Catalog | None = None
        self._handles = Handles()
        self._state = session_state(conn)  # what no probe may change (session.check_state)

    def close(self) -> None:
        self._conn.close()

    def _rows(
        self, what: str, query: sql.Composed | sql.SQL, params: Any = None
    ) -> list[tuple[Any, ...]]:
        try:  # rolled back, never released: nothing a probe did survives it
            with self._conn.transaction(force_rollback=True):
                rows: list[tuple[Any, ...]] = self._conn.execute(query, params).fetchall()
                return rows
        except psycopg.Error as exc:
            raise translate(exc, what, self._settings) from None

    def catalog(self) -> Catalog:
        try:
            with self._conn.transaction(force_rollback=True):
                self._catalog, self._handles = load_catalog(self._conn)
                return self._catalog
        except psycopg.Error as exc:
            raise translate(exc, "reading the catalog", self._settings) from None

    @property
    def connection(self) -> psycopg.Connection[Any]:
        return self._conn

    @property
    def target(self) -> str:
        """Where we are connected, without the password."""
        return connected_dsn(self._conn)

    dsn = target  # the name before the engine-neutral core

    @property
    def _model(self) -> Catalog:
        return self._catalog if self._catalog is not None else self.catalog()

    @property
    def server_version(self) -> int:
        return int(self._conn.info.server_version)
