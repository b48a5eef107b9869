"""``python benchmarks/startup.py [--runs N] [--budget MS]``: how fast ``--version`` and
``--help`` answer (the issue's budget: 150 ms), as whole processes.

Each command runs once to warm the file cache, then ``--runs`` times; printed are the
median wall time and the median CPU time (user + sys, from the kernel's accounting of
the child), which a loaded machine inflates far less than wall time. Exit 1 when a
median CPU time is over the budget; tests/test_conventions.py keeps the reason (no heavy
module imported) without a stopwatch.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = (["--version"], ["--help"], ["check", "--help"], ["verify-dump", "--help"])


def restoregate() -> str:
    beside = Path(sys.executable).with_name("restoregate")
    found = str(beside) if beside.exists() else shutil.which("restoregate")
    if found is None:
        sys.exit("no restoregate on PATH or beside this python: pip install -e . first")
    return found


def measure(command: list[str], runs: int) -> tuple[float, float]:
    """Median wall and median user+sys seconds of ``command`` as a whole process."""
    walls, cpus = [], []
    for index in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if index:  # the first run only warms the cache
            walls.append(wall)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--budget", type=float, default=150.0, help="milliseconds")
    args = parser.parse_args()
    program = restoregate()
    # run as a script (sys.path[0] is benchmarks/): the package's helpers from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.common import BenchError, compile_bytecode

    try:
        print(compile_bytecode())
    except BenchError as exc:
        sys.exit(str(exc))
    over = False
    for extra in COMMANDS:
        wall, cpu = measure([program, *extra], args.runs)
        over |= cpu * 1000 > args.budget
        label = " ".join(["restoregate", *extra])
        print(f"{label:<30} wall {wall * 1000:6.1f} ms   user+sys {cpu * 1000:6.1f} ms")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
