"""Database engines: one folder each, chosen by the DSN's scheme.

``ENGINES`` is the whole registry: scheme -> the engine's package, imported only when a
DSN asks for it (so ``restoregate --version`` loads no driver). A package provides the
``EngineModule`` names of ``engines/base.py``. A libpq ``key=value`` string, or no DSN
at all (``PGHOST``, ``PGDATABASE``, ...), is PostgreSQL.
"""

from __future__ import annotations

import importlib
import re
from typing import cast

from restoregate.engines.base import EngineModule
from restoregate.errors import UsageError

ENGINES: dict[str, str] = {
    "postgresql": "restoregate.engines.postgres",
    "postgres": "restoregate.engines.postgres",
    "mysql": "restoregate.engines.mysql",
    "mariadb": "restoregate.engines.mysql",
    "sqlite": "restoregate.engines.sqlite",
}
_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.\-]*)://")


def scheme(dsn: str | None) -> str:
    """The DSN's scheme, lower case; ``postgresql`` for a libpq string or no DSN."""
    match = _SCHEME.match(dsn or "")
    return match.group(1).lower() if match else "postgresql"


def engine_for(dsn: str | None) -> EngineModule:
    """The engine package for this DSN; an unknown scheme is a usage error (exit 2)."""
    name = scheme(dsn)
    module = ENGINES.get(name)
    if module is None:
        known = ", ".join(f"{s}://" for s in ENGINES)
        raise UsageError(f"--dsn: no engine for {name}:// DSNs", f"use one of {known}")
    return cast("EngineModule", importlib.import_module(module))
