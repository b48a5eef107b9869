"""``python -m benchmarks CASE [options]``: build the case's database, measure, report.

Every case runs on ``--dsn`` (any database on the server; the case creates its own next
to it) or, without one, on a throwaway embedded PostgreSQL 18. Exit 0: measured, and
every finding was right; 1: a wrong finding; 2: a setup failure.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from types import ModuleType

import psycopg
from psycopg.conninfo import conninfo_to_dict

from benchmarks import medium, rows, rules, samples, schema
from benchmarks.common import (
    BenchError,
    compile_bytecode,
    embedded_server,
    load_average,
    say,
    server_facts,
    shout,
)

CASES: dict[str, ModuleType] = {
    "rows": rows,
    "schema": schema,
    "medium": medium,
    "rules": rules,
    "samples": samples,
}


def parse_args(argv: list[str] | None = None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    cases = parser.add_subparsers(dest="case", required=True)
    for name, module in CASES.items():
        sub = cases.add_parser(
            name,
            help=(module.__doc__ or "").splitlines()[0],
            description=module.__doc__,
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        sub.add_argument(
            "--dsn", help="server to use (default: a throwaway embedded PostgreSQL 18)"
        )
        sub.add_argument("--keep", action="store_true", help="keep the databases afterwards")
        sub.add_argument("--pgdata", help="without --dsn: a persistent embedded server here")
        module.add_arguments(sub)
    args = parser.parse_args(argv)
    CASES[args.case].check_arguments(parser, args)
    return parser, args


def describe_server(dsn: str) -> None:
    facts = server_facts(dsn)
    say(
        f"server     PostgreSQL {facts['server_version']} (shared_buffers "
        f"{facts['shared_buffers']}, work_mem {facts['work_mem']}, parallel workers/gather "
        f"{facts['max_parallel_workers_per_gather']}, jit {facts['jit']})"
    )


def run(dsn: str, args: argparse.Namespace) -> int:
    describe_server(dsn)
    say(compile_bytecode())
    say(f"machine    {load_average()} (before)")
    code: int = CASES[args.case].run(dsn, args)
    say(f"machine    {load_average()} (after)")
    if args.case == "rows" and (args.pgdata or args.keep or args.dsn):
        rows.finish(dsn, args.keep, args.database)
    return code


def main(argv: list[str] | None = None) -> int:
    _, args = parse_args(argv)
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
    try:
        if not getattr(CASES[args.case], "NEEDS_SERVER", True):
            code: int = CASES[args.case].run(None, args)
            return code
        if args.dsn:
            conninfo_to_dict(args.dsn)  # a malformed DSN fails here, with one line
            return run(args.dsn, args)
        with embedded_server(args) as dsn:
            return run(dsn, args)
    except (BenchError, psycopg.Error) as exc:
        shout(f"benchmark failed: {str(exc).strip().splitlines()[0]}")
        return 2
    except KeyboardInterrupt:
        shout("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
