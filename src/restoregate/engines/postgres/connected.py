"""The connections every PostgreSQL probe runs on, and the catalog they have read.

Catalog queries run on the coordinator, in the snapshot it exports; probes of user
tables run on a worker in batches of transactions importing that snapshot (see
``snapshots.py``), every probe in its own savepoint.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from restoregate.catalog import Catalog
from restoregate.engines.postgres.catalog_loader import Early, Handles, load_catalog
from restoregate.engines.postgres.errors import translate
from restoregate.engines.postgres.session import SessionSettings, connected_dsn, session_state
from restoregate.engines.postgres.snapshots import Sessions
from restoregate.names import QualifiedName


class Connected:
    """A coordinator and its worker in one read-only snapshot."""

    def __init__(self, sessions: Sessions, settings: SessionSettings) -> None:
        self._sessions = sessions
        self._conn = sessions.coordinator
        self._settings = settings
        self._catalog: Catalog | None = None
        self._handles = Handles()
        self._state = session_state(self._conn)  # what no probe may change (check_state)
        self._locks: dict[QualifiedName, int] = {}  # locks reading a table takes
        self._emptiness: dict[QualifiedName, bool] = {}  # plain tables found empty or not
        self._on_probe: Callable[[str, int], None] | None = None  # (probe, targets)
        self._unreported: list[tuple[str, int]] = []  # probes read ahead before anyone listened
        self._holding = False  # keep them for a listener (only while reading ahead)
        self._reporting = threading.Lock()  # probes run on the workers' threads too

    @property
    def on_probe(self) -> Callable[[str, int], None] | None:
        """Told of each probe of user relations: what it reads, how many targets it answers."""
        return self._on_probe

    @on_probe.setter
    def on_probe(self, report: Callable[[str, int], None] | None) -> None:
        """Probes already run (read ahead while the catalog loaded) are reported at once."""
        with self._reporting:
            self._on_probe, done = report, self._unreported
            self._unreported = []
        if report is not None:
            for what, targets in done:
                report(what, targets)

    def _report(self, what: str, targets: int) -> None:
        with self._reporting:
            report = self._on_probe
            if report is None:
                if self._holding:
                    self._unreported.append((what, targets))
                return
        report(what, targets)

    @property
    def consistency(self) -> str:
        """``snapshot``: one instant for every result; ``per-batch``: see snapshots.py."""
        return self._sessions.consistency

    @property
    def consistency_reason(self) -> str | None:
        return self._sessions.fallback_reason

    @property
    def connections(self) -> list[psycopg.Connection[Any]]:
        """Every connection of the run (the coordinator first)."""
        workers = [w.conn for w in self._sessions.workers or [self._sessions.probes]]
        return [self._conn, *(conn for conn in workers if conn is not self._conn)]

    def close(self) -> None:
        self._conn.close()

    def _rows(
        self,
        what: str,
        query: sql.Composed | sql.SQL,
        params: Any = None,
        *,
        tables: Sequence[QualifiedName] | None = None,
        locks: int = 0,
        targets: int = 1,
        planner: Sequence[tuple[str, str]] = (),
    ) -> list[tuple[Any, ...]]:
        """Rows of one probe: on the worker when it reads ``tables`` or takes ``locks``
        (user relations), else a catalog query on the coordinator. ``targets``: how many
        requests it answers, for the progress display. ``planner``: planner settings for
        this statement only (set in its savepoint, undone with it)."""
        if tables or locks:
            self._report(what, targets)
        try:
            conn = self._connection(tables, locks)
            with conn.transaction(force_rollback=True):  # rolled back: nothing survives
                if planner:
                    names = sql.SQL(", ").join(
                        sql.SQL("pg_catalog.set_config({}, {}, true)").format(
                            sql.Literal(name), sql.Literal(value)
                        )
                        for name, value in planner
                    )
                    conn.execute(sql.SQL("SELECT {}").format(names))
                rows: list[tuple[Any, ...]] = conn.execute(query, params).fetchall()
                return rows
        except psycopg.Error as exc:
            raise translate(exc, what, self._settings) from None

    def _connection(
        self, tables: Sequence[QualifiedName] | None, locks: int
    ) -> psycopg.Connection[Any]:
        if tables is None and not locks:
            return self._sessions.catalog_connection()
        locks += sum(self._locks.get(name, 1) for name in tables or ())
        return self._sessions.worker().for_probe(locks)

    def catalog(self) -> Catalog:
        try:
            conn = self._sessions.catalog_connection()
            with _without_jit(conn), conn.transaction(force_rollback=True):
                self._catalog, self._handles = load_catalog(conn, self._catalog_known)
        except psycopg.Error as exc:
            raise translate(exc, "reading the catalog", self._settings) from None
        self._locks = self._handles.locks
        return self._catalog

    def _catalog_known(self, early: Early) -> None:
        """Called while the catalog loads, once its sequences and tables are known."""

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


@contextmanager
def _without_jit(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """The catalog queries without JIT: at 10,000 tables their cost estimates pass
    ``jit_above_cost`` and compiling took 2.3 s of a 3.5 s query. Set for the
    transaction and put back after, so the probes run as the server is configured."""
    row = conn.execute("SELECT pg_catalog.current_setting('jit')").fetchone()
    conn.execute("SELECT pg_catalog.set_config('jit', 'off', true)")
    try:
        yield
    finally:
        if row is not None and conn.info.transaction_status == TransactionStatus.INTRANS:
            conn.execute("SELECT pg_catalog.set_config('jit', %s, true)", (row[0],))
