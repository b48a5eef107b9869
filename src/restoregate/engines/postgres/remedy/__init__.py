"""PostgreSQL's side of ``restoregate fix`` and ``fence`` (``remedy/engines.py`` interface)."""

from __future__ import annotations

from restoregate.engines.postgres.probes import PostgresEngine
from restoregate.engines.postgres.remedy.fence import open_fence
from restoregate.engines.postgres.remedy.session import open_write_session
from restoregate.engines.postgres.remedy.writer import PostgresPlanWriter
from restoregate.engines.postgres.session import SessionSettings

TRANSACTIONAL = True  # the plan is one transaction; the re-check runs inside it

__all__ = ["TRANSACTIONAL", "open_fence", "open_write_session", "plan_writer"]


def plan_writer(settings: SessionSettings, engine: PostgresEngine) -> PostgresPlanWriter:
    """The writer for a plan made from ``engine``'s check (its equality operators, too)."""
    return PostgresPlanWriter(settings, engine.operators)
