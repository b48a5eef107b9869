"""Building the row-heavy case's database the real way: a source database, ``pg_dump
-Fc``, ``pg_restore -j``; then the faults, and what they must make a report say."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from benchmarks.common import (
    client_tool,
    drop_database,
    run_tool,
    say,
    scalar,
    script,
    stopwatch,
    with_db,
)
from benchmarks.rows_data import (
    ACCOUNTS_BEHIND,
    CONSTRAINTS,
    FAULTS,
    FAULTS_AFTER_ORDERS,
    FORMAT,
    GAP,
    JOURNAL_ORPHANS_AHEAD,
    JOURNAL_ORPHANS_GONE,
    LEAVES,
    LINE_ORPHANS_LEGACY,
    LOAD,
    ORDER_ORPHANS_AHEAD,
    ORDER_ORPHANS_GONE,
    PAYMENT_ORPHANS_AHEAD,
    PAYMENT_ORPHANS_GONE,
    SCHEMA,
    SHARES,
    ref_name,
)


@dataclass
class Expected:
    """What was injected: restoregate's report must say exactly this."""

    orphans: dict[str, tuple[int, int]]  # reference -> (orphans, reassignable)
    behind: dict[str, tuple[str, int, int, str]]  # sequence -> (column, next, max, max source)

    def to_json(self) -> dict[str, Any]:
        return {"orphans": self.orphans, "behind": self.behind}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Expected:
        return cls(
            {k: (int(v[0]), int(v[1])) for k, v in data["orphans"].items()},
            {k: (str(v[0]), int(v[1]), int(v[2]), str(v[3])) for k, v in data["behind"].items()},
        )


@dataclass
class Built:
    expected: Expected
    counts: dict[str, int]
    how: str  # "dump/restore", "direct" or "reused"
    analyzed: bool
    phases: dict[str, float] = field(default_factory=dict)


def table_sizes(rows: int) -> dict[str, int]:
    return {table: int(rows * share) for table, share in SHARES.items()}


def build_source(dsn: str, rows: int, *, no_autovacuum: bool) -> None:
    sizes = table_sizes(rows)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET synchronous_commit = off")
        conn.execute(SCHEMA.encode())
        if no_autovacuum:
            disable_autovacuum(conn)
        load = script(
            LOAD, gap=GAP, gap1=GAP - 1, line_orphans=LINE_ORPHANS_LEGACY, **sizes
        )  # one transaction: the load is all or nothing
        with conn.transaction():
            conn.execute(load)
        conn.execute(CONSTRAINTS.encode())


def disable_autovacuum(conn: psycopg.Connection[Any]) -> None:
    """Keep a deliberately unanalyzed database unanalyzed while it is measured."""
    for table in LEAVES:
        conn.execute(
            sql.SQL(
                "ALTER TABLE {} SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)"
            ).format(sql.Identifier(table))
        )


def inject_faults(dsn: str) -> Expected:
    with psycopg.connect(dsn, autocommit=True) as conn:
        accounts_max = int(scalar(conn, "SELECT max(id) FROM accounts"))
        accounts_next = accounts_max - ACCOUNTS_BEHIND + 1
        with conn.transaction():
            conn.execute(
                script(
                    FAULTS,
                    gap=GAP,
                    accounts_next=accounts_next,
                    accounts_max=accounts_max,
                    order_gone=ORDER_ORPHANS_GONE,
                    order_ahead=ORDER_ORPHANS_AHEAD,
                )
            )
            orders_last = int(scalar(conn, "SELECT last_value FROM orders_id_seq"))
            conn.execute(
                script(
                    FAULTS_AFTER_ORDERS,
                    gap=GAP,
                    accounts_max=accounts_max,
                    orders_last=orders_last,
                    payment_gone=PAYMENT_ORPHANS_GONE,
                    payment_ahead=PAYMENT_ORPHANS_AHEAD,
                    journal_gone=JOURNAL_ORPHANS_GONE,
                    journal_ahead=JOURNAL_ORPHANS_AHEAD,
                )
            )
    # Every "gone" key is a multiple of GAP far below the sequences; every "ahead" key is
    # beyond them, so exactly the "ahead" orphans are reassignable.
    assert GAP * max(ORDER_ORPHANS_GONE, JOURNAL_ORPHANS_GONE) < accounts_next
    return Expected(
        orphans={
            ref_name("orders", "account_id", "accounts", "id"): (
                ORDER_ORPHANS_GONE + ORDER_ORPHANS_AHEAD,
                ORDER_ORPHANS_AHEAD,
            ),
            ref_name("order_lines", "order_id", "orders", "id"): (LINE_ORPHANS_LEGACY, 0),
            ref_name("payments", "order_id", "orders", "id"): (
                PAYMENT_ORPHANS_GONE + PAYMENT_ORPHANS_AHEAD,
                PAYMENT_ORPHANS_AHEAD,
            ),
            ref_name("journals", "user_id", "accounts", "id"): (
                JOURNAL_ORPHANS_GONE + JOURNAL_ORPHANS_AHEAD,
                JOURNAL_ORPHANS_AHEAD,
            ),
        },
        behind={
            "public.accounts_id_seq": (
                "public.accounts.id",
                accounts_next,
                accounts_max + JOURNAL_ORPHANS_AHEAD,
                "public.journals.user_id",
            ),
            "public.orders_id_seq": (
                "public.orders.id",
                orders_last + 1,
                orders_last + PAYMENT_ORPHANS_AHEAD,
                "public.payments.order_id",
            ),
        },
    )


def count_rows(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        counts = {
            table: int(
                scalar(conn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            )
            for table in SHARES
        }
    return counts


def statistics_state(dsn: str) -> tuple[int, int]:
    """(tables with column statistics, tables): ANALYZE, not CREATE INDEX, writes pg_stats."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        with_stats = scalar(
            conn,
            "SELECT count(DISTINCT tablename) FROM pg_stats"
            " WHERE schemaname = 'public' AND tablename = ANY (%s)",
            (LEAVES,),
        )
    return int(with_stats), len(LEAVES)


def manifest(conn: psycopg.Connection[Any], database: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        (database,),
    ).fetchone()
    if row is None or not row[0]:
        return None
    try:
        data: dict[str, Any] = json.loads(row[0])
    except ValueError:
        return None
    return data if data.get("restoregate_bench") == FORMAT else None


def try_reuse(admin_dsn: str, database: str, rows: int, analyze: bool) -> Built | None:
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        found = manifest(admin, database)
    if found is None:
        say(f"--reuse: no {database} built by this script (format {FORMAT}): building it")
        return None
    if found["rows"] != rows or found["analyzed"] != analyze:
        say(
            f"--reuse: {database} was built with --rows {found['rows']:,}, "
            f"{'analyzed' if found['analyzed'] else 'not analyzed'}: rebuilding it"
        )
        return None
    counts = count_rows(with_db(admin_dsn, database))
    if counts != found["counts"]:
        say(f"--reuse: {database} no longer holds the rows it was built with: rebuilding it")
        return None
    return Built(Expected.from_json(found["expected"]), counts, "reused", analyze)


def build(
    admin_dsn: str, database: str, rows: int, analyze: bool, direct: bool, jobs: int
) -> Built:
    source_db = database + "_src"  # built, dumped and dropped again
    phases: dict[str, float] = {}
    target = with_db(admin_dsn, database)
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        major = int(scalar(admin, "SHOW server_version_num")) // 10000
        for name in (database, source_db):
            drop_database(admin, name)
        dump_tool, restore_tool = client_tool("pg_dump", major), client_tool("pg_restore", major)
        if not direct and (dump_tool is None or restore_tool is None):
            say(f"no pg_dump/pg_restore {major} found: building {database} directly")
            direct = True
        admin.execute(
            sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database if direct else source_db))
        )
    if direct:
        with stopwatch(phases, "build"):
            build_source(target, rows, no_autovacuum=not analyze)
        how = "direct"
    else:
        assert dump_tool is not None and restore_tool is not None
        source = with_db(admin_dsn, source_db)
        with stopwatch(phases, "build source"):
            build_source(source, rows, no_autovacuum=False)
        with tempfile.TemporaryDirectory(prefix="rg-bench-") as tmp:
            archive = str(Path(tmp) / "source.dump")
            with stopwatch(phases, "pg_dump -Fc"):
                run_tool([str(dump_tool), "-Fc", "-Z", "0", "-f", archive, "--dbname", source])
            with psycopg.connect(admin_dsn, autocommit=True) as admin:
                drop_database(admin, source_db)
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            env = dict(os.environ, PGOPTIONS="-c maintenance_work_mem=512MB")
            restore = [str(restore_tool), "--exit-on-error", "--no-owner", "--dbname", target]
            with stopwatch(phases, f"pg_restore -j {jobs}"):
                run_tool([*restore, "--section=pre-data", archive], env)
                if not analyze:  # before any row arrives, so autovacuum cannot analyze them
                    with psycopg.connect(target, autocommit=True) as conn:
                        disable_autovacuum(conn)
                run_tool(
                    [*restore, "--section=data", "--section=post-data", "-j", str(jobs), archive],
                    env,
                )
        how = "dump/restore"
    with stopwatch(phases, "faults"):
        expected = inject_faults(target)
    with psycopg.connect(target, autocommit=True) as conn:
        if analyze:
            with stopwatch(phases, "vacuum analyze"):
                conn.execute("VACUUM ANALYZE")
        with contextlib.suppress(psycopg.Error):  # needs superuser or pg_checkpoint
            conn.execute("CHECKPOINT")
    counts = count_rows(target)
    record = {
        "restoregate_bench": FORMAT,
        "rows": rows,
        "analyzed": analyze,
        "counts": counts,
        "expected": expected.to_json(),
    }
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(database), sql.Literal(json.dumps(record))
            )
        )
    return Built(expected, counts, how, analyze, phases)
