"""The SQLite engine (the standard library's sqlite3): ``sqlite:///relative.db``,
``sqlite:////absolute.db``. The schema of every name is ``main``."""

from restoregate.engines.sqlite.dsn import describe as describe_dsn
from restoregate.engines.sqlite.engine import open_engine

DIALECT = "sqlite"

__all__ = ["DIALECT", "default_schema", "describe_dsn", "open_engine"]


def default_schema(dsn: str | None) -> str:
    return "main"
