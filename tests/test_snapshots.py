"""One snapshot for the run, locks released batch by batch: the coordinator and its worker.

Proven on a real server: workers see exactly what the coordinator saw while another
session inserts and commits; their locks stay bounded; and where a second connection
is refused the run falls back to batched transactions and says so in the report.
"""

from __future__ import annotations

import json

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from restoregate.cli import cli
from restoregate.engines.base import KeyRange, NullCounts, RowCount, SequencePositionOf
from restoregate.engines.postgres.probes import open_backend
from restoregate.engines.postgres.session import SessionSettings
from restoregate.engines.postgres.snapshots import Stopped
from restoregate.names import QualifiedName
from tests.gate import gate, logical, rule, violations
from tests.test_query_budget import sent as sent_statements
from tests.test_safety import lock_held

TABLES = 300  # two locks each (table, primary key): enough for several batches


def many_tables(n: int) -> str:
    return "".join(
        f"CREATE TABLE t_{i} (id int PRIMARY KEY); INSERT INTO t_{i} VALUES (1), (10);\n"
        for i in range(n)
    )


def locks_held(db, pid: int) -> int:
    return int(db.scalar(f"SELECT count(*) FROM pg_locks WHERE pid = {pid}"))


def test_workers_see_the_coordinators_snapshot_while_others_commit(db):
    db.execute(many_tables(TABLES))
    with open_backend(db.dsn, SessionSettings()) as backend:
        coordinator, worker = backend.connections
        assert coordinator.info.backend_pid != worker.info.backend_pid
        backend.catalog()
        most = 0
        for i in range(TABLES):
            db.execute(f"INSERT INTO t_{i} VALUES (1000)")  # another session, committed
            found = backend.answer([KeyRange(QualifiedName("public", f"t_{i}"), "id")])
            assert found == [(1, 10)], f"t_{i} seen after the insert"
            most = max(most, locks_held(db, worker.info.backend_pid))
        assert backend.consistency == "snapshot"
        batches = backend._sessions.probes.batches
        assert batches >= 2, "600 locks do not fit one batch of the default lock budget"
        assert most <= backend._sessions.probes.budget + 2  # + the virtual xid lock
    assert db.scalar("SELECT max(id) FROM t_0") == 1000


def test_every_worker_runs_with_the_session_settings(db):
    db.execute(many_tables(1))
    settings = SessionSettings(statement_timeout="2min", lock_timeout="3s")
    names = ("statement_timeout", "lock_timeout", "row_security", "search_path")
    with open_backend(db.dsn, settings) as backend:
        coordinator, worker = backend.connections
        for conn in (coordinator, worker):
            shown = [conn.execute(f"SHOW {name}").fetchone()[0] for name in names]
            assert shown == ["2min", "3s", "off", "pg_catalog, pg_temp"]
            assert conn.execute("SHOW transaction_read_only").fetchone()[0] == "on"
            assert conn.execute("SHOW transaction_isolation").fetchone()[0] == "repeatable read"
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction), conn.transaction():
                conn.execute("CREATE TABLE intruder ()")


def test_a_refused_second_connection_falls_back_to_batches_and_says_so(db, make_role):
    db.execute(
        many_tables(2)
        + "CREATE TABLE child (id int PRIMARY KEY, t_id int REFERENCES t_0 (id));"
        + "SET session_replication_role = replica; INSERT INTO child VALUES (1, 7);"
    )
    dsn = make_role(
        db,
        "rg_single",
        "ALTER ROLE {role} CONNECTION LIMIT 1",
        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
    )
    with open_backend(dsn, SessionSettings()) as backend:
        assert backend.consistency == "per-batch"
        assert "second connection was refused" in (backend.consistency_reason or "")
        assert len(backend.connections) == 1
    report = gate(dsn)
    assert report.consistency == "per-batch"
    assert report.exit_code == 1, "the orphan is still found on one connection"
    result = CliRunner().invoke(
        cli, ["check", "--dsn", dsn, "--format", "json"], catch_exceptions=False
    )
    assert json.loads(result.stdout)["database"]["consistency"] == "per-batch"
    text = CliRunner().invoke(cli, ["check", "--dsn", dsn], catch_exceptions=False)
    assert "consistent per batch of probes, not as one snapshot" in text.stdout
    assert "second connection was refused" in text.stdout


def test_a_shared_snapshot_is_reported_as_one(db):
    db.execute(many_tables(1))
    report = gate(db.dsn)
    assert report.consistency == "snapshot"
    assert report.to_dict()["database"]["consistency"] == "snapshot"


GROUPED = """
CREATE TABLE accounts (id bigserial PRIMARY KEY);
CREATE TABLE orders (id bigserial PRIMARY KEY, account_id bigint REFERENCES accounts);
CREATE TABLE journals (id int PRIMARY KEY, account_id int);  -- no default: locking it
-- blocks no catalog read (pg_get_expr locks a table with defaults)
CREATE TABLE notes (id serial PRIMARY KEY, account_id int REFERENCES accounts);
INSERT INTO accounts SELECT FROM generate_series(1, 20);
SET session_replication_role = replica;
INSERT INTO orders (account_id) SELECT g FROM generate_series(1, 30) g;      -- 21..30 orphans
INSERT INTO journals SELECT g, g FROM generate_series(18, 25) g;   -- 21..25
INSERT INTO notes (account_id) VALUES (1), (NULL), (40), (40);              -- 40 twice
"""
ACCOUNTS_LOGICAL = logical("journals(account_id)", "accounts(id)")


def test_references_to_one_parent_share_one_anti_join_with_the_same_numbers(db):
    db.execute(GROUPED)
    found = {v["reference"]: v for v in violations(gate(db.dsn, ACCOUNTS_LOGICAL), "references")}
    assert {k: (v["orphans"], v["reassignable"], v["sample"]) for k, v in found.items()} == {
        "public.orders(account_id) -> public.accounts(id)": (10, 10, [[k] for k in range(21, 31)]),
        "public.journals(account_id) -> public.accounts(id)": (5, 5, [[k] for k in range(21, 26)]),
        "public.notes(account_id) -> public.accounts(id)": (2, 2, [[40]]),
    }
    report = gate(db.dsn, ACCOUNTS_LOGICAL)
    behind = violations(report, "sequences")
    assert [(v["sequence"], v["max_value"], v["max_source"]) for v in behind] == [
        ("public.accounts_id_seq", 40, "public.notes.account_id")
    ]


def test_a_locked_table_in_a_batch_fails_only_its_own_reference(db):
    db.execute(GROUPED)
    with lock_held(db.dsn, "journals"):
        report = gate(db.dsn, ACCOUNTS_LOGICAL, settings=SessionSettings(lock_timeout="200ms"))
    refs = rule(report, "references")
    assert refs.status == "error"
    assert "journals" in refs.message and "lock-timeout" in refs.message
    assert "(and" not in refs.message, "only the locked table's reference failed"
    assert {v.reference for v in refs.violations} == {
        "public.orders(account_id) -> public.accounts(id)",
        "public.notes(account_id) -> public.accounts(id)",
    }, "the others were judged all the same"


def test_jobs_spread_the_probes_over_workers_on_one_snapshot(db):
    db.execute(many_tables(40) + GROUPED)
    settings = SessionSettings(jobs=2)
    with open_backend(db.dsn, settings) as backend:
        assert len(backend.connections) == 3, "the coordinator and two workers"
        backend.catalog()
        db.execute("INSERT INTO t_0 VALUES (1000)")  # committed after the snapshot
        names = [QualifiedName("public", f"t_{i}") for i in range(40)]
        assert backend.answer([KeyRange(n, "id") for n in names]) == [(1, 10)] * 40
        found = backend.answer([NullCounts(n, ("id",)) for n in names])  # one task each
        assert found == [{"id": 0}] * 40
        assert backend.answer([RowCount(names[0], None)]) == [2], "the snapshot's rows only"
        workers = backend._sessions.workers
        assert all(w._used > 0 for w in workers), "both workers took a share"
    one, two = gate(db.dsn, ACCOUNTS_LOGICAL), gate(db.dsn, ACCOUNTS_LOGICAL, settings=settings)
    assert [r.to_dict()["violations"] for r in one.rules] == [
        r.to_dict()["violations"] for r in two.rules
    ]


def test_jobs_on_the_command_line(db):
    db.execute(many_tables(2))
    for jobs in ("auto", "2"):
        result = CliRunner().invoke(
            cli, ["check", "--dsn", db.dsn, "--jobs", jobs], catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
    bad = CliRunner().invoke(cli, ["check", "--dsn", db.dsn, "--jobs", "0"])
    assert bad.exit_code == 2
    assert "not a number of jobs from 1 to 64, or auto" in bad.output


def test_empty_tables_are_answered_exactly_without_a_scan(db):
    """A heap of 0 bytes holds no row; a parent that is empty still orphans its children."""
    db.execute(
        "CREATE TABLE parent (id serial PRIMARY KEY);"
        "CREATE TABLE child (id serial PRIMARY KEY, parent_id int REFERENCES parent);"
        "CREATE TABLE emptied (id serial PRIMARY KEY, parent_id int REFERENCES parent);"
        "SET session_replication_role = replica;"
        "INSERT INTO child (parent_id) VALUES (5), (7);"
        "INSERT INTO emptied (parent_id) VALUES (9); DELETE FROM emptied;"  # pages, no rows
    )
    report = gate(db.dsn)
    found = {v["reference"]: v["orphans"] for v in violations(report, "references")}
    assert found == {"public.child(parent_id) -> public.parent(id)": 2}
    behind = {v["sequence"]: v["max_value"] for v in violations(report, "sequences")}
    assert behind == {"public.parent_id_seq": 7}, "the empty parent's own range is empty"


def test_positions_are_read_on_the_worker_while_the_catalog_loads(db):
    """Every readable sequence's position is read ahead, in the catalog's time: a
    nextval() after the catalog is not seen (sequences are not transactional, so only
    reading them earlier can hide it), and asking reads nothing more."""
    db.execute("CREATE TABLE a (id serial PRIMARY KEY); CREATE SEQUENCE loose;")
    with open_backend(db.dsn, SessionSettings()) as backend:
        backend.catalog()
        db.scalar("SELECT nextval('a_id_seq') + nextval('loose')")  # after the catalog
        worker = backend.connections[1]
        before = worker.info.transaction_status, backend._sessions.probes.batches
        found = backend.answer(
            [SequencePositionOf(QualifiedName("public", n)) for n in ("a_id_seq", "loose")]
        )
        assert [p.next_value for p in found] == [1, 1], "read before the nextval() calls"
        assert (worker.info.transaction_status, backend._sessions.probes.batches) == before
    report = gate(db.dsn)
    assert rule(report, "sequences").status == "pass"


def test_an_unreadable_sequence_is_not_read_ahead_and_fails_alone(db, make_role):
    db.execute(
        "CREATE TABLE a (id serial PRIMARY KEY); CREATE TABLE b (id serial PRIMARY KEY);"
        "INSERT INTO a DEFAULT VALUES; INSERT INTO b DEFAULT VALUES;"
    )
    dsn = make_role(
        db,
        "rg_noseq",
        "GRANT SELECT ON a, b TO {role}",
        "GRANT SELECT ON SEQUENCE a_id_seq TO {role}",
    )
    report = gate(dsn)
    seqs = rule(report, "sequences")
    assert seqs.status == "error"
    assert "b_id_seq" in seqs.message and "a_id_seq" not in seqs.message
    assert report.exit_code != 0


def test_an_ending_run_cancels_what_runs_ahead_and_starts_nothing_more(db):
    import threading

    db.execute(many_tables(1))
    seen: list[str] = []
    started = threading.Event()

    def slow() -> list[tuple[int, object]]:
        conn = sessions.worker().for_probe(1)
        started.set()  # the cancel may come before the statement starts: it is repeated
        try:
            conn.execute("SELECT pg_catalog.pg_sleep(60)")
        except psycopg.errors.QueryCanceled:
            seen.append("cancelled")
        try:
            sessions.worker()
        except Stopped:
            seen.append("stopped")
        return []

    with (
        pytest.raises(RuntimeError, match="the caller failed"),
        open_backend(db.dsn, SessionSettings()) as backend,
    ):
        sessions = backend._sessions
        sessions.run_ahead([(1.0, slow), (1.0, lambda: seen.append("never") or [])])
        assert started.wait(30)
        raise RuntimeError("the caller failed")
    assert seen == ["cancelled", "stopped"]
    assert sessions._ahead is None


def test_which_tables_are_empty_is_found_once_while_the_catalog_loads(db, tmp_path):
    db.execute(
        "CREATE TABLE full_one (id serial PRIMARY KEY); INSERT INTO full_one DEFAULT VALUES;"
        "CREATE TABLE empty_one (id serial PRIMARY KEY);"
        "CREATE TABLE generated (a int, b int GENERATED ALWAYS AS (a * 2) STORED,"
        " id bigint GENERATED BY DEFAULT AS IDENTITY);"  # a default with a Var in pg_attrdef
    )
    trace = tmp_path / "worker.trace"
    with open_backend(db.dsn, SessionSettings()) as backend, trace.open("w") as out:
        catalog = backend.catalog()
        assert {f.table.name for f in catalog.feeds} == {"full_one", "empty_one", "generated"}
        worker = backend.connections[1]
        names = [QualifiedName("public", n) for n in ("full_one", "empty_one", "generated")]
        worker.pgconn.trace(out.fileno())
        found = backend.answer([KeyRange(n, "id") for n in names])
        again = backend.answer([KeyRange(n, "id") for n in names[1:]])
        worker.pgconn.untrace()
    assert found == [(1, 1), (None, None), (None, None)]
    assert again == [(None, None), (None, None)]
    selects = [q for q in sent_statements(trace) if "SELECT" in q]
    assert not any("pg_relation_size" in q for q in selects), "known before the first batch"
    assert len(selects) == 1 and '"full_one"' in selects[0], "only the table with rows is read"


def test_the_catalog_reader_hands_its_first_error_to_every_query_not_read(db):
    """The catalog's queries run on a thread of their own: a failure reaches the caller
    (whichever query it waits for), and leaving early cancels and frees the connection."""
    from restoregate.engines.postgres.catalog_loader import _Reader

    db.execute(many_tables(2))
    with psycopg.connect(db.dsn) as conn:
        with pytest.raises(psycopg.errors.DivisionByZero), conn.transaction():
            conn.execute("SELECT 1 / 0")  # the transaction is now aborted... and rolled back
        conn.execute("BEGIN")
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute("SELECT 1 / 0")
        with _Reader(conn) as read:
            for name in ("server", "columns", "lock_weights"):
                with pytest.raises(psycopg.errors.InFailedSqlTransaction):
                    read(name)
        conn.rollback()
        with pytest.raises(RuntimeError, match="left early"), _Reader(conn) as read:
            assert read("server")[0].version_num >= 150000
            raise RuntimeError("left early")
        conn.rollback()  # what was cancelled aborted the transaction; nothing still runs
        assert conn.execute("SELECT 42").fetchone() == (42,), "the connection is free again"


def test_the_coordinator_takes_its_share_of_what_is_read_ahead_and_keeps_no_lock(db):
    """While the first worker is busy, the thread waiting for the read-ahead runs the
    tasks not started yet on the coordinator, in savepoints that release their locks."""
    import threading

    db.execute(many_tables(3))
    started, release = threading.Event(), threading.Event()
    ran: list[tuple[str, int]] = []

    def blocking() -> list[tuple[int, object]]:
        conn = backend._sessions.worker().for_probe(1)
        started.set()
        release.wait(30)
        ran.append(("first", conn.info.backend_pid))
        return [(0, "first")]

    def reading(i: int):
        def run() -> list[tuple[int, object]]:
            conn = backend._sessions.worker().for_probe(1)
            conn.execute(f"SELECT count(*) FROM public.t_{i}").fetchone()  # takes a lock
            ran.append((f"t_{i}", conn.info.backend_pid))
            if i == 2:
                release.set()
            return [(i, f"t_{i}")]

        return run

    with open_backend(db.dsn, SessionSettings()) as backend:
        coordinator, worker = (c.info.backend_pid for c in backend.connections)
        before = locks_held(db, coordinator)
        tasks = [(9.0, blocking), *((1.0, reading(i)) for i in range(3))]
        answers = backend._sessions.run_ahead(tasks)
        assert started.wait(30)
        assert sorted(answers()) == [(0, "first"), (0, "t_0"), (1, "t_1"), (2, "t_2")]
        assert dict(ran) == {
            "first": worker,
            "t_0": coordinator,
            "t_1": coordinator,
            "t_2": coordinator,
        }
        assert locks_held(db, coordinator) == before, "the savepoints released their locks"


def test_positions_match_what_each_sequence_says_on_every_version(db, tmp_path):
    """Called, never called, exhausted, descending, and cycling sequences: the positions
    read ahead equal each sequence's own last_value/is_called. On PostgreSQL 18 they come
    from pg_get_sequence_data() in one statement (no SELECT a sequence); before, from
    UNION ALL batches of SELECTs."""
    db.execute(
        "CREATE SEQUENCE called; SELECT nextval('called'), nextval('called');"
        "CREATE SEQUENCE fresh START 40;"
        "CREATE SEQUENCE full_up MAXVALUE 3; SELECT setval('full_up', 3);"
        "CREATE SEQUENCE down INCREMENT -2 MINVALUE -100 MAXVALUE 0 START 0;"
        "SELECT nextval('down');"
        "CREATE SEQUENCE around MAXVALUE 5 CYCLE; SELECT setval('around', 5);"
    )
    names = ["called", "fresh", "full_up", "down", "around"]
    trace = tmp_path / "worker.trace"
    with open_backend(db.dsn, SessionSettings()) as backend, trace.open("w") as out:
        worker = backend.connections[1]
        worker.pgconn.trace(out.fileno())
        backend.catalog()
        found = backend.answer([SequencePositionOf(QualifiedName("public", n)) for n in names])
        worker.pgconn.untrace()
    assert [(p.next_value, p.last_value) for p in found] == [
        (3, 2),  # called twice: next is 3
        (40, 40),  # never called: next is its start
        (None, 3),  # at its maximum, no CYCLE: exhausted
        (-2, 0),  # descending: 0 handed out, -2 next
        (1, 5),  # at its maximum with CYCLE: back to the minimum
    ]
    sent = sent_statements(trace)
    reads = [q for q in sent if "is_called" in q]
    assert len(reads) == 1, "every position in one statement"
    if db.scalar("SELECT current_setting('server_version_num')::int") >= 180000:
        assert "pg_get_sequence_data" in reads[0]
        assert not any('FROM "public"."called"' in q for q in sent), "no SELECT a sequence"
    else:
        assert reads[0].count("UNION ALL") == len(names) - 1


def test_a_sequence_dropped_after_the_catalog_fails_its_own_rule_by_name(db):
    """The position of a sequence gone since the catalog was read (the function answers
    NULL on PostgreSQL 18, the SELECT fails before): an error naming that sequence, the
    others still judged, the gate closed."""
    db.execute(
        "CREATE TABLE kept (id serial PRIMARY KEY); CREATE SEQUENCE doomed;"
        "INSERT INTO kept DEFAULT VALUES;"
    )
    with open_backend(db.dsn, SessionSettings()) as backend:
        catalog = backend.catalog()
        backend._read_ahead()  # what was read while the catalog loaded is forgotten
        backend._known.clear()
        db.execute("DROP SEQUENCE doomed")
        assert QualifiedName("public", "doomed") in catalog.sequences
        found = backend.answer(
            [SequencePositionOf(QualifiedName("public", n)) for n in ("kept_id_seq", "doomed")]
        )
    assert found[0].next_value == 2
    assert "doomed" in str(found[1]) and "reading sequence" in str(found[1])


def test_empty_tables_are_found_in_fixed_size_statements_holding_no_lock(db, tmp_path, monkeypatch):
    """Which tables are empty is asked EMPTINESS_BATCH tables a statement (here 2), each
    answer exact (a table emptied by DELETE still has pages, so it is probed), and no
    statement keeps a table's lock: pg_relation_size() lets go of it as it returns."""
    from restoregate.engines.postgres import batches

    monkeypatch.setattr(batches, "EMPTINESS_BATCH", 2)
    db.execute(
        "".join(f"CREATE TABLE e{i} (id serial PRIMARY KEY);" for i in range(4))
        + "CREATE TABLE full_one (id serial PRIMARY KEY); INSERT INTO full_one DEFAULT VALUES;"
        + "CREATE TABLE emptied (id serial PRIMARY KEY); INSERT INTO emptied DEFAULT VALUES;"
        + "DELETE FROM emptied;"
    )
    names = [f"e{i}" for i in range(4)] + ["full_one", "emptied"]
    traces = [tmp_path / "coordinator.trace", tmp_path / "worker.trace"]
    with (
        open_backend(db.dsn, SessionSettings()) as backend,
        traces[0].open("w") as to_coordinator,
        traces[1].open("w") as to_worker,
    ):
        # the coordinator takes its share of the read-ahead once the catalog is read,
        # so which connection sends which statement depends on timing: count both
        for conn, out in zip(backend.connections, (to_coordinator, to_worker), strict=True):
            conn.pgconn.trace(out.fileno())
        backend.catalog()
        found = backend.answer([KeyRange(QualifiedName("public", n), "id") for n in names])
        pids = ", ".join(str(conn.info.backend_pid) for conn in backend.connections)
        held = db.scalar(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
            f" WHERE l.pid IN ({pids}) AND c.relname ~ '^e[0-9]$'"
        )
        for conn in backend.connections:
            conn.pgconn.untrace()
    assert found == [(None, None)] * 4 + [(1, 1), (None, None)]
    assert held == 0, "the empty tables' locks are not kept"
    emptiness = [q for t in traces for q in sent_statements(t) if batches.EMPTY[:60] in q]
    assert len(emptiness) == 3, "six tables, two a statement"


def test_lock_weights_cover_what_reading_each_table_locks(db):
    """A batch stays in its lock budget only if each table's weight is at least what
    reading it locks: its indexes, its TOAST table and index, a partitioned table's
    whole tree. Plain tables are weighed from the tables query, partitioned ones by
    lock_weights.sql; both are checked against pg_locks after a read."""
    db.execute(
        "CREATE TABLE plain (id int PRIMARY KEY);"
        "CREATE TABLE wide (id int PRIMARY KEY, body text, code int UNIQUE);"
        "CREATE INDEX ON wide (body);"
        "CREATE TABLE split (id int, at date, note text) PARTITION BY RANGE (at);"
        "CREATE INDEX ON split (id);"
        "CREATE TABLE split_a PARTITION OF split FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');"
        "CREATE TABLE split_b PARTITION OF split FOR VALUES FROM ('2021-01-01') TO ('2022-01-01')"
        " PARTITION BY RANGE (id);"
        "CREATE TABLE split_b1 PARTITION OF split_b FOR VALUES FROM (0) TO (100);"
    )
    with open_backend(db.dsn, SessionSettings()) as backend:
        backend.catalog()
        weights = {name.name: locks for name, locks in backend._locks.items()}
    assert weights["plain"] == 2, "the table and its key"
    assert weights["wide"] == 1 + 3 + 2, "three indexes, the TOAST table and its index"
    for table in ("plain", "wide", "split", "split_a", "split_b", "split_b1"):
        with psycopg.connect(db.dsn, autocommit=False) as conn:
            conn.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE id > 0").format(sql.Identifier(table))
            )
            taken = conn.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                " WHERE l.pid = pg_backend_pid() AND c.relnamespace <> 'pg_catalog'::regnamespace"
            ).fetchone()[0]
            conn.rollback()
        assert weights[table] >= taken, f"{table}: weighed {weights[table]}, took {taken}"
    assert weights["split"] > weights["split_a"] + weights["split_b1"], "the whole tree"
