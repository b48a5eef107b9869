"""MySQL/MariaDB's side of ``restoregate fix`` and ``fence`` (``remedy/engines.py`` interface).

Not transactional: DDL commits at once, so ``fix --apply`` runs the plan and re-checks
after it, and ``--dry-run`` is refused (``TRANSACTIONAL``).
"""

from __future__ import annotations

from restoregate.engines.mysql.engine import MysqlEngine
from restoregate.engines.mysql.remedy.fence import open_fence
from restoregate.engines.mysql.remedy.session import open_write_session
from restoregate.engines.mysql.remedy.writer import MysqlPlanWriter
from restoregate.settings import SessionSettings

TRANSACTIONAL = False

__all__ = ["TRANSACTIONAL", "open_fence", "open_write_session", "plan_writer"]


def plan_writer(settings: SessionSettings, engine: MysqlEngine) -> MysqlPlanWriter:
    """The writer for a plan made from ``engine``'s check (its catalog tells counters apart)."""
    return MysqlPlanWriter(settings, engine.name == "mariadb", engine.catalog())
