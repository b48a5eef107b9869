"""The console script's first code: light, so Ctrl-C during start-up is one line too.

Importing the CLI loads click, rich and psycopg, which takes a noticeable moment; an
interrupt in that moment would print a Python traceback. Here, before anything heavy,
SIGTERM (a CI job's timeout, a runbook's kill) is made to unwind like Ctrl-C, and either
ends the program with one line on stderr and exit 3: the checks could not complete,
nothing was proven safe (the contract's code for an incomplete run, whenever it happens).
"""

from __future__ import annotations

import signal
import sys
from typing import NoReturn

EXIT_INTERRUPTED = 3  # errors.EXIT_INCOMPLETE, without importing anything else
INTERRUPTED = "interrupted: nothing was proven safe"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def interrupted() -> NoReturn:
    try:
        sys.stderr.write(f"restoregate: {INTERRUPTED}\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass
    sys.exit(EXIT_INTERRUPTED)


def main() -> None:
    try:
        signal.signal(signal.SIGTERM, _interrupt)
        from restoregate.cli import run

        run()
    except KeyboardInterrupt:
        interrupted()
