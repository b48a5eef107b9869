"""Getting output to where it was asked for, and nowhere else when that place is gone.

A reader that stops early (``restoregate check | head -1``) or a stdout closed from the
start must not turn the verdict into "internal error": writes that find the reader gone
are dropped quietly, and the command keeps its own exit code.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys

from restoregate.report import Report
from restoregate.report.formats import render


def rendered(report: Report, fmt: str) -> str:
    buffer = io.StringIO()
    render(report, fmt, buffer)
    return buffer.getvalue()


def quiet_stdout() -> None:
    """The reader went away: send what is left (and the exit-time flush) nowhere."""
    devnull = open(os.devnull, "w")  # noqa: SIM115 - stays open until the process exits
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(devnull.fileno(), sys.stdout.fileno())
    sys.stdout = devnull


def to_stdout(text: str) -> bool:
    """Write to stdout; False (and quiet from now on) when it is closed or its reader left."""
    if sys.stdout is None:
        return False
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        quiet_stdout()
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPIPE, errno.EBADF):
            raise
        quiet_stdout()
        return False
    return True
