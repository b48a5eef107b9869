"""Case ``rows``: restoregate against the minimal SQL on a database of millions of rows.

Builds a synthetic *restored* database (``rows_build.py``), injects the faults a broken
restore leaves, then times restoregate's ``sequences`` and ``references`` checks against
the fewest hand-written queries that produce the same numbers (``minimal.py``),
alternately, and prints both medians and their ratio. Exits 1 if either side misses an
injected fault or the two disagree on any number or sample.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
from pathlib import Path

import psycopg

from benchmarks.common import drop_database, say, shout, timed, with_db
from benchmarks.findings import Findings, agree, compare, findings_from_report, restoregate_runner
from benchmarks.minimal import minimal_sql
from benchmarks.rows_build import Built, Expected, build, statistics_state, try_reuse
from benchmarks.rows_data import DATABASE, FEEDS, MIN_ROWS, REFERENCES, RULES, TARGET, ref_name


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows to build")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each side")
    parser.add_argument(
        "--database",
        default=DATABASE,
        help="the database to build (its source is built as NAME_src, then dropped)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="use --database as it is if this script built it with the same --rows and "
        "analyze setting and it still holds those rows (implies --keep)",
    )
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="measure the database as pg_restore leaves it: no VACUUM ANALYZE, and autovacuum "
        "off for its tables (default: VACUUM ANALYZE, for stable plans)",
    )
    parser.add_argument(
        "--direct",
        action="store_true",
        help="build the database directly instead of dumping and restoring a source database",
    )
    parser.add_argument("--jobs", type=int, default=2, help="pg_restore --jobs")
    parser.add_argument(
        "--mass-orphans",
        action="store_true",
        help="then delete every account (session_replication_role = replica): millions of "
        "orphans, the case where sorting them for the sample costs most",
    )
    parser.add_argument("--target", type=float, default=TARGET, help="ratio to stay under")
    parser.add_argument(
        "--mode",
        choices=["auto", "api", "cli"],
        default="auto",
        help="how to run restoregate: in process (api), as `python -m restoregate check` "
        "(cli), or the API when it exists (auto)",
    )


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.rows < MIN_ROWS:
        parser.error(f"--rows must be at least {MIN_ROWS:,} for the faults to fit")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.reuse:
        args.keep = True
    if args.reuse and not args.dsn and not args.pgdata:
        parser.error("--reuse needs a server that outlives the run: --dsn or --pgdata")


def mass_orphans(dsn: str) -> None:
    """Every account gone: all orders and journals are orphans (4 M rows at 10 M)."""
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("DELETE FROM accounts")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE accounts")


def print_build(built: Built, admin_dsn: str, database: str) -> None:
    total = sum(built.counts.values())
    children = total - built.counts["accounts"]
    if built.how == "reused":
        say(f"database   {database}: reused (--reuse), built earlier by this script")
    else:
        phases = ", ".join(f"{k} {v:.1f}" for k, v in built.phases.items())
        say(
            f"database   {database}: built by {built.how} in "
            f"{sum(built.phases.values()):.1f} s ({phases})"
        )
    say(f"rows       {total:,} ({children / total:.0%} in tables that reference another)")
    say("           " + ", ".join(f"{t} {n:,}" for t, n in built.counts.items()))
    with_stats, tables = statistics_state(with_db(admin_dsn, database))
    state = "analyzed (VACUUM ANALYZE after the restore)" if built.analyzed else "not analyzed"
    say(f"statistics {state}: {with_stats} of {tables} tables have pg_stats rows")


def print_faults(expected: Expected, ours: Findings, theirs: Findings) -> None:
    def pair(value: tuple[int, int] | None) -> str:
        return "0" if value is None else f"{value[0]:,}/{value[1]:,}"

    say("")
    say(f"{'faults: orphans/reassignable':<64}{'injected':>12}{'restoregate':>13}{'by hand':>13}")
    for child, column, parent, key, kind in REFERENCES:
        ref = ref_name(child, column, parent, key)
        label = f"{child}({column}) -> {parent}({key}) [{kind}]"
        want = expected.orphans.get(ref)
        say(
            f"  {label:<62}{pair(want):>12}{pair(ours.orphans.get(ref)):>13}"
            f"{pair(theirs.orphans.get(ref)):>13}"
        )
    for seq in FEEDS:
        name = f"public.{seq}"
        want_seq = expected.behind.get(name)
        if want_seq is None and name not in ours.behind and name not in theirs.behind:
            continue
        label = f"{seq} behind" + (
            f": next {want_seq[1]:,}, {want_seq[3].split('.', 1)[1]} has {want_seq[2]:,}"
            if want_seq
            else ""
        )
        mine, base = verdict(ours, name, want_seq), verdict(theirs, name, want_seq)
        say(f"  {label:<62}{'yes' if want_seq else 'no':>12}{mine:>13}{base:>13}")


def verdict(found: Findings, sequence: str, want: tuple[str, int, int, str] | None) -> str:
    got = found.behind.get(sequence)
    return "no" if got is None else ("yes" if got == want else "WRONG")


def run(admin_dsn: str, args: argparse.Namespace) -> int:
    """Build (or reuse) the database, check both sides agree, time them alternately."""
    analyze = not args.no_analyze
    built = try_reuse(admin_dsn, args.database, args.rows, analyze) if args.reuse else None
    if built is None:
        say(f"building   {args.rows:,} rows ...")
        built = build(admin_dsn, args.database, args.rows, analyze, args.direct, args.jobs)
    dsn = with_db(admin_dsn, args.database)
    if args.mass_orphans:
        mass_orphans(dsn)
    print_build(built, admin_dsn, args.database)
    mode, check = restoregate_runner(args.mode)
    say(f"checker    restoregate via {mode}")

    with tempfile.TemporaryDirectory(prefix="rg-bench-rules-") as tmp:
        rules = Path(tmp) / "bench.yaml"
        rules.write_text(RULES)
        # warm-up: caches, hint bits, and the correctness check of both sides
        report = check(dsn, rules)
        ours = findings_from_report(report)
        theirs = minimal_sql(dsn)
        with contextlib.suppress(psycopg.Error), psycopg.connect(admin_dsn) as conn:
            conn.execute("CHECKPOINT")  # flush what the first scans dirtied
        ours_s: list[float] = []
        theirs_s: list[float] = []
        per_query: dict[str, float] = {}
        per_rule: dict[str, float] = {}
        for i in range(args.repeat):  # alternating, ABBA, so drift hits both sides alike
            order = ["rg", "sql"] if i % 2 == 0 else ["sql", "rg"]
            for side in order:
                if side == "rg":
                    seconds, report = timed(lambda: check(dsn, rules))
                    ours_s.append(seconds)
                    for rule in report["rules"]:
                        per_rule[rule["id"]] = per_rule.get(rule["id"], 0.0) + rule["duration_s"]
                    found = findings_from_report(report)
                    if (found.orphans, found.behind) != (ours.orphans, ours.behind):
                        ours.problems.append(f"run {i + 1} found something else: {found}")
                else:
                    seconds, _ = timed(lambda: minimal_sql(dsn, per_query))
                    theirs_s.append(seconds)

    print_faults(built.expected, ours, theirs)
    problems = agree(ours, theirs)
    benchmark_bugs: list[str] = []
    if args.mass_orphans:
        say("  (mass orphans: every account deleted; the sides must agree with each other)")
    else:
        problems += compare("restoregate", ours, built.expected)
        benchmark_bugs = compare("hand-written SQL", theirs, built.expected)
    same = "same" if ours.samples == theirs.samples else "DIFFERENT"
    say(f"  samples (20 smallest orphaned keys per reference): {same} on both sides")

    mine, base = statistics.median(ours_s), statistics.median(theirs_s)
    say("")
    say(f"timing: median of {args.repeat} alternating runs, after one warm-up of each")
    say(f"  {'':22}{'median s':>10}{'min s':>8}{'max s':>8}")
    say(f"  {'restoregate':22}{mine:>10.3f}{min(ours_s):>8.3f}{max(ours_s):>8.3f}")
    say(f"  {'hand-written SQL':22}{base:>10.3f}{min(theirs_s):>8.3f}{max(theirs_s):>8.3f}")
    rules_text = ", ".join(f"{k} {v / args.repeat:.2f}" for k, v in per_rule.items())
    say(f"  restoregate per rule (mean s): {rules_text}")
    top = sorted(per_query.items(), key=lambda kv: -kv[1])[:4]
    say(
        "  hand-written, slowest (mean s): "
        + ", ".join(f"{k} {v / args.repeat:.2f}" for k, v in top[:2])
    )
    say(
        "                                  "
        + ", ".join(f"{k} {v / args.repeat:.2f}" for k, v in top[2:])
    )
    for problem in problems + benchmark_bugs:
        shout(problem)
    if problems:
        shout(f"restoregate did not report exactly the injected faults ({len(problems)})")
    if benchmark_bugs:
        shout("the hand-written baseline disagrees with the injected faults: a benchmark bug")
    say(f"ratio: {mine / base:.2f} (target ≤ {args.target})")
    return 1 if problems or benchmark_bugs else 0


def finish(admin_dsn: str, keep: bool, database: str = DATABASE) -> None:
    if keep:
        say(f"kept       {with_db(admin_dsn, database)}")
        return
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        drop_database(admin, database)
