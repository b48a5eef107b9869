"""Case ``schema``: restoregate on schemas of thousands of empty tables, beside pg_dump.

Each size is a database of N tables in 20 schemas, built by one generated SQL script
(committed every 250 tables: creating them takes locks too): every table has a
``bigserial`` key and, but for each schema's first, one foreign key to the table before
it, as in the issue's synthetic 10,068-table case. Per size, in one run:
``pg_dump --schema-only`` of the database and ``restoregate check`` with the built-in
rules, both as processes (wall time, peak RSS, exit code), each once to warm up and then
``--repeat`` times alternately; medians are reported. Targets: at the largest size
the check takes at most pg_dump's time and exits 0; from the smallest to the 4x size
the check's time grows at most 4.5x.
"""

from __future__ import annotations

import argparse
import json

import psycopg

from benchmarks.common import (
    BenchError,
    Measured,
    create_database,
    drop,
    measure,
    pg_dump_schema_only,
    restoregate_command,
    say,
    scalar,
    server_major,
    shout,
    stopwatch,
    with_db,
)

SCHEMAS = 20
CHUNK = 250  # tables per transaction while building
TABLE = "CREATE TABLE s{s}.t_{i} (id bigserial PRIMARY KEY, note text{fk});\n"
FK = ", parent_id bigint REFERENCES s{s}.t_{p} (id)"
GROWTH_TARGET = 4.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tables",
        type=int,
        nargs="+",
        default=[2_000, 8_000, 10_000],
        help="schema sizes to build and measure (the growth ratio compares the first with "
        "the one four times its size, when given)",
    )
    parser.add_argument("--reuse", action="store_true", help="keep databases already built")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="timed runs of each side per size, alternating (ABBA), after one warm-up of each",
    )
    parser.add_argument("--jobs", help="pass --jobs to restoregate check (when it has it)")


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if min(args.tables) < SCHEMAS:
        parser.error(f"--tables: at least {SCHEMAS}, one per schema")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")


def script(tables: int) -> list[str]:
    """The schema, in transactions of CHUNK tables."""
    per_schema = -(-tables // SCHEMAS)
    statements = [f"CREATE SCHEMA s{s};\n" for s in range(SCHEMAS)]
    for n in range(tables):
        s, i = divmod(n, per_schema)
        fk = FK.format(s=s, p=i - 1) if i else ""
        statements.append(TABLE.format(s=s, i=i, fk=fk))
    return ["".join(statements[k : k + CHUNK]) for k in range(0, len(statements), CHUNK)]


def built_tables(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return int(
            scalar(
                conn,
                "SELECT count(*) FROM pg_class WHERE relkind = 'r'"
                " AND relnamespace::regnamespace::text ~ '^s[0-9]+$'",
            )
        )


def build(admin_dsn: str, tables: int, reuse: bool) -> tuple[str, float | None]:
    name = f"rg_bench_schema_{tables}"
    dsn = with_db(admin_dsn, name)
    if reuse:
        try:
            if built_tables(dsn) == tables:
                return dsn, None
        except psycopg.OperationalError:
            pass  # not there yet
    dsn = create_database(admin_dsn, name)
    phases: dict[str, float] = {}
    with stopwatch(phases, "build"), psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        for chunk in script(tables):
            with conn.transaction():
                conn.execute(chunk.encode())
        conn.execute("VACUUM ANALYZE")
    return dsn, phases["build"]


def check(dsn: str, jobs: str | None) -> Measured:
    extra = ["--jobs", jobs] if jobs else []
    return measure(restoregate_command("check", "--dsn", dsn, "--format", "json", *extra))


def verdict(measured: Measured) -> str:
    try:
        report = json.loads(measured.stdout)
    except ValueError:
        return f"exit {measured.returncode}: {measured.stderr.strip().splitlines()[-1:]}"
    summary = report["summary"]
    return f"exit {measured.returncode} ({summary['pass']} pass, {summary['error']} error)"


def measure_pair(dsn: str, major: int, jobs: str | None, repeat: int) -> tuple[Measured, Measured]:
    """pg_dump and check, each warmed up once (the first reads after a build pay for cold
    catalog caches), then ``repeat`` alternating runs: the median run of each side."""
    runs: dict[str, list[Measured]] = {"dump": [], "check": []}
    for i in range(repeat + 1):
        for side in ("dump", "check") if i % 2 == 0 else ("check", "dump"):
            found = pg_dump_schema_only(dsn, major) if side == "dump" else check(dsn, jobs)
            if side == "dump" and found.returncode != 0:
                raise BenchError(f"pg_dump --schema-only failed: {found.stderr.strip()}")
            if i:  # the first round is the warm-up
                runs[side].append(found)
    spread = {side: [m.seconds for m in found] for side, found in runs.items()}
    say(
        "         runs: pg_dump "
        + ", ".join(f"{t:.2f}" for t in spread["dump"])
        + "; check "
        + ", ".join(f"{t:.2f}" for t in spread["check"])
    )
    dump = sorted(runs["dump"], key=lambda m: m.seconds)[len(runs["dump"]) // 2]
    checked = sorted(runs["check"], key=lambda m: m.seconds)[len(runs["check"]) // 2]
    return dump, checked


def run(admin_dsn: str, args: argparse.Namespace) -> int:
    """Build each size, then pg_dump --schema-only and restoregate check on it."""
    major = server_major(admin_dsn)
    results: dict[int, tuple[Measured, Measured]] = {}
    say(
        f"{'tables':>8} {'build s':>8} {'pg_dump -s':>11} {'check s':>8} {'ratio':>6} "
        f"{'check RSS':>10}  verdict   (medians of {args.repeat} alternating runs)"
    )
    for tables in sorted(args.tables):
        dsn, built = build(admin_dsn, tables, args.reuse)
        dump, checked = measure_pair(dsn, major, args.jobs, args.repeat)
        results[tables] = (dump, checked)
        say(
            f"{tables:>8,} {'reused' if built is None else f'{built:.1f}':>8} "
            f"{dump.seconds:>11.2f} {checked.seconds:>8.2f} "
            f"{checked.seconds / dump.seconds:>6.2f} {checked.peak_rss_mb:>7.0f} MB  "
            f"{verdict(checked)}"
        )
        if not args.keep:
            drop(admin_dsn, f"rg_bench_schema_{tables}")
    return judge(results)


def judge(results: dict[int, tuple[Measured, Measured]]) -> int:
    failed = False
    largest = max(results)
    dump, checked = results[largest]
    if checked.returncode != 0:
        shout(f"{largest:,} tables: check exited {checked.returncode}, a clean schema must pass")
        failed = True
    say(
        f"at {largest:,} tables: check {checked.seconds:.2f} s, pg_dump --schema-only "
        f"{dump.seconds:.2f} s (target: check ≤ pg_dump), peak RSS {checked.peak_rss_mb:.0f} MB"
        " (target < 150 MB)"
    )
    smallest = min(results)
    if 4 * smallest in results:
        growth = results[4 * smallest][1].seconds / results[smallest][1].seconds
        say(
            f"growth {smallest:,} -> {4 * smallest:,} tables: {growth:.2f}x "
            f"(target ≤ {GROWTH_TARGET})"
        )
    return 1 if failed else 0
