"""One snapshot for the whole run, without holding every lock until its end.

A *coordinator* connection opens the REPEATABLE READ READ ONLY transaction, reads the
catalog in it and exports its snapshot (``pg_export_snapshot()``). Probes of user tables
run on a *worker* connection whose transactions import that snapshot as their first
statement and end once they have taken a bounded number of locks: every probe sees the
same instant, and a schema of any size never fills the shared lock table
(``max_locks_per_transaction`` x connections) that every session of the server shares.

Where a snapshot cannot be exported or imported (a pooler, a server refusing a second
connection), the coordinator runs the probes itself in batches of fresh transactions:
each batch is consistent, the run as a whole is not, and the report says so.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from queue import Queue
from typing import Any, Literal

import psycopg
from psycopg import sql

from restoregate.engines.postgres.errors import translate
from restoregate.engines.postgres.session import SessionSettings, connect
from restoregate.errors import ConnectionProblem, RestoregateError

Consistency = Literal["snapshot", "per-batch"]
LOCK_SHARE = 16  # our open transactions together take at most 1/16 of the lock table
MIN_BUDGET = 64  # locks one batch may take however small the lock table
KEEPALIVE_S = 60.0  # touch the idle coordinator this often, well inside its idle timeout


class Transactions:
    """Transactions on one connection, each ended once it has taken about ``budget`` locks.

    ``snapshot``: imported first thing in every transaction, so all of them see one
    instant. A probe's locks are released when its transaction ends; a probe heavier
    than the budget gets a transaction of its own.
    """

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        budget: int,
        snapshot: str | None = None,
        before_begin: Callable[[], None] = lambda: None,
    ) -> None:
        self.conn = conn
        self.budget = budget
        self.snapshot = snapshot
        self.batches = 0
        self.before_begin = before_begin
        self._used = 0
        self._tx: AbstractContextManager[Any] | None = None

    def for_probe(self, locks: int) -> psycopg.Connection[Any]:
        """The connection to run a probe taking about ``locks`` locks on, inside a batch."""
        if self._tx is None or (self._used and self._used + locks > self.budget):
            self.end()
            self.begin()
        self._used += locks
        return self.conn

    def begin(self) -> None:
        self.before_begin()
        tx = self.conn.transaction(force_rollback=True)
        tx.__enter__()
        self._tx = tx
        self._used = 0
        self.batches += 1
        if self.snapshot is None:
            return
        try:
            self.conn.execute(
                sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(self.snapshot))
            )
        except psycopg.Error:
            self.end()
            raise

    def end(self) -> None:
        """Roll the batch back (it wrote nothing): its locks are released."""
        tx, self._tx = self._tx, None
        if tx is None:
            return
        with suppress(psycopg.Error):  # a broken connection: the next probe reports it
            tx.__exit__(None, None, None)


Task = Callable[[], list[tuple[int, Any]]]  # runs on the calling thread's worker


class Stopped(Exception):
    """A background task asked for a worker after the run began to end."""


@dataclass
class Sessions:
    """The connections of one run and how consistent what they read is."""

    coordinator: psycopg.Connection[Any]
    probes: Transactions  # the first worker (the coordinator itself in fallback)
    consistency: Consistency
    fallback_reason: str | None = None
    _touched: float = 0.0
    workers: list[Transactions] = field(default_factory=list)
    _local: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ahead: threading.Thread | None = None
    _pending: deque[Task] = field(default_factory=deque)  # tasks read ahead, not started
    _found: list[tuple[int, Any]] = field(default_factory=list)
    _failed: list[BaseException] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)

    def worker(self) -> Transactions:
        """This thread's worker: its own connection, never shared between threads."""
        if self._stopping.is_set():
            raise Stopped("the run is ending")
        found: Transactions | None = getattr(self._local, "worker", None)
        if found is None:
            self._wait_ahead()
        return found if found is not None else self.probes

    def run_ahead(self, tasks: list[tuple[float, Task]]) -> Callable[[], list[tuple[int, Any]]]:
        """Start the tasks on the workers in the background, while the caller goes on
        with the coordinator (the catalog); return what waits for their answers.

        Until they are done, no other thread gets a worker: ``worker`` and ``run`` wait,
        and the thread that waits lends the coordinator to the tasks not started yet
        (each probe in a savepoint of its own, which releases its locks when rolled back).
        Without a worker of its own (a batch on the coordinator) the tasks run when the
        answers are asked for, on the caller's thread."""
        if not self.workers or self.probes.conn is self.coordinator:
            return lambda: self.run(tasks)
        self._wait_ahead()
        pending = deque(task for _, task in sorted(tasks, key=lambda t: -t[0]))
        found: list[tuple[int, Any]] = []
        failed: list[BaseException] = []
        self._pending, self._found, self._failed = pending, found, failed

        def background() -> None:
            more = [
                threading.Thread(target=self._take_tasks, args=(w, False)) for w in self.workers[1:]
            ]
            for thread in more:
                thread.start()
            self._take_tasks(self.workers[0], False)
            for thread in more:
                thread.join()

        self._ahead = threading.Thread(target=background, name="ahead", daemon=True)
        self._ahead.start()

        def answers() -> list[tuple[int, Any]]:
            self._wait_ahead()
            if failed:
                raise failed[0]
            return found

        return answers

    def _wait_ahead(self) -> None:
        ahead = self._ahead
        if ahead is None or ahead is threading.current_thread():
            return
        lent = Transactions(self.coordinator, self.probes.budget)  # batches are savepoints
        try:
            self._take_tasks(lent, True)
        finally:
            lent.end()  # its savepoint rolled back: the locks it took are released
        ahead.join()
        self._ahead = None

    def _take_tasks(self, worker: Transactions, until_failed: bool) -> None:
        """Run tasks read ahead on ``worker`` until none is left or the run ends (or,
        ``until_failed``, one has failed: the coordinator lent while waiting stops)."""
        pending, found, failed = self._pending, self._found, self._failed
        self._local.worker = worker
        try:
            while not self._stopping.is_set() and not (until_failed and failed):
                try:
                    task = pending.popleft()
                except IndexError:
                    return
                found.extend(task())
        except BaseException as exc:  # handed to whoever asks for the answers
            failed.append(exc)
        finally:
            self._local.worker = None

    def stop_ahead(self) -> None:
        """Cancel the background tasks' statements (the run is ending) and wait for them."""
        if self._ahead is None or self._ahead is threading.current_thread():
            return
        self._stopping.set()  # no further statement starts
        ahead = self._ahead
        while ahead.is_alive():  # again until it ends: a statement may start just after one
            for worker in self.workers:
                with suppress(psycopg.Error):
                    worker.conn.cancel_safe(timeout=5.0)
            ahead.join(0.1)
        self._wait_ahead()

    def catalog_connection(self) -> psycopg.Connection[Any]:
        """Where catalog queries run: the coordinator's snapshot, or a batch in fallback."""
        if self.probes.conn is self.coordinator:
            return self.probes.for_probe(1)
        self._touched = time.monotonic()
        return self.coordinator

    def keepalive(self) -> None:
        """Keep the idle coordinator (and with it the snapshot) inside its idle timeout."""
        if self.probes.conn is self.coordinator:
            return
        with self._lock:
            if time.monotonic() - self._touched > KEEPALIVE_S:
                self.coordinator.execute("SELECT 1")
                self._touched = time.monotonic()

    def run(self, tasks: list[tuple[float, Task]]) -> list[tuple[int, Any]]:
        """Every task's answers; on several workers the heaviest tasks start first, so the
        last worker does not finish alone."""
        ordered = [task for _, task in sorted(tasks, key=lambda t: -t[0])]
        self._wait_ahead()
        pool = self.workers or [self.probes]
        if len(pool) == 1 or len(ordered) <= 1:
            return [found for task in ordered for found in task()]
        queue: Queue[Transactions] = Queue()
        for worker in pool:
            queue.put(worker)

        def on_a_worker(task: Task) -> list[tuple[int, Any]]:
            worker = queue.get()
            self._local.worker = worker
            try:
                return task()
            finally:
                self._local.worker = None
                queue.put(worker)

        with ThreadPoolExecutor(max_workers=len(pool), thread_name_prefix="probe") as threads:
            return [found for done in threads.map(on_a_worker, ordered) for found in done]


@contextmanager
def open_sessions(
    dsn: str | None, settings: SessionSettings, imported: str | None = None, jobs: int = 1
) -> Iterator[Sessions]:
    """The coordinator and its worker for one run; every transaction rolled back at the end.

    ``imported``: a snapshot exported elsewhere (``pg_dump --snapshot``) that the whole
    run must see; without one, the coordinator's own snapshot is shared. ``jobs``:
    workers importing it (as many as the server accepts, at least the first).
    """
    coordinator = connect(dsn, settings)
    workers: list[Transactions] = []
    try:
        jobs = jobs or auto_jobs(coordinator)
        budget = _lock_budget(coordinator, jobs)
        with coordinator.transaction(force_rollback=True):
            _begin(coordinator, imported, settings)
            shared, reason = _share(coordinator, dsn, settings, budget, imported)
            if shared is not None:
                workers = [shared, *_more_workers(dsn, settings, shared, jobs - 1)]
                sessions = Sessions(coordinator, shared, "snapshot", None, time.monotonic())
                sessions.workers = workers
                for worker in workers:
                    worker.before_begin = sessions.keepalive
                try:
                    yield sessions
                except BaseException:
                    sessions.stop_ahead()
                    raise
                sessions._wait_ahead()
                for worker in workers:
                    worker.end()
                return
        batches = Transactions(coordinator, budget, imported)
        consistency: Consistency = "snapshot" if imported else "per-batch"
        yield Sessions(coordinator, batches, consistency, reason)
        batches.end()
    except psycopg.OperationalError as exc:
        raise translate(exc, "closing the snapshot", settings) from None
    finally:
        for worker in workers:
            worker.conn.close()
        coordinator.close()


def _begin(conn: psycopg.Connection[Any], imported: str | None, settings: SessionSettings) -> None:
    if imported is None:
        return
    try:
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(imported)))
    except psycopg.Error as exc:
        raise ConnectionProblem(
            f"cannot use snapshot {imported}: {translate(exc, 'importing', settings).message}",
            "the exporting transaction must still be open (pg_dump --snapshot, or the session "
            "that ran pg_export_snapshot())",
        ) from None


def _share(
    coordinator: psycopg.Connection[Any],
    dsn: str | None,
    settings: SessionSettings,
    budget: int,
    imported: str | None,
) -> tuple[Transactions | None, str | None]:
    """Export the coordinator's snapshot and open a worker on it; or say why not."""
    try:  # not in a savepoint: only a top-level transaction can export
        row = coordinator.execute("SELECT pg_catalog.pg_export_snapshot()").fetchone()
    except psycopg.Error as exc:
        return None, f"the server cannot export a snapshot ({_first_line(exc)})"
    assert row is not None
    try:
        worker = connect(dsn, settings)
    except RestoregateError as exc:
        return None, f"a second connection was refused ({exc.message})"
    probes = Transactions(worker, budget, str(row[0]))
    try:
        probes.begin()
    except psycopg.Error as exc:
        worker.close()
        return None, f"the worker could not import the snapshot ({_first_line(exc)})"
    return probes, None


def _more_workers(
    dsn: str | None, settings: SessionSettings, first: Transactions, wanted: int
) -> list[Transactions]:
    """Up to ``wanted`` more workers on the first one's snapshot; fewer if refused."""
    more: list[Transactions] = []
    for _ in range(wanted):
        try:
            conn = connect(dsn, settings)
        except RestoregateError:
            break  # the server has no room for more: the workers we have do the work
        worker = Transactions(conn, first.budget, first.snapshot)
        try:
            worker.begin()
        except psycopg.Error:
            conn.close()
            break
        more.append(worker)
    return more


def auto_jobs(conn: psycopg.Connection[Any]) -> int:
    """``--jobs auto``: the server's CPUs as far as they can be read (this machine's when
    the server is local, else ``max_parallel_workers``), capped by half the connections
    the server has left."""
    row = conn.execute(
        "SELECT pg_catalog.current_setting('max_connections')::int"
        " - pg_catalog.current_setting('superuser_reserved_connections')::int"
        " - (SELECT count(*) FROM pg_catalog.pg_stat_activity"
        "    WHERE backend_type = 'client backend'),"
        " pg_catalog.current_setting('max_parallel_workers')::int"
    ).fetchone()
    assert row is not None
    headroom, parallel = int(row[0]), int(row[1])
    host = conn.info.host
    local = host.startswith("/") or host in ("localhost", "127.0.0.1", "::1")
    cpus = (os.cpu_count() or 1) if local else max(1, parallel)
    return max(1, min(cpus, headroom // 2))


def _lock_budget(conn: psycopg.Connection[Any], jobs: int = 1) -> int:
    """Locks one batch may take: together, the workers' batches take a small share of
    the server's shared lock table."""
    row = conn.execute(
        "SELECT pg_catalog.current_setting('max_locks_per_transaction')::int8"
        " * (pg_catalog.current_setting('max_connections')::int8"
        " + pg_catalog.current_setting('max_prepared_transactions')::int8)"
    ).fetchone()
    slots = int(row[0]) if row else 0
    return max(MIN_BUDGET, slots // LOCK_SHARE // max(1, jobs))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
