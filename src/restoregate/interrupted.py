"""What an interrupt prints and exits with, before anything else is imported.

Both the console script's first code (:mod:`restoregate.entry`) and the command group
(:mod:`restoregate.commands.shared`) say it, so it lives here, with nothing but ``sys``.
"""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 3  # errors.EXIT_INCOMPLETE, without importing anything else
INTERRUPTED = "interrupted: nothing was proven safe"


def say_interrupted() -> None:
    try:
        sys.stderr.write(f"restoregate: {INTERRUPTED}\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass
