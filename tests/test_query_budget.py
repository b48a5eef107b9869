"""The work is pushed into the database: a constant number of catalog queries, whatever
the table count, and one query per check target. Counted from libpq's protocol trace."""

from __future__ import annotations

import re
from pathlib import Path

from restoregate.engines.postgres.probes import open_engine
from restoregate.engines.postgres.session import SessionSettings
from tests.gate import logical

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
    assert 6 <= few <= 13, "server, tables, columns, keys, sequences, feeds, FKs (+ savepoints)"


def test_one_query_per_check_target(db, tmp_path, monkeypatch):
    db.execute(
        "".join(TABLE.format(i=i) for i in range(3))
        + """
        CREATE TABLE journals (user_id int);
    """
    )
    trace = tmp_path / "run.trace"
    original = open_engine

    def traced(dsn, settings):  # wrap only to switch libpq tracing on; the server is real
        cm = original(dsn, settings)
        backend = cm.__enter__()
        out = trace.open("w")
        backend.connection.pgconn.trace(out.fileno())

        class Wrapper:
            def __enter__(self):
                return backend

            def __exit__(self, *exc):
                backend.connection.pgconn.untrace()
                out.close()
                return cm.__exit__(*exc)

        return Wrapper()

    from restoregate import api

    report = api.run_check(db.dsn, rules=_rules(), engine_factory=traced)
    assert report.passed
    queries = sent(trace)
    # 6 sequence-fed columns, 4 references (3 FKs + 1 logical), 1 read of all positions
    assert sum("SELECT min(" in q for q in queries) == 6
    assert sum("sum(count(*)) OVER" in q for q in queries) == 4
    assert sum("is_called" in q for q in queries) == 1, "all sequences in one statement"
    writes = re.compile(r'\s*"(INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|TRUNCATE)')
    assert not any(writes.match(q) for q in queries)


def _rules():
    from restoregate.rules.loader import load_rules_text

    return load_rules_text(logical("journals(user_id)", "parent_0(id)"), "t.yaml")
