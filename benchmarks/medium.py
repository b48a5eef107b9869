"""Case ``medium``: many medium tables, ``check --jobs 1`` beside ``--jobs 2``.

Half the tables are parents (``bigserial`` key), half children with a foreign key to
one parent; each holds ``--rows`` rows, children referencing existing parents, so the
check is clean and every anti-join does full work. Both job counts run alternately on
the same database; the target is ``--jobs 2`` at most 0.75x the wall time of
``--jobs 1`` on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess

import psycopg

from benchmarks.common import (
    BenchError,
    Measured,
    create_database,
    drop,
    measure,
    restoregate_command,
    say,
    scalar,
    stopwatch,
    with_db,
)

DATABASE = "rg_bench_medium"
TARGET = 0.75
PAIR = """
CREATE TABLE parent_{i} (id bigserial PRIMARY KEY, note text);
CREATE TABLE child_{i} (id bigserial PRIMARY KEY, parent_id bigint NOT NULL, note text);
INSERT INTO parent_{i} (note) SELECT 'p' || g FROM generate_series(1, {rows}) AS g;
INSERT INTO child_{i} (parent_id, note)
    SELECT 1 + (g * 7919) % {rows}, 'c' || g FROM generate_series(1, {rows}) AS g;
ALTER TABLE child_{i} ADD FOREIGN KEY (parent_id) REFERENCES parent_{i} (id);
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tables", type=int, default=300, help="tables (half of them parents)")
    parser.add_argument("--rows", type=int, default=100_000, help="rows per table")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each job count")
    parser.add_argument("--reuse", action="store_true", help="keep the database if built")


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.tables < 2 or args.rows < 1 or args.repeat < 1:
        parser.error("--tables at least 2, --rows and --repeat at least 1")


def build(admin_dsn: str, tables: int, rows: int, reuse: bool) -> str:
    dsn = with_db(admin_dsn, DATABASE)
    marker = f"{tables} tables of {rows} rows"
    if reuse:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                found = scalar(
                    conn,
                    "SELECT shobj_description(oid, 'pg_database')"
                    " FROM pg_database WHERE datname = current_database()",
                )
            if found == marker:
                return dsn
        except psycopg.OperationalError:
            pass
    dsn = create_database(admin_dsn, DATABASE)
    phases: dict[str, float] = {}
    with stopwatch(phases, "build"), psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        for i in range(tables // 2):
            with conn.transaction():
                conn.execute(PAIR.format(i=i, rows=rows).encode())
        conn.execute("VACUUM ANALYZE")
        conn.execute(f"COMMENT ON DATABASE {DATABASE} IS '{marker}'".encode())
    say(f"built      {marker} in {phases['build']:.1f} s")
    return dsn


def supports_jobs() -> bool:
    result = subprocess.run(restoregate_command("check", "--help"), capture_output=True, text=True)
    return "--jobs" in result.stdout


def check(dsn: str, jobs: int) -> Measured:
    measured = measure(
        restoregate_command("check", "--dsn", dsn, "--format", "json", "--jobs", str(jobs))
    )
    if measured.returncode != 0:
        tail = measured.stderr.strip().splitlines()[-1:]
        raise BenchError(f"check --jobs {jobs} exited {measured.returncode}: {tail}")
    json.loads(measured.stdout)
    return measured


def run(admin_dsn: str, args: argparse.Namespace) -> int:
    """Build, then time --jobs 1 and --jobs 2 alternately (ABBA) after a warm-up."""
    if not supports_jobs():
        raise BenchError("this restoregate has no check --jobs: nothing to compare")
    dsn = build(admin_dsn, args.tables, args.rows, args.reuse)
    check(dsn, 1)  # warm-up: caches and hint bits
    times: dict[int, list[float]] = {1: [], 2: []}
    for i in range(args.repeat):
        for jobs in (1, 2) if i % 2 == 0 else (2, 1):
            times[jobs].append(check(dsn, jobs).seconds)
    one, two = statistics.median(times[1]), statistics.median(times[2])
    say(
        f"check --jobs 1: median {one:.2f} s; --jobs 2: median {two:.2f} s "
        f"(of {args.repeat} alternating runs)"
    )
    say(f"ratio: {two / one:.2f} (target ≤ {TARGET})")
    if not args.keep:
        drop(admin_dsn, DATABASE)
    return 0
