"""The work is pushed into the database: a constant number of catalog queries, whatever
the table count, and one query per check target. Counted from libpq's protocol trace."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import psycopg
import pytest

from restoregate.engines.postgres.probes import open_engine
from restoregate.engines.postgres.session import SessionSettings
from tests.gate import gate, logical, rule

TABLE = """
CREATE TABLE parent_{i} (id serial PRIMARY KEY);
CREATE TABLE child_{i} (id serial PRIMARY KEY, parent_id int REFERENCES parent_{i} (id));
"""


def sent(trace: Path) -> list[str]:
    """The SQL of every simple-query and extended-protocol statement the client sent."""
    messages = re.split(r"\n(?=\d{4}-\d\d-\d\d )", trace.read_text())
    found = [re.match(r"\S+ \S+\tF\t\d+\t(?:Query|Parse)\t(.*)", m, re.S) for m in messages]
    return [m.group(1) for m in found if m]


def statements(trace: Path) -> int:
    return len(sent(trace))


def catalog_statements(dsn: str, trace: Path) -> int:
    with open_engine(dsn, SessionSettings()) as backend, trace.open("w") as out:
        backend.connection.pgconn.trace(out.fileno())
        backend.catalog()
        backend.connection.pgconn.untrace()
    return statements(trace)


def test_catalog_queries_do_not_grow_with_tables(new_db, tmp_path):
    small, large = new_db(), new_db()
    small.execute(TABLE.format(i=0))
    large.execute("".join(TABLE.format(i=i) for i in range(60)))
    few = catalog_statements(small.dsn, tmp_path / "small.trace")
    many = catalog_statements(large.dsn, tmp_path / "large.trace")
    assert few == many
    assert 6 <= few <= 18, (
        "server, tables, columns, keys, sequences, feeds, FKs, FK operators (+ savepoints, jit)"
    )


def test_one_query_per_check_target(db, tmp_path, monkeypatch):
    db.execute(
        "".join(TABLE.format(i=i) for i in range(3))
        + """
        CREATE TABLE journals (user_id int);
        INSERT INTO journals VALUES (1);
    """
        + "".join(  # rows everywhere: empty tables are answered without a probe
            f"INSERT INTO parent_{i} DEFAULT VALUES; INSERT INTO child_{i} (parent_id) VALUES (1);"
            for i in range(3)
        )
    )
    original = open_engine

    def traced(dsn, settings):  # wrap only to switch libpq tracing on; the server is real
        cm = original(dsn, settings)
        backend = cm.__enter__()
        outs = []
        for i, conn in enumerate(backend.connections):  # the coordinator and its worker
            outs.append((tmp_path / f"run{i}.trace").open("w"))
            conn.pgconn.trace(outs[-1].fileno())

        class Wrapper:
            def __enter__(self):
                return backend

            def __exit__(self, *exc):
                for conn, out in zip(backend.connections, outs, strict=True):
                    conn.pgconn.untrace()
                    out.close()
                return cm.__exit__(*exc)

        return Wrapper()

    from restoregate import api

    report = api.run_check(db.dsn, rules=_rules(), engine_factory=traced)
    assert report.passed
    queries = [q for path in sorted(tmp_path.glob("run*.trace")) for q in sent(path)]
    # 6 sequence-fed columns, 4 references (3 FKs + 1 logical), 1 read of all positions
    key_range = re.compile(r'min\("[^".]+"\), max\(')
    assert sum(len(key_range.findall(q)) for q in queries) == 6, "one per sequence-fed column"
    assert sum(bool(key_range.search(q)) for q in queries) == 1, "all six (one type) at once"
    scans = [q for q in queries if "AS u WHERE NOT EXISTS" in q]
    assert len(scans) == 1, "the four references' orphan scans in one statement"
    assert scans[0].count("AS tag") == 4, "each reference tagged"
    assert scans[0].count("AS u WHERE NOT EXISTS") == 3, "parent_0 anti-joined once for two"
    assert sum("is_called" in q for q in queries) == 1, "all sequences in one statement"
    writes = re.compile(r'\s*"(INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|TRUNCATE)')
    assert not any(writes.match(q) for q in queries)


def _rules():
    from restoregate.rules.loader import load_rules_text

    return load_rules_text(logical("journals(user_id)", "parent_0(id)"), "t.yaml")


PAIR = """CREATE TABLE s{s}.parent_{i} (id bigserial PRIMARY KEY);
CREATE TABLE s{s}.child_{i} (id bigserial PRIMARY KEY, parent_id bigint REFERENCES s{s}.parent_{i});
"""


def large_schema(pairs: int) -> str:
    """One generated script; committed every 200 pairs, as creating it takes locks too."""
    parts = [f"CREATE SCHEMA s{s};" for s in range(10)]
    for start in range(0, pairs, 200):
        body = "".join(PAIR.format(s=i % 10, i=i) for i in range(start, min(pairs, start + 200)))
        parts.append(f"BEGIN;{body}COMMIT;")
    return "\n".join(parts)


def test_a_schema_larger_than_the_lock_table(db, pg_server):
    """Tables, their keys and sequences outnumber the server's shared lock table, yet no
    session of the run ever holds more than one batch's share of it (sampled from
    pg_locks by another session while the check runs)."""
    slots = int(
        db.scalar(
            "SELECT current_setting('max_locks_per_transaction')::int"
            " * (current_setting('max_connections')::int"
            " + current_setting('max_prepared_transactions')::int)"
        )
    )
    pairs = slots // 6 + 100  # six relations a pair: two tables, two keys, two sequences
    if pairs > 2_000:
        pytest.skip(f"a lock table of {slots} slots needs more tables than a test should build")
    db.execute(large_schema(pairs))
    relations = db.scalar(
        "SELECT count(*) FROM pg_class WHERE relnamespace::regnamespace::text ~ '^s[0-9]'"
    )
    assert relations > slots
    with LockWatch(db.dsn) as watch:
        report = gate(db.dsn)
    assert report.exit_code == 0, [r.message for r in report.rules]
    assert rule(report, "references").message.startswith(f"no orphans in {pairs:,} references")
    assert rule(report, "sequences").message == f"{2 * pairs:,} sequences ahead of every key"
    assert watch.samples > 10
    assert 0 < watch.most <= max(64, slots // 16) + 20, "a batch's budget, and its catalog locks"


class LockWatch:
    """Another session sampling the most locks any restoregate backend holds."""

    def __init__(self, dsn: str) -> None:
        self._dsn, self._stop = dsn, threading.Event()
        self.most = self.samples = 0
        self._thread = threading.Thread(target=self._watch)

    def __enter__(self) -> LockWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        query = (
            "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM pg_locks l"
            " JOIN pg_stat_activity a USING (pid)"
            " WHERE a.application_name = 'restoregate' AND a.datname = current_database()"
            " GROUP BY l.pid) AS per_session"
        )
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            while not self._stop.wait(0.01):  # many samples even of a fast check
                self.most = max(self.most, int(conn.execute(query).fetchone()[0]))
                self.samples += 1
