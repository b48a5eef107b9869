"""The session options every engine honours: how long a probe may run, how long it may wait.

Engine-neutral: PostgreSQL turns them into ``statement_timeout``/``lock_timeout``, MySQL
into ``max_execution_time``/``lock_wait_timeout``, MariaDB into ``max_statement_time``,
SQLite into a progress-handler deadline and a busy timeout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from restoregate.errors import UsageError

_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|min|h|d)\s*$")
_MILLISECONDS = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}


@dataclass(frozen=True)
class SessionSettings:
    statement_timeout: str = "30min"
    lock_timeout: str = "10s"
    connect_timeout: int = 10  # seconds; libpq's own setting or PGCONNECT_TIMEOUT win

    def __post_init__(self) -> None:
        for option, value in (
            ("--statement-timeout", self.statement_timeout),
            ("--lock-timeout", self.lock_timeout),
        ):
            if not _DURATION.match(value):
                raise UsageError(
                    f"{option} {value!r} is not a duration",
                    "write a number and a unit: 500ms, 30s, 15min, 2h, 1d",
                )

    @property
    def statement_timeout_ms(self) -> int:
        return milliseconds(self.statement_timeout)

    @property
    def lock_timeout_ms(self) -> int:
        return milliseconds(self.lock_timeout)


def normalise(value: str) -> str:
    """``" 30 s "`` as ``30s``: the form a server setting takes."""
    match = _DURATION.match(value)
    assert match is not None
    return f"{match.group(1)}{match.group(2)}"


def milliseconds(value: str) -> int:
    match = _DURATION.match(value)
    assert match is not None
    return int(match.group(1)) * _MILLISECONDS[match.group(2)]
