"""The session options every engine honours: how long a probe may run, how long it may wait.

Engine-neutral: PostgreSQL turns them into ``statement_timeout``/``lock_timeout``, MySQL
into ``max_execution_time``/``lock_wait_timeout``, MariaDB into ``max_statement_time``,
SQLite into a progress-handler deadline and a busy timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from restoregate.durations import bounded
from restoregate.errors import UsageError

# A gate never runs without limits: both timeouts are positive and bounded.
STATEMENT_TIMEOUT_BOUNDS = (timedelta(milliseconds=1), timedelta(hours=24))
LOCK_TIMEOUT_BOUNDS = (timedelta(milliseconds=1), timedelta(hours=1))


@dataclass(frozen=True)
class SessionSettings:
    statement_timeout: str = "30min"
    lock_timeout: str = "10s"
    connect_timeout: int = 10  # seconds; libpq's own setting or PGCONNECT_TIMEOUT win
    role: str | None = None  # --role: SET ROLE before anything runs, as pg_dump --role
    jobs: int = 1  # workers sharing one snapshot (--jobs); 0: auto, from the server

    def __post_init__(self) -> None:
        if self.jobs < 0:
            raise UsageError(f"--jobs {self.jobs}: at least 1, or auto")
        self._check("--statement-timeout", self.statement_timeout, STATEMENT_TIMEOUT_BOUNDS)
        self._check("--lock-timeout", self.lock_timeout, LOCK_TIMEOUT_BOUNDS)
        if self.role is not None and (not self.role.strip() or "\x00" in self.role):
            raise UsageError("--role: name a role", "e.g. --role restoregate_reader")

    @staticmethod
    def _check(option: str, text: str, limits: tuple[timedelta, timedelta]) -> None:
        try:
            bounded(text, option, *limits)
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    @property
    def statement_timeout_ms(self) -> int:
        return milliseconds(self.statement_timeout)

    @property
    def lock_timeout_ms(self) -> int:
        return milliseconds(self.lock_timeout)


def milliseconds(value: str) -> int:
    """A duration of the one grammar (``durations.py``) in whole milliseconds."""
    return int(bounded(value, "duration", timedelta(0), timedelta.max).total_seconds() * 1000)
