"""SQLite's side of ``restoregate fix`` (``remedy/engines.py`` interface).

One transaction (``BEGIN IMMEDIATE``), re-checked inside before ``COMMIT``. There is no
fence: an SQLite file has no logins (``open_fence`` says so).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from restoregate.engines.sqlite.remedy.session import open_write_session
from restoregate.engines.sqlite.remedy.writer import SqlitePlanWriter
from restoregate.errors import UsageError
from restoregate.settings import SessionSettings

TRANSACTIONAL = True

__all__ = ["TRANSACTIONAL", "open_fence", "open_write_session", "plan_writer"]


def plan_writer(settings: SessionSettings, engine: Any) -> SqlitePlanWriter:
    return SqlitePlanWriter(settings)


@contextmanager
def open_fence(dsn: str | None, settings: SessionSettings) -> Iterator[Any]:
    raise UsageError(
        "fence is not possible on SQLite: a file has no logins to lock",
        "keep the application from the file another way (its permissions, or stop it)",
    )
    yield  # pragma: no cover
