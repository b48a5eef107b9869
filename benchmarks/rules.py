"""Case ``rules``: loading a rules file of many rules, in time linear in its size.

No database: builds rules files of ``--rules`` rules and of a quarter of that, times
``load_rules_text`` on each (median of ``--repeat``) and prints the growth. Target: the
full file in at most ``--target`` seconds, and four times the rules in at most 4.5x the
time. (The test suite checks the same linearity by counting the loader's Python-level
work, not by the clock.)
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks.common import say, shout

NEEDS_SERVER = False
GROWTH = 4.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rules", type=int, default=20_000, help="rules in the big file")
    parser.add_argument("--repeat", type=int, default=3, help="timed loads of each file")
    parser.add_argument("--target", type=float, default=10.0, help="seconds for the big file")


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.rules < 4 or args.repeat < 1:
        parser.error("--rules at least 4, --repeat at least 1")


def rules_text(n: int) -> str:
    return "version: 1\nrules:\n" + "".join(
        f"  - {{id: r{i}, check: sequences}}\n" for i in range(n)
    )


def load_seconds(n: int, repeat: int) -> float:
    from restoregate.rules.loader import load_rules_text

    text = rules_text(n)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        loaded = load_rules_text(text, "bench.yaml")
        times.append(time.perf_counter() - started)
        if len(loaded.rules) != n:
            raise AssertionError(f"loaded {len(loaded.rules)} rules of {n}")
    return statistics.median(times)


def run(_dsn: str | None, args: argparse.Namespace) -> int:
    small, big = args.rules // 4, args.rules
    load_seconds(10, 1)  # warm-up: imports
    quarter, full = load_seconds(small, args.repeat), load_seconds(big, args.repeat)
    growth = full / quarter if quarter else float("inf")
    say(f"rules      {small:,}: {quarter:.2f} s; {big:,}: {full:.2f} s (median of {args.repeat})")
    say(f"growth     {growth:.2f}x for 4x the rules (target ≤ {GROWTH}x)")
    verdict = "met" if full <= args.target else "MISSED"
    say(f"target     {big:,} rules in ≤ {args.target:.1f} s: {verdict}")
    if full > args.target or growth > GROWTH:
        shout("the loader is slower than its target")
        return 1
    return 0
